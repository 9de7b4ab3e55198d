import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { follow, formAction, startAuthorization, UserAgent, type Page, type RelyingParty } from '../support/relying-party.ts';
import { createUser, registerApplication, startTestServer, type TestServer } from '../support/server.ts';

describe('sign-in pages: bad input', () => {
  let server: TestServer;
  let rp: RelyingParty;
  before(async () => {
    server = await startTestServer();
    await createUser(server, { username: 'mallory-target', password: 'the real password' });
    rp = (await registerApplication(server, { client_id: 'app', redirect_uris: ['http://127.0.0.1:9/cb'], first_party: true })).rp;
  });
  after(() => server.close());

  async function loginPage(agent = new UserAgent()): Promise<{ agent: UserAgent; page: Page; action: URL }> {
    const start = await startAuthorization(rp);
    const page = await follow(agent, start.url, rp.redirectUri);
    return { agent, page, action: formAction(page, '/login') };
  }

  const alertOf = (html: string) => /role="alert"[^>]*>([^<]*)</.exec(html)?.[1];

  it('never lets an operator object reach a query: username[$ne]=x is refused with 400', async () => {
    const { agent, action } = await loginPage();
    const response = await agent.postBody(action, 'username[$ne]=x&password[$ne]=x', 'application/x-www-form-urlencoded');
    assert.equal(response.status, 400);
    const html = await response.text();
    assert.equal(alertOf(html), 'Enter your username and password.');
    assert.match(html, /name="password"/);
  });

  it('answers 400 with the form again for missing, empty, repeated or extra fields', async () => {
    for (const body of ['', 'username=&password=', 'username=a', 'username=a&username=b&password=c', 'username=a&password=b&admin=1']) {
      const { agent, action } = await loginPage();
      const response = await agent.postBody(action, body, 'application/x-www-form-urlencoded');
      assert.equal(response.status, 400, body);
      assert.match(await response.text(), /role="alert"/);
    }
  });

  it('says which field is too long, and says an oversized form in plain words', async () => {
    for (const [fields, message] of [
      [{ username: 'u'.repeat(129), password: 'p' }, 'The username is too long: it has at most 128 characters.'],
      [{ username: 'u', password: 'p'.repeat(1025) }, 'The password is too long: it has at most 1024 characters.'],
    ] as const) {
      const { agent, action } = await loginPage();
      const response = await agent.postForm(action, fields);
      assert.equal(response.status, 400);
      assert.equal(alertOf(await response.text()), message);
    }
    const { agent, action } = await loginPage();
    const big = await agent.postForm(action, { username: 'a', password: 'p'.repeat(101 * 1024) });
    const html = await big.text();
    assert.match(html, /<h1>Too much was sent<\/h1>/);
    assert.doesNotMatch(html, /request body|bytes/, 'no technical words');
  });

  it('answers 415 for a JSON body and 413 for a body over 100 kB', async () => {
    const { agent, action } = await loginPage();
    const json = await agent.request(action, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'a', password: 'b' }),
    });
    assert.equal(json.status, 415);
    const big = await agent.postForm(action, { username: 'a', password: 'p'.repeat(101 * 1024) });
    assert.equal(big.status, 413);
  });

  it('shows "sign-in expired" for an unknown interaction, never a 500', async () => {
    const agent = new UserAgent();
    const page = await agent.request(`${server.issuer}/interaction/does-not-exist`);
    assert.equal(page.status, 400);
    const html = await page.text();
    assert.match(html, /<h1>Sign-in expired<\/h1>/);
    assert.match(alertOf(html) ?? '', /expired/);
    assert.doesNotMatch(html, /Return to the application/, 'no application is known for it');
    const post = await agent.postForm(`${server.issuer}/interaction/does-not-exist/login`, { username: 'a', password: 'b' });
    assert.equal(post.status, 400);
  });

  it('shows "sign-in expired" with a link back to the application for a finished sign-in', async () => {
    const { agent, page } = await loginPage();
    const uid = /\/interaction\/([^/]+)\/login/.exec(page.html)![1]!;
    const back = await follow(agent, new URL(`/interaction/${uid}/abort`, server.issuer), rp.redirectUri);
    assert.equal(back.url.searchParams.get('error'), 'access_denied');
    const again = await agent.request(new URL(`/interaction/${uid}`, server.issuer));
    assert.equal(again.status, 400);
    const html = await again.text();
    assert.match(html, /<h1>Sign-in expired<\/h1>/);
    assert.match(html, /<a href="http:\/\/127\.0\.0\.1:9">Return to the application<\/a>/);
  });

  it('refuses a login post for an interaction whose cookie belongs to another browser', async () => {
    const { action } = await loginPage();
    const stranger = new UserAgent();
    const response = await stranger.postForm(action, { username: 'mallory-target', password: 'the real password' });
    assert.equal(response.status, 400);
  });

  it('refuses a post whose address names another sign-in than its cookie', async () => {
    const { agent, action } = await loginPage();
    const other = new URL(action);
    other.pathname = other.pathname.replace(/\/interaction\/[^/]+\//, '/interaction/someone-elses-uid/');
    const cookie = agent.cookieHeader(action);
    const response = await fetch(other, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' },
      body: 'username=mallory-target&password=the+real+password',
    });
    assert.equal(response.status, 400);
  });

  it('keeps the typed username and never echoes the password', async () => {
    const { agent, action } = await loginPage();
    const response = await agent.postForm(action, { username: 'mallory-target', password: 'wrong-secret-value' });
    assert.equal(response.status, 401);
    const html = await response.text();
    assert.match(html, /value="mallory-target"/);
    assert.equal(html.includes('wrong-secret-value'), false);
  });

  it('escapes what it echoes', async () => {
    const { agent, action } = await loginPage();
    const response = await agent.postForm(action, { username: '"><script>alert(1)</script>', password: 'x' });
    const html = await response.text();
    assert.equal(html.includes('<script>alert(1)'), false);
    assert.match(html, /&lt;script&gt;|&quot;&gt;/);
  });

  it('serves its pages with a script-free content security policy', async () => {
    const { agent } = await loginPage();
    const start = await startAuthorization(rp);
    const first = await agent.request(start.url);
    const page = await agent.request(new URL(first.headers.get('location')!, server.issuer));
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    assert.equal(page.headers.get('x-frame-options'), 'DENY');
    assert.equal(page.headers.get('cache-control'), 'no-store');
  });
});
