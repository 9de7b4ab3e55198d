import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as oidc from 'openid-client';
import { realStoresSkip } from '../support/env.ts';
import {
  follow,
  formAction,
  relyingParty,
  signIn,
  SignInRefused,
  startAuthorization,
  UserAgent,
  type RelyingParty,
} from '../support/relying-party.ts';
import { createUser, newRealStores, registerClient, startTestServer, type TestServer } from '../support/server.ts';

describe('authorization code flow with openid-client on Redis and MongoDB', { skip: realStoresSkip }, () => {
  let server: TestServer;
  let firstParty: RelyingParty;
  let thirdParty: RelyingParty;
  let publicClient: RelyingParty;
  const alice = { username: 'alice', password: 'correct horse battery staple' };
  let aliceId: string;

  before(async () => {
    server = await startTestServer({ real: newRealStores() });
    aliceId = (await createUser(server, { ...alice, email: 'alice@example.com', name: 'Alice Liddell' })).id;
    const redirect = (name: string) => `http://127.0.0.1:9/${name}/callback`;
    const first = await registerClient(server, {
      client_id: 'first',
      redirect_uris: [redirect('first')],
      post_logout_redirect_uris: ['http://127.0.0.1:9/first/bye'],
      grant_types: ['authorization_code', 'refresh_token'],
      first_party: true,
    });
    firstParty = await relyingParty(server.issuer, 'first', first.client_secret, redirect('first'));
    const third = await registerClient(server, { client_id: 'third', client_name: 'Third App', redirect_uris: [redirect('third')] });
    thirdParty = await relyingParty(server.issuer, 'third', third.client_secret, redirect('third'));
    await registerClient(server, {
      client_id: 'spa',
      redirect_uris: [redirect('spa')],
      token_endpoint_auth_method: 'none',
      first_party: true,
    });
    publicClient = await relyingParty(server.issuer, 'spa', undefined, redirect('spa'));
  });
  after(() => server.close());

  it('signs in with code + PKCE and issues a valid ID token saying password only', async () => {
    const { tokens, claims, seen } = await signIn(new UserAgent(), firstParty, alice);
    assert.deepEqual(seen, ['login'], 'a first-party client asks no consent');
    assert.equal(claims.sub, aliceId);
    assert.equal(claims.iss, server.issuer);
    assert.equal(claims.aud, 'first');
    assert.deepEqual(claims.amr, ['pwd']);
    assert.equal(claims.acr, 'urn:twofold:acr:password');
    assert.ok(tokens.access_token);
  });

  it('advertises the three authentication contexts and the claims parameter in discovery', async () => {
    const metadata = firstParty.config.serverMetadata();
    assert.deepEqual(metadata.acr_values_supported, ['urn:twofold:acr:password', 'urn:twofold:acr:mfa', 'urn:twofold:acr:phr']);
    assert.equal(metadata.claims_parameter_supported, true);
    assert.ok(metadata.claims_supported?.includes('amr'));
  });

  it('serves userinfo with the claims of the granted scopes', async () => {
    const { tokens } = await signIn(new UserAgent(), firstParty, alice);
    const info = await oidc.fetchUserInfo(firstParty.config, tokens.access_token, aliceId);
    assert.equal(info.sub, aliceId);
    assert.equal(info.preferred_username, 'alice');
    assert.equal(info.email, 'alice@example.com');
    assert.equal(info.name, 'Alice Liddell');
  });

  it('issues a refresh token for offline_access and refreshes it into new valid tokens', async () => {
    const { tokens } = await signIn(new UserAgent(), firstParty, alice, { scope: 'openid offline_access', prompt: 'consent' });
    assert.ok(tokens.refresh_token, 'a refresh token is issued');
    const refreshed = await oidc.refreshTokenGrant(firstParty.config, tokens.refresh_token);
    assert.ok(refreshed.access_token);
    assert.notEqual(refreshed.access_token, tokens.access_token);
    assert.equal(refreshed.claims()?.sub, aliceId);
    assert.deepEqual(refreshed.claims()?.amr, ['pwd']);
  });

  it('revokes an access token, after which introspection says it is inactive', async () => {
    const { tokens } = await signIn(new UserAgent(), firstParty, alice);
    assert.equal((await oidc.tokenIntrospection(firstParty.config, tokens.access_token)).active, true);
    await oidc.tokenRevocation(firstParty.config, tokens.access_token);
    assert.equal((await oidc.tokenIntrospection(firstParty.config, tokens.access_token)).active, false);
    await assert.rejects(oidc.fetchUserInfo(firstParty.config, tokens.access_token, aliceId));
  });

  it('keeps the session for single sign-on and ends it at logout', async () => {
    const agent = new UserAgent();
    const first = await signIn(agent, firstParty, alice);
    const again = await signIn(agent, firstParty, null);
    assert.deepEqual(again.seen, [], 'the session signs in without asking again');
    assert.equal(again.claims.sub, aliceId);

    const logoutUrl = oidc.buildEndSessionUrl(firstParty.config, {
      id_token_hint: first.tokens.id_token!,
      post_logout_redirect_uri: 'http://127.0.0.1:9/first/bye',
    });
    const confirm = await follow(agent, logoutUrl, 'http://127.0.0.1:9/');
    assert.equal(confirm.status, 200);
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(confirm.html)?.[1];
    assert.ok(xsrf, 'the logout page carries a CSRF token');
    const done = await agent.postForm(formAction(confirm, '/confirm'), { xsrf, logout: 'yes' });
    assert.equal(done.status, 303);
    assert.equal(done.headers.get('location'), 'http://127.0.0.1:9/first/bye');

    const after = await signIn(agent, firstParty, alice);
    assert.deepEqual(after.seen, ['login'], 'after logout the password is asked again');
  });

  it('asks consent for a third-party client, once', async () => {
    const agent = new UserAgent();
    const first = await signIn(agent, thirdParty, alice);
    assert.deepEqual(first.seen, ['login', 'consent']);
    const second = await signIn(agent, thirdParty, null);
    assert.deepEqual(second.seen, []);
  });

  it('requires PKCE from a public client', async () => {
    const start = await startAuthorization(publicClient);
    const withoutPkce = new URL(start.url);
    withoutPkce.searchParams.delete('code_challenge');
    withoutPkce.searchParams.delete('code_challenge_method');
    const page = await follow(new UserAgent(), withoutPkce, publicClient.redirectUri);
    assert.ok(page.url.href.startsWith(publicClient.redirectUri));
    assert.equal(page.url.searchParams.get('error'), 'invalid_request');
    assert.match(page.url.searchParams.get('error_description') ?? '', /PKCE/);

    const { claims } = await signIn(new UserAgent(), publicClient, alice);
    assert.equal(claims.sub, aliceId, 'with PKCE the public client signs in');
  });

  it('shows the login page again with an alert for a wrong password, and the same for an unknown user', async () => {
    const refusal = async (credentials: { username: string; password: string }) => {
      try {
        await signIn(new UserAgent(), firstParty, credentials);
      } catch (err) {
        if (err instanceof SignInRefused) return err.page;
        throw err;
      }
      assert.fail('the sign-in went through');
    };
    const wrong = await refusal({ username: 'alice', password: 'not the password' });
    const unknown = await refusal({ username: 'nobody-by-this-name', password: 'not the password' });
    for (const page of [wrong, unknown]) {
      assert.equal(page.status, 401);
      assert.match(page.html, /role="alert"[^>]*>The username or password is not correct\.</);
      assert.match(page.html, /name="password"/);
    }
    const alert = (html: string) => /role="alert"[^>]*>([^<]*)</.exec(html)?.[1];
    assert.equal(alert(wrong.html), alert(unknown.html), 'one message, so accounts cannot be enumerated');
  });
});
