import { engineSecurityHeaders } from './http/security-headers.ts';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { packageRoot, type Config } from './config/load.ts';
import { systemClock, type Clock } from './domain/clock.ts';
import { checkClientAddresses, createClientService } from './domain/clients.ts';
import { createDataKeyring } from './domain/data-key.ts';
import { AppError } from './domain/errors.ts';
import { createPasswordHasher } from './domain/passwords.ts';
import { createAdministration } from './domain/administration.ts';
import { createDataPortability } from './domain/data-portability.ts';
import { createKeyRotation } from './domain/key-rotation.ts';
import { createRecoveryService } from './domain/recovery.ts';
import { createSecondFactorService } from './domain/second-factor.ts';
import { createSettingsService } from './domain/settings.ts';
import { createUserService } from './domain/users.ts';
import { createApp, createPageRenderer } from './http/app.ts';
import { checkImportedClient } from './http/admin/schemas.ts';
import { DEMO_CLIENT_ID } from './http/demo.ts';
import { logOf } from './http/request-log.ts';
import type { Logger } from './logger.ts';
import { createMfaAssessor } from './oidc/mfa-assessment.ts';
import { createSignInJourney } from './domain/sign-in-journey.ts';
import { createWebAuthnCeremonies, relyingPartyOf } from './domain/webauthn.ts';
import { createEmailCodes } from './domain/email-codes.ts';
import { createSamlAppService, PAIRWISE_KEY_ID, PAIRWISE_PURPOSE, type SamlAppService } from './domain/saml-apps.ts';
import { DEMO_SAML_APP_ID, demoSamlUrls } from './http/demo-saml.ts';
import { createSamlDoor } from './saml/door.ts';
import { generateSigningPair, SAML_KEYS_ID, SAML_KEYS_PURPOSE } from './saml/signing-keys.ts';
import { createMfaState } from './oidc/mfa-state.ts';
import { ACCOUNT_CLIENT_ID, CONSOLE_CLIENT_ID, SAML_CLIENT_ID } from './oidc/internal-clients.ts';
import { createProvider } from './oidc/provider.ts';
import { createSignInSessions } from './oidc/sign-in-sessions.ts';
import { loadSigningKeys, SIGNING_KEYS_ID, SIGNING_KEYS_PURPOSE } from './oidc/signing-keys.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { createMemoryStores } from './stores/memory/index.ts';
import { createMongoRedisStores } from './stores/mongo-redis.ts';
import type { Stores } from './stores/types.ts';
import { createNotifier, notifyingAuditLog } from './domain/notifications.ts';
import { createMailer } from './mail/mailer.ts';
import { createPasswordReset } from './domain/password-reset.ts';
import type { LinkTokenStore } from './domain/mailed-links.ts';
import { createAccountChanges } from './domain/account-changes.ts';

export interface Twofold {
  server: Server;
  url: string;
  stores: Stores;
  demo?: { username: string; password: string; admin: { username: string; password: string }; url: string; samlUrl: string } | undefined;
  /** This node's mail: whether it can go out, and a promise that resolves once none waits. */
  mail: { enabled: boolean; idle(): Promise<void> };
  /** Stops accepting, lets in-flight requests finish, then closes the stores. */
  close(): Promise<void>;
}

export interface StartOptions {
  log: Logger;
  clock?: Clock;
  /** Listen on this host; default all interfaces. */
  host?: string;
  /** Seed the embedded demo (embedded mode only); default on in embedded mode. */
  demo?: boolean;
  /** Where embedded mode prints its mails (default: standard output). */
  writeMail?: (text: string) => void;
}

