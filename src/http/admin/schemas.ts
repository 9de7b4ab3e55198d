import { z } from 'zod';
import { URL_AS_GIVEN, URL_AS_GIVEN_RULE } from '../../domain/clients.ts';
import { USER_ID_PATTERN, USER_ID_RULE, USERNAME_PATTERN, USERNAME_RULE } from '../../domain/users.ts';
import { mfaPolicies } from '../../domain/mfa-policy.ts';
import { factorKinds } from '../../domain/factors.ts';
import { REMEMBER_DAYS_MAX } from '../../domain/remembered-devices.ts';
import { INTERNAL_CLIENT_PREFIX, isInternalClient } from '../../oidc/internal-clients.ts';
import { auditTypes } from '../../domain/ports.ts';
import { parseInput } from '../validate.ts';

/**
 * The admin API's inputs and outputs, once: the routes validate with them and the OpenAPI
 * document is generated from them (zod's own JSON Schema output).
 */

// No whitespace or control characters, and no `*`: it is the search wildcard.
export const username = z.string().regex(USERNAME_PATTERN, { message: USERNAME_RULE });
const password = z.string().min(8, { message: 'at least 8 characters' }).max(1024, { message: 'at most 1024 characters' });
const email = z.email({ message: 'an email address' }).max(254);
// A person's name is one line: no control characters (it goes into mails and pages).
const name = z
  .string()
  .trim()
  .min(1)
  .max(256)
  .regex(/^[^\p{Cc}]+$/u, { message: 'one line, without control characters' });
// An absolute URL exactly as given (the rule the client service applies on every way in,
// stated here too so the API document shows it).
const uri = z
  .string()
  .max(2048)
  .regex(URL_AS_GIVEN, { message: URL_AS_GIVEN_RULE })
  .pipe(z.url({ message: 'an absolute URL' }));
const timestamp = z.iso.datetime();

/** A list's page size: plain decimal digits only (no `0x10`, ` 1` or `1e3`), 1 to 500. */
const listLimit = (fallback: number) =>
  z
    .string()
    .regex(/^[1-9]\d{0,2}$/, { message: 'an integer from 1 to 500' })
    .optional()
    .transform((value) => (value === undefined ? fallback : Number(value)))
    .pipe(z.number().max(500, { message: 'an integer from 1 to 500' }));

export const idParams = z.strictObject({ id: z.string().regex(USER_ID_PATTERN, { message: USER_ID_RULE }) });
/** A user's security key: the user's id and the credential's id (base64url). */
export const keyParams = idParams.extend({ keyId: z.string().regex(/^[\w-]{1,1366}$/, { message: 'a credential id (base64url)' }) });
/** A user's authenticator app: the user's id and the app's id. */
export const appParams = idParams.extend({ appId: z.string().regex(/^[0-9a-f]{16}$/, { message: 'an authenticator app’s id' }) });
/** A user's remembered browser: the user's id and the browser's id. */
export const browserParams = idParams.extend({ browserId: z.string().regex(/^[0-9a-f]{16}$/, { message: 'a remembered browser’s id' }) });
export const clientIdParams = z.strictObject({ client_id: z.string().min(1).max(128) });
export const noBody = z.strictObject({});

const role = z.enum(['admin', 'user'], { message: 'admin or user' });
export const newUser = z.strictObject({
  username,
  password,
  email: email.optional(),
  email_verified: z.boolean().optional(),
  name: name.optional(),
  role: role.optional(),
});

export const userPatch = z
  .strictObject({
    disabled: z.boolean().optional(),
    exempt: z.boolean().optional(),
    role: role.optional(),
    password: password.optional(),
    email: email.nullable().optional(),
    email_verified: z.boolean().optional(),
    name: name.nullable().optional(),
  })
  .refine((patch) => Object.keys(patch).length > 0, { message: 'nothing to change' })
  .refine((patch) => patch.email_verified !== true || patch.email !== null, { message: 'email_verified: there is no email to verify' });

export const userListQuery = z.strictObject({
  q: z.string().min(1).max(128).optional(),
  exempt: z.enum(['true', 'false']).optional(),
  limit: listLimit(50),
  cursor: z.string().min(1).max(256).optional(),
});

