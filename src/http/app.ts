import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Router from '@koa/router';
import Koa from 'koa';
import koaViews from '@ladjs/koa-views';
import type Provider from 'oidc-provider';
import type { Logger } from 'pino';
import type { Config } from '../config/load.ts';
import type { Administration } from '../domain/administration.ts';
import type { ClientService } from '../domain/clients.ts';
import type { DataKeyring } from '../domain/data-key.ts';
import type { RecoveryService } from '../domain/recovery.ts';
import { defaultSettings, type Settings, type SettingsService } from '../domain/settings.ts';
import type { UserService } from '../domain/users.ts';
import type { Stores } from '../stores/types.ts';
import type { SignInSessions } from '../oidc/sign-in-sessions.ts';
import { AppError } from '../domain/errors.ts';
import type { Metrics } from '../metrics.ts';
import { createAccountRoutes } from './account.ts';
import { createConsoleRouters } from './console/router.ts';
import { createAdminRouter } from './admin/router.ts';
import { createDemoRoutes } from './demo.ts';
import { createDemoMailRoutes } from './demo-mail.ts';
import { createDemoSamlRoutes } from './demo-saml.ts';
import { errorMiddleware } from './errors.ts';
import { createHealthRoutes } from './health.ts';
import { createInteractionRoutes } from './interaction/router.ts';
import type { InteractionDeps } from './interaction/kit.ts';
import { requestLogging } from './request-log.ts';
import { securityHeaders, withImageOrigin } from './security-headers.ts';
import { createSettingsCheck } from './settings-check.ts';
import { createPasswordResetRoutes } from './password-reset.ts';
import type { PasswordReset } from '../domain/password-reset.ts';
import type { AccountChanges } from '../domain/account-changes.ts';
import { LOGO_PATH } from '../domain/brand-logo.ts';

/**
 * The page renderer: koa-views as per-request middleware, which gives each request's `ctx`
 * a `render` that writes into that `ctx` alone. Used by twofold's app and by the engine
 * (`provider.use`), so the engine's own pages (errors, sign-out) take the same path.
 * (koa-views' other mode, a render function put on `app.context`, keeps "the current
 * request" in one variable shared by all requests, and once wrote one request's page into
 * another's response.) pug compiles each template once and keeps it (`cache`).
 */
export function createPageRenderer(viewsDir: string, brandOf: () => Promise<Settings['brand']>): Koa.Middleware {
  const views = koaViews(viewsDir, { extension: 'pug', options: { cache: true, basedir: viewsDir } });
  return (ctx, next) =>
    views(ctx, async () => {
      const render = ctx.render;
      // Every page names the organisation (settings `brand`); a page about a store outage too.
      ctx.render = async (view, locals = {}) => {
        const brand = await brandOf().catch(() => defaultSettings.brand);
        // A logo at an https address: the page's policy lets images come from its origin alone.
        const imageOrigin = brand.logoUrl?.startsWith('https://') ? new URL(brand.logoUrl).origin : undefined;
        if (imageOrigin) {
          ctx.state.imageOrigin = imageOrigin;
          const policy = ctx.response.get('Content-Security-Policy');
          if (policy) ctx.set('Content-Security-Policy', withImageOrigin(policy, imageOrigin));
        }
        return render(view, { brand, ...locals });
      };
      await next();
    });
}

/** The methods some address of twofold takes; any other is answered 501 before routing. */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** The OIDC engine's addresses (its default routes, with the features twofold turns on). */
const ENGINE_PATHS =
  /^\/(auth(\/[\w-]+)?|request|token(\/(introspection|revocation))?|jwks|me|session\/end(\/(confirm|success))?|\.well-known\/(openid-configuration|oauth-authorization-server))$/;

export interface AppDeps {
  config: Config;
  log: Logger;
  provider: Provider;
  stores: Stores;
  userService: UserService;
  clientService: ClientService;
  settings: SettingsService;
  interaction: Omit<
    InteractionDeps,
    'provider' | 'users' | 'userService' | 'settings' | 'log' | 'bodyLimit' | 'keyring' | 'rateLimiter' | 'rateLimits' | 'audit'
  >;
  keyring: DataKeyring;
  recovery: RecoveryService;
  sessions: SignInSessions;
  administration: Administration;
  passwordReset: PasswordReset;
  accountChanges: AccountChanges;
  metrics: Metrics;
  /** This node's own address once it listens (see self-client.ts). */
  localOrigin: () => string | undefined;
  pages: Koa.Middleware;
  /** The SAML front door's routes. */
  saml: Router;
  viewsDir: string;
  demo?:
    | {
        clientSecret: string;
        saml: Parameters<typeof createDemoSamlRoutes>[0];
        outbox?: Parameters<typeof createDemoMailRoutes>[0] | undefined;
      }
    | undefined;
  /** Set once shutdown begins: responses then ask clients to close their connection. */
  isShuttingDown: () => boolean;
}

/**
 * twofold's HTTP application: its own routes first (health, assets, admin API, sign-in
 * pages, the demo), then everything else to the OIDC engine.
 */
