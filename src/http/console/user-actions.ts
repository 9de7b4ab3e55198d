/**
 * What each action on a user asks before it is done, and says after. All of them go
 * through the administration service; the destructive ones are red.
 */
export const userActions = {
  'reset-mfa': {
    title: 'Reset the authenticator app?',
    lead: 'The app, the security keys, email codes and the backup codes are removed, a lock is lifted, and every session of the user ends now. The next sign-in that asks for a second factor registers a new one.',
    button: 'Reset the authenticator app',
    danger: true,
    done: (name: string) => `The authenticator app of ${name} was reset and their sessions ended. Their next sign-in sets up a new app.`,
  },
  'end-sessions': {
    title: 'Sign this user out everywhere?',
    lead: 'Every sign-in session and refresh token of the user ends now, on every application: the next sign-in asks for the password and the code.',
    button: 'Sign out everywhere',
    danger: true,
    done: (name: string) => `${name} was signed out everywhere.`,
  },
  'forget-browsers': {
    title: 'Forget the remembered browsers?',
    lead: 'Every browser the user chose not to be asked again on is asked for the second factor at its next sign-in, and at the next application it opens. Sessions stay open.',
    button: 'Forget the browsers',
    danger: false,
    done: (name: string) => `The remembered browsers of ${name} were forgotten: each is asked for the second factor again.`,
  },
  unlock: {
    title: 'Unlock?',
    lead: 'The lock after too many wrong codes is lifted now.',
    button: 'Unlock',
    danger: false,
    done: (name: string) => `${name} is unlocked and can enter a code again.`,
  },
  exempt: {
    title: 'Exempt from the second factor?',
    lead: 'An exempt user is never asked for a second factor, by any application.',
    button: 'Exempt',
    danger: true,
    done: (name: string) => `${name} is exempt: no application asks them for a second factor.`,
  },
  unexempt: {
    title: 'Ask for the second factor again?',
    lead: "The user is asked as the applications' policies say.",
    button: 'Remove the exemption',
    danger: false,
    done: (name: string) => `${name} is no longer exempt.`,
  },
  disable: {
    title: 'Disable this user?',
    lead: 'A disabled user cannot sign in, and every session of theirs ends now. Their authenticator app is kept.',
    button: 'Disable',
    danger: true,
    done: (name: string) => `${name} is disabled and was signed out everywhere.`,
  },
  enable: {
    title: 'Enable this user?',
    lead: 'The user can sign in again.',
    button: 'Enable',
    danger: false,
    done: (name: string) => `${name} is enabled and can sign in again.`,
  },
  'make-admin': {
    title: 'Make this user an administrator?',
    lead: 'Administrators can use this console: change every user, application and setting. The role counts from their next sign-in to the console.',
    button: 'Make administrator',
    danger: true,
    done: (name: string) => `${name} is an administrator.`,
  },
  'remove-admin': {
    title: 'Take the administrator role away?',
    lead: 'The user can no longer use the console; a console session of theirs ends at its next page.',
    button: 'Remove the role',
    danger: true,
    done: (name: string) => `${name} is no longer an administrator.`,
  },
  'set-password': {
    title: 'Set a new password?',
    lead: 'Every session of the user ends now; they sign in with the new password.',
    button: 'Set the password',
    danger: true,
    done: (name: string) => `The password of ${name} was changed and their sessions ended.`,
  },
  delete: {
    title: 'Delete this user?',
    lead: 'The user and their authenticator app are deleted for good, and every session of theirs ends now.',
    button: 'Delete the user',
    danger: true,
    done: (name: string) => `${name} was deleted.`,
  },
} as const;

export type UserAction = keyof typeof userActions;
