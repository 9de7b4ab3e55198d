import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { follow, formAction, relyingParty, startAuthorization, UserAgent } from '../support/relying-party.ts';
import { createUser, registerClient, startTestServer, type TestServer } from '../support/server.ts';

describe('logs', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  it("carry the request id on every line of a request, the engine's too, and never a password or cookie", async () => {
    await createUser(server, { username: 'lena', password: 'lena passphrase' });
    const created = await registerClient(server, { client_id: 'app', redirect_uris: ['http://127.0.0.1:9/cb'], first_party: true });
    const rp = await relyingParty(server.issuer, 'app', created.client_secret, 'http://127.0.0.1:9/cb');
    const agent = new UserAgent();
    const login = await follow(agent, (await startAuthorization(rp)).url, rp.redirectUri);
    const refused = await agent.request(formAction(login, '/login'), {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'username=lena&password=the+wrong+passphrase',
    });
    const reqId = refused.headers.get('x-request-id');
    assert.match(reqId ?? '', /^[0-9a-f-]{36}$/);
    const lines = server.logs
      .join('')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const ofRequest = lines.filter((line) => line.reqId === reqId);
    assert.deepEqual(
      ofRequest.map((line) => line.msg),
      ['password sign-in failed', 'request'],
      'both lines of the request carry its id',
    );
    const engine = await agent.request(`${server.issuer}/auth?client_id=nobody&response_type=code&scope=openid`);
    assert.ok(lines.length > 0 && engine.headers.get('x-request-id'), "the engine's answers have an id too");
    const text = server.logs.join('');
    // The sign-in's cookie holds its uid, which is in its address (logged) anyway; every
    // other cookie value is a secret.
    const uid = /\/interaction\/([^/]+)/.exec(login.url.pathname)![1];
    const cookies = agent.cookies.map((c) => c.value).filter((value) => value !== uid);
    assert.ok(cookies.length > 0);
    for (const secret of ['the wrong passphrase', 'the+wrong+passphrase', 'lena passphrase', created.client_secret!, ...cookies]) {
      assert.equal(text.includes(secret), false, `the log holds ${secret.slice(0, 12)}…`);
    }
  });
});
