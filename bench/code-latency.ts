/**
 * The second-factor POST (a right code, through to the redirect) sent at a fixed rate of
 * 200 per second, on the embedded stores and on Redis + the MongoDB test server: p50 and
 * p99 latency. The client runs in the same process as the server, on the same cores.
 * Loopback only, bounded in count. Prints its figures; not part of `npm test`.
 * Run: node bench/code-latency.ts
 */
import { availableParallelism } from 'node:os';
import { createManualClock } from '../src/domain/clock.ts';
import { registeredUser } from '../test/support/mfa.ts';
import { follow, formAction, relyingParty, startAuthorization, UserAgent } from '../test/support/relying-party.ts';
import { registerClient, startTestServer, type RealStores } from '../test/support/server.ts';
import { onEachStore } from './stores.ts';

const RATE = 200;
const POSTS = 400;

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function run(name: string, real: RealStores | undefined) {
  const clock = createManualClock(Date.now());
  const server = await startTestServer({ ...(real ? { real } : {}), clock });
  try {
    const created = await registerClient(server, { client_id: 'bench', redirect_uris: ['http://127.0.0.1:9/cb'], first_party: true, mfa_policy: 'required' });
    const rp = await relyingParty(server.issuer, 'bench', created.client_secret, 'http://127.0.0.1:9/cb');

    // Code pages waiting for a right code, one person each (so no code is a replay): all
    // register first, then all sign in up to the code page at the same moment of the clock.
    const people = [];
    for (let i = 0; i < POSTS; i++) people.push(await registeredUser(server, rp, clock, `lat${i}`));
    const pending: { agent: UserAgent; action: URL; code: string }[] = [];
    for (const { credentials, phone } of people) {
      const agent = new UserAgent();
      const login = await follow(agent, (await startAuthorization(rp)).url, rp.redirectUri);
      const posted = await agent.postForm(formAction(login, '/login'), credentials);
      const page = await follow(agent, new URL(posted.headers.get('location')!, login.url), rp.redirectUri);
      pending.push({ agent, action: formAction(page, '/code'), code: await phone.code() });
    }

    const latencies: number[] = [];
    let errors = 0;
    const started = performance.now();
    await Promise.all(
      pending.map(async ({ agent, action, code }, i) => {
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, (i * 1000) / RATE - (performance.now() - started))));
        const t0 = performance.now();
        const response = await agent.postForm(action, { code });
        latencies.push(performance.now() - t0);
        if (response.status !== 303) errors++;
      }),
    );
    latencies.sort((a, b) => a - b);
    console.log(`${name}: code POST at ${RATE}/s: p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms, ${errors} errors (${POSTS} posts)`);

  } finally {
    await server.close();
  }
}

console.log(`${availableParallelism()} cores`);
await onEachStore(run);
process.exit(0);
