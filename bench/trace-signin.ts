/**
 * One complete MFA sign-in on Redis + the MongoDB test server, with every command the
 * node sends to Redis (MONITOR) and to MongoDB (the driver's command events) printed
 * under the HTTP request that sent it: the round trips one sign-in costs, in order.
 * Prints; not part of `npm test`.
 * Run: node bench/trace-signin.ts
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { Phone } from '../test/support/mfa.ts';
import { startMongoServer, startRedis } from '../test/support/processes.ts';
import { signIn, UserAgent } from '../test/support/relying-party.ts';
import { createUser, refreshingApplication, startTestServer } from '../test/support/server.ts';
import { systemClock } from '../src/domain/clock.ts';
import { meterStores } from './store-meter.ts';

const redis = await startRedis();
const mongo = await startMongoServer();
const lines: string[] = [];
let tracing = false;
const meter = await meterStores(redis, mongo, (name, collection) => tracing && lines.push(`  mongo ${name} ${collection}`));
const real = {
  mongoUri: meter.mongoUri('trace'),
  redisUrl: meter.redisUrl,
  keyPrefix: '{trace}:',
  dataKey: randomBytes(32).toString('base64'),
  cookieKeys: randomBytes(32).toString('base64url'),
};
const server = await startTestServer({ real });
try {
  const { rp } = await refreshingApplication(server, 'trace');
  const credentials = { username: 'tracer', password: 'a long passphrase' };
  await createUser(server, credentials);
  const phone = new Phone(systemClock);
  const params = { scope: 'openid offline_access', prompt: 'consent' };
  await signIn(new UserAgent(), rp, credentials, params, phone.app);
  await new Promise((resolve) => setTimeout(resolve, 30_000 - (Date.now() % 30_000) + 50));

  const monitor = await new Redis(redis.url).monitor();
  monitor.on('monitor', (_time: string, args: string[]) => {
    if (args[0] === 'publish' || args[0] === 'ping') return;
    lines.push(`  redis ${args.slice(0, 2).join(' ').slice(0, 90)}${args[0] === 'evalsha' ? ` ${args[3] ?? ''}` : ''}`);
  });
  tracing = true;
  const agent = new UserAgent((url) => (lines.push(`${url.pathname}`), url));
  await signIn(agent, rp, credentials, params, phone.app, (kind) => lines.push(`(${kind} page)`));
  lines.push('(token exchange by openid-client)');
  await new Promise((resolve) => setTimeout(resolve, 200));
  console.log(lines.join('\n'));
  monitor.disconnect();
} finally {
  await server.close();
  await meter.stop();
  await redis.stop();
  await mongo.stop();
}
process.exit(0);