export const userView = z.object({
  id: z.string(),
  username: z.string(),
  email: z.string().optional(),
  email_verified: z.boolean(),
  name: z.string().optional(),
  disabled: z.boolean(),
  role: z.enum(['admin', 'user']),
  mfa: z.object({
    status: z.enum(['registered', 'pending', 'none']),
    factors: z.array(z.enum(factorKinds)).meta({
      description:
        'The second factors registered: `totp` (authenticator app), `email` (codes by mail), `webauthn` (security keys and passkeys).',
    }),
    exempt: z.boolean(),
    locked: z.boolean(),
    lockedUntil: timestamp.nullable(),
    registeredAt: timestamp.optional(),
    lastUsedAt: timestamp.nullable(),
    backupCodesLeft: z.number().int(),
    apps: z
      .array(z.object({ id: z.string(), name: z.string(), registeredAt: timestamp, lastUsedAt: timestamp.nullable() }))
      .meta({ description: 'The authenticator apps registered, in the order they were added, each with the name the user gave it.' }),
    keys: z
      .array(
        z.object({
          id: z.string(),
          name: z.string(),
          kind: z.enum(['security_key', 'passkey']),
          addedAt: timestamp,
          lastUsedAt: timestamp.nullable(),
        }),
      )
      .meta({
        description:
          'The security keys and passkeys registered: `passkey` when it may be synced between devices, `security_key` when bound to one authenticator.',
      }),
    rememberedBrowsers: z
      .array(
        z.object({
          id: z.string(),
          browser: z.string(),
          application: z.string().optional(),
          rememberedAt: timestamp,
          expiresAt: timestamp,
          lastUsedAt: timestamp.nullable(),
        }),
      )
      .meta({
        description:
          'Browsers remembered after a second factor ("don’t ask again on this device"), the oldest first, with the application they were remembered at. Forgotten by a password change, disabling, a reset or a change of factors.',
      }),
  }),
  lastLogin: z.object({ at: timestamp, ip: z.string().optional(), userAgent: z.string().optional() }).nullable(),
  lastAttemptAt: timestamp.nullable(),
  createdAt: timestamp,
  updatedAt: timestamp,
});
export const userList = z.object({ users: z.array(userView), next: z.string().optional() });

/**
 * The client metadata an administrator can set: twofold's own (`first_party`, the MFA
 * policy) and the OIDC registration metadata a relying party of this provider uses. The
 * engine then checks the combination (redirect URIs against application_type, …).
 */
/** How long an application lets a browser be remembered after a second factor (0: never). */
export const rememberDays = z
  .number()
  .int()
  .min(0)
  .max(REMEMBER_DAYS_MAX, { message: `a number of days from 0 to ${REMEMBER_DAYS_MAX}` })
  .meta({
    description:
      'Days a browser may skip the second factor after one, when the person ticks “don’t ask again on this device” (0 or absent: never offered). Never for a step-up, prompt=login, max_age or the phishing-resistant level.',
  });
/** The application lets a passkey sign in instead of the password (where the setting allows it). */
export const passkeySignIn = z.boolean().meta({
  description:
    'A passkey that verifies its user may sign in instead of the password (“Sign in with a passkey” on the login page), when the `passkeySignIn` setting is on. Absent: not offered.',
});
/** The second factors an application accepts: one or more, each once. */
export const factorList = z
  .array(z.enum(factorKinds))
  .min(1, { message: 'at least one factor' })
  .refine((list) => new Set(list).size === list.length, { message: 'each factor once' })
  .meta({
    description:
      'The second factors the application accepts: `totp` (authenticator app), `email` (codes by mail), `webauthn` (security keys and passkeys). Absent: every factor that is switched on.',
  });

