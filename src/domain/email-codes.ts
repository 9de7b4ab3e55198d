import { createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import type { Clock } from './clock.ts';
import type { DataKeyring } from './data-key.ts';
import { maskedAddress } from './factors.ts';
import { composeMail, mailTime } from './mail-message.ts';
import type { Mailer, RateLimiter, SignInState, UserRecord } from './ports.ts';
import type { AttemptSource } from './second-factor.ts';
import type { SettingsService } from './settings.ts';

/** How long a mailed code is good for. */
export const EMAIL_CODE_SECONDS = 10 * 60;
/** The shortest time between two codes for one user (the resend button's cool-down). */
export const RESEND_GAP_MS = 60_000;
/** At most this many codes per user in `SEND_WINDOW_MS`, whichever sign-ins asked. */
export const SENDS_PER_WINDOW = 5;
export const SEND_WINDOW_MS = 15 * 60_000;

const EMAIL_CODE_PURPOSE = 'email-code';

/** A mailed code as its sign-in keeps it: never the code, a keyed hash of it. */
export type SentCode = NonNullable<SignInState['emailCode']>;

export type SendOutcome =
  | { sent: true; code: SentCode; to: string }
  /** `too_soon`: within the cool-down; `too_many`: over the cap; `waitMs` until one may go. */
  | { sent: false; reason: 'too_soon' | 'too_many'; waitMs: number }
  | { sent: false; reason: 'no_address' };

/**
 * Codes sent by mail as a second factor (SPEC section 12): 6 digits from the CSPRNG, valid
 * 10 minutes, kept with the sign-in as an HMAC under a key derived from the data key (a
 * reader of Redis cannot try the million codes), compared in constant time. Sending is
 * bounded per user across nodes: one code a minute, five per 15 minutes. Whether a code is
 * used once is the guard's to say (see SecondFactorService.verifyEmailCode).
 */
export function createEmailCodes(deps: {
  mailer: Mailer;
  settings: SettingsService;
  keyring: DataKeyring;
  rateLimiter: RateLimiter;
  clock: Clock;
}) {
  const mac = (kid: string, id: string, code: string) =>
    createHmac('sha256', deps.keyring.derive(EMAIL_CODE_PURPOSE, kid).key).update(`${id}:${code}`).digest('base64url');

  /** Counts a send against the cool-down, then the cap: the refusal, or null when one may go. */
  async function limited(userId: string): Promise<Extract<SendOutcome, { reason: 'too_soon' | 'too_many' }> | null> {
    const now = deps.clock.now();
    const counted = await deps.rateLimiter.hitInTurn(
      [
        { key: `email-code-gap:${userId}`, limit: 1, windowMs: RESEND_GAP_MS },
        { key: `email-code:${userId}`, limit: SENDS_PER_WINDOW, windowMs: SEND_WINDOW_MS },
      ],
      now,
    );
    if (counted.allowed) return null;
    return { sent: false, reason: counted.refusedBy === 0 ? 'too_soon' : 'too_many', waitMs: counted.retryAfterMs };
  }

  return {
    /** Mails a new code to the user's verified address, unless the limits say wait. */
    async send(user: UserRecord, source: AttemptSource, applicationName: string): Promise<SendOutcome> {
      if (!user.email || !user.emailVerified || !deps.mailer.enabled) return { sent: false, reason: 'no_address' };
      const refusal = await limited(user.id);
      if (refusal) return refusal;
      const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
      const id = randomBytes(16).toString('base64url');
      const { kid } = deps.keyring.derive(EMAIL_CODE_PURPOSE);
      const sentAt = Math.floor(deps.clock.now() / 1000);
      const settings = await deps.settings.get();
      deps.mailer.send(
        composeMail({
          kind: 'email_code',
          to: user.email,
          userId: user.id,
          organisation: settings.brand.name,
          subject: 'Your sign-in code',
          greeting: `Hello ${user.name ?? user.username},`,
          paragraphs: [
            `Your code to sign in to ${applicationName} is ${code}. It works once, for 10 minutes.`,
            'Nobody from your organisation will ask you for it. If you did not just sign in, someone knows your password: do not give them the code, and tell your administrator.',
          ],
          facts: [
            ['When', mailTime(new Date(sentAt * 1000))],
            ['From the address', source.ip ?? 'unknown'],
          ],
        }),
      );
      return {
        sent: true,
        to: maskedAddress(user.email),
        code: { id, hash: `${kid}.${mac(kid, id, code)}`, sentAt, expiresAt: sentAt + EMAIL_CODE_SECONDS },
      };
    },

    /** Whether `input` (6 digits) is the code sent, in constant time; expiry is the caller's to check. */
    matches(sent: SentCode, input: string): boolean {
      const dot = sent.hash.indexOf('.');
      if (dot < 1) return false;
      let expected: string;
      try {
        expected = mac(sent.hash.slice(0, dot), sent.id, input);
      } catch {
        // A data key that is gone: the code cannot be checked, so it does not pass.
        return false;
      }
      const given = Buffer.from(sent.hash.slice(dot + 1));
      const wanted = Buffer.from(expected);
      return given.length === wanted.length && timingSafeEqual(given, wanted);
    },
  };
}

export type EmailCodes = ReturnType<typeof createEmailCodes>;
