import { randomBytes } from 'node:crypto';
import { startMongoServer, startRedis } from '../test/support/processes.ts';
import type { RealStores } from '../test/support/server.ts';
import { meterStores, type StoreMeter } from './store-meter.ts';

/**
 * Runs a benchmark on the embedded stores, then on a Redis and a MongoDB test server
 * started here (and stopped after), each in a database and key prefix of its own.
 * BENCH_STORES=embedded or BENCH_STORES=real runs one of the two. With `metered`, the node
 * reaches the real stores through the counting proxies of store-meter.ts (they add a
 * loopback hop, so latency benchmarks go without).
 */
export async function onEachStore(
  run: (name: string, real: RealStores | undefined, meter?: StoreMeter) => Promise<void>,
  { metered = false } = {},
): Promise<void> {
  const only = process.env.BENCH_STORES;
  if (only !== 'real') await run('embedded stores', undefined);
  if (only === 'embedded') return;
  const redis = await startRedis();
  const mongo = await startMongoServer();
  const meter = metered ? await meterStores(redis, mongo) : undefined;
  try {
    await run(
      'Redis + MongoDB test server',
      {
        mongoUri: meter ? meter.mongoUri('bench') : `${mongo.url}/bench`,
        redisUrl: meter ? meter.redisUrl : redis.url,
        keyPrefix: '{bench}:',
        dataKey: randomBytes(32).toString('base64'),
        cookieKeys: randomBytes(32).toString('base64url'),
      },
      meter,
    );
  } finally {
    await meter?.stop();
    await redis.stop();
    await mongo.stop();
  }
}
