import { registeredFactors } from '../domain/factors.ts';
import Router from '@koa/router';
import Tokens from 'csrf';
import type { Context } from 'koa';
import { z } from 'zod';
import { secondFactorAt } from '../domain/authentication.ts';
import { isWithin } from '../domain/mfa-policy.ts';
import type { Clock } from '../domain/clock.ts';
import type { RecoveryService, RecoverySource } from '../domain/recovery.ts';
import { ACCOUNT_CLIENT_ID } from '../oidc/internal-clients.ts';
import type { LiveSession, SignInSessions } from '../oidc/sign-in-sessions.ts';
import { TOTP_APPS_MAX, WEBAUTHN_KEYS_MAX, type AuditLog, type UserRecord, type UserStore } from '../domain/ports.ts';
import { keyName, type SecondFactorService } from '../domain/second-factor.ts';
import { bodyParser } from './body.ts';
import { jsonField } from './validate.ts';
import { otpauthQr } from './qr.ts';
import { groupedSecret, otpauthUri } from '../domain/totp.ts';
import type { SettingsService } from '../domain/settings.ts';
import { liveRememberedDevices, rememberedDeviceOf } from '../domain/remembered-devices.ts';
import { deviceCookie } from '../oidc/device-cookie.ts';
import { backupCodesPage, lockedMessage } from './interaction/messages.ts';
import { createSelfClient } from './self-client.ts';
import type { AccountChanges } from '../domain/account-changes.ts';
import { mountAccountChanges } from './account-changes.ts';

/** A second factor this recent lets the user add or remove an authenticator or make new codes without another code. */
export const FRESH_SECOND_FACTOR_SECONDS = 300;
/** The account page signs out by itself after this long. */
const SESSION_SECONDS = 1800;
const SESSION_COOKIE = 'account_session';

/** `sid`: the uid of the sign-in session the account page's sign-in came from. */
const sessionSchema = z.strictObject({
  sub: z.string().min(1),
  sid: z.string().min(1),
  csrf: z.string().min(1),
  exp: z.number().int(),
  /** The WebAuthn challenge of the add-a-key page shown last (the cookie is signed: it cannot be made up); answered once. */
  keyChallenge: z
    .string()
    .regex(/^[\w-]{16,128}$/)
    .optional(),
});
export type AccountSession = z.infer<typeof sessionSchema>;
/** A time as the page shows it beside its <time> element: UTC to the minute. */
const shortTime = (at: Date) => at.toISOString().slice(0, 16).replace('T', ' ');

const actionForm = z.strictObject({ csrf: z.string().max(200), code: z.string().max(64).optional() });

const actions = {
  'new-codes': {
    title: 'Make new backup codes?',
    lead: 'Your current backup codes stop working at once. The new ones are shown once: save them somewhere safe.',
    button: 'Make new backup codes',
    danger: false,
    path: '/account/backup-codes',
  },
} as const;
type Action = keyof typeof actions;

/**
 * The account page: a user signs in through twofold itself (the `twofold-account` client,
 * whose second factor is always required), sees the registered authenticator and the
 * backup codes left, deletes the authenticator and makes new backup codes. Both changes
 * need a second factor from the last 5 minutes, asked again on the confirmation page
 * when older: the sign-in session's second-factor time, never its password's or the
 * token's auth_time. The page's cookie names the sign-in session it came from, and each
 * request checks that session is still there: signing out here or anywhere else, a reset,
 * a password change end the page too. Every form carries a CSRF token bound to the
 * account session.
 */
