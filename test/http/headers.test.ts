import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { follow, signIn, UserAgent } from '../support/relying-party.ts';
import { createUser, registerApplication, startTestServer, type TestServer } from '../support/server.ts';

/** Every page, the engine's own included, refuses framing and inline scripts. */
describe('security headers', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  const assertPageHeaders = (headers: Headers, what: string) => {
    assert.match(headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/, `${what}: no framing`);
    assert.match(headers.get('content-security-policy') ?? '', /default-src 'none'; script-src 'self'/, `${what}: no inline script`);
    assert.equal(headers.get('x-frame-options'), 'DENY', what);
    assert.equal(headers.get('referrer-policy'), 'no-referrer', what);
    assert.equal(headers.get('x-content-type-options'), 'nosniff', what);
  };

  it("are on the sign-out page and the error pages of the engine, and on twofold's pages", async () => {
    await createUser(server, { username: 'hedda', password: 'hedda passphrase' });
    const rp = (await registerApplication(server, { client_id: 'app', redirect_uris: ['http://127.0.0.1:9/cb'], first_party: true })).rp;
    const agent = new UserAgent();
    await signIn(agent, rp, { username: 'hedda', password: 'hedda passphrase' });
    const signOut = await agent.request(`${server.issuer}/session/end`);
    assert.equal(signOut.status, 200);
    assert.match(await signOut.text(), /op\.logoutForm/);
    assertPageHeaders(signOut.headers, '/session/end');
    const engineError = await agent.request(`${server.issuer}/auth?client_id=nobody&response_type=code&scope=openid`);
    assert.equal(engineError.status, 400);
    assertPageHeaders(engineError.headers, "the engine's error page");
    const login = await follow(new UserAgent(), `${server.issuer}/demo-nothing`, 'never:');
    assert.equal(login.status, 404);
    const page = await new UserAgent().request(`${server.issuer}/no/such/page`);
    assertPageHeaders(page.headers, "twofold's 404 page");
  });
});
