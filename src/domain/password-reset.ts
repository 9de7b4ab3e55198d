import { countAttempt, type AttemptLimits } from './attempt-limits.ts';
import type { Clock } from './clock.ts';
import { AppError } from './errors.ts';
import { createMailedLinks, type LinkRefusal, type LinkTokenStore } from './mailed-links.ts';
import { composeMail, mailTime } from './mail-message.ts';
import type { AuditLog, Mailer, RateLimiter, SessionEnder, UserStore } from './ports.ts';
import type { SettingsService } from './settings.ts';
import type { UserService } from './users.ts';

export type ResetCheck = { ok: true; accountId: string } | { ok: false; reason: LinkRefusal };

/**
 * "Forgot password?" (SPEC section 12): a single-use link valid 15 minutes, mailed to the
 * account's verified address. The request answers the same whether or not the account
 * exists: the work that depends on it runs after the answer. Tokens are stored hashed;
 * the link is claimed once across nodes; a new password ends every session and refresh
 * token of the user, is audited (which mails the "password changed" notice), and leaves
 * the second factor as it was, so the next sign-in asks for it.
 */
export function createPasswordReset(deps: {
  users: UserStore;
  userService: UserService;
  tokens: LinkTokenStore;
  rateLimiter: RateLimiter;
  limits: AttemptLimits;
  mailer: Mailer;
  settings: SettingsService;
  sessions: SessionEnder;
  audit: AuditLog;
  clock: Clock;
  issuer: string;
}) {
  const now = () => deps.clock.now();
  const links = createMailedLinks(deps.tokens, deps.clock);

  /** Counts a request against its address and the account name; the wait in ms when over, else 0. */
  const limited = async (username: string, ip: string | undefined) =>
    (await countAttempt(deps.rateLimiter, deps.limits, { kind: 'reset-', username, ip, now: now() })).waitMs;

  /** Mails a link when the account exists, is enabled and has a verified address; otherwise nothing. */
  async function sendLink(username: string, source: { ip?: string | undefined; userAgent?: string | undefined }) {
    const user = await deps.users.findByUsername(username);
    if (!user || user.disabled || !user.email || !user.emailVerified) return;
    const token = await links.issue({ accountId: user.id });
    await deps.audit.record({ at: new Date(now()), type: 'password.reset_requested', outcome: 'success', userId: user.id, ...source });
    const settings = await deps.settings.get();
    deps.mailer.send(
      composeMail({
        kind: 'password_reset',
        to: user.email,
        userId: user.id,
        organisation: settings.brand.name,
        subject: 'Choose a new password',
        greeting: `Hello ${user.name ?? user.username},`,
        paragraphs: [
          'Someone asked to choose a new password for your account. If it was you, open this link within 15 minutes; it works once:',
          `${deps.issuer}/password/reset/${token}`,
          'The link only lets you choose a password: signing in still asks for your second factor. If it was not you, ignore this mail; your password stays as it is.',
        ],
        facts: [
          ['When', mailTime(new Date(now()))],
          ['From the address', source.ip ?? 'unknown'],
        ],
      }),
    );
  }

  return {
    enabled: () => deps.mailer.enabled,

    /**
     * A reset asked for `username`. Returns at once with the wait when rate limited, else 0;
     * `later` is the work whose cost depends on whether the account exists, for the caller
     * to run after it has answered.
     */
    async request(username: string, source: { ip?: string | undefined; userAgent?: string | undefined }) {
      const waitMs = await limited(username, source.ip);
      return { waitMs, later: () => (waitMs > 0 ? Promise.resolve() : sendLink(username, source)) };
    },

    /** Whether a link is good now (without using it up). */
    async check(token: string): Promise<ResetCheck> {
      const checked = await links.check(token);
      return checked.ok ? { ok: true, accountId: checked.record.accountId } : checked;
    },

    /** Sets the new password with the link, once; the password is checked by the caller first. */
    async complete(
      token: string,
      password: string,
      source: { ip?: string | undefined; userAgent?: string | undefined },
    ): Promise<ResetCheck> {
      const used = await links.use(token);
      if (!used.ok) return used;
      const checked = { ok: true as const, accountId: used.record.accountId };
      const user = await deps.userService.update(checked.accountId, { password }, new Date(now()));
      if (!user) throw new AppError('not_found', 'This account no longer exists.');
      await deps.sessions.endSessionsOf(user.id);
      await deps.audit.record({
        at: new Date(now()),
        type: 'user.updated',
        outcome: 'success',
        userId: user.id,
        changed: ['password'],
        reason: 'password_reset',
        ...source,
      });
      return checked;
    },
  };
}

export type PasswordReset = ReturnType<typeof createPasswordReset>;
