import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Administration } from '../../domain/administration.ts';
import type { z } from 'zod';
import { AppError } from '../../domain/errors.ts';
import { mfaPolicies } from '../../domain/mfa-policy.ts';
import { samlNameIdFormats, type SamlAppRecord } from '../../domain/ports.ts';
import { presentSamlApp, presentSamlKeys, samlInputOf, samlPatchOf } from '../admin/saml-routes.ts';
import { newSamlApp, samlAppParams, samlAppPatch } from '../admin/saml-schemas.ts';
import { parseInput } from '../validate.ts';
import {
  factorChoices,
  factorsValue,
  numberField,
  rememberDaysField,
  parseForm,
  sentence,
  serviceProblem,
  typed,
  wholeNumber,
  type FormState,
} from './forms.ts';
import { consoleLocals, consoleOf } from './session.ts';

type Form = Record<string, string>;

const maxAgeField = numberField(0, 31_536_000, 'Enter a number of seconds from 0 to 31536000, or leave it empty.').optional();
const samlFields: Record<string, string> = Object.fromEntries(
  [
    'id',
    'name',
    'entity_id',
    'acs_urls',
    'slo_url',
    'certificate',
    'metadata_xml',
    'mfa_policy',
    'mfa_max_age',
    'mfa_factors',
    'remember_device_days',
    'name_id_format',
  ].map((f) => [f, f]),
);

/** The problem of these fields in words, whatever the rule that refused them. */
const samlWords: Record<string, string> = {
  id: 'Choose an id of 1 to 64 letters, digits, ., - or _.',
  acs_urls: 'Each line must be a whole address, like https://app.example.com/saml/acs.',
  slo_url: 'Enter a whole address, like https://app.example.com/saml/logout, or leave it empty.',
};

/** Every problem of a SAML form at once, each on its field, as sentences. */
function samlProblems<S extends z.ZodType>(
  schema: S,
  input: unknown,
  values: Form,
): { ok: true; data: z.infer<S> } | { ok: false; errors: Record<string, string> } {
  const maxAge = maxAgeField.safeParse(wholeNumber(values.mfa_max_age));
  const rememberDays = rememberDaysField.optional().safeParse(wholeNumber(values.remember_device_days));
  const parsed = parseForm(schema, input);
  const errors = parsed.ok
    ? {}
    : Object.fromEntries(Object.entries(parsed.errors).map(([field, message]) => [field, samlWords[field] ?? sentence(message)]));
  if (!maxAge.success) errors.mfa_max_age = maxAge.error.issues[0]!.message;
  if (!rememberDays.success) errors.remember_device_days = rememberDays.error.issues[0]!.message;
  if (Object.keys(errors).length || !parsed.ok) return { ok: false, errors };
  return parsed;
}

/** The settings every SAML form has, as the admin API's fields (checked by its schemas). */
function settingsOf(body: Form) {
  const maxAge = body.mfa_max_age?.trim();
  const rememberDays = body.remember_device_days?.trim();
  return {
    name: body.name?.trim() || undefined,
    mfa_policy: body.mfa_policy || undefined,
    mfa_max_age: maxAge && /^\d{1,15}$/.test(maxAge) ? Number(maxAge) : undefined,
    // One factor, or every one switched on: the schema refuses anything else.
    mfa_factors: body.mfa_factors ? [body.mfa_factors] : undefined,
    passkey_sign_in: body.passkey_sign_in === 'on' ? true : undefined,
    // Empty or 0: never (stored as unset).
    remember_device_days: rememberDays && /^\d{1,15}$/.test(rememberDays) && Number(rememberDays) > 0 ? Number(rememberDays) : undefined,
    name_id_format: body.name_id_format || undefined,
    want_authn_requests_signed: body.want_authn_requests_signed === 'on',
    idp_initiated: body.idp_initiated === 'on',
  };
}

/** What the edit form shows for a stored application. */
function valuesOfApp(app: SamlAppRecord): Form {
  return {
    name: app.name,
    entity_id: app.entityId,
    acs_urls: app.acsUrls.join('\n'),
    slo_url: app.sloUrl ?? '',
    certificate: app.certificate ?? '',
    mfa_policy: app.mfaPolicy ?? '',
    mfa_max_age: app.mfaMaxAge === undefined ? '' : String(app.mfaMaxAge),
    mfa_factors: factorsValue(app.mfaFactors),
    remember_device_days: app.rememberDeviceDays ? String(app.rememberDeviceDays) : '',
    passkey_sign_in: app.passkeySignIn ? 'on' : '',
    name_id_format: app.nameIdFormat,
    want_authn_requests_signed: app.wantAuthnRequestsSigned ? 'on' : '',
    idp_initiated: app.idpInitiated ? 'on' : '',
  };
}

const withoutUnset = (fields: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));

/**
 * SAML applications in the console: added from pasted metadata or from fields, changed,
 * deleted; each page shows what the application's administrator needs from twofold (the
 * metadata URL, the entity id, the sign-in address, the signing certificate).
 */
