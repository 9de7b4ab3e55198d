import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as oidc from 'openid-client';
import { createManualClock } from '../../src/domain/clock.ts';
import { realStoresSkip } from '../support/env.ts';
import { registeredUser, wrongCode } from '../support/mfa.ts';
import { startMongoServer, startRedis } from '../support/processes.ts';
import { follow, formAction, relyingParty, signIn, startAuthorization, UserAgent } from '../support/relying-party.ts';
import { newRealStores, refreshingApplication, registerApplication, registerClient, startTestServer } from '../support/server.ts';

/** Polls a URL until it answers `status`, at most `attempts` times, 100 ms apart. */
async function answers(url: string, status: number, attempts = 100): Promise<boolean> {
  for (let i = 0; i < attempts; i++) {
    if (
      (await fetch(url).then(
        (r) => r.status,
        () => 0,
      )) === status
    )
      return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

describe('faults on real services', { skip: realStoresSkip }, () => {
  it('answers 503 while MongoDB hangs (stopped, not gone), and recovers when it goes on', async () => {
    const mongo = await startMongoServer();
    const server = await startTestServer({ real: newRealStores(undefined, mongo.url), mongoTimeoutMs: 500 });
    try {
      const rp = (await registerApplication(server, { client_id: 'app', redirect_uris: ['http://127.0.0.1:9/cb'], first_party: true })).rp;
      const agent = new UserAgent();
      const login = await follow(agent, (await startAuthorization(rp)).url, rp.redirectUri);
      mongo.process.kill('SIGSTOP');
      const stopped = performance.now();
      try {
        const posted = await agent.postForm(formAction(login, '/login'), { username: 'anyone', password: 'a long passphrase' });
        assert.equal(posted.status, 503, 'the password cannot be checked: nobody signs in, and nothing hangs');
        assert.match(await posted.text(), /Temporarily unavailable/);
        const api = await server.adminFetch('/admin/api/users');
        assert.equal(api.status, 503);
        console.log(`# answered 503 ${Math.round(performance.now() - stopped)} ms after MongoDB stopped`);
      } finally {
        mongo.process.kill('SIGCONT');
      }
      const resumed = performance.now();
      assert.ok(await answers(`${server.issuer}/readyz`, 200), 'ready again once MongoDB goes on');
      console.log(`# ready ${Math.round(performance.now() - resumed)} ms after MongoDB went on`);
    } finally {
      const closing = performance.now();
      await server.close();
      await mongo.stop();
      console.log(`# closed in ${Math.round(performance.now() - closing)} ms`);
    }
  });

  it('lets no sign-in complete when Redis is killed between the password and the code, and recovers when it is back', async () => {
    const clock = createManualClock(Date.now());
    let redis = await startRedis();
    const server = await startTestServer({ real: newRealStores(redis.url), clock });
    try {
      const rp = (
        await registerApplication(server, {
          client_id: 'app',
          redirect_uris: ['http://127.0.0.1:9/cb'],
          first_party: true,
          mfa_policy: 'required',
        })
      ).rp;
      const { credentials, phone } = await registeredUser(server, rp, clock, 'ruth');
      const agent = new UserAgent();
      const login = await follow(agent, (await startAuthorization(rp)).url, rp.redirectUri);
      const posted = await agent.postForm(formAction(login, '/login'), credentials);
      const codePage = await follow(agent, new URL(posted.headers.get('location')!, login.url), rp.redirectUri);
      assert.match(codePage.html, /autocomplete="one-time-code"/);

      await redis.stop();
      const answer = await agent.postForm(formAction(codePage, '/code'), { code: await phone.code() });
      assert.equal(answer.status, 503, 'the right code signs nobody in without the state store');
      assert.match(await answer.text(), /Temporarily unavailable/);

      redis = await startRedis(redis.port);
      assert.ok(await answers(`${server.issuer}/readyz`, 200, 50), 'ready within 5 s of its return');
      // Redis came back empty: that sign-in is gone, and a new one asks for everything.
      clock.advance(30_000);
      const again = await signIn(new UserAgent(), rp, credentials, {}, phone.app);
      assert.deepEqual(again.seen, ['login', 'code']);
    } finally {
      await server.close();
      await redis.stop();
    }
  });

  it('ends every session when Redis restarts empty, lets nobody in on old state, and keeps a locked user locked', async () => {
    const clock = createManualClock(Date.now());
    let redis = await startRedis();
    const server = await startTestServer({ real: newRealStores(redis.url), clock });
    try {
      const { rp } = await refreshingApplication(server, 'app');
      const signedIn = await registeredUser(server, rp, clock, 'sasha');
      const locked = await registeredUser(server, rp, clock, 'lou');
      const browser = new UserAgent();
      const { tokens } = await signIn(
        browser,
        rp,
        signedIn.credentials,
        { scope: 'openid offline_access', prompt: 'consent' },
        signedIn.phone.app,
      );
      assert.deepEqual((await signIn(browser, rp, null)).seen, [], 'single sign-on before the restart');
      const lockedBrowser = new UserAgent();
      const login = await follow(lockedBrowser, (await startAuthorization(rp)).url, rp.redirectUri);
      const posted = await lockedBrowser.postForm(formAction(login, '/login'), locked.credentials);
      const codePage = await follow(lockedBrowser, new URL(posted.headers.get('location')!, login.url), rp.redirectUri);
      for (let i = 0; i < 5; i++)
        await lockedBrowser.postForm(formAction(codePage, '/code'), { code: wrongCode(await locked.phone.code()) });

      await redis.stop();
      redis = await startRedis(redis.port);
      assert.ok(await answers(`${server.issuer}/readyz`, 200, 50), 'ready within 5 s of its return');
      clock.advance(30_000);

      await assert.rejects(oidc.refreshTokenGrant(rp.config, tokens.refresh_token!), 'the refresh token ended with its session');
      const again = await signIn(browser, rp, signedIn.credentials, {}, signedIn.phone.app);
      assert.deepEqual(again.seen, ['login', 'code'], 'the same browser signs in anew: password and code');
      await assert.rejects(
        signIn(new UserAgent(), rp, locked.credentials, {}, locked.phone.app),
        /stopped at \/interaction\/\S+ with 403/,
        'the locked user stays locked',
      );
    } finally {
      await server.close();
      await redis.stop();
    }
  });

  it('finishes a sign-in on the other node when the one that began it stops', async () => {
    const clock = createManualClock(Date.now());
    const stores = newRealStores();
    const a = await startTestServer({ real: stores, clock });
    const b = await startTestServer({ real: stores, clock, issuer: a.issuer });
    try {
      const created = await registerClient(a, {
        client_id: 'app',
        redirect_uris: ['http://127.0.0.1:9/cb'],
        first_party: true,
        mfa_policy: 'required',
      });
      // One issuer in front of both nodes, as a load balancer: requests go to A, then to B.
      const rp = await relyingParty(a.issuer, 'app', created.client_secret, 'http://127.0.0.1:9/cb');
      const { credentials, phone } = await registeredUser(a, rp, clock, 'otto');
      let target = a;
      const agent = new UserAgent((url) => {
        const routed = new URL(url);
        if (routed.origin === a.issuer) routed.host = new URL(target.url).host;
        return routed;
      });
      const login = await follow(agent, (await startAuthorization(rp)).url, rp.redirectUri);
      const posted = await agent.postForm(formAction(login, '/login'), credentials);
      assert.equal(posted.status, 303);
      await a.close();
      target = b;
      const codePage = await follow(agent, new URL(posted.headers.get('location')!, login.url), rp.redirectUri);
      assert.match(codePage.html, /autocomplete="one-time-code"/, 'B shows the code page of the sign-in A began');
      const done = await agent.postForm(formAction(codePage, '/code'), { code: await phone.code() });
      assert.equal(done.status, 303);
      const callback = await follow(agent, new URL(done.headers.get('location')!, codePage.url), rp.redirectUri);
      assert.ok(callback.url.searchParams.get('code'), 'and B sends the browser back with a code');
    } finally {
      await b.close();
    }
  });
});
