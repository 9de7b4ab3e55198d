import type Router from '@koa/router';
import type { Context } from 'koa';
import { z } from 'zod';
import type { Administration } from '../../domain/administration.ts';
import { settingsChanges } from '../../domain/diff.ts';
import { mfaPolicies } from '../../domain/mfa-policy.ts';
import { auditTypes, type AuditType } from '../../domain/ports.ts';
import type { Settings } from '../../domain/settings.ts';
import type { SettingsCheck } from '../settings-check.ts';
import { describeEvent, eventTypeLabels } from './audit-words.ts';
import { numberField, parseForm, serviceProblem, typed, wholeNumber, type FormState } from './forms.ts';
import { consoleLocals, consoleOf } from './session.ts';

/** The settings form, in words for the administrator. */
const settingsForm = z.object({
  enabled: z.boolean(),
  defaultPolicy: z.enum(mfaPolicies, { message: 'Choose a policy from the list.' }),
  skewSteps: numberField(0, 10, 'Enter a whole number of steps from 0 to 10.'),
  maxAttempts: numberField(1, 10, 'Enter a whole number of codes from 1 to 10.'),
  lockoutSeconds: numberField(0, 7_776_000, 'Enter a number of seconds from 0 (until unlocked) to 7776000 (90 days).'),
  backupCodes: z.object({ enabled: z.boolean(), count: numberField(1, 20, 'Enter a number of codes from 1 to 20.') }),
  issuerLabel: z
    .string()
    .trim()
    .regex(/^[^:\p{Cc}]{1,64}$/u, { message: 'Enter 1 to 64 characters, without ":".' }),
  registrationMessage: z.string().max(2000, { message: 'The message has at most 2000 characters.' }),
  brand: z.object({
    name: z
      .string()
      .trim()
      .regex(/^[^\p{Cc}]{1,64}$/u, { message: 'Enter the organisation’s name, 1 to 64 characters.' }),
    logoUrl: z.string().nullable(),
  }),
  notifications: z.object({ enabled: z.boolean() }),
  factors: z
    .object({
      totp: z.object({ enabled: z.boolean() }),
      email: z.object({ enabled: z.boolean() }),
      webauthn: z.object({ enabled: z.boolean() }),
    })
    .refine((factors) => factors.totp.enabled || factors.email.enabled || factors.webauthn.enabled, {
      message: 'Keep at least one second factor: the authenticator app, email codes or security keys.',
    }),
  passkeySignIn: z.object({ enabled: z.boolean() }),
});

/** Where each setting's problem is shown: its form field. */
const fieldOf: Record<string, string> = {
  'backupCodes.count': 'backupCodesCount',
  'backupCodes.enabled': 'backupCodesEnabled',
  'brand.name': 'brandName',
  'brand.logoUrl': 'brandLogoUrl',
  brand: 'brandLogoUrl',
  factors: 'factorTotp',
  'factors.totp.enabled': 'factorTotp',
  'factors.email.enabled': 'factorEmail',
  'factors.webauthn.enabled': 'factorWebauthn',
  'passkeySignIn.enabled': 'passkeySignIn',
};
const fieldOfPath = (path: string) => fieldOf[path] ?? path;

function formInput(values: Record<string, string>) {
  const logo = values.brandLogoUrl?.trim() ?? '';
  return {
    enabled: values.enabled === 'on',
    defaultPolicy: values.defaultPolicy,
    skewSteps: wholeNumber(values.skewSteps),
    maxAttempts: wholeNumber(values.maxAttempts),
    lockoutSeconds: wholeNumber(values.lockoutSeconds),
    backupCodes: { enabled: values.backupCodesEnabled === 'on', count: wholeNumber(values.backupCodesCount) },
    issuerLabel: values.issuerLabel ?? '',
    registrationMessage: (values.registrationMessage ?? '').replace(/\r\n/g, '\n'),
    brand: { name: values.brandName ?? '', logoUrl: logo === '' ? null : logo },
    notifications: { enabled: values.notificationsEnabled === 'on' },
    factors: {
      totp: { enabled: values.factorTotp === 'on' },
      email: { enabled: values.factorEmail === 'on' },
      webauthn: { enabled: values.factorWebauthn === 'on' },
    },
    passkeySignIn: { enabled: values.passkeySignIn === 'on' },
  };
}

function valuesOf(settings: Settings): Record<string, string> {
  const on = (value: boolean) => (value ? 'on' : '');
  return {
    enabled: on(settings.enabled),
    defaultPolicy: settings.defaultPolicy,
    skewSteps: String(settings.skewSteps),
    maxAttempts: String(settings.maxAttempts),
    lockoutSeconds: String(settings.lockoutSeconds),
    backupCodesEnabled: on(settings.backupCodes.enabled),
    backupCodesCount: String(settings.backupCodes.count),
    issuerLabel: settings.issuerLabel,
    registrationMessage: settings.registrationMessage,
    brandName: settings.brand.name,
    brandLogoUrl: settings.brand.logoUrl ?? '',
    notificationsEnabled: on(settings.notifications.enabled),
    factorTotp: on(settings.factors.totp.enabled),
    factorEmail: on(settings.factors.email.enabled),
    factorWebauthn: on(settings.factors.webauthn.enabled),
    passkeySignIn: on(settings.passkeySignIn.enabled),
  };
}