export const newClient = z.strictObject({
  client_id: z
    .string()
    .regex(/^[\x21-\x7e]{1,128}$/, { message: '1 to 128 printable characters without spaces' })
    .refine((id) => !isInternalClient(id), { message: `ids starting with ${INTERNAL_CLIENT_PREFIX} are twofold's own` }),
  client_secret: z.string().min(32, { message: 'at least 32 characters' }).max(512).optional(),
  client_name: z.string().trim().min(1).max(256).optional(),
  redirect_uris: z.array(uri).min(1).max(50),
  post_logout_redirect_uris: z.array(uri).max(50).optional(),
  grant_types: z
    .array(z.enum(['authorization_code', 'refresh_token']))
    .min(1)
    .optional(),
  response_types: z.array(z.literal('code')).min(1).optional(),
  token_endpoint_auth_method: z.enum(['client_secret_basic', 'client_secret_post', 'none']).optional(),
  application_type: z.enum(['web', 'native']).optional(),
  scope: z
    .string()
    .regex(/^[\x21\x23-\x5b\x5d-\x7e]+( [\x21\x23-\x5b\x5d-\x7e]+)*$/)
    .max(1024)
    .optional(),
  id_token_signed_response_alg: z.enum(['RS256']).optional(),
  client_uri: uri.optional(),
  logo_uri: uri.optional(),
  policy_uri: uri.optional(),
  tos_uri: uri.optional(),
  first_party: z.boolean().optional(),
  mfa_policy: z.enum(mfaPolicies).optional(),
  mfa_max_age: z.number().int().min(0).max(31_536_000).optional(),
  mfa_factors: factorList.optional(),
  remember_device_days: rememberDays.optional(),
  passkey_sign_in: passkeySignIn.optional(),
});

/**
 * An imported application, checked as `POST /clients` checks a new one: the same fields
 * and rules, with no plain secret (an export carries it sealed, beside the metadata).
 */
const importedClient = newClient.omit({ client_secret: true });
export const checkImportedClient = (clientId: string, metadata: Record<string, unknown>): void => {
  parseInput(importedClient, { ...metadata, client_id: clientId });
};

/** Any metadata but the identifiers; null removes an optional key. */
export const clientPatch = newClient
  .omit({ client_id: true, client_secret: true })
  .partial()
  .extend({
    client_name: z.string().trim().min(1).max(256).nullable().optional(),
    post_logout_redirect_uris: z.array(uri).max(50).nullable().optional(),
    mfa_policy: z.enum(mfaPolicies).nullable().optional(),
    mfa_max_age: z.number().int().min(0).max(31_536_000).nullable().optional(),
    mfa_factors: factorList.nullable().optional(),
    remember_device_days: rememberDays.nullable().optional(),
    passkey_sign_in: passkeySignIn.nullable().optional(),
    first_party: z.boolean().nullable().optional(),
  })
  .refine((patch) => Object.keys(patch).length > 0, { message: 'nothing to change' });

export const clientView = z
  .object({ client_id: z.string(), has_client_secret: z.boolean(), created_at: timestamp, redirect_uris: z.array(z.string()) })
  .catchall(z.unknown());
export const clientWithSecret = clientView.extend({ client_secret: z.string().optional() });
export const clientList = z.object({ clients: z.array(clientView), next: z.string().optional() });
export const clientListQuery = z.strictObject({
  limit: listLimit(100),
  cursor: z.string().min(1).max(128).optional(),
});
export const rotatedSecret = z.object({ client_id: z.string(), client_secret: z.string() });

const between = (min: number, max: number, what = 'an integer') =>
  z
    .number()
    .int()
    .min(min, { message: `${what} from ${min} to ${max}` })
    .max(max, { message: `${what} from ${min} to ${max}` });

/**
 * The logo: an https address (its origin is then allowed by the pages' policy), or a path
 * on this server (the uploaded logo, or a file served beside twofold). Whether a path
 * resolves is checked when it is set.
 */
const logoUrl = z
  .string()
  .max(2048, { message: 'at most 2048 characters' })
  .refine((value) => !/\p{Cc}/u.test(value), { message: 'no control characters' })
  .refine((value) => /^\/[^/\\]/.test(value) || (URL.canParse(value) && new URL(value).protocol === 'https:' && !new URL(value).username), {
    message: 'an https:// address or a path on this server starting with /',
  });

export const settingsView = z.object({
  enabled: z.boolean(),
  defaultPolicy: z.enum(mfaPolicies),
  skewSteps: z.number().int(),
  maxAttempts: z.number().int(),
  lockoutSeconds: z.number().int(),
  backupCodes: z.object({ enabled: z.boolean(), count: z.number().int() }),
  issuerLabel: z.string(),
  registrationMessage: z.string(),
  brand: z.object({ name: z.string(), logoUrl: z.string().nullable() }),
  notifications: z.object({ enabled: z.boolean() }),
  factors: z.object({
    totp: z.object({ enabled: z.boolean() }),
    email: z.object({ enabled: z.boolean() }),
    webauthn: z.object({ enabled: z.boolean() }),
  }),
  passkeySignIn: z.object({ enabled: z.boolean() }).meta({
    description: 'Sign-in with a passkey instead of the password, at the applications that allow it (`passkey_sign_in`); off by default.',
  }),
});

