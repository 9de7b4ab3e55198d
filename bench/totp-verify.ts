/**
 * How fast twofold checks a TOTP code.
 *   1. The domain check alone (matchStep), window ±1 and ±10 steps.
 *   2. The HTTP code step on real stores (Redis and the MongoDB test server started here): POST
 *      /interaction/:uid/code with a right code, through to the redirect back to the engine.
 * Prints its figures; not part of `npm test`. Run: npm run bench
 */
import { randomBytes } from 'node:crypto';
import { createManualClock } from '../src/domain/clock.ts';
import { createDataKeyring } from '../src/domain/data-key.ts';
import { TOTP_SECRET_PURPOSE } from '../src/domain/second-factor.ts';
import { codeAt, matchStep, stepAt } from '../src/domain/totp.ts';
import { startMongoServer, startRedis } from '../test/support/processes.ts';
import { follow, formAction, startAuthorization, UserAgent } from '../test/support/relying-party.ts';
import { createUser, registerApplication, startTestServer } from '../test/support/server.ts';

function domainBench(skewSteps: number, iterations: number) {
  const secret = randomBytes(20);
  const nowStep = stepAt(Date.now());
  const codes = Array.from({ length: 1000 }, (_, i) => codeAt(secret, nowStep + (i % (2 * skewSteps + 1)) - skewSteps));
  let matched = 0;
  const started = performance.now();
  for (let i = 0; i < iterations; i++) {
    if (matchStep(secret, codes[i % codes.length]!, { nowStep, drift: 0, skewSteps, lastStep: 0 }) !== null) matched++;
  }
  const seconds = (performance.now() - started) / 1000;
  if (matched !== iterations) throw new Error('a code did not match');
  return { perSecond: Math.round(iterations / seconds), microseconds: (seconds / iterations) * 1e6 };
}

async function httpBench(signIns: number, concurrency: number) {
  const redis = await startRedis();
  const mongo = await startMongoServer();
  const clock = createManualClock(Date.now());
  const dataKey = randomBytes(32).toString('base64');
  const server = await startTestServer({
    real: {
      mongoUri: `${mongo.url}/bench`,
      redisUrl: redis.url,
      keyPrefix: '{bench}:',
      dataKey,
      cookieKeys: randomBytes(32).toString('base64url'),
    },
    clock,
  });
  try {
    const keyring = createDataKeyring([Buffer.from(dataKey, 'base64')]);
    const rp = (
      await registerApplication(server, {
        client_id: 'bench',
        redirect_uris: ['http://127.0.0.1:9/cb'],
        first_party: true,
        mfa_policy: 'required',
      })
    ).rp;
    const nowStep = stepAt(clock.now());

    // Each sign-in is a user of its own with a registered device, waiting on the code page.
    const pending: { agent: UserAgent; action: URL; code: string }[] = [];
    for (let i = 0; i < signIns; i++) {
      const credentials = { username: `bench${i}`, password: 'bench passphrase' };
      const { id } = await createUser(server, credentials);
      const secret = randomBytes(20);
      await server.stores.users.registerDevice(id, {
        id: randomBytes(8).toString('hex'),
        name: 'Bench phone',
        sealedSecret: keyring.seal(secret.toString('base64'), TOTP_SECRET_PURPOSE),
        registeredAt: new Date(),
        lastStep: nowStep - 5,
        drift: 0,
      });
      const agent = new UserAgent();
      const login = await follow(agent, (await startAuthorization(rp)).url, rp.redirectUri);
      const afterPassword = await agent.postForm(formAction(login, '/login'), credentials);
      const codePage = await follow(agent, new URL(afterPassword.headers.get('location')!, login.url), rp.redirectUri);
      pending.push({ agent, action: formAction(codePage, '/code'), code: codeAt(secret, nowStep) });
    }

    // Time spent in each store call during the measured posts, to explain the figure.
    const storeTime = new Map<string, number[]>();
    const timed = (name: string, store: object) => {
      const target = store as Record<string, unknown>;
      for (const [key, fn] of Object.entries(target)) {
        if (typeof fn !== 'function') continue;
        target[key] = async (...args: unknown[]) => {
          const t0 = performance.now();
          try {
            return await (fn as (...a: unknown[]) => Promise<unknown>)(...args);
          } finally {
            storeTime.set(`${name}.${key}`, [...(storeTime.get(`${name}.${key}`) ?? []), performance.now() - t0]);
          }
        };
      }
    };
    timed('users', server.stores.users);
    timed('clients', server.stores.clients);
    timed('guard', server.stores.guard);

    const latencies: number[] = [];
    let next = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < pending.length) {
          const { agent, action, code } = pending[next++]!;
          const t0 = performance.now();
          const response = await agent.postForm(action, { code });
          latencies.push(performance.now() - t0);
          if (response.status !== 303) throw new Error(`code step answered ${response.status}`);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    latencies.sort((x, y) => x - y);
    const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(1);
    const breakdown = [...storeTime]
      .map(([name, times]) => `${name} ${(times.reduce((a, b) => a + b, 0) / times.length).toFixed(2)} ms`)
      .join(', ');
    return { perSecond: Math.round(signIns / seconds), p50: at(0.5), p99: at(0.99), breakdown };
  } finally {
    await server.close();
    await mongo.stop();
    await redis.stop();
  }
}

const iterations = 200_000;
for (const skew of [1, 10]) {
  const { perSecond, microseconds } = domainBench(skew, iterations);
  console.log(
    `domain check, window ±${skew}: ${perSecond.toLocaleString('en')} verifications/s (${microseconds.toFixed(2)} µs each, ${iterations} runs)`,
  );
}
const signIns = Number(process.env.BENCH_SIGNINS ?? 200);
for (const concurrency of [1, 8]) {
  const http = await httpBench(signIns, concurrency);
  console.log(
    `HTTP code step on Redis + MongoDB test server, ${concurrency} at once: ${http.perSecond} verifications/s, p50 ${http.p50} ms, p99 ${http.p99} ms (${signIns} sign-ins)`,
  );
  console.log(`  store calls per post, mean: ${http.breakdown}`);
}
