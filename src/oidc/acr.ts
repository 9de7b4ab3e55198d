/** Authentication context classes (OIDC Core 2) and methods (RFC 8176) twofold asserts. */
export const ACR_PASSWORD = 'urn:twofold:acr:password';

export const passwordLogin = { acr: ACR_PASSWORD, amr: ['pwd'] } as const;