/** The composition root: config → stores → services → provider → HTTP → listen. */
export async function startTwofold(config: Config, options: StartOptions): Promise<Twofold> {
  const { log } = options;
  const clock = options.clock ?? systemClock;
  const metrics = createMetrics();
  const rawStores =
    config.mode === 'embedded'
      ? createMemoryStores({ clock, auditRetentionDays: config.audit.retentionDays })
      : await createMongoRedisStores({
          mongodb: {
            uri: config.mongodb.uri!,
            serverSelectionTimeoutMs: config.mongodb.serverSelectionTimeoutMs,
            operationTimeoutMs: config.mongodb.operationTimeoutMs,
          },
          redis: config.redis,
          clock,
          auditRetentionDays: config.audit.retentionDays,
          onRetry: (store, reason) => log.warn({ store, reason }, `${store} is not reachable; retrying`),
        });
  const instrumented = metrics.instrument(rawStores);

  const keyring = createDataKeyring(config.dataKeys);
  const hasher = await createPasswordHasher({
    memoryKiB: config.password.memoryKiB,
    passes: config.password.passes,
    parallelism: config.password.parallelism,
  });
  const userService = createUserService({ users: instrumented.users, hasher });
  const viewsDir = config.views?.dir ?? join(packageRoot, 'views');
  const settings = createSettingsService({
    store: instrumented.settings,
    clock,
    notify: () => instrumented.notifyChanged('settings'),
    onChanged: (listener) => instrumented.onChanged('settings', listener),
    onNotifyFailed: (err) => log.warn({ err }, 'settings change not announced; other nodes see it within seconds'),
  });
  const pages = createPageRenderer(viewsDir, async () => (await settings.get()).brand);
  // Mail, and the notifications that ride on the audit log: every audited change of a
  // user's sign-in methods is mailed to them (the mail's own events go to the plain log).
  const mail = createMailer({
    config,
    log,
    audit: instrumented.audit,
    countMail: metrics.countMail,
    ...(options.writeMail ? { write: options.writeMail } : {}),
  });
  const notifier = createNotifier({ users: instrumented.users, mailer: mail.mailer, settings, clock, issuer: config.issuer });
  const stores: Stores = {
    ...instrumented,
    audit: notifyingAuditLog(instrumented.audit, notifier, (err) => log.warn({ err }, 'notification not queued')),
  };
  const relyingParty = relyingPartyOf(config.issuer);
  const keys = relyingParty ? createWebAuthnCeremonies(relyingParty) : undefined;
  const secondFactor = createSecondFactorService({
    users: stores.users,
    guard: stores.guard,
    keyring,
    clock,
    settings,
    audit: stores.audit,
    keys,
  });
  const recovery = createRecoveryService({ users: stores.users, guard: stores.guard, oidc: stores.oidc, audit: stores.audit, clock });
  const mfaState = createMfaState(stores.oidc, config.oidc.ttl.session);
  const journey = createSignInJourney({
    users: stores.users,
    userService,
    secondFactor,
    settings,
    state: mfaState.signIn,
    rateLimiter: stores.rateLimiter,
    rateLimits: config.rateLimits,
    audit: stores.audit,
    keyring,
    clock,
    emailCodes: createEmailCodes({ mailer: mail.mailer, settings, keyring, rateLimiter: stores.rateLimiter, clock }),
    mailOn: mail.mailer.enabled,
    keysOn: keys !== undefined,
  });
  const assessor = createMfaAssessor({ users: stores.users, journey, mfaState, clock });
  const jwks = await loadSigningKeys(stores.keys, keyring);
  const provider = createProvider({ config, stores, keyring, jwks, pages, securityHeaders: engineSecurityHeaders, assessor, clock });
  const sessions = createSignInSessions({ provider, oidc: stores.oidc, mfaState });
  provider.on('server_error', (ctx, err) => logOf(ctx, log).error({ err }, 'oidc engine error'));
  const validateClient = async (metadata: Record<string, unknown>) => {
    checkClientAddresses(metadata);
    try {
      await provider.Client.validate(metadata as Parameters<typeof provider.Client.validate>[0]);
    } catch (err) {
      const described = err as { error_description?: string; message?: string };
      throw new AppError('invalid_request', described.error_description ?? described.message ?? 'invalid client metadata');
    }
  };
  const clientService = createClientService({ clients: stores.clients, keyring, clock, validate: validateClient });
  const samlApps = createSamlAppService({ store: stores.samlApps, clock });
  // Set once, when the server listens: the address the node's own relying parties use.
  let localOrigin: string | undefined;
  const saml = createSamlDoor({
    config,
    stores,
    keyring,
    clock,
    log,
    apps: samlApps,
    journey,
    assessor,
    sessions,
    localOrigin: () => localOrigin,
  });

  const administration = createAdministration({
    users: stores.users,
    userService,
    clients: clientService,
    samlApps,
    samlKeys: saml.keys,
    settings,
    logos: stores.settings,
    notifier,
    mailer: mail.mailer,
    recovery,
    secondFactor,
    oidc: stores.oidc,
    audit: stores.audit,
    clock,
    portability: createDataPortability({
      users: stores.users,
      clients: stores.clients,
      samlApps: stores.samlApps,
      keys: stores.keys,
      keyring,
      audit: stores.audit,
      clock,
      checkClient: checkImportedClient,
      validateClient,
    }),
    keyRotation: createKeyRotation({
      users: stores.users,
      clients: stores.clients,
      keys: stores.keys,
      keyring,
      audit: stores.audit,
      clock,
      keyPurposes: { [SIGNING_KEYS_ID]: SIGNING_KEYS_PURPOSE, [SAML_KEYS_ID]: SAML_KEYS_PURPOSE, [PAIRWISE_KEY_ID]: PAIRWISE_PURPOSE },
    }),
  });
  await ensureInternalClients(config, clientService);
  const seedDemo = config.mode === 'embedded' && options.demo !== false;
  const demo = seedDemo ? await seedDemoData(config, userService, clientService, samlApps) : undefined;

  // Mailed links ("Forgot password?", a new email): tokens kept by their hash in the
  // engine's store, each claimed once.
  const tokenStore = (model: string): LinkTokenStore => {
    const adapter = stores.oidc.adapterFor(model);
    return {
      put: (hash, record, ttl) => adapter.upsert(hash, { ...record }, ttl),
      get: async (hash) => {
        const found = await adapter.find(hash);
        return found && typeof found.accountId === 'string' && typeof found.expiresAt === 'number'
          ? { accountId: found.accountId, expiresAt: found.expiresAt, ...(typeof found.email === 'string' ? { email: found.email } : {}) }
          : undefined;
      },
      claim: (hash, ttl) => stores.guard.acquire(`${model}:${hash}`, ttl),
      drop: (hash) => adapter.destroy(hash),
    };
  };
  const passwordReset = createPasswordReset({
    users: stores.users,
    userService,
    tokens: tokenStore('TwofoldPasswordReset'),
    rateLimiter: stores.rateLimiter,
    limits: config.rateLimits,
    mailer: mail.mailer,
    settings,
    sessions: stores.oidc,
    audit: stores.audit,
    clock,
    issuer: config.issuer,
  });

  const accountChanges = createAccountChanges({
    users: stores.users,
    userService,
    emailTokens: tokenStore('TwofoldEmailChange'),
    rateLimiter: stores.rateLimiter,
    limit: config.rateLimits.perAccount,
    mailer: mail.mailer,
    notifier,
    settings,
    sessions: stores.oidc,
    audit: stores.audit,
    clock,
    issuer: config.issuer,
  });

  let shuttingDown = false;
  const app = createApp({
    config,
    log,
    provider,
    stores,
    userService,
    clientService,
    settings,
    interaction: { secondFactor, assessor, journey, mfaState, clock, passwordReset: mail.mailer.enabled },
    passwordReset,
    accountChanges,
    keyring,
    recovery,
    sessions,
    administration,
    metrics,
    localOrigin: () => localOrigin,
    pages,
    saml: saml.routes,
    viewsDir,
    demo: demo
      ? {
          clientSecret: demo.clientSecret,
          saml: { issuer: config.issuer, keys: demo.samlKeys, idpCertificate: async () => (await saml.keys.get()).current.certPem },
          outbox: mail.outbox,
        }
      : undefined,
    isShuttingDown: () => shuttingDown,
  });

  const server = createServer(app.callback());
  server.headersTimeout = 20_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, options.host ?? config.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  localOrigin = `http://127.0.0.1:${port}`;
  const metricsServer =
    config.metrics.port === undefined ? undefined : await serveMetrics(metrics, config.metrics.port, options.host ?? config.host);

  return {
    server,
    url: `http://localhost:${port}`,
    stores,
    mail: { enabled: mail.mailer.enabled, idle: () => mail.idle() },
    demo: demo && {
      username: demo.username,
      password: demo.password,
      admin: demo.admin,
      url: `${config.issuer}/demo/`,
      samlUrl: `${config.issuer}/demo/saml/`,
    },
    async close() {
      shuttingDown = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const idleSweep = setInterval(() => server.closeIdleConnections(), 100);
      const force = setTimeout(() => server.closeAllConnections(), 10_000);
      await closed;
      metricsServer?.close();
      clearInterval(idleSweep);
      clearTimeout(force);
      mail.close();
      await stores.close();
    },
  };
}

