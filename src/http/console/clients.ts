import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { Administration } from '../../domain/administration.ts';
import { AppError } from '../../domain/errors.ts';
import { mfaPolicies } from '../../domain/mfa-policy.ts';
import type { ClientRecord } from '../../domain/ports.ts';
import { isInternalClient } from '../../oidc/internal-clients.ts';
import { presentClient } from '../admin/presenters.ts';
import { clientPatch, newClient } from '../admin/schemas.ts';
import { parseInput } from '../validate.ts';
import {
  factorChoices,
  factorsField,
  factorsValue,
  factorsWords,
  numberField,
  parseForm,
  rememberDaysField,
  serviceProblem,
  typed,
  wholeNumber,
  type FormState,
} from './forms.ts';
import { consoleLocals, consoleOf } from './session.ts';

/** The application form, in words for the administrator; the admin API's schemas check the rest. */
const applicationForm = z.object({
  client_name: z.string().trim().max(256, { message: 'A name has at most 256 characters.' }),
  redirect_uris: z
    .array(
      z
        .string()
        .max(2048, { message: 'Each redirect URI has at most 2048 characters.' })
        .refine((value) => URL.canParse(value) && /^[a-z][\w+.-]*:\/\//i.test(value), {
          message: 'Each line must be a whole address, like https://app.example.com/callback.',
        }),
    )
    .min(1, { message: 'Give at least one redirect URI: where the application receives its users back.' })
    .max(50, { message: 'At most 50 redirect URIs.' }),
  mfa_policy: z.enum(['', ...mfaPolicies], { message: 'Choose a policy from the list.' }),
  mfa_max_age: numberField(0, 31_536_000, 'Enter a number of seconds from 0 to 31536000, or leave it empty.').optional(),
  mfa_factors: factorsField,
  remember_device_days: rememberDaysField.optional(),
  passkey_sign_in: z.boolean(),
  first_party: z.boolean(),
});
const clientIdField = z
  .string()
  .regex(/^[\x21-\x7e]{1,128}$/, { message: 'Choose a client id of 1 to 128 letters, digits or signs, without spaces.' })
  .refine((id) => !isInternalClient(id), { message: "Client ids starting with twofold- are twofold's own: choose another." });

const fieldsOfApi: Record<string, string> = {
  client_id: 'client_id',
  client_name: 'client_name',
  redirect_uris: 'redirect_uris',
  mfa_policy: 'mfa_policy',
  mfa_max_age: 'mfa_max_age',
  mfa_factors: 'mfa_factors',
  remember_device_days: 'remember_device_days',
};

/** The form's fields as typed, made into what the schemas read. */
function formInput(values: Record<string, string>) {
  return {
    client_name: values.client_name ?? '',
    redirect_uris: (values.redirect_uris ?? '').split(/\s+/).filter(Boolean),
    mfa_policy: values.mfa_policy ?? '',
    mfa_max_age: wholeNumber(values.mfa_max_age),
    mfa_factors: values.mfa_factors ?? '',
    remember_device_days: wholeNumber(values.remember_device_days),
    passkey_sign_in: values.passkey_sign_in === 'on',
    first_party: values.first_party === 'on',
  };
}

/** What the form shows for a stored application. */
function valuesOf(client: ClientRecord): Record<string, string> {
  const metadata = client.metadata;
  return {
    client_id: client.clientId,
    client_name: (metadata.client_name as string | undefined) ?? '',
    redirect_uris: ((metadata.redirect_uris as string[] | undefined) ?? []).join('\n'),
    mfa_policy: (metadata.mfa_policy as string | undefined) ?? '',
    mfa_max_age: metadata.mfa_max_age === undefined ? '' : String(metadata.mfa_max_age),
    mfa_factors: factorsValue(metadata.mfa_factors),
    remember_device_days: metadata.remember_device_days ? String(metadata.remember_device_days) : '',
    passkey_sign_in: metadata.passkey_sign_in === true ? 'on' : '',
    first_party: metadata.first_party === true ? 'on' : '',
  };
}

const policyChoices = [
  { value: '', label: 'Default policy (Settings)' },
  { value: 'required', label: 'Required: everyone registers an app' },
  { value: 'if_enrolled', label: 'If enrolled: only those who registered one' },
  { value: 'off', label: 'Off: nobody' },
];