const factorSwitch = z.strictObject({ enabled: z.boolean() });

/** The whole settings, as a change must leave them. */
export const settingsDocument = z.strictObject({
  enabled: z.boolean(),
  defaultPolicy: z.enum(mfaPolicies),
  skewSteps: between(0, 10),
  maxAttempts: between(1, 10),
  lockoutSeconds: between(0, 7_776_000, 'seconds (0: until an administrator unlocks)'),
  backupCodes: z.strictObject({ enabled: z.boolean(), count: between(1, 20) }),
  // It names the account in the app and in the otpauth URI, where ':' separates the two.
  issuerLabel: z
    .string()
    .trim()
    .regex(/^[^:\p{Cc}]{1,64}$/u, { message: '1 to 64 characters, without ":" or control characters' }),
  registrationMessage: z.string().max(2000, { message: 'at most 2000 characters' }),
  brand: z.strictObject({
    name: z
      .string()
      .trim()
      .regex(/^[^\p{Cc}]{1,64}$/u, { message: '1 to 64 characters, without control characters' }),
    logoUrl: logoUrl.nullable().default(null),
  }),
  notifications: z.strictObject({ enabled: z.boolean() }),
  factors: z
    .strictObject({ totp: factorSwitch, email: factorSwitch, webauthn: factorSwitch })
    .refine((factors) => factors.totp.enabled || factors.email.enabled || factors.webauthn.enabled, {
      message: 'at least one second factor must stay on',
    }),
  passkeySignIn: z.strictObject({ enabled: z.boolean() }),
});

/**
 * A change of the settings, as a JSON merge patch (RFC 7396): nested objects merge, so
 * `{"brand":{"name":"Acme"}}` changes the name alone; `"logoUrl": null` removes the logo.
 */
export const settingsPatch = settingsDocument
  .extend({
    backupCodes: settingsDocument.shape.backupCodes.partial(),
    brand: settingsDocument.shape.brand.extend({ logoUrl: logoUrl.nullable() }).partial(),
    notifications: settingsDocument.shape.notifications.partial(),
    passkeySignIn: settingsDocument.shape.passkeySignIn.partial(),
    factors: z.strictObject({ totp: factorSwitch.partial(), email: factorSwitch.partial(), webauthn: factorSwitch.partial() }).partial(),
  })
  .partial()
  .refine((patch) => Object.keys(patch).length > 0, { message: 'nothing to change' });

export const auditQuery = z.strictObject({
  user: z.string().min(1).max(64).optional(),
  username: z.string().min(1).max(128).optional(),
  client: z.string().min(1).max(128).optional(),
  type: z.enum(auditTypes).optional(),
  since: z.iso.datetime({ offset: true }).optional(),
  until: z.iso.datetime({ offset: true }).optional(),
  limit: listLimit(50),
  cursor: z.string().min(1).max(64).optional(),
});

export const auditView = z.object({
  at: timestamp,
  type: z.enum(auditTypes),
  outcome: z.enum(['success', 'failure']),
  userId: z.string().optional(),
  clientId: z.string().optional(),
  ip: z.string().optional(),
  userAgent: z.string().optional(),
  actor: z.string().optional(),
  reason: z.string().optional(),
  changed: z.array(z.string()).optional(),
  changes: z.array(z.object({ field: z.string(), from: z.string().nullable(), to: z.string().nullable() })).optional(),
  factor: z.string().optional(),
  targetClientId: z.string().optional(),
  protocol: z.enum(['oidc', 'saml']).optional(),
  username: z.string().optional(),
  applicationName: z.string().optional(),
});
export const auditList = z.object({ events: z.array(auditView), next: z.string().optional() });

export const errorView = z.object({ error: z.string(), message: z.string() });

export const exportQuery = z.strictObject({ clients: z.enum(['true', 'false']).optional() });
export const importResult = z.object({
  usersCreated: z.number().int(),
  usersUpdated: z.number().int(),
  clientsCreated: z.number().int(),
  clientsUpdated: z.number().int(),
  samlAppsCreated: z.number().int(),
  samlAppsUpdated: z.number().int(),
});
export const rotationResult = z.object({
  keyId: z.string(),
  resealed: z.object({ users: z.number().int(), clients: z.number().int(), keys: z.number().int(), skipped: z.number().int() }),
});