async function seedDemoData(
  config: Config,
  users: ReturnType<typeof createUserService>,
  clients: ReturnType<typeof createClientService>,
  samlApps: SamlAppService,
) {
  const username = 'demo';
  const password = randomBytes(9).toString('base64url');
  await users.create({ username, password, name: 'Demo User', email: 'demo@example.com', emailVerified: true });
  // The demo administrator, so the console can be tried at once; production makes its first
  // administrator with `twofold users add NAME --admin` (the README's quick start).
  const admin = { username: 'admin', password: randomBytes(9).toString('base64url') };
  await users.create({ ...admin, name: 'Demo Administrator', email: 'admin@example.com', emailVerified: true, role: 'admin' });
  const clientSecret = randomBytes(32).toString('base64url');
  await clients.register({
    client_id: DEMO_CLIENT_ID,
    client_secret: clientSecret,
    client_name: 'Demo application',
    redirect_uris: [`${config.issuer}/demo/callback`],
    post_logout_redirect_uris: [`${config.issuer}/demo/`],
    grant_types: ['authorization_code', 'refresh_token'],
    first_party: true,
    mfa_policy: 'required',
  });
  // The demo SAML application (a service provider served at /demo/saml), with a signing key
  // of its own: it signs its requests and its sign-out, as a careful application does.
  const samlKeys = generateSigningPair(new URL(config.issuer).host, Date.now());
  const saml = demoSamlUrls(config.issuer);
  await samlApps.create({
    id: DEMO_SAML_APP_ID,
    name: 'Demo SAML application',
    entityId: saml.entityId,
    acsUrls: [saml.acsUrl],
    sloUrl: saml.sloUrl,
    certificate: samlKeys.certPem,
    wantAuthnRequestsSigned: true,
    mfaPolicy: 'required',
  });
  return { username, password, admin, clientSecret, samlKeys };
}

