/** Authentication context classes (OIDC Core 2) and methods (RFC 8176) twofold asserts. */
export const ACR_PASSWORD = 'urn:twofold:acr:password';
export const ACR_MFA = 'urn:twofold:acr:mfa';

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
 * Whether an authorization request asks for the MFA context: through `acr_values`, or an
 * `acr` request in the `claims` parameter's id_token member, essential or not.
 */
export function requestsMfa(acrValues: unknown, claims: unknown): boolean {
  if (typeof acrValues === 'string' && acrValues.split(' ').includes(ACR_MFA)) return true;
  const parsed = typeof claims === 'string' ? safeJson(claims) : claims;
  const acr = (parsed as { id_token?: { acr?: { value?: unknown; values?: unknown } } } | undefined)?.id_token?.acr;
  if (!acr || typeof acr !== 'object') return false;
  return acr.value === ACR_MFA || (Array.isArray(acr.values) && acr.values.includes(ACR_MFA));
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
