import type { Clock } from './clock.ts';
import { composeMail, mailTime } from './mail-message.ts';
import type { AuditEvent, AuditLog, AuditType, Mailer, MailKind, UserRecord, UserStore } from './ports.ts';
import type { SettingsService } from './settings.ts';

/** What each notified event tells the user: the mail's kind, its subject and what happened. */
const notices: Partial<Record<AuditType, (event: AuditEvent, user: UserRecord) => { kind: MailKind; subject: string; what: string }>> = {
  'mfa.registered': (event) =>
    event.factor === 'email'
      ? {
          kind: 'notify.email_codes_added',
          subject: 'Sign-in codes by email were turned on',
          what: 'Codes sent to this address were set up as the second factor of your account. From now on, a code mailed here signs you in with your password.',
        }
      : event.factor === 'webauthn'
        ? {
            kind: 'notify.security_key_added',
            subject: 'A security key was added to your account',
            what: 'A security key or passkey was set up for your account. From now on, it signs you in with your password.',
          }
        : {
            kind: 'notify.authenticator_added',
            subject: 'An authenticator app was added to your account',
            what: 'An authenticator app was set up for your account. From now on, its codes sign you in.',
          },
  'mfa.key_cloned': (event) => ({
    kind: 'notify.security_key_cloned',
    subject: 'A copy of your security key was refused',
    what: `Someone tried to sign in to your account with a copy of the security key “${event.reason ?? ''}”: its answer showed it was not the key itself, and it was refused. If this was not you, your password is known to someone else and your key may have been copied: tell your administrator at once, remove the key on your account page, and change your password.`,
  }),
  'mfa.key_removed': (event) => ({
    kind: 'notify.security_key_removed',
    subject: 'A security key was removed from your account',
    what: `The security key or passkey “${event.changed?.[0] ?? ''}” was removed from your account${event.actor === 'admin' || event.actor?.startsWith('console:') ? ' by an administrator' : ''}, and you were signed out everywhere. It no longer signs you in.`,
  }),
  'mfa.device_deleted': (event) => ({
    kind: 'notify.authenticator_deleted',
    subject: 'An authenticator app was removed from your account',
    what: `The authenticator app “${event.changed?.[0] ?? ''}” was removed from your account${event.actor === 'admin' || event.actor?.startsWith('console:') ? ' by an administrator' : ''}, and you were signed out everywhere. Its codes no longer sign you in.`,
  }),
  'mfa.reset': () => ({
    kind: 'notify.authenticator_reset',
    subject: 'An administrator reset your authenticator app',
    what: 'An administrator removed the second factor (authenticator app, email codes, security keys) and the backup codes of your account, and signed you out everywhere. Your next sign-in that asks for a second factor sets up a new one.',
  }),
  'mfa.backup_codes_regenerated': () => ({
    kind: 'notify.backup_codes_regenerated',
    subject: 'You have new backup codes',
    what: 'A new set of backup codes was made for your account; the old ones no longer work.',
  }),
  'mfa.backup_code_used': (_event, user) => {
    const left = user.mfa.backupCodes?.hashes.length ?? 0;
    return {
      kind: 'notify.backup_code_used',
      subject: 'A backup code was used to sign in',
      what: `A backup code was used instead of your second factor to sign in. ${left === 1 ? '1 backup code is' : `${left} backup codes are`} left.${left <= 3 ? ' Make a new set on your account page.' : ''}`,
    };
  },
  'mfa.locked': () => ({
    kind: 'notify.locked',
    subject: 'Your account is locked after wrong codes',
    what: 'Too many wrong codes were entered for your account in a row, so its second factor is locked for a while. Codes are refused until the lock ends, or an administrator lifts it.',
  }),
  'user.updated': (event) => ({
    kind: 'notify.password_changed',
    subject: 'Your password was changed',
    what: `The password of your account was changed${event.actor ? ' by an administrator' : ''}, and you were signed out everywhere.`,
  }),
};

