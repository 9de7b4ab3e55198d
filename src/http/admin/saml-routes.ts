import { createHash, X509Certificate } from 'node:crypto';
import type { z } from 'zod';
import type { Administration } from '../../domain/administration.ts';
import { AppError } from '../../domain/errors.ts';
import type { SamlAppRecord, SamlAttribute, SamlKeySet } from '../../domain/ports.ts';
import type { SamlAppInput, SamlAppPatch } from '../../domain/saml-apps.ts';
import { certificatePem, parseSpMetadata } from '../../saml/sp-metadata.ts';
import { route, type AdminRoute } from './route.ts';
import * as s from './saml-schemas.ts';
import { noBody } from './schemas.ts';

const noApp = () => new AppError('not_found', 'no SAML application with this id');

/** A certificate as PEM, from PEM or from the base64 of its DER (as metadata carries it). */
const pemOf = (value: string) => certificatePem(value.replace(/-----(BEGIN|END) CERTIFICATE-----/g, ''));

const attributesOf = (attributes: z.infer<typeof s.newSamlApp>['attributes']): SamlAttribute[] | undefined =>
  attributes?.map(({ field, name, name_format }) => ({ field, name, ...(name_format ? { nameFormat: name_format } : {}) }));

/** The admin API's SAML application as the domain takes it: from metadata or from fields. */
export function samlInputOf(body: z.infer<typeof s.newSamlApp>): SamlAppInput {
  const settings = {
    ...(body.name !== undefined ? { name: body.name } : {}),
    ...(body.mfa_policy !== undefined ? { mfaPolicy: body.mfa_policy } : {}),
    ...(body.mfa_max_age !== undefined ? { mfaMaxAge: body.mfa_max_age } : {}),
    ...(body.mfa_factors !== undefined ? { mfaFactors: body.mfa_factors } : {}),
    ...(body.remember_device_days !== undefined ? { rememberDeviceDays: body.remember_device_days } : {}),
    ...(body.passkey_sign_in !== undefined ? { passkeySignIn: body.passkey_sign_in } : {}),
    ...(body.attributes !== undefined ? { attributes: attributesOf(body.attributes) } : {}),
    ...(body.idp_initiated !== undefined ? { idpInitiated: body.idp_initiated } : {}),
  };
  if ('metadata_xml' in body) {
    const metadata = parseSpMetadata(body.metadata_xml);
    return {
      id: body.id,
      entityId: metadata.entityId,
      acsUrls: metadata.acsUrls,
      acsIndexes: metadata.acsIndexes,
      ...(metadata.certificate ? { certificate: metadata.certificate } : {}),
      ...(metadata.sloUrl ? { sloUrl: metadata.sloUrl } : {}),
      nameIdFormat: body.name_id_format ?? metadata.nameIdFormat ?? 'persistent',
      wantAuthnRequestsSigned: body.want_authn_requests_signed ?? metadata.wantAuthnRequestsSigned,
      ...settings,
    };
  }
  return {
    id: body.id,
    entityId: body.entity_id,
    acsUrls: body.acs_urls,
    ...(body.certificate ? { certificate: pemOf(body.certificate) } : {}),
    ...(body.slo_url ? { sloUrl: body.slo_url } : {}),
    ...(body.name_id_format ? { nameIdFormat: body.name_id_format } : {}),
    ...(body.want_authn_requests_signed !== undefined ? { wantAuthnRequestsSigned: body.want_authn_requests_signed } : {}),
    ...settings,
  };
}

/** A patch of the admin API as the domain takes it; null removes an optional field. */
export function samlPatchOf(body: z.infer<typeof s.samlAppPatch>): SamlAppPatch {
  const patch: Record<string, unknown> = {};
  const map: [keyof typeof body, keyof SamlAppRecord][] = [
    ['entity_id', 'entityId'],
    ['acs_urls', 'acsUrls'],
    ['slo_url', 'sloUrl'],
    ['name', 'name'],
    ['mfa_policy', 'mfaPolicy'],
    ['mfa_max_age', 'mfaMaxAge'],
    ['mfa_factors', 'mfaFactors'],
    ['remember_device_days', 'rememberDeviceDays'],
    ['passkey_sign_in', 'passkeySignIn'],
    ['name_id_format', 'nameIdFormat'],
    ['want_authn_requests_signed', 'wantAuthnRequestsSigned'],
    ['idp_initiated', 'idpInitiated'],
  ];
  for (const [from, to] of map) if (body[from] !== undefined) patch[to] = body[from];
  // New ACS URLs given by hand: the metadata's indexes no longer name them.
  if (body.acs_urls !== undefined) patch.acsIndexes = null;
  if (body.certificate !== undefined) patch.certificate = body.certificate === null ? null : pemOf(body.certificate);
  if (body.attributes !== undefined) patch.attributes = body.attributes === null ? null : attributesOf(body.attributes);
  return patch as SamlAppPatch;
}

