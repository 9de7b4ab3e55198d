/**
 * twofold's own applications, signed in through twofold itself. Their second factor is
 * always required, whatever the settings, policies or exemptions say, and their ids are
 * reserved: the admin API neither creates nor changes a client whose id starts with
 * `twofold-`.
 */
export const ACCOUNT_CLIENT_ID = 'twofold-account';
export const CONSOLE_CLIENT_ID = 'twofold-console';
/** The SAML front door's client: a SAML sign-in rides on an authorization for it, with the SAML application's policy. */
export const SAML_CLIENT_ID = 'twofold-saml';
export const INTERNAL_CLIENT_PREFIX = 'twofold-';

export const isInternalClient = (clientId: string): boolean => clientId.startsWith(INTERNAL_CLIENT_PREFIX);
