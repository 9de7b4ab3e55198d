import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Administration } from '../../domain/administration.ts';
import { AppError, isAppError } from '../../domain/errors.ts';
import { mfaPolicies } from '../../domain/mfa-policy.ts';
import { samlNameIdFormats } from '../../domain/ports.ts';
import { presentSamlApp, presentSamlKeys, samlInputOf, samlPatchOf } from '../admin/saml-routes.ts';
import { newSamlApp, samlAppParams, samlAppPatch } from '../admin/saml-schemas.ts';
import { parseInput } from '../validate.ts';
import { consoleOf } from './session.ts';

type Form = Record<string, string>;

/** The settings every SAML form has, as the admin API's fields (checked by its schemas). */
function settingsOf(body: Form) {
  const maxAge = body.mfa_max_age?.trim();
  return {
    name: body.name?.trim() || undefined,
    mfa_policy: body.mfa_policy || undefined,
    mfa_max_age: maxAge ? Number(maxAge) : undefined,
    name_id_format: body.name_id_format || undefined,
    want_authn_requests_signed: body.want_authn_requests_signed === 'on',
    idp_initiated: body.idp_initiated === 'on',
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

  const listPage = async (ctx: Context, options: { error?: string; form?: Form } = {}) => {
    ctx.status = options.error ? 400 : 200;
    await ctx.render('console/saml-apps', {
      title: 'SAML applications',
      section: 'saml',
      apps: (await admin.samlApps.list()).map((app) => presentSamlApp(app, issuer)),
      policies: mfaPolicies,
      formats: samlNameIdFormats,
      form: options.form ?? {},
      idp: await idp(),
      ...options,
      ...consoleOf(ctx),
    });
  };

  router.get('/saml', (ctx) => listPage(ctx));

  router.post('/saml', async (ctx) => {
    const body = ctx.request.body as Form;
    try {
      const metadata = body.metadata_xml?.trim();
      const input = parseInput(
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
      );
      const app = await admin.samlApps.create(samlInputOf(input), consoleOf(ctx).actor);
      ctx.status = 303;
      ctx.redirect(`/admin/saml/${encodeURIComponent(app.id)}?added=1`);
    } catch (err) {
      if (isAppError(err) && err.status < 500) return listPage(ctx, { error: err.message, form: body });
      throw err;
    }
  });

  const editPage = async (ctx: Context, id: string, options: { error?: string } = {}) => {
    const app = await admin.samlApps.get(id);
    if (!app) throw new AppError('not_found', 'There is no such SAML application.');
    ctx.status = options.error ? 400 : 200;
    await ctx.render('console/saml-app', {
      title: app.name,
      section: 'saml',
      app: presentSamlApp(app, issuer),
      added: ctx.query.added === '1',
      policies: mfaPolicies,
      formats: samlNameIdFormats,
      idp: await idp(),
      ...options,
      ...consoleOf(ctx),
    });
  };

  router.get('/saml/:id', (ctx) => editPage(ctx, parseInput(samlAppParams, { id: ctx.params.id }).id));

  router.post('/saml/:id', async (ctx) => {
    const { id } = parseInput(samlAppParams, { id: ctx.params.id });
    const body = ctx.request.body as Form;
    try {
      const { name, mfa_policy, mfa_max_age, name_id_format, want_authn_requests_signed, idp_initiated } = settingsOf(body);
      const patch = parseInput(samlAppPatch, {
        ...(name ? { name } : {}),
        entity_id: body.entity_id?.trim() ?? '',
        acs_urls: (body.acs_urls ?? '').split(/\s+/).filter(Boolean),
        certificate: body.certificate?.trim() || null,
        slo_url: body.slo_url?.trim() || null,
        mfa_policy: mfa_policy ?? null,
        mfa_max_age: mfa_max_age ?? null,
        ...(name_id_format ? { name_id_format } : {}),
        want_authn_requests_signed,
        idp_initiated,
      });
      if (!(await admin.samlApps.update(id, samlPatchOf(patch), consoleOf(ctx).actor))) {
        throw new AppError('not_found', 'There is no such SAML application.');
      }
    } catch (err) {
      if (isAppError(err) && err.status < 500 && err.code !== 'not_found') return editPage(ctx, id, { error: err.message });
      throw err;
    }
    ctx.status = 303;
    ctx.redirect(`/admin/saml/${encodeURIComponent(id)}`);
  });

  router.post('/saml/:id/delete', async (ctx) => {
    const { id } = parseInput(samlAppParams, { id: ctx.params.id });
    if (!(await admin.samlApps.delete(id, consoleOf(ctx).actor))) throw new AppError('not_found', 'There is no such SAML application.');
    ctx.status = 303;
    ctx.redirect('/admin/saml');
  });
}