/**
 * The notice of an event users are told of, or undefined: decided from the event alone,
 * before anything is read (of the user changes, only a new password is told here; a new
 * email is told to the old address by `emailChanged`).
 */
function noticeFor(event: AuditEvent) {
  if (event.outcome !== 'success') return undefined;
  if (event.type === 'user.updated' && !event.changed?.includes('password')) return undefined;
  return notices[event.type];
}

/**
 * Mail to users when their sign-in methods change (SPEC section 12): the audit events of
 * those changes are the trigger, so no way of making a change can skip its mail. Each says
 * what happened, when, from which address and browser, and what to do if it was not them,
 * and holds no code, key or link that signs in. Only a verified address is written to, and
 * only while the `notifications` setting is on and mail can go out.
 */
export function createNotifier(deps: { users: UserStore; mailer: Mailer; settings: SettingsService; clock: Clock; issuer: string }) {
  const footer = (issuer: string) =>
    `If this was not you, tell your administrator at once: someone may know your password. You can check your account at ${issuer}/account/.`;

  function describe(event: AuditEvent): [string, string][] {
    return [
      ['When', mailTime(event.at)],
      ['From the address', event.ip ?? 'unknown'],
      ['Browser', event.userAgent ? event.userAgent.slice(0, 200) : 'unknown'],
      ...(event.actor
        ? ([['By', event.actor === 'admin' ? 'an administrator (admin API)' : event.actor.replace(/^console:/, 'administrator ')]] as [
            string,
            string,
          ][])
        : []),
    ];
  }

  /** Whether mail about this user may go out now, and to which address. */
  async function addressOf(userId: string | undefined): Promise<{ user: UserRecord; to: string; organisation: string } | null> {
    if (!deps.mailer.enabled || !userId) return null;
    const settings = await deps.settings.get();
    if (!settings.notifications.enabled) return null;
    const user = await deps.users.findById(userId);
    if (!user?.email || !user.emailVerified) return null;
    return { user, to: user.email, organisation: settings.brand.name };
  }

  return {
    /** Mails the user the change an audit event records, when it is one users are told of. */
    async notify(event: AuditEvent): Promise<void> {
      const notice = noticeFor(event);
      if (!notice) return;
      const target = await addressOf(event.userId);
      if (!target) return;
      const content = notice(event, target.user);
      deps.mailer.send(
        composeMail({
          kind: content.kind,
          to: target.to,
          userId: target.user.id,
          organisation: target.organisation,
          subject: content.subject,
          greeting: `Hello ${target.user.name ?? target.user.username},`,
          paragraphs: [content.what, footer(deps.issuer)],
          facts: describe(event),
        }),
      );
    },

    /** Tells the old address that the account's email changed (the new one is not named). */
    async emailChanged(before: UserRecord, event: AuditEvent): Promise<void> {
      if (!before.email || !before.emailVerified || !deps.mailer.enabled) return;
      const settings = await deps.settings.get();
      if (!settings.notifications.enabled) return;
      deps.mailer.send(
        composeMail({
          kind: 'notify.email_changed',
          to: before.email,
          userId: before.id,
          organisation: settings.brand.name,
          subject: 'The email address of your account was changed',
          greeting: `Hello ${before.name ?? before.username},`,
          paragraphs: [
            'The email address of your account was changed: mail about your account no longer comes to this address.',
            footer(deps.issuer),
          ],
          facts: describe(event),
        }),
      );
    },
  };
}

export type Notifier = ReturnType<typeof createNotifier>;

/**
 * The audit log with notifications: every event is written first, then the user is told
 * of it when it is a change of their sign-in methods. The request that made the change
 * reads whom to tell and queues the mail (the mail server is never waited for); a failure
 * there never fails the change that was made.
 */
export function notifyingAuditLog(audit: AuditLog, notifier: Notifier, onError: (err: unknown) => void): AuditLog {
  return {
    retentionDays: audit.retentionDays,
    list: (query) => audit.list(query),
    async record(...events) {
      await audit.record(...events);
      for (const event of events) if (noticeFor(event)) await notifier.notify(event).catch(onError);
    },
  };
}
