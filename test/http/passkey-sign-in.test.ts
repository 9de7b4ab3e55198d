import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createManualClock } from '../../src/domain/clock.ts';
import { SoftwareKey, webauthnOptions } from '../support/authenticator.ts';
import { realStoresSkip } from '../support/env.ts';
import { exchangeCode, follow, formAction, startAuthorization, UserAgent, type Page, type RelyingParty } from '../support/relying-party.ts';
import { createUser, newRealStores, patchSettings, requiredApplication, startTestServer, type TestServer } from '../support/server.ts';

/**
 * Signing in with a passkey instead of the password, through the pages, with a software
 * authenticator signing for real, on Redis and the MongoDB test server: where it is
 * offered and where refused, what the tokens say, what it takes (user verification, a
 * registered key, a fresh challenge), and the password asked by an application that takes
 * none instead.
 */
describe('passkey sign-in without a password', { skip: realStoresSkip }, () => {
  const clock = createManualClock(Date.now());
  const real = newRealStores();
  let server: TestServer;
  let crm: RelyingParty;
  let wiki: RelyingParty;
  let appOnly: RelyingParty;
  before(async () => {
    server = await startTestServer({ real, clock });
    await patchSettings(server, { passkeySignIn: { enabled: true } });
    crm = await requiredApplication(server, 'crm', { passkey_sign_in: true });
    wiki = await requiredApplication(server, 'wiki');
    appOnly = await requiredApplication(server, 'app-only', { passkey_sign_in: true, mfa_factors: ['totp'] });
  });
  after(() => server.close());

  const ceremony = (page: Page) => {
    const options = webauthnOptions(page);
    return { challenge: options.challenge, origin: new URL(server.issuer).origin, rpId: 'localhost', userId: options.user?.id };
  };

  const loginPage = async (agent: UserAgent, rp: RelyingParty, params: Record<string, string> = {}) => {
    const start = await startAuthorization(rp, params);
    return { start, page: await follow(agent, start.url, rp.redirectUri) };
  };

  /** Posts a passkey's answer on the login page: where it leads. */
  async function presentPasskey(agent: UserAgent, page: Page, response: unknown, rp: RelyingParty) {
    const posted = await agent.postForm(formAction(page, '/passkey'), { response: JSON.stringify(response) });
    if (posted.status !== 303) return { status: posted.status, page: { url: page.url, status: posted.status, html: await posted.text() } };
    return { status: 303, page: await follow(agent, new URL(posted.headers.get('location')!, page.url), rp.redirectUri) };
  }

  /** A new user who registers `key` during a sign-in at crm (password, then the key page). */
  async function withPasskey(username: string, key: SoftwareKey) {
    const credentials = { username, password: `${username} passphrase` };
    const { id } = await createUser(server, credentials);
    const agent = new UserAgent();
    const { page: login } = await loginPage(agent, crm);
    const posted = await agent.postForm(formAction(login, '/login'), credentials);
    const register = await follow(agent, new URL(posted.headers.get('location')!, login.url), crm.redirectUri);
    const chosen = await agent.postForm(formAction(register, '/factor'), { factor: 'webauthn' });
    const keyPage = await follow(agent, new URL(chosen.headers.get('location')!, register.url), crm.redirectUri);
    const added = await agent.postForm(formAction(keyPage, '/key'), {
      response: JSON.stringify(key.create(ceremony(keyPage))),
      name: 'Laptop',
    });
    const codes = await follow(agent, new URL(added.headers.get('location')!, keyPage.url), crm.redirectUri);
    const onward = await agent.postForm(formAction(codes, '/continue'), {});
    assert.equal(onward.status, 303);
    clock.advance(60_000);
    return { id, credentials };
  }

  const eventsOf = async (id: string, type: string) =>
    ((await (await server.adminFetch(`/admin/api/audit?user=${id}&type=${type}`)).json()) as { events: Record<string, unknown>[] }).events;

  it('signs in with a passkey that verifies its user, without a username or password: both factors, and the token says so', async () => {
    const key = new SoftwareKey(true);
    const { id, credentials } = await withPasskey('ada', key);
    const agent = new UserAgent();
    const { start, page } = await loginPage(agent, crm);
    assert.match(page.html, /Sign in with a passkey/);
    const options = webauthnOptions(page) as { userVerification?: string; allowCredentials?: unknown[] };
    assert.equal(options.userVerification, 'required');
    assert.deepEqual(options.allowCredentials ?? [], [], 'no user is named: the authenticator offers its passkeys');
    const signed = await presentPasskey(agent, page, key.get(ceremony(page)), crm);
    assert.equal(signed.status, 303);
    const claims = (await exchangeCode(crm, start, signed.page.url)).claims()!;
    assert.deepEqual([claims.acr, claims.amr], ['urn:twofold:acr:mfa', ['hwk', 'user', 'mfa']], 'no password was presented');
    assert.equal(claims.auth_time, Math.floor(clock.now() / 1000));
    assert.equal(claims.sub, id);
    const signedIn = await eventsOf(id, 'signin.succeeded');
    assert.equal(signedIn[0]!.factor, 'hwk');

    // The same session at an application that takes no passkey instead of the password: the
    // password is asked (without the passkey offer), and no code after it (the key covers it).
    const { start: wikiStart, page: wikiLogin } = await loginPage(agent, wiki);
    assert.match(wikiLogin.html, /name="password"/, 'the password is asked');
    assert.doesNotMatch(wikiLogin.html, /Sign in with a passkey/);
    const posted = await agent.postForm(formAction(wikiLogin, '/login'), credentials);
    const back = await follow(agent, new URL(posted.headers.get('location')!, wikiLogin.url), wiki.redirectUri);
    const wikiClaims = (await exchangeCode(wiki, wikiStart, back.url)).claims()!;
    assert.deepEqual(wikiClaims.amr, ['pwd', 'hwk', 'user', 'mfa']);

    // The phishing-resistant level, asked by crm: a passkey meets it.
    clock.advance(60_000);
    const fresh = new UserAgent();
    const phr = await loginPage(fresh, crm, { acr_values: 'urn:twofold:acr:phr' });
    const phrSigned = await presentPasskey(fresh, phr.page, key.get(ceremony(phr.page)), crm);
    const phrClaims = (await exchangeCode(crm, phr.start, phrSigned.page.url)).claims()!;
    assert.deepEqual([phrClaims.acr, phrClaims.amr], ['urn:twofold:acr:phr', ['hwk', 'user', 'mfa']]);
  });

  it('refuses a passkey that did not verify its user, an answer given before, a key of nobody, and answers that are not answers', async () => {
    const touchOnly = new SoftwareKey(false);
    const { id } = await withPasskey('bea', touchOnly);
    const agent = new UserAgent();
    let { page } = await loginPage(agent, crm);
    const unverified = await presentPasskey(agent, page, touchOnly.get(ceremony(page)), crm);
    assert.equal(unverified.status, 401);
    assert.match(unverified.page.html, /did not check it was you/);
    assert.equal((await eventsOf(id, 'mfa.refused')).length, 1, 'counted and audited as a wrong answer');

    const verifying = new SoftwareKey(true);
    await withPasskey('cat', verifying);
    page = unverified.page;
    const good = verifying.get(ceremony(page));
    const passed = await presentPasskey(agent, page, good, crm);
    assert.equal(passed.status, 303);
    const next = new UserAgent();
    page = (await loginPage(next, crm)).page;
    const stranger = new SoftwareKey(true);
    stranger.userHandle = Buffer.from(id).toString('base64url');
    for (const wrong of [good, stranger.get(ceremony(page)), { id: 'x' }, 'not json']) {
      const refused = await presentPasskey(next, page, wrong, crm);
      assert.equal(refused.status, 401, `refused: ${JSON.stringify(wrong).slice(0, 40)}`);
      assert.match(refused.page.html, /That passkey was not accepted/);
      assert.match(refused.page.html, /name="password"/, 'the password form stays');
      page = refused.page;
    }
  });

  it('refuses a copy of a passkey (its counter went back)', async () => {
    const key = new SoftwareKey(true);
    const { id } = await withPasskey('dee', key);
    const agent = new UserAgent();
    const first = await loginPage(agent, crm);
    assert.equal((await presentPasskey(agent, first.page, key.get(ceremony(first.page)), crm)).status, 303);
    key.counter = 0;
    const other = new UserAgent();
    const { page } = await loginPage(other, crm);
    const copied = await presentPasskey(other, page, key.get(ceremony(page)), crm);
    assert.equal(copied.status, 401);
    assert.match(copied.page.html, /a copy of it may be in use elsewhere/);
    assert.equal((await eventsOf(id, 'mfa.key_cloned')).length, 1);
  });

  it('is not offered, and refused, where the application, its factors or the setting do not allow it', async () => {
    const key = new SoftwareKey(true);
    await withPasskey('eli', key);
    for (const [rp, what] of [
      [wiki, 'an application that does not allow it'],
      [appOnly, 'an application that takes the app only'],
    ] as const) {
      const agent = new UserAgent();
      const { page } = await loginPage(agent, rp);
      assert.doesNotMatch(page.html, /Sign in with a passkey/, what);
      const posted = await agent.postForm(new URL(`${page.url.pathname}/passkey`, page.url), {
        response: JSON.stringify(
          key.get({ challenge: 'AAAAAAAAAAAAAAAAAAAAAA', origin: new URL(server.issuer).origin, rpId: 'localhost' }),
        ),
      });
      assert.equal(posted.status, 400, what);
    }
    await patchSettings(server, { passkeySignIn: { enabled: false } });
    try {
      const agent = new UserAgent();
      const { page } = await loginPage(agent, crm);
      assert.doesNotMatch(page.html, /Sign in with a passkey/, 'the setting off');
      const posted = await agent.postForm(new URL(`${page.url.pathname}/passkey`, page.url), { response: '{}' });
      assert.equal(posted.status, 400);
    } finally {
      await patchSettings(server, { passkeySignIn: { enabled: true } });
    }
  });

  it('lets one of two simultaneous answers to one challenge through', async () => {
    const key = new SoftwareKey(true);
    await withPasskey('fin', key);
    const agent = new UserAgent();
    const { page } = await loginPage(agent, crm);
    const answer = JSON.stringify(key.get(ceremony(page)));
    const posted = await Promise.all([1, 2].map(() => agent.postForm(formAction(page, '/passkey'), { response: answer })));
    const statuses = posted.map((response) => response.status).sort();
    assert.equal(statuses.filter((status) => status === 303).length, 1, `one through: ${statuses.join(', ')}`);
  });
});
