import type { AuthMethod, MethodTimes } from './authentication.ts';
import type { UserRecord } from './ports.ts';

/**
 * The second factors a user can register (SPEC section 12): an authenticator app (TOTP),
 * codes sent by mail, and security keys and passkeys (WebAuthn). Backup codes are not one
 * of them: they stand in for whichever the user has.
 */
export const factorKinds = ['totp', 'email', 'webauthn'] as const;
export type FactorKind = (typeof factorKinds)[number];

/** The switches of the `factors` setting. */
export type FactorSettings = Record<FactorKind, { enabled: boolean }>;

/** A list of factors as an application's `mfa_factors` must be: one or more, each once. */
export const isFactorList = (value: unknown): value is FactorKind[] =>
  Array.isArray(value) &&
  value.length > 0 &&
  new Set(value).size === value.length &&
  value.every((kind) => (factorKinds as readonly unknown[]).includes(kind));

/** The factors a user has registered, whether or not usable now. */
export function registeredFactors(user: UserRecord): FactorKind[] {
  return factorKinds.filter((kind) =>
    kind === 'totp'
      ? (user.mfa.apps?.length ?? 0) > 0
      : kind === 'email'
        ? user.mfa.email !== undefined
        : (user.mfa.webauthn?.length ?? 0) > 0,
  );
}

/** The user's address can receive codes: set and verified. */
export const hasVerifiedEmail = (user: UserRecord) => user.email !== undefined && user.emailVerified === true;

/** The factors a user has registered and can present now: email codes need a verified address. */
export function usableFactors(user: UserRecord): FactorKind[] {
  return registeredFactors(user).filter((kind) => kind !== 'email' || hasVerifiedEmail(user));
}

/**
 * The factors an application accepts: those it names in `mfa_factors` (all when it names
 * none) that are switched on, email only when mail can go out, security keys only when the
 * issuer can be a WebAuthn relying party (`keysOn`: https, or localhost). An application
 * whose list leaves nothing accepts the authenticator app, which needs no outside service:
 * a second factor is never dropped because a switch left none.
 */
export function acceptedFactors(
  settings: FactorSettings,
  appFactors: readonly FactorKind[] | undefined,
  mailOn: boolean,
  keysOn = false,
): FactorKind[] {
  const on = factorKinds.filter((kind) => settings[kind].enabled && (kind !== 'email' || mailOn) && (kind !== 'webauthn' || keysOn));
  const accepted = appFactors ? on.filter((kind) => appFactors.includes(kind)) : on;
  return accepted.length ? accepted : ['totp'];
}

/** The session methods that present one factor: a key is `hwk` or `swk` (see authentication.ts). */
export const methodsOfFactor = (factor: FactorKind): AuthMethod[] => (factor === 'webauthn' ? ['hwk', 'swk'] : [factor]);

/** The factor a session method presents; a backup code presents none of them. */
export const factorOfMethod = (method: AuthMethod): FactorKind | undefined =>
  method === 'hwk' || method === 'swk' ? 'webauthn' : method === 'totp' || method === 'email' ? method : undefined;

/** The session methods a factor stands for: a backup code stands in for any. */
export function methodsOf(factors: readonly FactorKind[]): AuthMethod[] {
  return [...factors.flatMap(methodsOfFactor), 'backup_code'];
}

/**
 * The times of the second-factor methods an application accepts, and of the password; with
 * keys, when an authenticator last verified its user (`user`).
 */
export function acceptedTimes(methods: MethodTimes, factors: readonly FactorKind[]): MethodTimes {
  const kept: MethodTimes = {};
  const verified: AuthMethod[] = factors.includes('webauthn') ? ['user'] : [];
  for (const method of ['pwd', ...methodsOf(factors), ...verified] as AuthMethod[])
    if (methods[method] !== undefined) kept[method] = methods[method];
  return kept;
}

/** An address shown on a page without giving it away whole: `a•••@example.com`. */
export function maskedAddress(address: string): string {
  const at = address.lastIndexOf('@');
  if (at < 1) return '•••';
  return `${address[0]}•••${address.slice(at)}`;
}
