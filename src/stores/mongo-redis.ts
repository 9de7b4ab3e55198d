import type { Clock } from '../domain/clock.ts';
import { connectMongo, pingMongo } from './mongo/connection.ts';
import { createMongoClientStore } from './mongo/clients.ts';
import { createMongoSamlAppStore } from './mongo/saml-apps.ts';
import { createMongoKeyStore } from './mongo/keys.ts';
import { createMongoSettingsStore } from './mongo/settings.ts';
import { createMongoUserStore } from './mongo/users.ts';
import { connectRedis, createRedis, guardRedis, pingRedis, type RedisConfig } from './redis/connection.ts';
import { createRedisOidcStateStore } from './redis/oidc-state.ts';
import { createMongoAuditLog } from './mongo/audit.ts';
import { createRedisRateLimiter } from './redis/rate-limiter.ts';
import { createRedisSecondFactorGuard } from './redis/second-factor-guard.ts';
import { announcingClientStore, createChangeListeners } from './changes.ts';
import type { ChangeTopic } from '../domain/ports.ts';
import type { Stores } from './types.ts';

export interface MongoRedisOptions {
  mongodb: { uri: string; serverSelectionTimeoutMs: number; operationTimeoutMs: number };
  redis: RedisConfig & { keyPrefix: string };
  clock: Clock;
  auditRetentionDays: number;
  onRetry?: (store: 'mongodb' | 'redis', reason: string) => void;
}

/** Production stores: identity data in MongoDB, protocol state in Redis. */
export async function createMongoRedisStores(options: MongoRedisOptions): Promise<Stores> {
  const redis = createRedis(options.redis);
  // ioredis reports every failed reconnect as an error event; without a listener Node
  // would treat it as unhandled. Outages are reported through /readyz and 503s instead.
  redis.on('error', () => {});
  const redisUp = await connectRedis(redis, options.redis.commandTimeoutMs * 2);
  if (!redisUp) options.onRetry?.('redis', 'not reachable yet; retrying in the background');

  const connection = await connectMongo(options.mongodb, (_attempt, reason) => options.onRetry?.('mongodb', reason));
  const [users, clients, samlApps, audit] = await Promise.all([
    createMongoUserStore({ connection, clock: options.clock }),
    createMongoClientStore({ connection }),
    createMongoSamlAppStore({ connection }),
    createMongoAuditLog({ connection, retentionDays: options.auditRetentionDays }),
  ]);

  // Changes of settings and applications reach the other nodes through Redis pub/sub, on a
  // connection of its own (a subscribed connection can do nothing else); the message is
  // the topic. A message missed while Redis was away is made up for by telling every
  // listener again whenever the connection is back.
  const channel = `${options.redis.keyPrefix}changed`;
  const changes = createChangeListeners();
  const notifyChanged = async (topic: ChangeTopic) => {
    await guardRedis(() => redis.publish(channel, topic));
  };
  const subscriber = redis.duplicate();
  subscriber.on('error', () => {});
  subscriber.on('message', (from: string, topic: string) => from === channel && changes.tell(topic));
  subscriber.on('ready', () => {
    subscriber.subscribe(channel).then(
      () => changes.tell(),
      () => {},
    );
  });
  void subscriber.connect().catch(() => {});

  return {
    kind: 'mongo+redis',
    users,
    clients: announcingClientStore(clients, () => notifyChanged('clients')),
    samlApps,
    settings: createMongoSettingsStore({ connection }),
    guard: createRedisSecondFactorGuard({ redis, keyPrefix: options.redis.keyPrefix }),
    rateLimiter: createRedisRateLimiter({ redis, keyPrefix: options.redis.keyPrefix }),
    audit,
    notifyChanged,
    onChanged: changes.onChanged,
    keys: createMongoKeyStore({ connection }),
    oidc: createRedisOidcStateStore({ redis, keyPrefix: options.redis.keyPrefix }),
    async health() {
      const [mongodb, redisOk] = await Promise.all([pingMongo(connection), pingRedis(redis)]);
      return { mongodb, redis: redisOk };
    },
    async close() {
      subscriber.disconnect();
      redis.disconnect();
      await connection.close();
    },
  };
}
