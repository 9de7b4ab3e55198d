/** Authentication context classes (OIDC Core 2) and methods (RFC 8176) twofold asserts. */
export const ACR_PASSWORD = 'urn:twofold:acr:password';

/** The login result of a password sign-in. */
export function passwordLogin(accountId: string) {
  return { accountId, acr: ACR_PASSWORD, amr: ['pwd'], remember: true };
}
