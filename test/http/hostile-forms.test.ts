import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createManualClock } from '../../src/domain/clock.ts';
import { registeredUser } from '../support/mfa.ts';
import { follow, formAction, startAuthorization, UserAgent, type RelyingParty } from '../support/relying-party.ts';
import { registerApplication, startTestServer, type TestServer } from '../support/server.ts';

/** Bodies no browser sends: each must get a 4xx, never a 500, and sign nobody in. */
const hostileBodies: [string, string, string][] = [
  ['operator object', 'application/x-www-form-urlencoded', 'username[$ne]=x&password[$ne]=x&code[$gt]='],
  ['__proto__ key', 'application/x-www-form-urlencoded', '__proto__[admin]=1&username=a&password=b'],
  ['constructor key', 'application/x-www-form-urlencoded', 'constructor[prototype][x]=1&code=1'],
  ['NUL bytes', 'application/x-www-form-urlencoded', 'username=a%00b&password=c%00&code=12%0034'],
  ['right-to-left name', 'application/x-www-form-urlencoded', `username=${encodeURIComponent('\u202Eadmin')}&password=x`],
  ['overlong code', 'application/x-www-form-urlencoded', `code=${'9'.repeat(5000)}`],
  ['deeply nested', 'application/x-www-form-urlencoded', `code${'[a]'.repeat(500)}=1`],
  ['malformed JSON', 'application/json', '{"username": "a", '],
  ['JSON form', 'application/json', '{"username":"a","password":"b","code":"123456"}'],
  ['XML', 'text/xml', '<username>a</username>'],
  ['no content type', '', 'username=a&password=b'],
  ['header injection', 'application/x-www-form-urlencoded', 'username=a%0d%0aSet-Cookie:%20x=y&password=b'],
];

describe('hostile input against the sign-in forms', () => {
  const clock = createManualClock(Date.now());
  let server: TestServer;
  let rp: RelyingParty;
  before(async () => {
    server = await startTestServer({ clock });
    rp = (
      await registerApplication(server, {
        client_id: 'app',
        redirect_uris: ['http://127.0.0.1:9/cb'],
        first_party: true,
        mfa_policy: 'required',
      })
    ).rp;
  });
  after(() => server.close());

  it('answers each with a 4xx on the login, code, continue and consent forms, and signs nobody in', async () => {
    const { credentials } = await registeredUser(server, rp, clock, 'hostile');
    for (const [name, contentType, body] of hostileBodies) {
      // A fresh sign-in up to the code page, so the code and continue forms are live.
      const agent = new UserAgent();
      const login = await follow(agent, (await startAuthorization(rp)).url, rp.redirectUri);
      const loginAction = formAction(login, '/login');
      const hostileLogin = await agent.postBody(loginAction, body, contentType);
      assert.ok(hostileLogin.status >= 400 && hostileLogin.status < 500, `login, ${name}: ${hostileLogin.status}`);
      assert.equal(hostileLogin.headers.get('set-cookie')?.includes('x=y') ?? false, false, `login, ${name}: no injected header`);
      const posted = await agent.postForm(loginAction, credentials);
      assert.equal(posted.status, 303, `${name}: the right password still works after it`);
      const codePage = await follow(agent, new URL(posted.headers.get('location')!, login.url), rp.redirectUri);
      for (const suffix of ['/code', '/continue', '/confirm']) {
        const action = new URL(formAction(codePage, '/code').pathname.replace(/\/code$/, suffix), server.issuer);
        const answer = await agent.postBody(action, body, contentType);
        assert.ok(answer.status >= 400 && answer.status < 500, `${suffix}, ${name}: ${answer.status}`);
        assert.equal(answer.headers.get('location')?.startsWith(rp.redirectUri) ?? false, false, `${suffix}, ${name}: nobody signed in`);
      }
      clock.advance(30_000);
    }
    assert.equal(server.logs.join('').includes('"level":50'), false, 'no request failed with an error on our side');
  });
});
