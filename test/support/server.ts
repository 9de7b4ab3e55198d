import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { loadConfig, type Config } from '../../src/config/load.ts';
import type { Clock } from '../../src/domain/clock.ts';
import { createLogger } from '../../src/logger.ts';
import { startTwofold, type Twofold } from '../../src/server.ts';
import { freshKeyPrefix, freshMongoUri, testRedisUrl } from './env.ts';
import { freePort } from './processes.ts';
import { relyingParty } from './relying-party.ts';

export const ADMIN_TOKEN = 'test-admin-token-0123456789abcdefghijklmnop';

/** Stores shared by the servers of one test: a database and a key prefix of their own. */
export interface RealStores {
  mongoUri: string;
  redisUrl: string;
  keyPrefix: string;
  dataKey: string;
  cookieKeys: string;
}

export function newRealStores(redisUrl = testRedisUrl!, mongoBase?: string): RealStores {
  return {
    mongoUri: freshMongoUri(mongoBase),
    redisUrl,
    keyPrefix: freshKeyPrefix(),
    dataKey: randomBytes(32).toString('base64'),
    cookieKeys: randomBytes(32).toString('base64url'),
  };
}

export interface TestServer extends Twofold {
  issuer: string;
  config: Config;
  /** Every log line the server wrote, as text. */
  logs: string[];
  /** The mails an embedded server without SMTP printed. */
  printedMails: string[];
  adminFetch(path: string, init?: RequestInit): Promise<Response>;
}

