import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as oidc from 'openid-client';
import { createManualClock } from '../../src/domain/clock.ts';
import { realStoresSkip } from '../support/env.ts';
import { registeredUser } from '../support/mfa.ts';
import { exchangeCode, follow, formAction, UserAgent, type RelyingParty } from '../support/relying-party.ts';
import { registerApplication, newRealStores, startTestServer, type TestServer } from '../support/server.ts';

describe('discovery and pushed authorization requests', { skip: realStoresSkip }, () => {
  const clock = createManualClock(Date.now());
  let server: TestServer;
  let rp: RelyingParty;
  let registering: RelyingParty;

  before(async () => {
    server = await startTestServer({ real: newRealStores(), clock });
    rp = (
      await registerApplication(server, {
        client_id: 'par-app',
        redirect_uris: ['http://127.0.0.1:9/par'],
        first_party: true,
        mfa_policy: 'off',
      })
    ).rp;
    registering = (
      await registerApplication(server, {
        client_id: 'mfa-app',
        redirect_uris: ['http://127.0.0.1:9/mfa'],
        first_party: true,
        mfa_policy: 'required',
      })
    ).rp;
  });
  after(() => server.close());

  it('advertises only endpoints that answer', async () => {
    const metadata = rp.config.serverMetadata() as Record<string, unknown>;
    const endpoints = Object.entries(metadata)
      .filter(([key]) => key.endsWith('_endpoint') || key === 'jwks_uri')
      .map(([key, url]) => [key, String(url)]);
    assert.ok(endpoints.length >= 7, endpoints.map(([key]) => key).join(', '));
    for (const [key, url] of endpoints) {
      const got = await fetch(url!, { redirect: 'manual' });
      const posted = await fetch(url!, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: '',
      });
      assert.ok(got.status !== 404 || posted.status !== 404, `${key} (${url}) answers (GET ${got.status}, POST ${posted.status})`);
    }
  });

  it('signs in through a pushed authorization request, with step-up asked in it', async () => {
    const { credentials, phone } = await registeredUser(server, registering, clock, 'pushed');
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const url = await oidc.buildAuthorizationUrlWithPAR(rp.config, {
      redirect_uri: rp.redirectUri,
      scope: 'openid',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
      acr_values: 'urn:twofold:acr:mfa',
    });
    assert.match(url.searchParams.get('request_uri') ?? '', /^urn:ietf:params:oauth:request_uri:/);
    assert.equal(url.searchParams.get('acr_values'), null, 'the parameters travel in the pushed request, not the address');

    const agent = new UserAgent();
    let page = await follow(agent, url, rp.redirectUri);
    assert.match(page.html, /name="password"/);
    let posted = await agent.postForm(formAction(page, '/login'), credentials);
    page = await follow(agent, new URL(posted.headers.get('location')!, page.url), rp.redirectUri);
    assert.match(page.html, /autocomplete="one-time-code"/, 'the pushed acr_values asks the code of an off application');
    posted = await agent.postForm(formAction(page, '/code'), { code: await phone.code() });
    page = await follow(agent, new URL(posted.headers.get('location')!, page.url), rp.redirectUri);
    const tokens = await exchangeCode(rp, { url, verifier, state, nonce }, page.url);
    const claims = tokens.claims()!;
    assert.equal(claims.acr, 'urn:twofold:acr:mfa');
    assert.deepEqual(claims.amr, ['pwd', 'otp', 'mfa']);

    // A pushed request is used once.
    const replay = await follow(new UserAgent(), url, rp.redirectUri);
    assert.ok(replay.status >= 400 || /error=/.test(replay.url.search), 'a request_uri does not work twice');
  });
});