export function createApp(deps: AppDeps): Koa {
  const { config, log, provider, stores } = deps;
  const app = new Koa({ proxy: config.trustProxy > 0, maxIpsCount: config.trustProxy, keys: [...config.cookieKeys] });
  app.silent = true;

  app.use(requestLogging(log, deps.isShuttingDown));
  app.use(async (ctx, next) => {
    const started = performance.now();
    try {
      await next();
    } finally {
      const route =
        (ctx as unknown as { _matchedRoute?: string })._matchedRoute ??
        (ENGINE_PATHS.test(ctx.path) ? ctx.path.replace(/^\/auth\/[\w-]+$/, '/auth/:uid') : 'unmatched');
      deps.metrics.observeHttp(
        ctx.method,
        String(route),
        ctx.respond === false ? ctx.res.statusCode : ctx.status,
        (performance.now() - started) / 1000,
      );
    }
  });
  app.use(securityHeaders);
  app.use(deps.pages);
  app.use(errorMiddleware(log));
  app.use(async (ctx, next) => {
    // TRACE, PROPFIND and the like: no address takes them, whatever the path (RFC 9110 15.6.2).
    if (!KNOWN_METHODS.has(ctx.method)) throw new AppError('not_implemented', `This service does not answer ${ctx.method} requests.`);
    await next();
  });
  app.use(async (ctx, next) => {
    await next();
    if (ctx.state.notFound && ctx.status === 404) {
      throw new AppError(
        'not_found',
        ctx.path.startsWith('/admin/api')
          ? 'no such endpoint'
          : 'There is no page at this address. Check the link, or go back to the application.',
      );
    }
    // A router's answer to a method its address does not take: 405 with Allow, as a page.
    if (ctx.status === 405 && ctx.body == null) {
      throw new AppError(
        'method_not_allowed',
        'This address takes a form sent from its page, and cannot be opened on its own. Go back to the application and sign in again.',
      );
    }
  });

  const checkSettings = createSettingsCheck({ localOrigin: deps.localOrigin });
  const assets = new Router();
  for (const [name, type] of [
    ['twofold.css', 'text/css'],
    ['twofold.js', 'text/javascript'],
    ['api-docs.js', 'text/javascript'],
    ['api-docs.css', 'text/css'],
  ] as const) {
    const content = readFileSync(join(deps.viewsDir, 'assets', name));
    assets.get(`/assets/${name}`, (ctx) => {
      ctx.type = type;
      ctx.set('Cache-Control', 'public, max-age=3600');
      ctx.body = content;
    });
  }

  // The uploaded brand logo: its address carries its version, so browsers may keep it a day.
  assets.get(LOGO_PATH, async (ctx) => {
    const logo = await deps.administration.settings.logo();
    if (!logo) throw new AppError('not_found', 'There is no logo.');
    ctx.type = logo.contentType;
    ctx.set('Cache-Control', 'public, max-age=86400');
    ctx.set('Content-Security-Policy', "default-src 'none'");
    ctx.body = logo.bytes;
  });

  // The service's own address: a short page naming it, or in embedded mode the demo.
  const home = new Router();
  if (config.metrics.port === undefined) {
    home.get('/metrics', async (ctx) => {
      ctx.type = deps.metrics.registry.contentType;
      ctx.body = await deps.metrics.registry.metrics();
    });
  }
  home.get('/', async (ctx) => {
    if (deps.demo) return ctx.redirect('/demo/');
    await ctx.render('home', { title: 'Sign-in service' });
  });

  const routers = [
    createHealthRoutes(stores),
    assets,
    home,
    createAdminRouter({
      adminToken: config.adminToken,
      administration: deps.administration,
      bodyLimit: config.http.bodyLimitBytes,
      issuer: config.issuer,
      checkSettings,
    }),
    deps.saml,
    createInteractionRoutes({
      ...deps.interaction,
      provider,
      users: stores.users,
      userService: deps.userService,
      settings: deps.settings,
      log,
      bodyLimit: config.http.bodyLimitBytes,
      keyring: deps.keyring,
      rateLimiter: stores.rateLimiter,
      rateLimits: config.rateLimits,
      audit: stores.audit,
    }),
    ...(deps.passwordReset.enabled()
      ? [
          createPasswordResetRoutes({
            reset: deps.passwordReset,
            log,
            bodyLimit: config.http.bodyLimitBytes,
            now: () => deps.interaction.clock.now(),
          }),
        ]
      : []),
    ...createConsoleRouters({
      issuer: config.issuer,
      localOrigin: deps.localOrigin,
      users: stores.users,
      administration: deps.administration,
      sessions: deps.sessions,
      clock: deps.interaction.clock,
      keyring: deps.keyring,
      checkSettings,
      idleMinutes: config.console.idleMinutes,
      maxHours: config.console.maxHours,
      bodyLimit: config.http.bodyLimitBytes,
    }),
    createAccountRoutes({
      issuer: config.issuer,
      localOrigin: deps.localOrigin,
      users: stores.users,
      secondFactor: deps.interaction.secondFactor,
      recovery: deps.recovery,
      sessions: deps.sessions,
      clock: deps.interaction.clock,
      bodyLimit: config.http.bodyLimitBytes,
      changes: deps.accountChanges,
      audit: stores.audit,
      settings: deps.settings,
    }),
    ...(deps.demo
      ? [
          createDemoRoutes({ issuer: config.issuer, clientSecret: deps.demo.clientSecret, localOrigin: deps.localOrigin }),
          createDemoSamlRoutes(deps.demo.saml),
          ...(deps.demo.outbox ? [createDemoMailRoutes(deps.demo.outbox)] : []),
        ]
      : []),
  ];
  for (const router of routers) app.use(router.routes()).use(router.allowedMethods());

  const engine = provider.callback();
  app.use(async (ctx) => {
    // Only the engine's own addresses go to it; anything else is a page that does not
    // exist (answered below, once the routers had their say about methods: 405).
    if (!ENGINE_PATHS.test(ctx.path)) {
      ctx.status = 404;
      ctx.state.notFound = true;
      return;
    }
    ctx.respond = false;
    await engine(ctx.req, ctx.res);
  });
  return app;
}