const policyChoices = [
  { value: 'off', label: 'Off: nobody' },
  { value: 'if_enrolled', label: 'If enrolled: those with an app' },
  { value: 'required', label: 'Required: everyone' },
];

const AUDIT_PAGE = 50;

export function mountConsoleSettingsAndAudit(router: Router, admin: Administration, checkSettings: SettingsCheck) {
  const settingsPage = async (ctx: Context, form?: FormState) => {
    const settings = await admin.settings.get();
    const exempt = await admin.users.list({ exempt: true, limit: 100 });
    ctx.status = form && (Object.keys(form.errors).length || form.error) ? 400 : 200;
    await ctx.render('console/settings', {
      title: 'Settings',
      section: 'settings',
      settings,
      policyChoices,
      exemptUsers: exempt.users.map((user) => ({ id: user.id, username: user.username, name: user.name })),
      moreExempt: exempt.next !== undefined,
      mailEnabled: admin.mail.enabled(),
      keysPossible: admin.keysPossible,
      ...(form ?? { values: valuesOf(settings), errors: {} }),
      ...consoleLocals(ctx),
    });
  };

  router.get('/settings', (ctx) => settingsPage(ctx));

  router.post('/settings', async (ctx) => {
    const values = typed(ctx.request.body);
    const parsed = parseForm(settingsForm, formInput(values), fieldOfPath);
    if (!parsed.ok) return settingsPage(ctx, { values, errors: parsed.errors });
    let before: Settings;
    let after: Settings;
    try {
      before = await admin.settings.get();
      after = await admin.settings.update(parsed.data, consoleOf(ctx).actor, checkSettings);
    } catch (err) {
      const problem = serviceProblem(err, { ...fieldOf, ...Object.fromEntries(Object.keys(values).map((key) => [key, key])) });
      if (problem) return settingsPage(ctx, { values, ...problem });
      throw err;
    }
    consoleOf(ctx).done('/admin/settings', {
      message:
        settingsChanges(before, after).length === 0 ? 'Nothing was changed.' : 'Saved. Every node applies the settings within 5 seconds.',
    });
  });

  router.post('/settings/logo', async (ctx) => {
    const file = ctx.request.files?.logo;
    try {
      await admin.settings.uploadLogo(file ?? Buffer.alloc(0), consoleOf(ctx).actor, checkSettings);
    } catch (err) {
      const problem = serviceProblem(err, { logo: 'logo', 'brand.logoUrl': 'logo', brand: 'logo' });
      if (problem) return settingsPage(ctx, { values: valuesOf(await admin.settings.get()), ...problem });
      throw err;
    }
    consoleOf(ctx).done('/admin/settings', { message: 'The logo was uploaded; every page shows it within 5 seconds.' });
  });

  router.post('/settings/test-mail', async (ctx) => {
    const { admin: me } = consoleOf(ctx);
    const sent = await admin.mail.sendTest(me);
    consoleOf(ctx).done('/admin/settings#mail', {
      message: sent
        ? `A test mail is on its way to ${me.email}. The audit log says when it was sent, or why not.`
        : admin.mail.enabled()
          ? 'No test mail was sent: your account has no verified email address.'
          : 'No test mail was sent: mail is off (SMTP_URL is not set).',
    });
  });

  router.get('/audit', async (ctx) => {
    const text = (name: string) => (typeof ctx.query[name] === 'string' ? (ctx.query[name] as string).trim().slice(0, 128) : '');
    const filter = { user: text('user'), client: text('client'), type: text('type'), from: text('from'), to: text('to') };
    const type = (auditTypes as readonly string[]).includes(filter.type) ? (filter.type as AuditType) : undefined;
    const cursor = /^\w{1,64}$/.test(text('cursor')) ? text('cursor') : undefined;
    // The range is typed in UTC, to the minute (datetime-local without a zone).
    const time = (value: string) =>
      /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2})?$/.test(value) ? new Date(`${value.length === 10 ? `${value}T00:00` : value}:00Z`) : undefined;
    const since = time(filter.from);
    const until = time(filter.to);
    const page = await admin.audit.list({
      limit: AUDIT_PAGE,
      ...(filter.user ? { users: filter.user } : {}),
      ...(filter.client ? { clientId: filter.client } : {}),
      type,
      since,
      until,
      cursor,
    });
    const query = Object.fromEntries(Object.entries(filter).filter(([, value]) => value !== ''));
    const next = page.next ? `/admin/audit?${new URLSearchParams({ ...query, cursor: page.next })}` : undefined;
    const applications = [
      ...(await admin.clients.list()).map((client) => ({
        id: client.clientId,
        name: (client.metadata.client_name as string | undefined) ?? client.clientId,
      })),
      ...(await admin.samlApps.list()).map((app) => ({ id: app.id, name: `${app.name} (SAML)` })),
    ];
    await ctx.render('console/audit', {
      title: 'Audit log',
      section: 'audit',
      events: page.events.map((event) => ({ ...event, at: event.at.toISOString(), what: describeEvent(event) })),
      types: auditTypes.map((value) => ({ value, label: eventTypeLabels[value] })),
      applications,
      filter,
      next,
      ...consoleLocals(ctx),
    });
  });
}
