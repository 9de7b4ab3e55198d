import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as oidc from 'openid-client';
import { createManualClock } from '../../src/domain/clock.ts';
import type { MemoryStores } from '../../src/stores/memory/index.ts';
import { Phone } from '../support/mfa.ts';
import { signIn, UserAgent } from '../support/relying-party.ts';
import { createUser, refreshingApplication, startTestServer } from '../support/server.ts';

/**
 * The embedded stores expire what they hold as Redis does: sessions, grants, tokens, their
 * indexes, second-factor counters and rate windows are gone once their time has passed,
 * so a long-running embedded node does not grow with every sign-in.
 */
describe('the embedded stores', () => {
  it('hold nothing of past sign-ins, refreshes and wrong codes once it has all expired', async () => {
    const clock = createManualClock(Date.now());
    const server = await startTestServer({
      clock,
      demo: false,
      rateLimits: { perAccount: { limit: 1000, windowSeconds: 60 }, perIp: { limit: 100_000, windowSeconds: 60 } },
    });
    const stores = server.stores as MemoryStores;
    try {
      const { rp } = await refreshingApplication(server, 'app');
      const users = Array.from({ length: 4 }, (_, i) => ({ username: `prune${i}`, password: 'a long passphrase' }));
      for (const user of users) await createUser(server, user);
      stores.prune();
      const before = stores.entryCount();

      for (const credentials of users) {
        const phone = new Phone(clock);
        const { tokens } = await signIn(new UserAgent(), rp, credentials, { scope: 'openid offline_access', prompt: 'consent' }, phone.app);
        let refresh = tokens.refresh_token!;
        for (let r = 0; r < 3; r++) refresh = (await oidc.refreshTokenGrant(rp.config, refresh)).refresh_token!;
        // A second sign-in left half-way after a wrong code: a counter and an open interaction.
        clock.advance(31_000);
        await assert.rejects(signIn(new UserAgent(), rp, credentials, {}, { code: () => '000000' }));
      }
      const during = stores.entryCount();
      assert.ok(during > before + 40, `${during - before} entries held after the sign-ins`);

      stores.prune();
      assert.ok(stores.entryCount() > before + 40, 'nothing live is pruned');

      clock.advance(31 * 86_400_000);
      stores.prune();
      assert.equal(stores.entryCount(), before, 'entries left once everything expired');
    } finally {
      await server.close();
    }
  });
});
