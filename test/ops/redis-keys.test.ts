import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as oidc from 'openid-client';
import { createRedis, connectRedis } from '../../src/stores/redis/connection.ts';
import { realStoresSkip, testRedisUrl } from '../support/env.ts';
import { Phone } from '../support/mfa.ts';
import { signIn, UserAgent } from '../support/relying-party.ts';
import { createUser, newRealStores, refreshingApplication, startTestServer } from '../support/server.ts';

/**
 * Redis memory stays bounded: every key twofold or the engine writes during sign-ins,
 * second factors, refreshes and sign-outs expires (Redis's default policy evicts nothing,
 * so a key without a TTL is memory kept for ever).
 */
describe('Redis keys', { skip: realStoresSkip }, () => {
  it('all have a TTL after sign-ins with a second factor, refreshes and a sign-out', async () => {
    const stores = newRealStores();
    const server = await startTestServer({ real: stores });
    const redis = createRedis({ url: testRedisUrl!, commandTimeoutMs: 5000 });
    try {
      assert.ok(await connectRedis(redis, 5000));
      const { rp } = await refreshingApplication(server, 'app');
      for (let i = 0; i < 3; i++) {
        const credentials = { username: `keys${i}`, password: 'a long passphrase' };
        await createUser(server, credentials);
        const agent = new UserAgent();
        const { tokens } = await signIn(
          agent,
          rp,
          credentials,
          { scope: 'openid offline_access', prompt: 'consent' },
          new Phone({ now: Date.now }).app,
        );
        let refresh = tokens.refresh_token!;
        for (let r = 0; r < 3; r++) refresh = (await oidc.refreshTokenGrant(rp.config, refresh)).refresh_token!;
        await oidc.tokenRevocation(rp.config, refresh);
      }
      const keys = await redis.keys(`${stores.keyPrefix}*`);
      assert.ok(keys.length > 10, `${keys.length} keys written`);
      const lasting = [];
      for (const key of keys) if ((await redis.ttl(key)) < 0) lasting.push(key.slice(stores.keyPrefix.length).replace(/:[^:]+$/, ':…'));
      assert.deepEqual(lasting, [], 'keys without a TTL');

      // Their time passing, shortened: once every key has expired, nothing of the sign-ins is
      // left and the node still answers (it keeps nothing it needs only in Redis).
      for (const key of keys) await redis.pexpire(key, 1);
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual(await redis.keys(`${stores.keyPrefix}*`), [], 'keys left once every TTL has passed');
      assert.equal((await server.adminFetch('/admin/api/users?limit=5')).status, 200);
    } finally {
      redis.disconnect();
      await server.close();
    }
  });
});
