import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import * as oidc from 'openid-client';
import { realStoresSkip } from '../support/env.ts';
import { startMongoServer, startRedis } from '../support/processes.ts';
import { follow, formAction, relyingParty, signIn, startAuthorization, UserAgent } from '../support/relying-party.ts';
import { createUser, newRealStores, registerClient, startTestServer, type TestServer } from '../support/server.ts';

async function setUp(server: TestServer) {
  const user = await createUser(server, { username: 'olivia', password: 'olivia passphrase' });
  const client = await registerClient(server, {
    client_id: 'app',
    redirect_uris: ['http://127.0.0.1:9/cb'],
    grant_types: ['authorization_code', 'refresh_token'],
    first_party: true,
  });
  return { user, secret: client.client_secret! };
}

const credentials = { username: 'olivia', password: 'olivia passphrase' };

/** Polls /readyz until it answers `status`, at most `attempts` times; returns the last body. */
async function readiness(server: TestServer, status: number, attempts = 100) {
  let last: { status: number; body: unknown } = { status: 0, body: null };
  for (let i = 0; i < attempts; i++) {
    const response = await fetch(`${server.issuer}/readyz`);
    last = { status: response.status, body: await response.json() };
    if (last.status === status) return last;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return last;
}

describe('restarts and store outages', { skip: realStoresSkip }, () => {
  it('keeps a refresh token usable and ID tokens verifiable across a restart', async () => {
    const stores = newRealStores();
    const first = await startTestServer({ real: stores });
    const port = Number(new URL(first.issuer).port);
    const { user, secret } = await setUp(first);
    const rpBefore = await relyingParty(first.issuer, 'app', secret, 'http://127.0.0.1:9/cb');
    const { tokens } = await signIn(new UserAgent(), rpBefore, credentials, { scope: 'openid offline_access', prompt: 'consent' });
    const jwksBefore = await (await fetch(`${first.issuer}/jwks`)).json();
    await first.close();

    const second = await startTestServer({ real: stores, port });
    try {
      assert.deepEqual(await (await fetch(`${second.issuer}/jwks`)).json(), jwksBefore, 'the same signing keys');
      const rpAfter = await relyingParty(second.issuer, 'app', secret, 'http://127.0.0.1:9/cb');
      const refreshed = await oidc.refreshTokenGrant(rpAfter.config, tokens.refresh_token!);
      assert.equal(refreshed.claims()?.sub, user.id, 'the refreshed ID token verifies against the keys after restart');
      const info = await oidc.fetchUserInfo(rpAfter.config, refreshed.access_token, user.id);
      assert.equal(info.sub, user.id);
    } finally {
      await second.close();
    }
  });

  it('fails closed with 503 while Redis is down, and recovers by itself when it is back', async () => {
    let redis = await startRedis();
    const server = await startTestServer({ real: newRealStores(redis.url) });
    try {
      const { secret } = await setUp(server);
      const rp = await relyingParty(server.issuer, 'app', secret, 'http://127.0.0.1:9/cb');
      const agent = new UserAgent();
      assert.equal((await signIn(agent, rp, credentials)).claims.sub !== undefined, true);
      assert.equal((await readiness(server, 200)).status, 200);

      // A sign-in already on its login page when Redis goes away.
      const pendingAgent = new UserAgent();
      const pending = await follow(pendingAgent, (await startAuthorization(rp)).url, rp.redirectUri);
      assert.equal(pending.status, 200);

      await redis.stop();
      const down = await readiness(server, 503);
      assert.equal(down.status, 503);
      assert.deepEqual(down.body, { status: 'unavailable', mongodb: 'up', redis: 'down' });

      const start = await startAuthorization(rp);
      const refused = await new UserAgent().request(start.url);
      assert.equal(refused.status, 503, 'a new sign-in is refused');
      assert.match(await refused.text(), /Temporarily unavailable/);
      const resumed = await pendingAgent.request(pending.url);
      assert.equal(resumed.status, 503, 'a sign-in page cannot be served without its state');
      const posted = await pendingAgent.postForm(formAction(pending, '/login'), credentials);
      assert.equal(posted.status, 503, 'a correct password does not sign in without the state store');
      const sso = await agent.request((await startAuthorization(rp)).url);
      assert.equal(sso.status, 503, 'not even a signed-in session gets a code');

      redis = await startRedis(redis.port);
      assert.equal((await readiness(server, 200)).status, 200, 'ready again without a restart');
      const again = await signIn(new UserAgent(), rp, credentials);
      assert.ok(again.tokens.access_token);
    } finally {
      await server.close();
      await redis.stop();
    }
  });

  it('fails closed with 503 while MongoDB is down, and recovers by itself when it is back', async () => {
    let mongo = await startMongoServer();
    const server = await startTestServer({ real: newRealStores(undefined, mongo.url), mongoTimeoutMs: 500 });
    try {
      const { secret } = await setUp(server);
      const rp = await relyingParty(server.issuer, 'app', secret, 'http://127.0.0.1:9/cb');
      const agent = new UserAgent();
      const pending = await follow(agent, (await startAuthorization(rp)).url, rp.redirectUri);
      assert.equal(pending.status, 200);

      await mongo.stop();
      const down = await readiness(server, 503);
      assert.deepEqual(down.body, { status: 'unavailable', mongodb: 'down', redis: 'up' });
      const posted = await agent.postForm(formAction(pending, '/login'), credentials);
      assert.equal(posted.status, 503, 'the password cannot be checked, so nobody signs in');
      assert.match(await posted.text(), /Temporarily unavailable/);
      const admin = await server.adminFetch('/admin/api/users');
      assert.equal(admin.status, 503);
      assert.equal(((await admin.json()) as { error: string }).error, 'store_unavailable');

      // The test server keeps its data in memory: it comes back empty, so the user and the
      // application are made again through the admin API once the node has reconnected.
      mongo = await startMongoServer(mongo.port);
      assert.equal((await readiness(server, 200, 200)).status, 200, 'ready again without a restart');
      const { secret: again } = await setUp(server);
      const rpAgain = await relyingParty(server.issuer, 'app', again, 'http://127.0.0.1:9/cb');
      const signedIn = await signIn(new UserAgent(), rpAgain, credentials);
      assert.ok(signedIn.tokens.access_token);
    } finally {
      await server.close();
      await mongo.stop();
    }
  });
});
