import type { Clock } from '../domain/clock.ts';
import { connectMongo, pingMongo } from './mongo/connection.ts';
import { createMongoClientStore } from './mongo/clients.ts';
import { createMongoKeyStore } from './mongo/keys.ts';
import { createMongoUserStore } from './mongo/users.ts';
import { connectRedis, createRedis, pingRedis, type RedisConfig } from './redis/connection.ts';
import { createRedisOidcStateStore } from './redis/oidc-state.ts';
import type { Stores } from './types.ts';

export interface MongoRedisOptions {
  mongodb: { uri: string; serverSelectionTimeoutMs: number };
  redis: RedisConfig & { keyPrefix: string };
  clock: Clock;
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
  const [users, clients] = await Promise.all([
    createMongoUserStore({ connection, clock: options.clock }),
    createMongoClientStore({ connection }),
  ]);

  return {
    kind: 'mongo+redis',
    users,
    clients,
    keys: createMongoKeyStore({ connection }),
    oidc: createRedisOidcStateStore({ redis, keyPrefix: options.redis.keyPrefix }),
    async health() {
      const [mongodb, redisOk] = await Promise.all([pingMongo(connection), pingRedis(redis)]);
      return { mongodb, redis: redisOk };
    },
    async close() {
      redis.disconnect();
      await connection.close();
    },
  };
}