export function createAccountRoutes(deps: {
  issuer: string;
  localOrigin: () => string | undefined;
  users: UserStore;
  secondFactor: SecondFactorService;
  recovery: RecoveryService;
  sessions: SignInSessions;
  clock: Clock;
  bodyLimit: number;
  changes: AccountChanges;
  audit: AuditLog;
  settings: SettingsService;
}) {
  const router = new Router({ prefix: '/account' });
  const client = createSelfClient({
    issuer: deps.issuer,
    clientId: ACCOUNT_CLIENT_ID,
    path: '/account',
    scope: 'openid profile',
    localOrigin: deps.localOrigin,
  });
  const tokens = new Tokens();
  const form = bodyParser({ limit: deps.bodyLimit, accept: ['form'] });
  const nowSeconds = () => Math.floor(deps.clock.now() / 1000);
  const source = (ctx: Context) => ({ clientId: ACCOUNT_CLIENT_ID, ip: ctx.ip, userAgent: ctx.get('user-agent') || undefined });

  router.use(async (ctx, next) => {
    ctx.set('Cache-Control', 'no-store');
    await next();
  });

  /**
   * The signed-in user of this browser's account session and the sign-in session behind
   * it, or null (the account session is then cleared).
   */
  async function signedIn(ctx: Context): Promise<{ session: AccountSession; live: LiveSession; user: UserRecord } | null> {
    const parsed = sessionSchema.safeParse(client.readJson(ctx, SESSION_COOKIE));
    const current = parsed.success && parsed.data.exp > nowSeconds() ? parsed.data : undefined;
    const [live, user] = current ? await Promise.all([deps.sessions.live(current.sid, current.sub), deps.users.findById(current.sub)]) : [];
    if (!current || !live || !user || user.disabled) {
      client.clear(ctx, SESSION_COOKIE);
      return null;
    }
    return { session: current, live, user };
  }

  /**
   * Which code a change asks for when the session's second factor is not fresh: the app's
   * (or a backup code), a backup code alone for a user with email codes only (codes are
   * mailed only when signing in), or none for a user with no second factor.
   */
  const codeAsked = (live: LiveSession, user: UserRecord): 'app' | 'backup' | false =>
    isFresh(live) || registeredFactors(user).length === 0 ? false : user.mfa.apps?.length ? 'app' : 'backup';

  /** A second factor presented in this sign-in session within the last 5 minutes. */
  const isFresh = (live: LiveSession) => {
    const at = secondFactorAt(live.methods);
    return at !== undefined && isWithin(at, FRESH_SECOND_FACTOR_SECONDS, nowSeconds());
  };

  /** The browsers the user has remembered, the newest first, this one marked. */
  function browsersOf(ctx: Context, user: UserRecord) {
    const now = deps.clock.now();
    const current = rememberedDeviceOf(user, deviceCookie.read(ctx), now)?.id;
    return liveRememberedDevices(user, now).map((device) => ({
      id: device.id,
      browser: device.browser,
      current: device.id === current,
      rememberedAt: shortTime(device.rememberedAt),
      rememberedAtIso: device.rememberedAt.toISOString(),
      expiresAt: shortTime(device.expiresAt),
      expiresAtIso: device.expiresAt.toISOString(),
    }));
  }

  function renderHome(ctx: Context, user: UserRecord, session: AccountSession, notice?: string, error?: string) {
    const emailFactor = user.mfa.email;
    return ctx.render('account', {
      title: 'Your account',
      username: user.username,
      apps: (user.mfa.apps ?? []).map((app) => ({
        id: app.id,
        name: app.name,
        registeredAt: shortTime(app.registeredAt),
        registeredAtIso: app.registeredAt.toISOString(),
        lastUsedAt: app.lastUsedAt && shortTime(app.lastUsedAt),
        lastUsedAtIso: app.lastUsedAt?.toISOString(),
      })),
      appsMax: TOTP_APPS_MAX,
      canAddKey: canAddKey(user),
      emailFactor: emailFactor && {
        registeredAt: shortTime(emailFactor.registeredAt),
        registeredAtIso: emailFactor.registeredAt.toISOString(),
      },
      keys: (user.mfa.webauthn ?? []).map((key) => ({
        id: key.id,
        name: key.name,
        kind: key.deviceType === 'multiDevice' ? 'passkey' : 'security key',
        addedAt: shortTime(key.addedAt),
        addedAtIso: key.addedAt.toISOString(),
        lastUsedAt: key.lastUsedAt && shortTime(key.lastUsedAt),
        lastUsedAtIso: key.lastUsedAt?.toISOString(),
      })),
      browsers: browsersOf(ctx, user),
      backupCodesLeft: registeredFactors(user).length ? (user.mfa.backupCodes?.hashes.length ?? 0) : 0,
      email: user.email,
      emailVerified: user.emailVerified === true,
      mailEnabled: deps.changes.mailEnabled(),
      csrf: tokens.create(session.csrf),
      notice,
      error,
    });
  }

  function renderConfirm(
    ctx: Context,
    action: Action,
    current: { session: AccountSession; live: LiveSession; user: UserRecord },
    options: { error?: string; locked?: string; status?: number } = {},
  ) {
    ctx.status = options.status ?? 200;
    return ctx.render('account-confirm', {
      ...actions[action],
      csrf: tokens.create(current.session.csrf),
      askCode: codeAsked(current.live, current.user),
      ...options,
    });
  }

  router.get('/', async (ctx) => {
    const current = await signedIn(ctx);
    if (!current) return client.start(ctx);
    const notice =
      ctx.query.added === 'app'
        ? 'The authenticator app was added. Its codes sign you in from now on.'
        : ctx.query.added === 'key'
          ? 'The security key or passkey was added. It signs you in from now on.'
          : undefined;
    await renderHome(ctx, current.user, current.session, notice);
  });

  router.get('/callback', async (ctx) => {
    const result = await client.finish(ctx);
    const claims = 'tokens' in result ? result.tokens.claims() : undefined;
    // The account page is only for a sign-in that passed the second factor, in this browser's sign-in session.
    const live =
      claims && Array.isArray(claims.amr) && claims.amr.includes('mfa') ? await deps.sessions.ofBrowser(ctx, claims.sub) : undefined;
    if (!claims || !live) {
      ctx.status = 400;
      return ctx.render('error', {
        title: 'Sign-in error',
        heading: 'Sign-in did not complete',
        message: 'error' in result ? `Sign-in did not complete: ${result.error}.` : 'Sign-in did not complete.',
      });
    }
    const session: AccountSession = { sub: claims.sub, sid: live.uid, csrf: tokens.secretSync(), exp: nowSeconds() + SESSION_SECONDS };
    client.writeJson(ctx, SESSION_COOKIE, session);
    ctx.redirect('/account/');
  });

  for (const action of Object.keys(actions) as Action[]) {
    router.get(actions[action].path.slice('/account'.length), async (ctx) => {
      const current = await signedIn(ctx);
      if (!current) return ctx.redirect('/account/');
      await renderConfirm(ctx, action, current);
    });

    router.post(actions[action].path.slice('/account'.length), form, async (ctx) => {
      const current = await signedIn(ctx);
      const parsed = actionForm.safeParse(ctx.request.body);
      // No session, no form token, or another's: nothing changes.
      if (!current || !parsed.success || !tokens.verify(current.session.csrf, parsed.data.csrf)) {
        return formExpired(ctx);
      }
      const { user, session } = current;
      if (registeredFactors(user).length === 0) return ctx.redirect('/account/');
      const refused = await freshSecondFactor(ctx, current, parsed.data.code ?? '');
      if (refused) return renderConfirm(ctx, action, current, refused);
      const codes = await deps.secondFactor.issueBackupCodes(user.id, source(ctx), true);
      if (!codes) return renderHome(ctx, user, session, 'Backup codes are switched off by your administrator.');
      await ctx.render('backup-codes', {
        title: 'Your new backup codes',
        ...backupCodesPage(user.username, codes),
        continueHref: '/account/',
      });
    });
  }

  /** A form without this account session's token (none, expired, or another's): nothing changes. */
  function formExpired(ctx: Context) {
    ctx.status = 403;
    return ctx.render('error', {
      title: 'Not allowed',
      heading: 'This form has expired',
      message: 'Open your account page again and repeat the change.',
      backTo: '/account/',
    });
  }

  /**
   * The authenticators a user renames and removes here, by kind: security keys and
   * passkeys, and authenticator apps. Removing one needs a fresh second factor and ends
   * every session of the user; removing the last one says the next sign-in sets one up.
   */
  const kinds = {
    keys: {
      find: (user: UserRecord, id: string) => user.mfa.webauthn?.find((key) => key.id === id),
      noun: 'security key',
      rename: (userId: string, id: string, name: string) => deps.users.renameWebAuthnKey(userId, id, name),
      remove: (userId: string, id: string, by: RecoverySource) => deps.recovery.removeKey(userId, id, by),
      renamed: 'mfa.key_renamed' as const,
      lead: 'This security key will no longer sign you in',
    },
    apps: {
      find: (user: UserRecord, id: string) => user.mfa.apps?.find((app) => app.id === id),
      noun: 'authenticator app',
      rename: (userId: string, id: string, name: string) => deps.users.renameDevice(userId, id, name),
      remove: (userId: string, id: string, by: RecoverySource) => deps.recovery.removeApp(userId, id, by),
      renamed: 'mfa.app_renamed' as const,
      lead: 'The codes of this authenticator app will no longer sign you in',
    },
  };

  for (const [path, kind] of Object.entries(kinds)) {
    /** The confirmation page of a removal: what it ends, and the fresh second factor when needed. */
    const renderRemoval = (
      ctx: Context,
      held: { id: string; name: string },
      current: { session: AccountSession; live: LiveSession; user: UserRecord },
      options: { error?: string; locked?: string; status?: number } = {},
    ) => {
      const last =
        registeredFactors(current.user).length === 1 &&
        (current.user.mfa.apps?.length ?? 0) + (current.user.mfa.webauthn?.length ?? 0) === 1;
      ctx.status = options.status ?? 200;
      return ctx.render('account-confirm', {
        title: `Remove “${held.name}”?`,
        lead: `${kind.lead}, and you are signed out everywhere.${
          last
            ? ' It is your only second factor: your backup codes stop working too, and the next time an application asks for a second factor, you set one up again.'
            : ''
        }`,
        button: `Remove ${kind.noun}`,
        danger: true,
        path: `/account/${path}/${encodeURIComponent(held.id)}/remove`,
        csrf: tokens.create(current.session.csrf),
        askCode: codeAsked(current.live, current.user),
        ...options,
      });
    };

    router.get(`/${path}/:id/remove`, async (ctx) => {
      const current = await signedIn(ctx);
      const held = current && kind.find(current.user, ctx.params.id!);
      if (!current || !held) return ctx.redirect('/account/');
      await renderRemoval(ctx, held, current);
    });

    /**
     * Gives one another name. Renaming changes what the user sees and nothing about what
     * signs in, so the form's CSRF token is asked, not a fresh second factor.
     */
    router.post(`/${path}/:id/rename`, form, async (ctx) => {
      const current = await signedIn(ctx);
      const parsed = z.strictObject({ csrf: z.string().max(200), name: z.string().max(200) }).safeParse(ctx.request.body);
      if (!current || !parsed.success || !tokens.verify(current.session.csrf, parsed.data.csrf)) {
        return formExpired(ctx);
      }
      const held = kind.find(current.user, ctx.params.id!);
      if (!held) return ctx.redirect('/account/');
      const name = keyName(parsed.data.name);
      if (!name) {
        ctx.status = 400;
        return renderHome(ctx, current.user, current.session, undefined, `A name has 1 to 64 characters.`);
      }
      if (name !== held.name && (await kind.rename(current.user.id, held.id, name))) {
        await deps.audit.record({
          at: new Date(deps.clock.now()),
          type: kind.renamed,
          outcome: 'success',
          userId: current.user.id,
          ...source(ctx),
          actor: 'user',
          changes: [{ field: 'name', from: held.name, to: name }],
        });
      }
      ctx.status = 303;
      return ctx.redirect('/account/');
    });

    router.post(`/${path}/:id/remove`, form, async (ctx) => {
      const current = await signedIn(ctx);
      const parsed = actionForm.safeParse(ctx.request.body);
      if (!current || !parsed.success || !tokens.verify(current.session.csrf, parsed.data.csrf)) {
        return formExpired(ctx);
      }
      const held = kind.find(current.user, ctx.params.id!);
      if (!held) return ctx.redirect('/account/');
      const refused = await freshSecondFactor(ctx, current, parsed.data.code ?? '');
      if (refused) return renderRemoval(ctx, held, current, refused);
      // Losing a factor ends every session of the user, this one included.
      await kind.remove(current.user.id, held.id, { ...source(ctx), actor: 'user' });
      client.clear(ctx, SESSION_COOKIE);
      ctx.status = 303;
      return ctx.redirect(`/account/signed-out?reason=${path}`);
    });
  }

  /** The add-an-app page: the new secret (sealed in the form), how to add it, and the fresh second factor when needed. */
  async function renderAddApp(
    ctx: Context,
    current: { session: AccountSession; live: LiveSession; user: UserRecord },
    sealed: string,
    options: { error?: string; locked?: string; status?: number; name?: string } = {},
  ) {
    const settings = await deps.settings.get();
    const secret = deps.secondFactor.openEnrollment(sealed);
    const uri = otpauthUri({ secret, label: settings.issuerLabel, account: current.user.username });
    ctx.status = options.status ?? 200;
    return ctx.render('account-add-app', {
      title: 'Add an authenticator app',
      ...(await otpauthQr(uri)),
      otpauth: uri,
      secret: groupedSecret(secret),
      label: settings.issuerLabel,
      username: current.user.username,
      enrollment: sealed,
      appName: options.name ?? '',
      csrf: tokens.create(current.session.csrf),
      askCode: codeAsked(current.live, current.user),
      error: options.error,
      locked: options.locked,
    });
  }

  const addAppForm = z.strictObject({
    csrf: z.string().max(200),
    enrollment: z.string().max(512),
    newCode: z.string().max(64),
    name: z.string().max(200).optional(),
    code: z.string().max(64).optional(),
  });

  // The address of the one app's removal before users could have several: the first app's.
  router.get('/device/delete', async (ctx) => {
    const current = await signedIn(ctx);
    const first = current?.user.mfa.apps?.[0];
    ctx.redirect(first ? `/account/apps/${first.id}/remove` : '/account/');
  });

  router.get('/apps/add', async (ctx) => {
    const current = await signedIn(ctx);
    if (!current || (current.user.mfa.apps?.length ?? 0) >= TOTP_APPS_MAX) return ctx.redirect('/account/');
    await renderAddApp(ctx, current, deps.secondFactor.newEnrollment().sealed);
  });

  /**
   * Adds another authenticator app: a fresh second factor (or a code of a factor the user
   * has, typed on the page), then a current code of the new app's secret. The secret
   * travels sealed in the form (encrypted and authenticated under the data key, so it can
   * be neither read nor made up) and adds at most one app.
   */
  router.post('/apps/add', form, async (ctx) => {
    const current = await signedIn(ctx);
    const parsed = addAppForm.safeParse(ctx.request.body);
    if (!current || !parsed.success || !tokens.verify(current.session.csrf, parsed.data.csrf)) {
      return formExpired(ctx);
    }
    const { enrollment, newCode, name = '', code = '' } = parsed.data;
    if (!isEnrollment(enrollment)) return formExpired(ctx);
    const refused = await freshSecondFactor(ctx, current, code);
    if (refused) return renderAddApp(ctx, current, enrollment, { ...refused, name });
    const outcome = await deps.secondFactor.register(current.user, enrollment, newCode, source(ctx), { name, another: true });
    switch (outcome.result) {
      case 'registered':
        ctx.status = 303;
        return ctx.redirect('/account/?added=app');
      case 'locked':
        return renderAddApp(ctx, current, enrollment, { status: 403, locked: lockedMessage(outcome.until, deps.clock.now()), name });
      case 'already_registered':
        return renderHome(
          ctx,
          current.user,
          current.session,
          undefined,
          'That app was added already, or you have as many as can be added.',
        );
      default:
        return renderAddApp(ctx, current, enrollment, {
          status: 401,
          error: 'That code is not the new app’s current code. Check that the app shows this account, and enter the code it shows now.',
          name,
        });
    }
  });

  /**
   * The add-a-key page: the browser's options for a new credential (their challenge kept in
   * the page's signed session cookie), the name, and the fresh second factor when needed.
   */
  async function renderAddKey(
    ctx: Context,
    current: { session: AccountSession; live: LiveSession; user: UserRecord },
    options: { error?: string; locked?: string; status?: number; name?: string } = {},
  ) {
    const creation = await deps.secondFactor.keyCreation(current.user);
    client.writeJson(ctx, SESSION_COOKIE, { ...current.session, keyChallenge: creation.challenge });
    ctx.status = options.status ?? 200;
    return ctx.render('account-add-key', {
      title: 'Add a security key or passkey',
      options: JSON.stringify(creation),
      keyName: options.name ?? 'Security key',
      csrf: tokens.create(current.session.csrf),
      askCode: codeAsked(current.live, current.user),
      error: options.error,
      locked: options.locked,
    });
  }

  const canAddKey = (user: UserRecord) => deps.secondFactor.keysOn && (user.mfa.webauthn?.length ?? 0) < WEBAUTHN_KEYS_MAX;

  router.get('/keys/add', async (ctx) => {
    const current = await signedIn(ctx);
    if (!current || !canAddKey(current.user)) return ctx.redirect('/account/');
    await renderAddKey(ctx, current);
  });

  /**
   * Adds a security key or passkey: a fresh second factor (or a code typed on the page),
   * then the browser's answer to the challenge this page's session holds, taken from it
   * first and claimed once across nodes.
   */
  router.post('/keys/add', form, async (ctx) => {
    const current = await signedIn(ctx);
    const parsed = z
      .strictObject({
        csrf: z.string().max(200),
        response: z.string().max(32_768),
        name: z.string().max(200).optional(),
        code: z.string().max(64).optional(),
      })
      .safeParse(ctx.request.body);
    if (!current || !parsed.success || !tokens.verify(current.session.csrf, parsed.data.csrf)) {
      return formExpired(ctx);
    }
    const { keyChallenge: challenge, ...session } = current.session;
    if (!challenge || !canAddKey(current.user)) return formExpired(ctx);
    client.writeJson(ctx, SESSION_COOKIE, session);
    const { response, name = '', code = '' } = parsed.data;
    const refused = await freshSecondFactor(ctx, current, code);
    // The page shown again: this session without the challenge just taken (it makes a new one).
    const again = { ...current, session };
    if (refused) return renderAddKey(ctx, again, { ...refused, name });
    const outcome = await deps.secondFactor.registerKey(current.user, jsonField(response), challenge, name, source(ctx));
    switch (outcome.result) {
      case 'registered':
        ctx.status = 303;
        return ctx.redirect('/account/?added=key');
      case 'locked':
        return renderAddKey(ctx, again, { status: 403, locked: lockedMessage(outcome.until, deps.clock.now()), name });
      case 'already_registered':
        return renderAddKey(ctx, again, { status: 409, error: 'That key is registered already: use another one.', name });
      default:
        return renderAddKey(ctx, again, {
          status: 401,
          error: 'The key was not added: its answer was not accepted. Try again.',
          name,
        });
    }
  });

  /** A sealed enrollment this instance made (anything else is a form not ours). */
  function isEnrollment(sealed: string): boolean {
    try {
      deps.secondFactor.openEnrollment(sealed);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Forgets a remembered browser (`all`: every one): its next sign-in asks for the second
   * factor. It only takes a way in away, so the form's CSRF token is asked, not a code.
   */
  router.post('/browsers/:id/forget', form, async (ctx) => {
    const current = await signedIn(ctx);
    const parsed = actionForm.safeParse(ctx.request.body);
    if (!current || !parsed.success || !tokens.verify(current.session.csrf, parsed.data.csrf)) {
      return formExpired(ctx);
    }
    const id = ctx.params.id === 'all' ? undefined : ctx.params.id!;
    const thisOne = rememberedDeviceOf(current.user, deviceCookie.read(ctx), deps.clock.now());
    if (await deps.recovery.forgetBrowsers(current.user.id, id, { ...source(ctx), actor: 'user' })) {
      if (thisOne && (id === undefined || id === thisOne.id)) deviceCookie.clear(ctx);
    }
    ctx.status = 303;
    return ctx.redirect('/account/');
  });

  /**
   * A second factor presented in this sign-in session within the last 5 minutes, or the
   * code typed now (recorded with the session, as a sign-in's is, and in `current.live`,
   * this request's view of it). Null when the change may go on; else the refusal, for the
   * caller to render on its own page.
   */
  async function freshSecondFactor(
    ctx: Context,
    current: { live: LiveSession; user: UserRecord },
    code: string,
  ): Promise<{ status: number; error?: string; locked?: string } | null> {
    const asked = codeAsked(current.live, current.user);
    if (!asked) return null;
    const typed = code.slice(0, 64);
    // Without an app, only a backup code can pass here (codes are mailed only when signing in).
    const outcome = await deps.secondFactor.verify(current.user, typed, source(ctx));
    if (outcome.result === 'locked') return { status: 403, locked: lockedMessage(outcome.until, deps.clock.now()) };
    if (outcome.result !== 'passed')
      return {
        status: 401,
        error:
          asked === 'app'
            ? 'That code is not correct or was already used.'
            : 'That backup code is not correct or was already used. Or sign out, sign in again with a code by email, and repeat the change within 5 minutes.',
      };
    current.live = await deps.sessions.recordFactor(current.live, outcome.method, nowSeconds());
    return null;
  }

  /** A form's CSRF token, then the fresh second factor (see above). */
  async function guardForm(
    ctx: Context,
    current: { session: AccountSession; live: LiveSession; user: UserRecord },
  ): Promise<{ status: number; error?: string; locked?: string } | null> {
    const body = (ctx.request.body ?? {}) as Record<string, unknown>;
    if (typeof body.csrf !== 'string' || !tokens.verify(current.session.csrf, body.csrf))
      return { status: 403, error: 'This form has expired. Open the page again.' };
    return freshSecondFactor(ctx, current, typeof body.code === 'string' ? body.code : '');
  }

  mountAccountChanges(router, {
    changes: deps.changes,
    form,
    signedIn,
    guardForm,
    askCode: (current) => codeAsked(current.live, current.user),
    csrf: (session) => tokens.create(session.csrf),
    endPage: (ctx) => client.clear(ctx, SESSION_COOKIE),
    source,
  });

  router.post('/logout', form, async (ctx) => {
    const current = await signedIn(ctx);
    const parsed = actionForm.safeParse(ctx.request.body);
    if (current && parsed.success && tokens.verify(current.session.csrf, parsed.data.csrf)) {
      client.clear(ctx, SESSION_COOKIE);
      await deps.sessions.end(current.live.uid);
    }
    ctx.status = 303;
    ctx.redirect('/account/signed-out');
  });

  router.get('/signed-out', (ctx) =>
    ctx.render('signed-out', {
      title: 'Signed out',
      message:
        ctx.query.reason === 'keys'
          ? 'The security key was removed, and you are signed out everywhere. Sign in again with another second factor, or set one up when asked.'
          : ctx.query.reason === 'apps'
            ? 'The authenticator app was removed, and you are signed out everywhere. Sign in again with another second factor, or set one up when asked.'
            : ctx.query.reason === 'password'
              ? 'Your password is changed, and you are signed out everywhere. Sign in again with the new password.'
              : 'You are signed out of your account page and of your sign-in. Signing in again asks for your password.',
      signInHref: '/account/',
    }),
  );

  return router;
}
