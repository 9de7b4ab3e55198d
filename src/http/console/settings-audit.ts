import type Router from '@koa/router';
import type { Context } from 'koa';
import type { Administration } from '../../domain/administration.ts';
import { isAppError } from '../../domain/errors.ts';
import { mfaPolicies } from '../../domain/mfa-policy.ts';
import type { Settings } from '../../domain/settings.ts';
import { auditTypes } from '../../domain/ports.ts';
import { settingsPatch } from '../admin/schemas.ts';
import { parseInput } from '../validate.ts';
import { consoleOf } from './session.ts';

/** The settings form's fields, as the admin API's settings (checked by its schema). */
function settingsOf(body: Record<string, string>) {
  const number = (value: string | undefined) =>
    value !== undefined && value.trim() !== '' && !Number.isNaN(Number(value)) ? Number(value) : value;
  return {
    enabled: body.enabled === 'on',
    defaultPolicy: body.defaultPolicy,
    skewSteps: number(body.skewSteps),
    maxAttempts: number(body.maxAttempts),
    lockoutSeconds: number(body.lockoutSeconds),
    backupCodes: { enabled: body.backupCodesEnabled === 'on', count: number(body.backupCodesCount) },
    issuerLabel: body.issuerLabel,
    registrationMessage: body.registrationMessage ?? '',
    brand: { name: body.brandName, logoUrl: body.brandLogoUrl?.trim() ? body.brandLogoUrl.trim() : null },
  };
}

export function mountConsoleSettingsAndAudit(router: Router, admin: Administration) {
  const settingsPage = async (ctx: Context, options: { error?: string; saved?: boolean } = {}) => {
    ctx.status = options.error ? 400 : 200;
    await ctx.render('console/settings', {
      title: 'Settings',
      section: 'settings',
      settings: await admin.settings.get(),
      policies: mfaPolicies,
      ...options,
      ...consoleOf(ctx),
    });
  };

  router.get('/settings', (ctx) => settingsPage(ctx, { saved: ctx.query.saved === '1' }));

  router.post('/settings', async (ctx) => {
    try {
      const patch = parseInput(settingsPatch, settingsOf(ctx.request.body as Record<string, string>));
      await admin.settings.update(patch as Partial<Settings>, consoleOf(ctx).actor);
    } catch (err) {
      if (isAppError(err) && err.status < 500) return settingsPage(ctx, { error: err.message });
      throw err;
    }
    ctx.status = 303;
    ctx.redirect('/admin/settings?saved=1');
  });

  router.get('/audit', async (ctx) => {
    const text = (name: string) => (typeof ctx.query[name] === 'string' ? (ctx.query[name] as string).slice(0, 128) : '');
    const username = text('user').trim();
    const type = (auditTypes as readonly string[]).includes(text('type')) ? (text('type') as (typeof auditTypes)[number]) : undefined;
    const cursor = /^[\w]{1,64}$/.test(text('cursor')) ? text('cursor') : undefined;
    let userId: string | undefined;
    if (username) {
      const page = await admin.users.list({ pattern: username.replaceAll('*', ''), limit: 1 });
      userId = page.users.find((user) => user.username === username)?.id ?? 'none';
    }
    const page = await admin.audit.list({ limit: 50, userId, type, cursor });
    const next = page.next
      ? `/admin/audit?${new URLSearchParams({ ...(username ? { user: username } : {}), ...(type ? { type } : {}), cursor: page.next })}`
      : undefined;
    await ctx.render('console/audit', {
      title: 'Audit log',
      section: 'audit',
      events: page.events.map((event) => ({ ...event, at: event.at.toISOString().replace('T', ' ').slice(0, 19) })),
      types: auditTypes,
      filter: { user: username, type: type ?? '' },
      next,
      ...consoleOf(ctx),
    });
  });
}