export function presentSamlApp(app: SamlAppRecord, issuer: string): z.infer<typeof s.samlAppView> {
  return {
    id: app.id,
    name: app.name,
    entity_id: app.entityId,
    acs_urls: app.acsUrls,
    ...(app.acsIndexes ? { acs_indexes: app.acsIndexes } : {}),
    ...(app.certificate ? { certificate: app.certificate } : {}),
    ...(app.sloUrl ? { slo_url: app.sloUrl } : {}),
    ...(app.mfaPolicy ? { mfa_policy: app.mfaPolicy } : {}),
    ...(app.mfaMaxAge !== undefined ? { mfa_max_age: app.mfaMaxAge } : {}),
    ...(app.mfaFactors ? { mfa_factors: app.mfaFactors } : {}),
    ...(app.rememberDeviceDays !== undefined ? { remember_device_days: app.rememberDeviceDays } : {}),
    ...(app.passkeySignIn !== undefined ? { passkey_sign_in: app.passkeySignIn } : {}),
    name_id_format: app.nameIdFormat,
    ...(app.attributes
      ? {
          attributes: app.attributes.map(({ field, name, nameFormat }) => ({
            field,
            name,
            ...(nameFormat ? { name_format: nameFormat } : {}),
          })),
        }
      : {}),
    want_authn_requests_signed: app.wantAuthnRequestsSigned,
    idp_initiated: app.idpInitiated,
    idp_metadata_url: `${issuer}/saml/metadata`,
    ...(app.idpInitiated ? { idp_initiated_url: `${issuer}/saml/start/${app.id}` } : {}),
    created_at: app.createdAt.toISOString(),
    updated_at: app.updatedAt.toISOString(),
  };
}

const describeCertificate = (pem: string) => {
  const cert = new X509Certificate(pem);
  return {
    certificate: pem,
    sha256_fingerprint: createHash('sha256').update(cert.raw).digest('hex').match(/../g)!.join(':').toUpperCase(),
    not_after: new Date(cert.validTo).toISOString(),
  };
};

export const presentSamlKeys = (keys: SamlKeySet): z.infer<typeof s.samlKeysView> => ({
  from_files: keys.fromFiles,
  current: describeCertificate(keys.current.certPem),
  ...(keys.next ? { next: describeCertificate(keys.next.certPem) } : {}),
});

/** The SAML operations of the admin API (SPEC section 11). */
export function samlAdminRoutes(admin: Administration, issuer: string): AdminRoute[] {
  const present = (app: SamlAppRecord | null) => {
    if (!app) throw noApp();
    return presentSamlApp(app, issuer);
  };
  return [
    route({
      method: 'post',
      path: '/saml/apps',
      summary: 'Register a SAML application, from its metadata XML or from fields',
      body: { schema: s.newSamlApp, limitBytes: 384 * 1024 },
      ok: { status: 201, description: 'the application', schema: s.samlAppView },
      errors: [409],
      handle: async ({ body, actor }) => present(await admin.samlApps.create(samlInputOf(body), actor)),
    }),
    route({
      method: 'get',
      path: '/saml/apps',
      summary: 'List SAML applications by id',
      ok: { status: 200, description: 'the applications', schema: s.samlAppList },
      handle: async () => ({ apps: (await admin.samlApps.list()).map(present) }),
    }),
    route({
      method: 'get',
      path: '/saml/apps/:id',
      summary: 'One SAML application',
      params: s.samlAppParams,
      ok: { status: 200, description: 'the application', schema: s.samlAppView },
      errors: [404],
      handle: async ({ params }) => present(await admin.samlApps.get(params.id)),
    }),
    route({
      method: 'patch',
      path: '/saml/apps/:id',
      summary: 'Change a SAML application; null removes an optional field',
      params: s.samlAppParams,
      body: { schema: s.samlAppPatch },
      ok: { status: 200, description: 'the application', schema: s.samlAppView },
      errors: [404, 409],
      handle: async ({ params, body, actor }) => present(await admin.samlApps.update(params.id, samlPatchOf(body), actor)),
    }),
    route({
      method: 'delete',
      path: '/saml/apps/:id',
      summary: 'Delete a SAML application: it can no longer sign anyone in',
      params: s.samlAppParams,
      ok: { status: 204, description: 'deleted' },
      errors: [404],
      handle: async ({ params, actor }) => {
        if (!(await admin.samlApps.delete(params.id, actor))) throw noApp();
      },
    }),
    route({
      method: 'get',
      path: '/saml/keys',
      summary: 'The SAML signing certificate, and the next one once published',
      ok: { status: 200, description: 'the certificates', schema: s.samlKeysView },
      handle: async () => presentSamlKeys(await admin.samlKeys.get()),
    }),
    route({
      method: 'post',
      path: '/saml/keys/next',
      summary: 'Publish a next signing certificate in the metadata; signing goes on with the current one',
      body: { schema: noBody, optional: true },
      ok: { status: 200, description: 'the certificates', schema: s.samlKeysView },
      errors: [409],
      handle: async ({ actor }) => presentSamlKeys(await admin.samlKeys.prepareNext(actor)),
    }),
    route({
      method: 'post',
      path: '/saml/keys/rotate',
      summary: 'Sign with the next certificate from now on; the old one leaves the metadata',
      body: { schema: noBody, optional: true },
      ok: { status: 200, description: 'the certificates', schema: s.samlKeysView },
      errors: [409],
      handle: async ({ actor }) => presentSamlKeys(await admin.samlKeys.rotate(actor)),
    }),
  ];
}
