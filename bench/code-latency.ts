/**
 * The second-factor POST (a right code, through to the redirect) with 2, 4 and 8 sent at
 * once (each sender posts again as soon as its answer is in): p50 and p99 latency as the
 * client sees it. twofold runs in a process of its own, on the embedded stores and on
 * Redis + the MongoDB test server; the client runs in this process on the same cores.
 * Every person has a code page open (password given) before the first POST, so only the
 * code step is timed.
 * Loopback only, bounded in count. Prints its figures; not part of `npm test`.
 * Run: node bench/code-latency.ts
 */
import { availableParallelism } from 'node:os';
import { type RealStores, registerApplication } from '../test/support/server.ts';
import { openCodePages, pool, registeredPeople } from './people.ts';
import { startServerProcess } from './server-process.ts';
import { onEachStore } from './stores.ts';

const AT_ONCE = [2, 4, 8];
const POSTS_PER_LEVEL = 200;

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function run(name: string, real: RealStores | undefined) {
  const server = await startServerProcess(real);
  try {
    const rp = (
      await registerApplication(server, {
        client_id: 'bench',
        redirect_uris: ['http://127.0.0.1:9/cb'],
        first_party: true,
        mfa_policy: 'required',
      })
    ).rp;
    const people = await registeredPeople(server, rp, 'lat', POSTS_PER_LEVEL * AT_ONCE.length);

    const opened = await openCodePages(rp, people);
    const { pending } = opened;
    let errors = opened.errors;

    for (const [level, atOnce] of AT_ONCE.entries()) {
      const batch = pending.slice(level * POSTS_PER_LEVEL, (level + 1) * POSTS_PER_LEVEL);
      const latencies: number[] = [];
      const timesBefore = await server.requestTimes('POST', '/interaction/:uid/code');
      const storesBefore = await server.slowStoreCalls(0.005);
      const before = await server.usage();
      errors += await pool(batch, atOnce, async ({ agent, action, person }) => {
        const code = await person.phone.code();
        const t0 = performance.now();
        const response = await agent.postForm(action, { code });
        latencies.push(performance.now() - t0);
        if (response.status !== 303) throw new Error(`the code POST answered ${response.status}`);
      });
      const cpuMs = (((await server.usage()).cpuSeconds - before.cpuSeconds) * 1000) / batch.length;
      // As the node itself measured them (its histogram): the share handled within 2.5 and 5 ms.
      const timesAfter = await server.requestTimes('POST', '/interaction/:uid/code');
      const within = (bound: number) =>
        ((timesAfter.get(bound) ?? 0) - (timesBefore.get(bound) ?? 0)) /
        ((timesAfter.get(Infinity) ?? 0) - (timesBefore.get(Infinity) ?? 0));
      // Where the slow ones waited: store calls that took over 5 ms during the POSTs, by store.
      const storesAfter = await server.slowStoreCalls(0.005);
      const slow = [...storesAfter]
        .map(([store, { slow }]) => [store, slow - (storesBefore.get(store)?.slow ?? 0)] as const)
        .filter(([, count]) => count > 0)
        .map(([store, count]) => `${store} ${count}`)
        .join(', ');
      latencies.sort((a, b) => a - b);
      console.log(
        `${name}: code POST, ${atOnce} at once, as the client saw it: p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms; ` +
          `in the node: ${(100 * within(0.0025)).toFixed(1)} % within 2.5 ms, ${(100 * within(0.005)).toFixed(1)} % within 5 ms; node CPU ${cpuMs.toFixed(2)} ms per POST (${batch.length} posts)`,
      );
      console.log(`${name}: store calls over 5 ms during those POSTs: ${slow || 'none'}`);
    }
    console.log(`${name}: ${errors} errors`);
  } finally {
    await server.stop();
  }
}

console.log(`${availableParallelism()} cores`);
await onEachStore(run);
process.exit(0);
