import { randomBytes, timingSafeEqual } from 'node:crypto';
import { NodeCryptoPlugin } from '@otplib/plugin-crypto-node';
import { generateSync, generateURI, ScureBase32Plugin } from 'otplib';

/**
 * TOTP (RFC 6238) as every authenticator app computes it: HMAC-SHA-1, 6 digits, 30-second
 * steps. The codes, base32 and the otpauth URI are otplib's; what twofold adds is the
 * window: near now, centred on a drift learned with care, every step of it compared in
 * constant time, and only steps after the last accepted one (the replay claim is the
 * stores' job).
 */
export const STEP_SECONDS = 30;
export const DIGITS = 6;
export const SECRET_BYTES = 20;
/** The most a learned drift moves the window, in steps. */
export const MAX_DRIFT_STEPS = 2;

const crypto = new NodeCryptoPlugin();
const base32 = new ScureBase32Plugin();

export function generateSecret(): Buffer {
  return randomBytes(SECRET_BYTES);
}

export function stepAt(epochMs: number): number {
  return Math.floor(epochMs / 1000 / STEP_SECONDS);
}

/** The code of `secret` at time step `step`. */
export function codeAt(secret: Uint8Array, step: number, digits: 6 | 8 = DIGITS): string {
  return generateSync({ secret: new Uint8Array(secret), epoch: step * STEP_SECONDS, period: STEP_SECONDS, digits, crypto });
}

export const base32Encode = (bytes: Uint8Array): string => base32.encode(bytes, { padding: false });

/** What a user types, without the spaces and dashes apps and people put in. */
export function normalizeCode(input: string): string {
  return input.replace(/[\s-]/g, '');
}

export function isTotpShaped(code: string): boolean {
  return /^\d{6}$/.test(code);
}

export interface WindowInput {
  /** The server's current step. */
  nowStep: number;
  /** The device's learned offset from the server, in steps (RFC 6238 section 6). */
  drift: number;
  /** Steps accepted either side of the window's centre (setting `skewSteps`). */
  skewSteps: number;
  /** The last step accepted for this device; only later ones count (RFC 6238 section 5.2). */
  lastStep: number;
}

/** The steps a code may come from: see matchStep. */
export function windowOf({ nowStep, drift, skewSteps }: Omit<WindowInput, 'lastStep'>): { from: number; to: number } {
  const centre = nowStep + clampDrift(drift);
  const reach = skewSteps + MAX_DRIFT_STEPS;
  return { from: Math.max(centre - skewSteps, nowStep - reach), to: Math.min(centre + skewSteps, nowStep + reach) };
}

/**
 * The step whose code matches, or null. The window is `skewSteps` steps either side of
 * `nowStep + drift`, with the drift bounded to ±MAX_DRIFT_STEPS, and never reaches further
 * than `skewSteps + MAX_DRIFT_STEPS` steps from now. Every step of the window is compared,
 * in constant time, whatever matches first.
 */
export function matchStep(secret: Uint8Array, code: string, window: WindowInput): number | null {
  if (!isTotpShaped(code)) return null;
  const { from, to } = windowOf(window);
  const given = Buffer.from(code);
  let matched: number | null = null;
  for (let step = from; step <= to; step++) {
    const equal = timingSafeEqual(Buffer.from(codeAt(secret, step)), given);
    if (equal && step > window.lastStep && matched === null) matched = step;
  }
  return matched;
}

export function clampDrift(drift: number): number {
  return Math.max(-MAX_DRIFT_STEPS, Math.min(MAX_DRIFT_STEPS, Math.trunc(drift)));
}

/**
 * The drift to keep after a code accepted `offset` steps from now. A single code proves
 * little about the phone's clock (a code typed late, a window edge), so the drift moves
 * only when two successive accepted codes agree on the offset (RFC 6238 section 6).
 */
export function learnDrift(device: { drift: number; lastOffset?: number | undefined }, offset: number): number {
  return device.lastOffset === offset ? clampDrift(offset) : clampDrift(device.drift);
}

/** The otpauth:// URI an authenticator app reads from the QR code (Key Uri Format). */
export function otpauthUri({ secret, label, account }: { secret: Uint8Array; label: string; account: string }): string {
  return generateURI({
    issuer: label,
    label: account,
    secret: base32Encode(secret),
    algorithm: 'sha1',
    digits: DIGITS,
    period: STEP_SECONDS,
  });
}

/** The secret as people type it: base32 in groups of four. */
export function groupedSecret(secret: Uint8Array): string {
  return base32Encode(secret).replace(/(.{4})(?=.)/g, '$1 ');
}
