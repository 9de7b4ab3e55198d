import type { Clock } from './clock.ts';
import { composeMail } from './mail-message.ts';
import type { Notifier } from './notifications.ts';
import { createMailedLinks, type LinkRefusal, type LinkTokenStore } from './mailed-links.ts';
import type { AuditLog, Mailer, RateLimiter, SessionEnder, UserRecord, UserStore } from './ports.ts';
import type { SettingsService } from './settings.ts';
import type { UserService } from './users.ts';

type Source = { ip?: string | undefined; userAgent?: string | undefined };

export type EmailConfirmation = { ok: true; email: string } | { ok: false; reason: LinkRefusal };

/**
 * What a signed-in user changes on the account page besides the second factor: the
 * password (the current one and a fresh second factor asked first, by the page) and the
 * email (confirmed by a link mailed to the new address, valid 15 minutes, once; the old
 * address is told). A new password ends every session and token of the user.
 */
export function createAccountChanges(deps: {
  users: UserStore;
  userService: UserService;
  emailTokens: LinkTokenStore;
  rateLimiter: RateLimiter;
  limit: { limit: number; windowSeconds: number };
  mailer: Mailer;
  notifier: Pick<Notifier, 'emailChanged'>;
  settings: SettingsService;
  sessions: SessionEnder;
  audit: AuditLog;
  clock: Clock;
  issuer: string;
}) {
  const now = () => deps.clock.now();
  const links = createMailedLinks(deps.emailTokens, deps.clock);
  const attempts = async (user: UserRecord, what: string) =>
    deps.rateLimiter.hit(`${what}:${user.id}`, deps.limit.limit, deps.limit.windowSeconds * 1000, now());

  return {
    mailEnabled: () => deps.mailer.enabled,

    /** Checks the current password (rate limited per user), then sets the new one and ends every session. */
    async changePassword(
      user: UserRecord,
      current: string,
      next: string,
      source: Source,
    ): Promise<'changed' | 'wrong_password' | 'rate_limited'> {
      if (!(await attempts(user, 'password-change')).allowed) return 'rate_limited';
      const verified = await deps.userService.verifyPassword(user.username, current);
      if (!verified.ok || verified.user.id !== user.id) return 'wrong_password';
      await deps.userService.update(user.id, { password: next }, new Date(now()));
      await deps.sessions.endSessionsOf(user.id);
      await deps.audit.record({
        at: new Date(now()),
        type: 'user.updated',
        outcome: 'success',
        userId: user.id,
        changed: ['password'],
        ...source,
      });
      return 'changed';
    },

    /** Mails a confirmation link to the new address; nothing changes until it is opened. */
    async requestEmailChange(user: UserRecord, email: string, source: Source): Promise<'sent' | 'rate_limited' | 'same'> {
      if (email.toLowerCase() === (user.email ?? '').toLowerCase() && user.emailVerified) return 'same';
      if (!(await attempts(user, 'email-change')).allowed) return 'rate_limited';
      const token = await links.issue({ accountId: user.id, email });
      const settings = await deps.settings.get();
      deps.mailer.send(
        composeMail({
          kind: 'email_verification',
          to: email,
          userId: user.id,
          organisation: settings.brand.name,
          subject: 'Confirm your email address',
          greeting: `Hello ${user.name ?? user.username},`,
          paragraphs: [
            'Someone asked to use this address for your account. If it was you, open this link within 15 minutes and confirm; it works once:',
            `${deps.issuer}/account/email/confirm/${token}`,
            'If it was not you, ignore this mail: nothing changes.',
          ],
          facts: [['From the address', source.ip ?? 'unknown']],
        }),
      );
      return 'sent';
    },

    async checkEmailLink(token: string): Promise<EmailConfirmation> {
      const checked = await links.check(token);
      if (!checked.ok) return checked;
      return checked.record.email ? { ok: true, email: checked.record.email } : { ok: false, reason: 'unknown_or_used' };
    },

    /** Uses a confirmation link, once: the address becomes the account's, verified; the old one is told. */
    async confirmEmail(token: string, source: Source): Promise<EmailConfirmation> {
      const used = await links.use(token);
      if (!used.ok) return used;
      const { record } = used;
      if (!record.email) return { ok: false, reason: 'unknown_or_used' };
      const checked = { ok: true as const, email: record.email };
      const before = await deps.users.findById(record.accountId);
      if (!before) return { ok: false, reason: 'unknown_or_used' };
      await deps.users.update(before.id, { email: checked.email, emailVerified: true }, new Date(now()));
      const event = {
        at: new Date(now()),
        type: 'user.updated' as const,
        outcome: 'success' as const,
        userId: before.id,
        changed: ['email'],
        ...source,
      };
      await deps.audit.record(event);
      if (before.email && before.email !== checked.email) await deps.notifier.emailChanged(before, event);
      return checked;
    },
  };
}

export type AccountChanges = ReturnType<typeof createAccountChanges>;
