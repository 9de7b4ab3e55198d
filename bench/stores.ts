import { randomBytes } from 'node:crypto';
import { startMongoServer, startRedis } from '../test/support/processes.ts';
import type { RealStores } from '../test/support/server.ts';

/**
 * Runs a benchmark on the embedded stores, then on a Redis and a MongoDB test server
 * started here (and stopped after), each in a database and key prefix of its own.
 * BENCH_STORES=embedded or BENCH_STORES=real runs one of the two.
 */
export async function onEachStore(run: (name: string, real: RealStores | undefined) => Promise<void>): Promise<void> {
  const only = process.env.BENCH_STORES;
  if (only !== 'real') await run('embedded stores', undefined);
  if (only === 'embedded') return;
  const redis = await startRedis();
  const mongo = await startMongoServer();
  try {
    await run('Redis + MongoDB test server', {
      mongoUri: `${mongo.url}/bench`,
      redisUrl: redis.url,
      keyPrefix: '{bench}:',
      dataKey: randomBytes(32).toString('base64'),
      cookieKeys: randomBytes(32).toString('base64url'),
    });
  } finally {
    await redis.stop();
    await mongo.stop();
  }
}
