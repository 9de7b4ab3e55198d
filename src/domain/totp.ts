import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { base32Encode } from './base32.ts';

/**
 * TOTP (RFC 6238) over HOTP (RFC 4226): HMAC-SHA-1, 6 digits, 30-second steps, what every
 * authenticator app supports.
 */
export const STEP_SECONDS = 30;
export const DIGITS = 6;
export const SECRET_BYTES = 20;

export function generateSecret(): Buffer {
  return randomBytes(SECRET_BYTES);
}

export function stepAt(epochMs: number): number {
  return Math.floor(epochMs / 1000 / STEP_SECONDS);
}

/** The HOTP value of `secret` at counter `step` (RFC 4226 section 5.3). */
export function hotp(secret: Uint8Array, step: number, digits = DIGITS): string {
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(step));
  const mac = createHmac('sha1', secret).update(counter).digest();
  const offset = mac[mac.length - 1]! & 0x0f;
  const binary = (mac.readUInt32BE(offset) & 0x7fffffff) % 10 ** digits;
  return binary.toString().padStart(digits, '0');
}

/** What a user types, without the spaces and dashes apps and people put in. */
export function normalizeCode(input: string): string {
  return input.replace(/[\s-]/g, '');
}

export function isTotpShaped(code: string): boolean {
  return new RegExp(`^\\d{${DIGITS}}$`).test(code);
}

export interface WindowInput {
  /** The server's current step. */
  nowStep: number;
  /** The device's learned offset from the server, in steps (RFC 6238 section 6). */
  drift: number;
  /** Steps accepted either side of the window's centre. */
  skewSteps: number;
  /** The last step accepted for this device; only later ones count (RFC 6238 section 5.2). */
  lastStep: number;
}

/**
 * The step whose code matches, or null. The window is `2·skewSteps + 1` steps centred on
 * `nowStep + drift`, and the drift itself is bounded to ±skewSteps, so a learned drift moves
 * the window but never widens it, nor lets it wander further than one window from now.
 * Every step of the window is compared, in constant time, whatever matches first.
 */
export function matchStep(secret: Uint8Array, code: string, window: WindowInput): number | null {
  if (!isTotpShaped(code)) return null;
  const drift = clampDrift(window.drift, window.skewSteps);
  const centre = window.nowStep + drift;
  const given = Buffer.from(code);
  let matched: number | null = null;
  for (let step = centre - window.skewSteps; step <= centre + window.skewSteps; step++) {
    const equal = timingSafeEqual(Buffer.from(hotp(secret, step)), given);
    if (equal && step > window.lastStep && matched === null) matched = step;
  }
  return matched;
}

export function clampDrift(drift: number, skewSteps: number): number {
  return Math.max(-skewSteps, Math.min(skewSteps, Math.trunc(drift)));
}

/** The otpauth:// URI an authenticator app reads from the QR code (Key Uri Format). */
export function otpauthUri({ secret, label, account }: { secret: Uint8Array; label: string; account: string }): string {
  const query = new URLSearchParams({
    secret: base32Encode(secret),
    issuer: label,
    algorithm: 'SHA1',
    digits: String(DIGITS),
    period: String(STEP_SECONDS),
  });
  return `otpauth://totp/${encodeURIComponent(label)}:${encodeURIComponent(account)}?${query.toString().replaceAll('+', '%20')}`;
}

/** The secret as people type it: base32 in groups of four. */
export function groupedSecret(secret: Uint8Array): string {
  return base32Encode(secret).replace(/(.{4})(?=.)/g, '$1 ');
}