/** Starts twofold in this process on a free port, on real stores or embedded ones. */
export async function startTestServer(
  options: {
    real?: RealStores;
    port?: number;
    demo?: boolean;
    mongoTimeoutMs?: number;
    clock?: Clock;
    rateLimits?: Config['rateLimits'];
    trustProxy?: boolean | number;
    issuer?: string;
    redisTopology?: { cluster: { host: string; port: number }[] } | { sentinels: { host: string; port: number }[]; sentinelName: string };
    /** The SAML options of the configuration file (keys from files, entity id). */
    saml?: Partial<Config['saml']>;
    /** Mail options (an SMTP server's URL, fast retries). */
    mail?: Partial<Config['mail']>;
  } = {},
): Promise<TestServer> {
  const port = options.port ?? (await freePort());
  // Another node of the same issuer (behind one load balancer) is given its address.
  const issuer = options.issuer ?? `http://localhost:${port}`;
  const env: NodeJS.ProcessEnv = {
    PORT: String(port),
    ISSUER: issuer,
    ADMIN_TOKEN,
    LOG_LEVEL: 'info',
    ...(options.real
      ? {
          MONGODB_URI: options.real.mongoUri,
          REDIS_URL: options.real.redisUrl,
          DATA_KEY: options.real.dataKey,
          COOKIE_KEYS: options.real.cookieKeys,
        }
      : {}),
  };
  const loaded = loadConfig(env);
  // Tests sign many people in from one address within a minute of their clock: the rate
  // limits are the rate-limit tests' to set (options.rateLimits).
  const base: Config = {
    ...loaded,
    trustProxy: options.trustProxy === undefined ? loaded.trustProxy : Number(options.trustProxy),
    saml: { ...loaded.saml, ...options.saml },
    mail: { ...loaded.mail, ...options.mail },
    rateLimits: options.rateLimits ?? { perAccount: { limit: 1000, windowSeconds: 60 }, perIp: { limit: 100_000, windowSeconds: 60 } },
  };
  const config: Config = options.real
    ? {
        ...base,
        // A Redis Cluster or Sentinel instead of the single server of `real`.
        redis: { ...base.redis, keyPrefix: options.real.keyPrefix, ...(options.redisTopology ?? {}) },
        mongodb: {
          ...base.mongodb,
          serverSelectionTimeoutMs: options.mongoTimeoutMs ?? base.mongodb.serverSelectionTimeoutMs,
          operationTimeoutMs: options.mongoTimeoutMs ? options.mongoTimeoutMs * 2 : base.mongodb.operationTimeoutMs,
        },
      }
    : base;
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, callback) {
      logs.push(String(chunk));
      callback();
    },
  });
  // Embedded mode without an SMTP server prints mails: here they are kept with the test's server.
  const printedMails: string[] = [];
  const twofold = await startTwofold(config, {
    log: createLogger('info', sink),
    writeMail: (text) => printedMails.push(text),
    host: '127.0.0.1',
    demo: options.demo ?? false,
    ...(options.clock ? { clock: options.clock } : {}),
  });
  return Object.assign(twofold, {
    issuer,
    config,
    logs,
    printedMails,
    adminFetch: (path: string, init: RequestInit = {}) =>
      fetch(`${issuer}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', ...init.headers },
      }),
  });
}

/** Registers a relying party through the admin API and returns its registration. */
export async function registerClient(server: Pick<TestServer, 'adminFetch'>, metadata: Record<string, unknown>) {
  const response = await server.adminFetch('/admin/api/clients', { method: 'POST', body: JSON.stringify(metadata) });
  if (response.status !== 201) throw new Error(`client registration failed: ${response.status} ${await response.text()}`);
  return (await response.json()) as { client_id: string; client_secret?: string };
}

export async function createUser(
  server: Pick<TestServer, 'adminFetch'>,
  user: { username: string; password: string; email?: string; name?: string; role?: 'admin' | 'user' },
) {
  const response = await server.adminFetch('/admin/api/users', { method: 'POST', body: JSON.stringify(user) });
  if (response.status !== 201) throw new Error(`user creation failed: ${response.status} ${await response.text()}`);
  return (await response.json()) as { id: string; username: string };
}

export async function patchSettings(server: TestServer, patch: Record<string, unknown>) {
  const response = await server.adminFetch('/admin/api/settings', { method: 'PATCH', body: JSON.stringify(patch) });
  if (response.status !== 200) throw new Error(`settings change failed: ${response.status} ${await response.text()}`);
  return response.json();
}

export async function patchUser(server: TestServer, id: string, patch: Record<string, unknown>) {
  const response = await server.adminFetch(`/admin/api/users/${id}`, { method: 'PATCH', body: JSON.stringify(patch) });
  if (response.status !== 200) throw new Error(`user change failed: ${response.status} ${await response.text()}`);
  return response.json() as Promise<{ mfa: { status: string; exempt: boolean } } & Record<string, unknown>>;
}

/**
 * An application registered through the admin API, and its relying party (openid-client,
 * redirecting to the first of its redirect URIs). The generated secret, if any, is kept.
 */
export async function registerApplication(
  server: Pick<TestServer, 'adminFetch'> & { issuer: string },
  metadata: Record<string, unknown> & { client_id: string; redirect_uris: string[] },
) {
  const created = await registerClient(server, metadata);
  const rp = await relyingParty(server.issuer, metadata.client_id, created.client_secret, metadata.redirect_uris[0]!);
  return { rp, secret: created.client_secret };
}

/**
 * A first-party application whose policy requires the second factor, with `extra`
 * metadata; its relying party (the redirect URI goes nowhere: the flows stop there).
 */
export async function requiredApplication(
  server: Pick<TestServer, 'adminFetch'> & { issuer: string },
  clientId: string,
  extra: Record<string, unknown> = {},
) {
  const metadata = { client_id: clientId, redirect_uris: ['http://127.0.0.1:9/cb'], first_party: true, mfa_policy: 'required', ...extra };
  return (await registerApplication(server, metadata)).rp;
}

/**
 * A first-party application that may refresh tokens (with `mfaPolicy`); its redirect URI
 * goes nowhere (the flows stop there).
 */
export function refreshingApplication(
  server: Pick<TestServer, 'adminFetch'> & { issuer: string },
  clientId: string,
  mfaPolicy: 'required' | 'if_enrolled' | 'off' = 'required',
) {
  return registerApplication(server, {
    client_id: clientId,
    redirect_uris: ['http://127.0.0.1:9/cb'],
    grant_types: ['authorization_code', 'refresh_token'],
    first_party: true,
    mfa_policy: mfaPolicy,
  });
}