export function mountConsoleSamlApps(router: Router, admin: Administration, issuer: string) {
  const idp = async () => ({
    metadataUrl: `${issuer}/saml/metadata`,
    ssoUrl: `${issuer}/saml/sso`,
    keys: presentSamlKeys(await admin.samlKeys.get()),
  });

  const failed = (form: FormState) => Object.keys(form.errors).length > 0 || form.error !== undefined;
  const listPage = async (ctx: Context, form: FormState = { values: {}, errors: {} }) => {
    ctx.status = failed(form) ? 400 : 200;
    await ctx.render('console/saml-apps', {
      title: 'SAML applications',
      section: 'saml',
      apps: (await admin.samlApps.list()).map((app) => presentSamlApp(app, issuer)),
      policies: mfaPolicies,
      factorChoices,
      formats: samlNameIdFormats,
      idp: await idp(),
      ...form,
      ...consoleLocals(ctx),
    });
  };

  router.get('/saml', (ctx) => listPage(ctx));

  router.post('/saml', async (ctx) => {
    const body = typed(ctx.request.body);
    const metadata = body.metadata_xml?.trim();
    const parsed = samlProblems(
      newSamlApp,
      withoutUnset({
        id: body.id ?? '',
        ...settingsOf(body),
        ...(metadata
          ? { metadata_xml: metadata }
          : {
              entity_id: body.entity_id?.trim() ?? '',
              acs_urls: (body.acs_urls ?? '').split(/\s+/).filter(Boolean),
              certificate: body.certificate?.trim() || undefined,
              slo_url: body.slo_url?.trim() || undefined,
            }),
        // From metadata, whether requests are signed comes from the metadata unless ticked here.
        want_authn_requests_signed: body.want_authn_requests_signed === 'on' ? true : metadata ? undefined : false,
      }),
      body,
    );
    if (!parsed.ok) return listPage(ctx, { values: body, errors: parsed.errors });
    let app;
    try {
      app = await admin.samlApps.create(samlInputOf(parsed.data), consoleOf(ctx).actor);
    } catch (err) {
      if ((err as AppError).code === 'conflict')
        return listPage(ctx, { values: body, ...(serviceProblem(err, samlFields) ?? { errors: {} }) });
      const problem = serviceProblem(err, samlFields);
      if (problem) return listPage(ctx, { values: body, ...problem });
      throw err;
    }
    consoleOf(ctx).done(`/admin/saml/${encodeURIComponent(app.id)}`, {
      message: `The SAML application ${app.name} was added. Give its administrator the metadata address below.`,
    });
  });

  const editPage = async (ctx: Context, id: string, form?: FormState) => {
    const app = await admin.samlApps.get(id);
    if (!app) throw new AppError('not_found', 'There is no such SAML application.');
    ctx.status = form && failed(form) ? 400 : 200;
    await ctx.render('console/saml-app', {
      title: app.name,
      section: 'saml',
      app: presentSamlApp(app, issuer),
      policies: mfaPolicies,
      factorChoices,
      formats: samlNameIdFormats,
      idp: await idp(),
      values: form?.values ?? valuesOfApp(app),
      errors: form?.errors ?? {},
      error: form?.error,
      ...consoleLocals(ctx),
    });
  };

  router.get('/saml/:id', (ctx) => editPage(ctx, parseInput(samlAppParams, { id: ctx.params.id }).id));

  router.post('/saml/:id', async (ctx) => {
    const { id } = parseInput(samlAppParams, { id: ctx.params.id });
    const body = typed(ctx.request.body);
    const {
      name,
      mfa_policy,
      mfa_max_age,
      mfa_factors,
      remember_device_days,
      passkey_sign_in,
      name_id_format,
      want_authn_requests_signed,
      idp_initiated,
    } = settingsOf(body);
    const parsed = samlProblems(
      samlAppPatch,
      {
        ...(name ? { name } : {}),
        entity_id: body.entity_id?.trim() ?? '',
        acs_urls: (body.acs_urls ?? '').split(/\s+/).filter(Boolean),
        certificate: body.certificate?.trim() || null,
        slo_url: body.slo_url?.trim() || null,
        mfa_policy: mfa_policy ?? null,
        mfa_max_age: mfa_max_age ?? null,
        mfa_factors: mfa_factors ?? null,
        remember_device_days: remember_device_days ?? null,
        passkey_sign_in: passkey_sign_in || null,
        ...(name_id_format ? { name_id_format } : {}),
        want_authn_requests_signed,
        idp_initiated,
      },
      body,
    );
    if (!parsed.ok) return editPage(ctx, id, { values: body, errors: parsed.errors });
    try {
      if (!(await admin.samlApps.update(id, samlPatchOf(parsed.data), consoleOf(ctx).actor))) {
        throw new AppError('not_found', 'There is no such SAML application.');
      }
    } catch (err) {
      const problem = (err as AppError).code === 'not_found' ? undefined : serviceProblem(err, samlFields);
      if (problem) return editPage(ctx, id, { values: body, ...problem });
      throw err;
    }
    consoleOf(ctx).done(`/admin/saml/${encodeURIComponent(id)}`, { message: 'The SAML application was saved.' });
  });

  router.get('/saml/:id/delete', async (ctx) => {
    const { id } = parseInput(samlAppParams, { id: ctx.params.id });
    const app = await admin.samlApps.get(id);
    if (!app) throw new AppError('not_found', 'There is no such SAML application.');
    await ctx.render('console/confirm', {
      section: 'saml',
      title: 'Delete this SAML application?',
      lead: 'Nobody can sign in to it through here any more. Its users and their authenticator apps are kept.',
      button: 'Delete the application',
      danger: true,
      subject: app.name,
      formAction: `/admin/saml/${encodeURIComponent(app.id)}/delete`,
      backHref: `/admin/saml/${encodeURIComponent(app.id)}`,
      values: {},
      errors: {},
      ...consoleLocals(ctx),
    });
  });

  router.post('/saml/:id/delete', async (ctx) => {
    const { id } = parseInput(samlAppParams, { id: ctx.params.id });
    const app = await admin.samlApps.get(id);
    if (!app || !(await admin.samlApps.delete(id, consoleOf(ctx).actor)))
      throw new AppError('not_found', 'There is no such SAML application.');
    consoleOf(ctx).done('/admin/saml', { message: `The SAML application ${app.name} was deleted.` });
  });
}
