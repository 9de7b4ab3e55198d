import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { isWithin } from './mfa-policy.ts';
import type { RememberedDevice, UserRecord } from './ports.ts';

/**
 * "Don't ask again on this device": after a second factor, a browser may be remembered for
 * the days its application allows (`remember_device_days`). The browser keeps a random
 * token in a cookie and nothing else; the user record keeps the token's hash, the browser
 * family, and when. A remembered browser skips the second factor at the applications that
 * allow it, and never where a request asks for more (step-up, a new sign-in, the
 * phishing-resistant level): see `SignInJourney.decide`.
 */

/** The browser's cookie: a random token, nothing else. */
export const DEVICE_COOKIE = 'twofold_device';
/** The most browsers one user has remembered at once; remembering one more forgets the oldest. */
export const REMEMBERED_DEVICES_MAX = 20;
/** The longest an application may remember a browser. */
export const REMEMBER_DAYS_MAX = 365;

const DAY_SECONDS = 86_400;
const TOKEN_SHAPE = /^[\w-]{43}$/;

const hashOf = (token: string) => createHash('sha256').update(token).digest('base64url');

/** A browser remembered now for `days`: the cookie's token, and the record kept with the user. */
export function newRememberedDevice(input: { now: number; days: number; userAgent: string | undefined; clientId: string | undefined }) {
  const token = randomBytes(32).toString('base64url');
  const device: RememberedDevice = {
    id: randomBytes(8).toString('hex'),
    tokenHash: hashOf(token),
    browser: browserFamily(input.userAgent),
    ...(input.clientId ? { clientId: input.clientId } : {}),
    rememberedAt: new Date(input.now),
    expiresAt: new Date(input.now + input.days * DAY_SECONDS * 1000),
  };
  return { token, device };
}

/** The user's remembered browser that holds `token`, unless it has expired at `now` (epoch ms). */
export function rememberedDeviceOf(user: UserRecord, token: string | undefined, now: number): RememberedDevice | undefined {
  if (token === undefined || !TOKEN_SHAPE.test(token)) return undefined;
  const hash = Buffer.from(hashOf(token));
  return user.mfa.remembered?.find(
    (device) =>
      device.expiresAt.getTime() > now && device.tokenHash.length === hash.length && timingSafeEqual(Buffer.from(device.tokenHash), hash),
  );
}

/** The browsers a user has remembered and that have not expired, the newest first. */
export const liveRememberedDevices = (user: UserRecord, now: number): RememberedDevice[] =>
  (user.mfa.remembered ?? []).filter((device) => device.expiresAt.getTime() > now).reverse();

/**
 * Whether an application honours a browser remembered at `rememberedAt` (one that has not
 * expired: see `rememberedDeviceOf`): it remembers browsers (`rememberDays` above 0), for
 * at least that long, and the second factor that remembered it is within the
 * application's `mfa_max_age` too.
 */
export function isHonoured(
  device: RememberedDevice,
  app: { rememberDays?: number | undefined; mfaMaxAge?: number | undefined },
  now: number,
) {
  const days = app.rememberDays ?? 0;
  if (days <= 0) return false;
  const at = Math.floor(device.rememberedAt.getTime() / 1000);
  const nowSeconds = Math.floor(now / 1000);
  return isWithin(at, days * DAY_SECONDS, nowSeconds) && isWithin(at, app.mfaMaxAge, nowSeconds);
}

const browsers: [RegExp, string][] = [
  [/Edg(e|A|iOS)?\//, 'Edge'],
  [/OPR\/|Opera/, 'Opera'],
  [/Firefox\/|FxiOS\//, 'Firefox'],
  [/Chrome\/|CriOS\/|Chromium\//, 'Chrome'],
  [/Safari\//, 'Safari'],
];
const systems: [RegExp, string][] = [
  [/iPhone|iPod/, 'iPhone'],
  [/iPad/, 'iPad'],
  [/Android/, 'Android'],
  [/Windows/, 'Windows'],
  [/CrOS/, 'ChromeOS'],
  [/Mac OS X|Macintosh/, 'macOS'],
  [/Linux/, 'Linux'],
];

/**
 * The family of a browser, as the person would name it ("Firefox on Linux"), from its
 * User-Agent: enough to tell one's browsers apart on the account page, and nothing more
 * (no version, nothing that singles a browser out).
 */
export function browserFamily(userAgent: string | undefined): string {
  const agent = userAgent ?? '';
  const browser = browsers.find(([pattern]) => pattern.test(agent))?.[1];
  const system = systems.find(([pattern]) => pattern.test(agent))?.[1];
  if (browser && system) return `${browser} on ${system}`;
  return browser ?? (system ? `A browser on ${system}` : 'A browser');
}
