import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/server';
import { z } from 'zod';
import type { UserRecord, WebAuthnKey } from './ports.ts';
import { USER_ID_PATTERN } from './users.ts';

/** Where credentials are bound: the relying party id (the issuer's host) and the one origin accepted. */
export interface RelyingParty {
  id: string;
  name: string;
  origin: string;
}

/**
 * The relying party of an issuer: its host is the RP id, its origin the only origin
 * accepted. Browsers offer WebAuthn only to a secure origin (https, or localhost) named by
 * a domain: for any other issuer (plain http, an IP address) there is none, and security
 * keys are not offered.
 */
export function relyingPartyOf(issuer: string): RelyingParty | undefined {
  const url = new URL(issuer);
  const host = url.hostname;
  const local = host === 'localhost' || host.endsWith('.localhost');
  if (/^[\d.]+$/.test(host) || host.startsWith('[')) return undefined;
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && local)) return undefined;
  return { id: host, name: host, origin: url.origin };
}

const CEREMONY_MS = 120_000;

/** A base64url string of 1 to `max` characters (a credential id, a key, a signature). */
export const base64url = (max: number) => z.string().regex(new RegExp(`^[\\w-]{1,${max}}$`), { message: 'base64url' });
/** How a browser reaches an authenticator, as WebAuthn names it. */
export const transports = z.array(z.enum(['usb', 'nfc', 'ble', 'internal', 'hybrid', 'smart-card', 'cable'])).max(7);

/** What a browser sends back from navigator.credentials.create(), bounded before any parsing. */
const creationResponse = z.object({
  id: base64url(1366),
  rawId: base64url(1366),
  type: z.literal('public-key'),
  response: z.object({
    clientDataJSON: base64url(4096),
    attestationObject: base64url(16_384),
    transports: transports.optional(),
  }),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
});

/** What a browser sends back from navigator.credentials.get(). */
const requestResponse = z.object({
  id: base64url(1366),
  rawId: base64url(1366),
  type: z.literal('public-key'),
  response: z.object({
    clientDataJSON: base64url(4096),
    authenticatorData: base64url(4096),
    signature: base64url(8192),
    userHandle: base64url(128).optional(),
  }),
  clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
  authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
});

/** A new credential, checked: everything the user record keeps but its name and time. */
export type CheckedCreation =
  { ok: true; key: Omit<WebAuthnKey, 'name' | 'addedAt'>; userVerified: boolean } | { ok: false; reason: 'malformed' | 'invalid' };

export type CheckedAssertion =
  | { ok: true; key: WebAuthnKey; counter: number; userVerified: boolean }
  /** `unknown_key`: not a credential of this user; `cloned`: signed right, but its counter went back. */
  | { ok: false; reason: 'malformed' | 'unknown_key' | 'invalid' | 'cloned'; key?: WebAuthnKey };

/**
 * The WebAuthn ceremonies, on @simplewebauthn/server: the options a page hands to the
 * browser, and the checks of what comes back. The origin and RP id are checked, user
 * verification is asked for ("preferred") but not required of a second factor, and
 * attestation is "none": any authenticator the user owns will do, and nothing about it is
 * asked for. The signature counter is checked here (see `checkAssertion`).
 */
