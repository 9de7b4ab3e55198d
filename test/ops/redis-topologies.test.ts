import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createManualClock } from '../../src/domain/clock.ts';
import { realStoresSkip } from '../support/env.ts';
import { Phone, registeredUser } from '../support/mfa.ts';
import { startRedisCluster, startRedisSentinel } from '../support/processes.ts';
import { signIn, SignInRefused, UserAgent } from '../support/relying-party.ts';
import { newRealStores, registerApplication, startTestServer, type TestServer } from '../support/server.ts';

async function setUp(server: TestServer) {
  return (
    await registerApplication(server, {
      client_id: 'app',
      redirect_uris: ['http://127.0.0.1:9/cb'],
      first_party: true,
      mfa_policy: 'required',
    })
  ).rp;
}

/** The sign-in flow on the Redis setups "scale out" rests on. */
describe('sign-ins on a Redis Cluster and behind Redis Sentinel', { skip: realStoresSkip }, () => {
  it('registers and signs in with a second factor on a three-master Redis Cluster', async () => {
    const cluster = await startRedisCluster();
    const clock = createManualClock(Date.now());
    const server = await startTestServer({ real: newRealStores(), clock, redisTopology: { cluster: cluster.nodes } });
    try {
      const rp = await setUp(server);
      const { credentials, phone } = await registeredUser(server, rp, clock, 'clara');
      const { seen, claims } = await signIn(new UserAgent(), rp, credentials, {}, phone.app);
      assert.deepEqual(seen, ['login', 'code']);
      assert.deepEqual(claims.amr, ['pwd', 'otp', 'mfa']);
      await assert.rejects(signIn(new UserAgent(), rp, credentials, {}, phone.app), SignInRefused, 'the same code again is a replay');
    } finally {
      await server.close();
      await cluster.stop();
    }
  });

  it('goes on through a Sentinel failover: no accepted code is taken again, nobody passes without the factor', async () => {
    const sentinel = await startRedisSentinel();
    const clock = createManualClock(Date.now());
    const server = await startTestServer({
      real: newRealStores(),
      clock,
      redisTopology: { sentinels: sentinel.sentinels, sentinelName: sentinel.sentinelName },
    });
    try {
      const rp = await setUp(server);
      const { credentials, phone } = await registeredUser(server, rp, clock, 'sven');
      const accepted = await phone.code();
      assert.deepEqual((await signIn(new UserAgent(), rp, credentials, {}, { code: () => accepted })).seen, ['login', 'code']);

      sentinel.killMaster();
      // Until a replica is promoted, sign-ins fail closed; afterwards they work again.
      let after: Awaited<ReturnType<typeof signIn>> | undefined;
      for (let attempt = 0; attempt < 100 && !after; attempt++) {
        clock.advance(30_000);
        after = await signIn(new UserAgent(), rp, credentials, {}, phone.app).catch((err) => {
          assert.ok(!(err instanceof SignInRefused) || err.page.status >= 400, 'a refusal, never a sign-in without the code');
          return undefined;
        });
        if (!after) await new Promise((resolve) => setTimeout(resolve, 200));
      }
      assert.ok(after, 'sign-ins work again once a replica is promoted');
      assert.deepEqual(after.claims.amr, ['pwd', 'otp', 'mfa']);

      // The code accepted before the failover stays used (MongoDB keeps the last step too).
      await assert.rejects(signIn(new UserAgent(), rp, credentials, {}, { code: () => accepted }), SignInRefused);
      await assert.rejects(
        signIn(new UserAgent(), rp, credentials, {}, new Phone(clock).app),
        'a phone that never registered gets nowhere',
      );
    } finally {
      await server.close();
      await sentinel.stop();
    }
  });
});
