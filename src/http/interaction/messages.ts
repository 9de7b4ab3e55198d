import type { SendOutcome } from '../../domain/email-codes.ts';

/** Words the sign-in pages share. */

/** The locals of the backup codes page: the codes, and the same as a text file to download. */
export function backupCodesPage(username: string, codes: string[]) {
  const text = `Backup codes for ${username}. Each works once.\n\n${codes.join('\n')}\n`;
  return { codes, download: `data:text/plain;charset=utf-8,${encodeURIComponent(text)}` };
}

/** A number of whole minutes, at least one, in words: `1 minute`, `9 minutes`. */
export function minutesText(seconds: number): string {
  const minutes = Math.max(1, Math.floor(seconds / 60));
  return `${minutes} minute${minutes === 1 ? '' : 's'}`;
}

/** When a wait ends, as a person reads it: the time (UTC) and how long from now. */
export function waitUntil(untilMs: number, nowMs: number): string {
  const minutes = Math.max(1, Math.ceil((untilMs - nowMs) / 60_000));
  const at = new Date(untilMs).toISOString().slice(11, 16);
  const span = minutes < 120 ? `${minutes} minute${minutes === 1 ? '' : 's'}` : `${Math.round(minutes / 60)} hours`;
  return `${at} UTC (in ${span})`;
}

export function lockedMessage(untilMs: number | null, nowMs: number): string {
  return untilMs === null
    ? 'Too many wrong codes were entered, so your account is locked until an administrator unlocks it. Ask your administrator.'
    : `Too many wrong codes were entered, so your account is locked until ${waitUntil(untilMs, nowMs)}. Try again then, or ask your administrator to unlock it.`;
}

export function rateLimitedMessage(retryAfterMs: number, nowMs: number): string {
  return `Too many sign-in attempts. Try again at ${waitUntil(nowMs + retryAfterMs, nowMs)}.`;
}

/** What became of a mailed code, in words: a notice when it went, an error when it must wait. */
export function sentMessage(
  sent: SendOutcome,
  nowMs: number,
  hasBackupCodes: boolean,
  why?: 'resend',
): { notice?: string | undefined; error?: string | undefined } {
  if (sent.sent)
    return {
      notice: why === 'resend' ? `We sent a new code to ${sent.to}. Codes sent before it no longer work.` : `We sent a code to ${sent.to}.`,
    };
  if (sent.reason === 'too_soon') {
    const seconds = Math.max(1, Math.ceil(sent.waitMs / 1000));
    return { error: `A code was sent less than a minute ago. Check your mail, or ask for a new code in ${seconds} seconds.` };
  }
  if (sent.reason === 'too_many')
    return {
      error: `Too many codes were sent in the last 15 minutes. Ask for a new one at ${waitUntil(nowMs + sent.waitMs, nowMs)}${
        hasBackupCodes ? ', or use a backup code' : ''
      }.`,
    };
  return { error: 'Your account has no verified email address to send a code to. Ask your administrator.' };
}