export function mountConsoleClients(router: Router, admin: Administration, issuer: string) {
  const clientOr404 = async (clientId: string) => {
    const client = isInternalClient(clientId) ? null : await admin.clients.get(clientId);
    if (!client) throw new AppError('not_found', 'There is no such application.');
    return client;
  };
  const pathOf = (clientId: string) => `/admin/clients/${encodeURIComponent(clientId)}`;
  const failed = (form: FormState) => Object.keys(form.errors).length > 0 || form.error !== undefined;

  const listPage = async (ctx: Context, form: FormState = { values: { mfa_policy: '' }, errors: {} }) => {
    const clients = (await admin.clients.list()).filter((client) => !isInternalClient(client.clientId)).map(presentClient);
    ctx.status = failed(form) ? 400 : 200;
    await ctx.render('console/clients', {
      title: 'Applications',
      section: 'clients',
      clients,
      policyChoices,
      factorChoices,
      ...form,
      ...consoleLocals(ctx),
    });
  };

  const editPage = async (ctx: Context, client: ClientRecord, form?: FormState) => {
    ctx.status = form && failed(form) ? 400 : 200;
    await ctx.render('console/client', {
      title: (client.metadata.client_name as string | undefined) ?? client.clientId,
      section: 'clients',
      client: presentClient(client),
      developer: developerFacts(issuer, client),
      policyChoices,
      factorChoices,
      ...(form ?? { values: valuesOf(client), errors: {} }),
      ...consoleLocals(ctx),
    });
  };

  router.get('/clients', (ctx) => listPage(ctx));

  router.post('/clients', async (ctx) => {
    const values = typed(ctx.request.body);
    const id = clientIdField.safeParse(values.client_id ?? '');
    const parsed = parseForm(applicationForm, formInput(values));
    const errors = { ...(id.success ? {} : { client_id: id.error.issues[0]!.message }), ...(parsed.ok ? {} : parsed.errors) };
    if (!id.success || !parsed.ok) return listPage(ctx, { values, errors });
    const { client_name, mfa_policy, mfa_max_age, mfa_factors, remember_device_days, passkey_sign_in, ...rest } = parsed.data;
    let registered: Awaited<ReturnType<Administration['clients']['register']>>;
    try {
      const input = parseInput(newClient, {
        client_id: id.data,
        ...rest,
        ...(client_name ? { client_name } : {}),
        ...(mfa_policy ? { mfa_policy } : {}),
        ...(mfa_max_age !== undefined ? { mfa_max_age } : {}),
        ...(mfa_factors ? { mfa_factors: [mfa_factors] } : {}),
        ...(remember_device_days ? { remember_device_days } : {}),
        ...(passkey_sign_in ? { passkey_sign_in } : {}),
      });
      registered = await admin.clients.register(input, consoleOf(ctx).actor);
    } catch (err) {
      if ((err as AppError).code === 'conflict') {
        return listPage(ctx, { values, errors: { client_id: 'An application with this client id exists already. Choose another.' } });
      }
      const problem = serviceProblem(err, fieldsOfApi);
      if (problem) return listPage(ctx, { values, ...problem });
      throw err;
    }
    const { record, secret } = registered;
    consoleOf(ctx).done(pathOf(record.clientId), {
      message: `The application ${client_name || record.clientId} was added.`,
      ...(secret
        ? { secret: { label: 'Its client secret is shown only now: copy it into the application’s configuration.', value: secret } }
        : {}),
    });
  });

  router.get('/clients/:id', async (ctx) => editPage(ctx, await clientOr404(ctx.params.id!)));

  router.post('/clients/:id', async (ctx) => {
    const client = await clientOr404(ctx.params.id!);
    const values = { ...typed(ctx.request.body), client_id: client.clientId };
    const parsed = parseForm(applicationForm, formInput(values));
    if (!parsed.ok) return editPage(ctx, client, { values, errors: parsed.errors });
    const { client_name, mfa_policy, mfa_max_age, mfa_factors, remember_device_days, passkey_sign_in, ...rest } = parsed.data;
    try {
      const patch = parseInput(clientPatch, {
        ...rest,
        client_name: client_name || null,
        mfa_policy: mfa_policy || null,
        mfa_max_age: mfa_max_age ?? null,
        mfa_factors: mfa_factors ? [mfa_factors] : null,
        remember_device_days: remember_device_days || null,
        passkey_sign_in: passkey_sign_in || null,
      });
      await admin.clients.update(client.clientId, patch, consoleOf(ctx).actor);
    } catch (err) {
      const problem = serviceProblem(err, fieldsOfApi);
      if (problem) return editPage(ctx, client, { values, ...problem });
      throw err;
    }
    consoleOf(ctx).done(pathOf(client.clientId), { message: 'The application was saved.' });
  });

  const confirmations = {
    'rotate-secret': {
      title: 'Make a new client secret?',
      lead: 'The current secret stops working at once: the application cannot sign anyone in until it has the new one, shown once on the next page.',
      button: 'Make a new secret',
      danger: true,
    },
    delete: {
      title: 'Delete this application?',
      lead: 'Nobody can sign in to it through here any more, and its tokens stop working. Its users and their authenticator apps are kept.',
      button: 'Delete the application',
      danger: true,
    },
  } as const;
  type Confirmation = keyof typeof confirmations;
  const confirmationOf = (ctx: Context): Confirmation => {
    if (!Object.hasOwn(confirmations, ctx.params.action!)) throw new AppError('not_found', 'There is no such page.');
    return ctx.params.action as Confirmation;
  };

  router.get('/clients/:id/:action', async (ctx) => {
    const action = confirmationOf(ctx);
    const client = await clientOr404(ctx.params.id!);
    if (action === 'rotate-secret' && !client.sealedSecret)
      throw new AppError('not_found', 'This application has no secret (it is a public client).');
    await ctx.render('console/confirm', {
      section: 'clients',
      ...confirmations[action],
      subject: (client.metadata.client_name as string | undefined) ?? client.clientId,
      formAction: `${pathOf(client.clientId)}/${action}`,
      backHref: pathOf(client.clientId),
      values: {},
      errors: {},
      ...consoleLocals(ctx),
    });
  });

  router.post('/clients/:id/:action', async (ctx) => {
    const action = confirmationOf(ctx);
    const client = await clientOr404(ctx.params.id!);
    const name = (client.metadata.client_name as string | undefined) ?? client.clientId;
    if (action === 'delete') {
      await admin.clients.delete(client.clientId, consoleOf(ctx).actor);
      return consoleOf(ctx).done('/admin/clients', { message: `The application ${name} was deleted.` });
    }
    const secret = await admin.clients.rotateSecret(client.clientId, consoleOf(ctx).actor);
    if (!secret) throw new AppError('not_found', 'This application has no secret (it is a public client).');
    consoleOf(ctx).done(pathOf(client.clientId), {
      message: 'A new client secret was made; the old one no longer works.',
      secret: { label: 'The new secret is shown only now: copy it into the application’s configuration.', value: secret },
    });
  });
}

/** What an application's developer needs to connect it. */
function developerFacts(issuer: string, client: ClientRecord) {
  const metadata = client.metadata;
  const isPublic = client.sealedSecret === undefined;
  return {
    issuer,
    discovery: `${issuer}/.well-known/openid-configuration`,
    authorization: `${issuer}/auth`,
    token: `${issuer}/token`,
    clientId: client.clientId,
    redirectUris: (metadata.redirect_uris as string[] | undefined) ?? [],
    authentication: isPublic
      ? 'None: a public client, with PKCE (S256)'
      : `Client secret (${(metadata.token_endpoint_auth_method as string | undefined) ?? 'client_secret_basic'})`,
    scopes:
      'openid, profile, email' + ((metadata.grant_types as string[] | undefined)?.includes('refresh_token') ? ', offline_access' : ''),
    policy: (metadata.mfa_policy as string | undefined) ?? 'the default policy',
    maxAge: metadata.mfa_max_age as number | undefined,
    factors: factorsWords(metadata.mfa_factors),
    rememberDays: (metadata.remember_device_days as number | undefined) ?? 0,
    passkeySignIn: metadata.passkey_sign_in === true,
  };
}