/**
 * twofold's own applications (the account page, the console): public clients (PKCE)
 * registered by the first node to start, and kept pointing at this issuer. Nodes starting
 * together agree on one record.
 */
async function ensureInternalClients(config: Config, clients: ReturnType<typeof createClientService>) {
  for (const [clientId, name, path] of [
    [ACCOUNT_CLIENT_ID, 'Your account', '/account'],
    [CONSOLE_CLIENT_ID, 'Administration console', '/admin'],
    [SAML_CLIENT_ID, 'SAML applications', '/saml'],
  ] as const) {
    const metadata = {
      client_name: name,
      redirect_uris: [`${config.issuer}${path}/callback`],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'none',
      application_type: 'web',
      first_party: true,
    };
    const existing = await clients.find(clientId);
    if (existing) {
      if (JSON.stringify(existing.metadata) !== JSON.stringify(metadata)) await clients.update(clientId, metadata);
      continue;
    }
    try {
      await clients.register({ client_id: clientId, ...metadata });
    } catch (err) {
      if (!(err instanceof AppError && err.code === 'conflict')) throw err;
    }
  }
}

/** Metrics on a port of their own, when the configuration names one. */
async function serveMetrics(metrics: Metrics, port: number, host: string | undefined): Promise<Server> {
  const server = createServer(async (req, res) => {
    if (req.method !== 'GET' || req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(await metrics.registry.metrics());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}
