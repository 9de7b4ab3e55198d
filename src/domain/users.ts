import type { PasswordHasher } from './passwords.ts';
import type { UserRecord, UserStore } from '../domain/ports.ts';

export type SignInResult =
  { ok: true; user: UserRecord } | { ok: false; reason: 'unknown_user' | 'wrong_password' | 'disabled'; userId?: string };

/**
 * A username: no whitespace, control or invisible format characters (right-to-left
 * overrides, zero-width spaces: they make one name look like another), and no `*`, the
 * search wildcard. The joiners some scripts need stay allowed.
 */
export const USERNAME_PATTERN = /^(?:[^\s\p{Cc}\p{Cf}*]|[\u200C\u200D]){1,128}$/u;
export const USERNAME_RULE = '1 to 128 characters, without spaces, control or invisible characters, or *';

/** A user id: twofold makes UUIDs; an imported id keeps to letters, digits, `-` and `_`. */
export const USER_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;
export const USER_ID_RULE = '1 to 64 letters, digits, - or _';

export interface NewUserInput {
  username: string;
  password: string;
  email?: string | undefined;
  /** The administrator vouches for the address: mail may go to it at once. */
  emailVerified?: boolean | undefined;
  name?: string | undefined;
  role?: 'admin' | undefined;
}

export interface UserChanges {
  role?: 'admin' | null | undefined;
  disabled?: boolean | undefined;
  exempt?: boolean | undefined;
  password?: string | undefined;
  email?: string | null | undefined;
  emailVerified?: boolean | undefined;
  name?: string | null | undefined;
}

/** Users and their first factor. */
export function createUserService({ users, hasher }: { users: UserStore; hasher: PasswordHasher }) {
  return {
    async create(input: NewUserInput): Promise<UserRecord> {
      return users.create({
        username: input.username,
        passwordHash: await hasher.hash(input.password),
        ...(input.email === undefined ? {} : { email: input.email, emailVerified: input.emailVerified === true }),
        ...(input.name === undefined ? {} : { name: input.name }),
        ...(input.role === undefined ? {} : { role: input.role }),
      });
    },

    /** Changes a user's profile; a new password is hashed first. Null if there is no such user. */
    async update(id: string, patch: UserChanges, at: Date): Promise<UserRecord | null> {
      const { password, ...changes } = patch;
      // A new address is unverified until confirmed, unless the change itself vouches for it.
      const rest = changes.email !== undefined && changes.emailVerified === undefined ? { ...changes, emailVerified: false } : changes;
      return users.update(id, { ...rest, ...(password === undefined ? {} : { passwordHash: await hasher.hash(password) }) }, at);
    },

    /**
     * Checks a username and password. An unknown username costs the same hashing work as a
     * known one, so neither the answer nor its timing tells which accounts exist. A
     * disabled account is only reported to someone who knows its password. `attemptAt`: a
     * sign-in attempt, recorded as the user's last one (right password or not).
     */
    async verifyPassword(username: string, password: string, attemptAt?: Date): Promise<SignInResult> {
      const user = await users.findByUsername(username, attemptAt);
      if (!user) {
        await hasher.verifyDummy(password);
        return { ok: false, reason: 'unknown_user' };
      }
      if (!(await hasher.verify(user.passwordHash, password))) return { ok: false, reason: 'wrong_password', userId: user.id };
      if (user.disabled) return { ok: false, reason: 'disabled', userId: user.id };
      return { ok: true, user };
    },
  };
}

export type UserService = ReturnType<typeof createUserService>;
