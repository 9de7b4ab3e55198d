/** Authentication context classes (OIDC Core 2) and methods (RFC 8176) twofold asserts. */
export const ACR_PASSWORD = 'urn:twofold:acr:password';
export const ACR_MFA = 'urn:twofold:acr:mfa';
/** Phishing-resistant: the second factor was a security key or passkey (WebAuthn). */
export const ACR_PHR = 'urn:twofold:acr:phr';

/** The acr of a reported level. */
export const acrOf = (level: 'password' | 'mfa' | 'phr') => (level === 'phr' ? ACR_PHR : level === 'mfa' ? ACR_MFA : ACR_PASSWORD);

/**
 * The login handed to the engine once a password is accepted. The engine keeps one acr and
 * amr per session, so it is only ever told of the password: what a token claims beyond
 * that is decided per authorization from the session's per-method times (see
 * `MfaAssessor.reportedFor`), and anything that escaped that decision says password.
 */
export function passwordLogin(accountId: string) {
  return { accountId, acr: ACR_PASSWORD, amr: ['pwd'], remember: true };
}

/**
 * The login handed to the engine after a passkey signed in instead of the password: the
 * key's method, at the key's time (the session's login time, from which `auth_time`
 * falls back). As with a password, what a token claims is decided per authorization.
 */
export function passkeyLogin(accountId: string, method: string, at: number) {
  return { accountId, acr: ACR_PASSWORD, amr: [method], remember: true, ts: at };
}

/**
 * The context an authorization request asks for, through `acr_values` or an `acr` request
 * in the `claims` parameter's id_token member (essential or not): `phr` when it names the
 * phishing-resistant class, `mfa` when it names the MFA class, else none.
 */
export function requestedLevel(acrValues: unknown, claims: unknown): 'mfa' | 'phr' | undefined {
  const named = new Set<unknown>(typeof acrValues === 'string' ? acrValues.split(' ') : []);
  const parsed = typeof claims === 'string' ? safeJson(claims) : claims;
  const acr = (parsed as { id_token?: { acr?: { value?: unknown; values?: unknown } } } | undefined)?.id_token?.acr;
  if (acr && typeof acr === 'object') {
    named.add(acr.value);
    if (Array.isArray(acr.values)) for (const value of acr.values) named.add(value);
  }
  return named.has(ACR_PHR) ? 'phr' : named.has(ACR_MFA) ? 'mfa' : undefined;
}

/** Whether an authorization request asks for a second factor (the MFA or the phishing-resistant context). */
export const requestsMfa = (acrValues: unknown, claims: unknown): boolean => requestedLevel(acrValues, claims) !== undefined;

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
