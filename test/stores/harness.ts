import type { Connection } from 'mongoose';
import { createManualClock, type Clock } from '../../src/domain/clock.ts';
import { connectMongo } from '../../src/stores/mongo/connection.ts';
import { connectRedis, createRedis, type RedisClient } from '../../src/stores/redis/connection.ts';
import { existsSync } from 'node:fs';
import { freshKeyPrefix, freshMongoUri, realStoresSkip, testRedisUrl } from '../support/env.ts';
import { startRedisCluster } from '../support/processes.ts';

export interface Subject<T> {
  store: T;
  clock: ReturnType<typeof createManualClock>;
  close(): Promise<void>;
}

export interface Implementation<T> {
  name: string;
  skip: string | undefined;
  open(): Promise<Subject<T>>;
}

export function memoryImplementation<T>(make: (clock: Clock) => T): Implementation<T> {
  return {
    name: 'memory',
    skip: undefined,
    async open() {
      const clock = createManualClock();
      return { store: make(clock), clock, close: async () => {} };
    },
  };
}

export function mongoImplementation<T>(make: (connection: Connection, clock: Clock) => Promise<T> | T): Implementation<T> {
  return {
    name: 'mongodb',
    skip: realStoresSkip,
    async open() {
      const clock = createManualClock();
      const connection = await connectMongo({ uri: freshMongoUri(), serverSelectionTimeoutMs: 5000 });
      const store = await make(connection, clock);
      return {
        store,
        clock,
        async close() {
          await connection.dropDatabase().catch(() => {});
          await connection.close();
        },
      };
    },
  };
}

export function redisImplementation<T>(make: (redis: RedisClient, keyPrefix: string) => T): Implementation<T> {
  return {
    name: 'redis',
    skip: realStoresSkip,
    async open() {
      const redis = createRedis({ url: testRedisUrl!, commandTimeoutMs: 5000 });
      if (!(await connectRedis(redis, 5000))) throw new Error('test redis is not reachable');
      const keyPrefix = freshKeyPrefix();
      return {
        store: make(redis, keyPrefix),
        clock: createManualClock(),
        async close() {
          const keys = await redis.keys(`${keyPrefix}*`);
          if (keys.length) await redis.del(...keys);
          redis.disconnect();
        },
      };
    },
  };
}

/** Opens a fresh store of `impl`, runs `fn` on it, and closes it whatever happens. */
export async function using<T>(impl: Implementation<T>, fn: (store: T, subject: Subject<T>) => Promise<void>): Promise<void> {
  const subject = await impl.open();
  try {
    await fn(subject.store, subject);
  } finally {
    await subject.close();
  }
}

/**
 * The Redis implementations again on a local three-master Redis Cluster (started once for
 * the file), with a key prefix that is one hash tag, as twofold's is.
 */
export function redisClusterImplementation<T>(make: (redis: RedisClient, keyPrefix: string) => T): Implementation<T> {
  let cluster: Promise<Awaited<ReturnType<typeof startRedisCluster>>> | undefined;
  return {
    name: 'redis cluster',
    skip: realStoresSkip ?? (existsSync('/usr/bin/redis-cli') ? undefined : 'needs redis-cli'),
    async open() {
      // One cluster for the whole file; it ends with the test process (see startRedisCluster).
      cluster ??= startRedisCluster();
      const { nodes } = await cluster;
      const redis = createRedis({ cluster: nodes, commandTimeoutMs: 5000 });
      if (!(await connectRedis(redis, 5000))) throw new Error('the test cluster is not reachable');
      const keyPrefix = freshKeyPrefix();
      return { store: make(redis, keyPrefix), clock: createManualClock(), close: async () => redis.disconnect() };
    },
  };
}