export function createWebAuthnCeremonies(rp: RelyingParty) {
  return {
    relyingParty: rp,

    /** Options for registering a new credential for `user`, excluding the ones already registered. */
    creationOptions(user: UserRecord): Promise<PublicKeyCredentialCreationOptionsJSON> {
      return generateRegistrationOptions({
        rpName: rp.name,
        rpID: rp.id,
        userName: user.username,
        userID: new TextEncoder().encode(user.id),
        userDisplayName: user.name ?? user.username,
        timeout: CEREMONY_MS,
        attestationType: 'none',
        excludeCredentials: (user.mfa.webauthn ?? []).map(({ id, transports: via }) => ({ id, ...(via ? { transports: via } : {}) })),
        authenticatorSelection: { residentKey: 'preferred', userVerification: 'preferred' },
      });
    },

    /** Options for signing in with one of `user`'s credentials. */
    requestOptions(user: UserRecord): Promise<PublicKeyCredentialRequestOptionsJSON> {
      return generateAuthenticationOptions({
        rpID: rp.id,
        timeout: CEREMONY_MS,
        userVerification: 'preferred',
        allowCredentials: (user.mfa.webauthn ?? []).map(({ id, transports: via }) => ({
          id,
          ...(via ? { transports: via as never } : {}),
        })),
      });
    },

    /**
     * Options for signing in with a passkey instead of the password: no user is named (the
     * authenticator offers the passkeys it holds for this site), and the user must be
     * verified (a PIN or a biometric), since the passkey then stands for both factors.
     */
    passkeyOptions(): Promise<PublicKeyCredentialRequestOptionsJSON> {
      return generateAuthenticationOptions({ rpID: rp.id, timeout: CEREMONY_MS, userVerification: 'required' });
    },

    /**
     * The user a passkey's answer names (its user handle, the id given at registration),
     * read before anything is checked: the answer is then checked against that user's keys.
     */
    userIdOfAnswer(input: unknown): string | undefined {
      const parsed = requestResponse.safeParse(input);
      const handle = parsed.success ? parsed.data.response.userHandle : undefined;
      if (!handle) return undefined;
      const id = Buffer.from(handle, 'base64url').toString('utf8');
      return USER_ID_PATTERN.test(id) ? id : undefined;
    },

    /** Checks a registration against the challenge this sign-in issued. */
    async checkCreation(input: unknown, challenge: string): Promise<CheckedCreation> {
      const parsed = creationResponse.safeParse(input);
      if (!parsed.success) return { ok: false, reason: 'malformed' };
      try {
        const checked = await verifyRegistrationResponse({
          response: parsed.data as RegistrationResponseJSON,
          expectedChallenge: challenge,
          expectedOrigin: rp.origin,
          expectedRPID: rp.id,
          requireUserVerification: false,
        });
        if (!checked.verified) return { ok: false, reason: 'invalid' };
        const { credential, credentialDeviceType, credentialBackedUp, userVerified } = checked.registrationInfo;
        return {
          ok: true,
          userVerified,
          key: {
            id: credential.id,
            publicKey: Buffer.from(credential.publicKey).toString('base64url'),
            counter: credential.counter,
            ...(parsed.data.response.transports?.length ? { transports: parsed.data.response.transports } : {}),
            deviceType: credentialDeviceType,
            backedUp: credentialBackedUp,
          },
        };
      } catch {
        return { ok: false, reason: 'invalid' };
      }
    },

    /**
     * Checks a sign-in with a credential of `user` against the challenge this sign-in
     * issued. A right signature whose counter does not move past the stored one (either
     * non-zero) is a copy of the credential, or a replay: `cloned`.
     */
    async checkAssertion(input: unknown, challenge: string, user: UserRecord): Promise<CheckedAssertion> {
      const parsed = requestResponse.safeParse(input);
      if (!parsed.success) return { ok: false, reason: 'malformed' };
      const key = user.mfa.webauthn?.find((held) => held.id === parsed.data.id);
      if (!key) return { ok: false, reason: 'unknown_key' };
      let checked;
      try {
        checked = await verifyAuthenticationResponse({
          response: parsed.data as AuthenticationResponseJSON,
          expectedChallenge: challenge,
          expectedOrigin: rp.origin,
          expectedRPID: rp.id,
          // The counter is compared below, after the signature: only a signed counter tells of a clone.
          credential: { id: key.id, publicKey: Buffer.from(key.publicKey, 'base64url'), counter: 0 },
          requireUserVerification: false,
        });
      } catch {
        return { ok: false, reason: 'invalid', key };
      }
      if (!checked.verified) return { ok: false, reason: 'invalid', key };
      const counter = checked.authenticationInfo.newCounter;
      if ((counter > 0 || key.counter > 0) && counter <= key.counter) return { ok: false, reason: 'cloned', key };
      return { ok: true, key, counter, userVerified: checked.authenticationInfo.userVerified };
    },
  };
}

export type WebAuthnCeremonies = ReturnType<typeof createWebAuthnCeremonies>;
