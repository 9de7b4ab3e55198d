import { createHash } from 'node:crypto';
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { AppError, storeUnavailable } from '../../domain/errors.ts';

export interface RedisConfig {
  url?: string | undefined;
  sentinels?: readonly { host: string; port: number }[] | undefined;
  sentinelName?: string | undefined;
  cluster?: readonly { host: string; port: number }[] | undefined;
  commandTimeoutMs: number;
}

export type RedisClient = Redis | Cluster;

/**
 * One Redis connection (single server, Sentinel or Cluster). Commands are not queued while
 * disconnected: they fail at once, so a request answers 503 instead of hanging, and the
 * client keeps reconnecting in the background.
 */
export function createRedis(config: RedisConfig): RedisClient {
  const url = config.url ? new URL(config.url) : undefined;
  const common: RedisOptions = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: config.commandTimeoutMs,
    connectTimeout: config.commandTimeoutMs,
    retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    lazyConnect: true,
    ...(url?.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(url?.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url?.protocol === 'rediss:' ? { tls: {} } : {}),
  };
  if (config.cluster) {
    return new Cluster([...config.cluster], {
      redisOptions: common,
      enableOfflineQueue: false,
      lazyConnect: true,
    });
  }
  if (config.sentinels) {
    const db = url && url.pathname.length > 1 ? Number(url.pathname.slice(1)) : 0;
    return new Redis({ ...common, sentinels: [...config.sentinels], name: config.sentinelName!, db });
  }
  return new Redis(config.url!, common);
}

/** Connects, waiting at most `timeoutMs`; a Redis that is down now is retried in the background. */
export async function connectRedis(client: RedisClient, timeoutMs: number): Promise<boolean> {
  const connected = client.connect().then(
    () => true,
    () => false,
  );
  const timedOut = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), timeoutMs).unref());
  return Promise.race([connected, timedOut]);
}

/**
 * A Lua script, sent by its SHA1 digest (EVALSHA) and only in full when this Redis does
 * not know it yet (ioredis's defineCommand): a script's text crosses the wire once per
 * server, not at every call.
 */
export function redisScript(client: RedisClient, lua: string, numberOfKeys?: number) {
  const name = `twofold_${createHash('sha1').update(lua).digest('hex')}`;
  client.defineCommand(name, { lua, numberOfKeys });
  const run = (client as unknown as Record<string, (...args: (string | number)[]) => Promise<unknown>>)[name]!;
  return (...args: (string | number)[]): Promise<unknown> => run.apply(client, args);
}

/** Runs Redis commands; any failure of the connection becomes AppError `store_unavailable`. */
export async function guardRedis<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw storeUnavailable('redis', err);
  }
}

export async function pingRedis(client: RedisClient): Promise<boolean> {
  try {
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  }
}
