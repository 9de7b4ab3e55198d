import { z } from 'zod';
import { URL_AS_GIVEN, URL_AS_GIVEN_RULE } from '../../domain/clients.ts';
import { mfaPolicies } from '../../domain/mfa-policy.ts';
import { factorKinds } from '../../domain/factors.ts';
import { factorList, passkeySignIn, rememberDays } from './schemas.ts';
import { samlNameIdFormats } from '../../domain/ports.ts';
import { INTERNAL_CLIENT_PREFIX } from '../../oidc/internal-clients.ts';

/** The admin API's inputs and outputs for SAML applications (SPEC section 11). */

const url = z
  .string()
  .max(2048)
  .regex(URL_AS_GIVEN, { message: URL_AS_GIVEN_RULE })
  .pipe(z.url({ message: 'an absolute URL', protocol: /^https?$/ }));

export const samlAppId = z
  .string()
  .regex(/^[A-Za-z0-9_.-]{1,64}$/, { message: '1 to 64 letters, digits, ., - or _' })
  .refine((id) => !id.startsWith(INTERNAL_CLIENT_PREFIX), { message: `ids starting with ${INTERNAL_CLIENT_PREFIX} are reserved` });

export const samlAppParams = z.strictObject({ id: samlAppId });

const attribute = z.strictObject({
  field: z.enum(['username', 'email', 'name', 'id']),
  name: z.string().min(1).max(256),
  name_format: z.enum(['uri', 'basic', 'unspecified']).optional(),
});

const certificate = z
  .string()
  .min(1)
  .max(16_384)
  .describe('the application’s signing certificate: PEM, or the base64 of its DER as metadata carries it');

/** The fields every way of registering shares (SPEC 11). */
const settingsFields = {
  name: z.string().trim().min(1).max(256).optional(),
  mfa_policy: z.enum(mfaPolicies).optional(),
  mfa_max_age: z.number().int().min(0).max(31_536_000).optional(),
  mfa_factors: factorList.optional(),
  remember_device_days: rememberDays.optional(),
  passkey_sign_in: passkeySignIn.optional(),
  name_id_format: z.enum(samlNameIdFormats).optional(),
  attributes: z.array(attribute).max(32).optional(),
  want_authn_requests_signed: z.boolean().optional(),
  idp_initiated: z.boolean().optional(),
};

const fromFields = z.strictObject({
  id: samlAppId,
  entity_id: z.string().min(1).max(1024),
  acs_urls: z.array(url).min(1).max(16),
  certificate: certificate.optional(),
  slo_url: url.optional(),
  ...settingsFields,
});

const fromMetadata = z.strictObject({
  id: samlAppId,
  metadata_xml: z.string().min(1).max(262_144),
  ...settingsFields,
});

export const newSamlApp = z.union([fromMetadata, fromFields], {
  message: 'either {id, metadata_xml} or {id, entity_id, acs_urls}, with the optional settings',
});

export const samlAppPatch = z
  .strictObject({
    entity_id: z.string().min(1).max(1024).optional(),
    acs_urls: z.array(url).min(1).max(16).optional(),
    certificate: certificate.nullable().optional(),
    slo_url: url.nullable().optional(),
    name: settingsFields.name,
    mfa_policy: z.enum(mfaPolicies).nullable().optional(),
    mfa_max_age: settingsFields.mfa_max_age.nullable(),
    mfa_factors: factorList.nullable().optional(),
    remember_device_days: rememberDays.nullable().optional(),
    passkey_sign_in: passkeySignIn.nullable().optional(),
    name_id_format: settingsFields.name_id_format,
    attributes: z.array(attribute).max(32).nullable().optional(),
    want_authn_requests_signed: settingsFields.want_authn_requests_signed,
    idp_initiated: settingsFields.idp_initiated,
  })
  .refine((patch) => Object.keys(patch).length > 0, { message: 'nothing to change' });

export const samlAppView = z.object({
  id: z.string(),
  name: z.string(),
  entity_id: z.string(),
  acs_urls: z.array(z.string()),
  /** From metadata: the index of each ACS URL, which a request may name instead. */
  acs_indexes: z.array(z.number()).optional(),
  certificate: z.string().optional(),
  slo_url: z.string().optional(),
  mfa_policy: z.enum(mfaPolicies).optional(),
  mfa_max_age: z.number().optional(),
  mfa_factors: z.array(z.enum(factorKinds)).optional(),
  remember_device_days: z.number().optional(),
  passkey_sign_in: z.boolean().optional(),
  name_id_format: z.enum(samlNameIdFormats),
  attributes: z.array(attribute).optional(),
  want_authn_requests_signed: z.boolean(),
  idp_initiated: z.boolean(),
  /** Where the application's administrator finds twofold: its metadata, and IdP-initiated sign-in. */
  idp_metadata_url: z.string(),
  idp_initiated_url: z.string().optional(),
  created_at: z.iso.datetime(),
  updated_at: z.iso.datetime(),
});
export const samlAppList = z.object({ apps: z.array(samlAppView) });

export const samlKeysView = z.object({
  /** From the operator's files (saml.keyFile): rotated by changing the files. */
  from_files: z.boolean(),
  current: z.object({ certificate: z.string(), sha256_fingerprint: z.string(), not_after: z.string() }),
  next: z.object({ certificate: z.string(), sha256_fingerprint: z.string(), not_after: z.string() }).optional(),
});
