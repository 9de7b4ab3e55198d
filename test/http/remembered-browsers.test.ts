import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createManualClock } from '../../src/domain/clock.ts';
import { Phone, registeredUser, walkOwnPages } from '../support/mfa.ts';
import { realStoresSkip } from '../support/env.ts';
import { follow, formAction, signIn, startAuthorization, UserAgent, type RelyingParty } from '../support/relying-party.ts';
import { serviceProvider } from '../support/saml-sp.ts';
import { newRealStores, patchUser, requiredApplication, startTestServer, type TestServer } from '../support/server.ts';

const DAY = 86_400_000;
const COOKIE = 'twofold_device';

interface Remembered {
  id: string;
  browser: string;
  application?: string;
  rememberedAt: string;
  expiresAt: string;
  lastUsedAt: string | null;
}

/**
 * "Don't ask again on this device", through the pages, on Redis and the MongoDB test
 * server, with the clock moved by hand: which applications honour a remembered browser,
 * for how long, what the tokens say then, and everything that forgets it.
 */
describe('remembered browsers', { skip: realStoresSkip }, () => {
  const clock = createManualClock(Date.now());
  const real = newRealStores();
  let server: TestServer;
  let crm: RelyingParty;
  let wiki: RelyingParty;
  before(async () => {
    server = await startTestServer({ real, clock });
    crm = await requiredApplication(server, 'crm', { remember_device_days: 7 });
    wiki = await requiredApplication(server, 'wiki');
  });
  after(() => server.close());

  /** The same browser after its sign-in session is over: only the remembered-browser cookie is left. */
  const sameBrowser = (agent: UserAgent, via?: UserAgent) => {
    const next = via ?? new UserAgent();
    next.cookies = agent.cookies.filter((cookie) => cookie.name === COOKIE).map((cookie) => ({ ...cookie }));
    return next;
  };

  const rememberedOf = async (id: string) =>
    ((await (await server.adminFetch(`/admin/api/users/${id}`)).json()) as { mfa: { rememberedBrowsers: Remembered[] } }).mfa
      .rememberedBrowsers;

  const eventsOf = async (id: string, type: string) =>
    ((await (await server.adminFetch(`/admin/api/audit?user=${id}&type=${type}`)).json()) as { events: Record<string, unknown>[] }).events;

  const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0';

  /** A user with an app who signs in to crm ticking "don't ask again": the browser, remembered. */
  async function rememberedUser(username: string) {
    const { id, credentials, phone } = await registeredUser(server, crm, clock, username);
    const agent = new UserAgent();
    agent.headers = { 'user-agent': FIREFOX };
    let offered = '';
    const first = await signIn(agent, crm, credentials, {}, { ...phone.app, remember: true }, (kind, page) => {
      if (kind === 'code') offered = page.html;
    });
    assert.match(offered, /Don’t ask again on this device for 7 days/);
    assert.deepEqual(first.claims.amr, ['pwd', 'otp', 'mfa'], 'the sign-in that remembers the browser presented its code');
    const device = agent.cookies.find((cookie) => cookie.name === COOKIE);
    assert.ok(device && /^[\w-]{43}$/.test(device.value), 'the browser keeps a random token, and nothing else');
    clock.advance(30_000);
    return { id, credentials, phone, agent };
  }

  // First: SAML requests carry the real time, and the tests after this one move the clock on by days.
  it('spares a SAML application that allows it the code, and states the password alone; a requested MFA context asks all the same', async () => {
    const { credentials, phone } = await registeredUser(server, crm, clock, 'hal');
    const sp = await serviceProvider(server, 'ledger', { register: { mfa_policy: 'required', remember_device_days: 3 } });
    const agent = new UserAgent();
    agent.headers = { 'user-agent': FIREFOX };
    /** A SAML sign-in of `browser` up to the page posting to the application; the pages asked on the way. */
    const samlSignIn = async (browser: UserAgent, provider: typeof sp, remember = false) => {
      const seen: string[] = [];
      let page = await follow(browser, await provider.saml.getAuthorizeUrlAsync('', undefined, {}), 'never:');
      while (!page.html.includes('name="SAMLResponse"')) {
        if (page.html.includes('name="password"')) {
          seen.push('login');
          const posted = await browser.postForm(formAction(page, '/login'), credentials);
          page = await follow(browser, new URL(posted.headers.get('location')!, page.url), 'never:');
        } else {
          seen.push('code');
          if (remember) assert.match(page.html, /Don’t ask again on this device for 3 days/);
          const posted = await browser.postForm(formAction(page, '/code'), {
            code: await phone.code(),
            ...(remember ? { remember: '1' } : {}),
          });
          page = await follow(browser, new URL(posted.headers.get('location')!, page.url), 'never:');
        }
      }
      const { profile } = await provider.saml.validatePostResponseAsync({ SAMLResponse: provider.answerOn(page).SAMLResponse });
      const classRef = /<saml:AuthnContextClassRef>([^<]+)</.exec(profile!.getAssertionXml!())?.[1];
      return { seen, classRef, amr: profile!['amr'] };
    };
    const first = await samlSignIn(agent, sp, true);
    assert.deepEqual([first.seen, first.classRef, first.amr], [['login', 'code'], 'https://refeds.org/profile/mfa', ['pwd', 'otp', 'mfa']]);
    clock.advance(30_000);
    const again = await samlSignIn(sameBrowser(agent), sp);
    assert.deepEqual(
      [again.seen, again.classRef, again.amr],
      [['login'], 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport', 'pwd'],
      'the password, stated as what was presented',
    );
    const asking = await serviceProvider(server, 'ledger-mfa', {
      register: { mfa_policy: 'required', remember_device_days: 3 },
      saml: { disableRequestedAuthnContext: false, authnContext: ['https://refeds.org/profile/mfa'], racComparison: 'exact' },
    });
    clock.advance(30_000);
    const stepped = await samlSignIn(sameBrowser(agent), asking);
    assert.deepEqual([stepped.seen, stepped.classRef], [['login', 'code'], 'https://refeds.org/profile/mfa'], 'a requested context');
  });

  it('spares the second factor at the application that allows it for its days, and says the password alone was presented', async () => {
    const { id, credentials, phone, agent } = await rememberedUser('ana');
    const [stored] = await rememberedOf(id);
    assert.equal(stored!.browser, 'Firefox on Linux');
    assert.equal(stored!.application, 'crm');
    assert.equal(Date.parse(stored!.expiresAt) - Date.parse(stored!.rememberedAt), 7 * DAY);
    assert.deepEqual(
      (await eventsOf(id, 'mfa.browser_remembered')).map((event) => event.reason),
      ['Firefox on Linux'],
    );

    clock.advance(6 * DAY);
    const again = await signIn(sameBrowser(agent), crm, credentials, {}, {});
    assert.deepEqual(again.seen, ['login'], 'the password, and no code');
    assert.deepEqual([again.claims.acr, again.claims.amr], ['urn:twofold:acr:password', ['pwd']], 'no factor it did not present');
    assert.equal((await eventsOf(id, 'mfa.browser_used')).length, 1);
    assert.equal((await rememberedOf(id))[0]!.lastUsedAt, new Date(clock.now()).toISOString());
    const signedIn = await eventsOf(id, 'signin.succeeded');
    assert.equal(signedIn[0]!.factor, 'remembered');

    // Elsewhere the code is asked all the same: an application that does not remember
    // browsers, a step-up, a new sign-in, and another browser.
    const asked = async (rp: RelyingParty, params: Record<string, string>, browser = sameBrowser(agent)) =>
      (await signIn(browser, rp, credentials, params, phone.app)).seen;
    assert.deepEqual(await asked(wiki, {}), ['login', 'code'], 'an application that does not remember browsers');
    clock.advance(30_000);
    assert.deepEqual(await asked(crm, { acr_values: 'urn:twofold:acr:mfa' }), ['login', 'code'], 'a step-up');
    clock.advance(30_000);
    assert.deepEqual(await asked(crm, { prompt: 'login' }), ['login', 'code'], 'prompt=login');
    clock.advance(30_000);
    assert.deepEqual(await asked(crm, { max_age: '0' }), ['login', 'code'], 'max_age');
    clock.advance(30_000);
    assert.deepEqual(await asked(crm, {}, new UserAgent()), ['login', 'code'], 'another browser');

    // A session the remembered browser opened, asked for a step-up: the code, not the browser.
    clock.advance(30_000);
    const browser = sameBrowser(agent);
    await signIn(browser, crm, credentials, {}, {});
    const stepUp = await signIn(browser, crm, null, { acr_values: 'urn:twofold:acr:mfa' }, phone.app);
    assert.deepEqual([stepUp.seen, stepUp.claims.acr], [['code'], 'urn:twofold:acr:mfa']);

    // The phishing-resistant level: never spared by a remembered browser (a key is asked for).
    const phrBrowser = sameBrowser(agent);
    const phr = await follow(phrBrowser, (await startAuthorization(crm, { acr_values: 'urn:twofold:acr:phr' })).url, crm.redirectUri);
    const posted = await phrBrowser.postForm(formAction(phr, '/login'), credentials);
    const keyPage = await follow(phrBrowser, new URL(posted.headers.get('location')!, phr.url), crm.redirectUri);
    // The app's code first (the factor the user has), then a key is added: no browser skips either.
    assert.match(keyPage.html, /<h1>Enter your code<\/h1>/, 'the phishing-resistant level asks for a factor');
    assert.doesNotMatch(keyPage.html, /data-testid="remember"/, 'and offers no "don’t ask again"');

    // Past the 7 days: asked again.
    clock.advance(DAY);
    assert.deepEqual(await asked(crm, {}), ['login', 'code'], 'after 7 days');
  });

  it('is honoured on another node, and forgotten by a password change, a reset and a new factor', async () => {
    const { id, credentials, phone, agent } = await rememberedUser('bo');
    const nodeB = await startTestServer({ clock, real, issuer: server.issuer });
    try {
      const viaB = UserAgent.via(server.issuer, nodeB.url);
      assert.deepEqual((await signIn(sameBrowser(agent, viaB), crm, credentials, {}, {})).seen, ['login'], 'node B honours it');

      // A new password: every remembered browser is forgotten, on every node.
      const password = { ...credentials, password: 'another long passphrase' };
      await patchUser(server, id, { password: password.password });
      assert.deepEqual(await rememberedOf(id), []);
      const viaB2 = new UserAgent(viaB.route);
      assert.deepEqual((await signIn(sameBrowser(agent, viaB2), crm, password, {}, phone.app)).seen, ['login', 'code']);
    } finally {
      await nodeB.close();
    }

    // Remembered again, then an administrator's reset: the next sign-in registers anew.
    clock.advance(30_000);
    const password = { ...credentials, password: 'another long passphrase' };
    const renewed = new UserAgent();
    await signIn(renewed, crm, password, {}, { ...phone.app, remember: true });
    assert.equal((await rememberedOf(id)).length, 1);
    assert.equal((await server.adminFetch(`/admin/api/users/${id}/mfa/reset`, { method: 'POST' })).status, 200);
    assert.deepEqual(await rememberedOf(id), []);
    const fresh = new Phone(clock);
    assert.deepEqual((await signIn(sameBrowser(renewed), crm, password, {}, fresh.app)).seen, ['login', 'register', 'backup-codes']);

    // Remembered once more, then another factor is added (a security key): forgotten.
    clock.advance(30_000);
    const third = new UserAgent();
    await signIn(third, crm, password, {}, { ...fresh.app, remember: true });
    assert.equal((await rememberedOf(id)).length, 1);
    assert.deepEqual((await signIn(sameBrowser(third), crm, password, {}, {})).seen, ['login']);
    const user = (await (await server.adminFetch(`/admin/api/users/${id}`)).json()) as { mfa: { factors: string[] } };
    assert.deepEqual(user.mfa.factors, ['totp']);
    await server.stores.users.registerEmailFactor(id, new Date(clock.now()));
    assert.deepEqual(await rememberedOf(id), [], 'a new factor list forgets remembered browsers');
    clock.advance(30_000);
    assert.deepEqual((await signIn(sameBrowser(third), crm, password, {}, fresh.app)).seen, ['login', 'code']);
  });

  it('refuses a token it did not give, and one of another user', async () => {
    const { credentials, phone } = await rememberedUser('cy');
    const { agent: other } = await rememberedUser('di');
    const forged = new UserAgent();
    forged.cookies = [{ name: COOKIE, value: 'A'.repeat(43), path: '/' }];
    assert.deepEqual((await signIn(forged, crm, credentials, {}, phone.app)).seen, ['login', 'code'], 'a made-up token');
    clock.advance(30_000);
    assert.deepEqual((await signIn(sameBrowser(other), crm, credentials, {}, phone.app)).seen, ['login', 'code'], "another user's");
  });

  it('lets an administrator forget one browser or all of them; the browser is then asked again, even in its open session', async () => {
    const { id, credentials, phone, agent } = await rememberedUser('ed');
    const browser = sameBrowser(agent);
    await signIn(browser, crm, credentials, {}, {});
    const [remembered] = await rememberedOf(id);
    assert.equal((await server.adminFetch(`/admin/api/users/${id}/mfa/remembered/0000000000000000`, { method: 'DELETE' })).status, 404);
    assert.equal((await server.adminFetch(`/admin/api/users/${id}/mfa/remembered/not-an-id`, { method: 'DELETE' })).status, 400);
    const forgotten = await server.adminFetch(`/admin/api/users/${id}/mfa/remembered/${remembered!.id}`, { method: 'DELETE' });
    assert.equal(forgotten.status, 200);
    assert.deepEqual(((await forgotten.json()) as { mfa: { rememberedBrowsers: unknown[] } }).mfa.rememberedBrowsers, []);
    const events = await eventsOf(id, 'mfa.browser_forgotten');
    assert.deepEqual(
      events.map((event) => [event.actor, event.changed]),
      [['admin', ['Firefox on Linux']]],
    );
    // The browser's session is still open; the application asks for the code now.
    const inSession = await signIn(browser, crm, null, {}, phone.app);
    assert.deepEqual(inSession.seen, ['code']);
    assert.deepEqual(inSession.claims.amr, ['pwd', 'otp', 'mfa']);
    assert.equal((await server.adminFetch(`/admin/api/users/${id}/mfa/remembered`, { method: 'DELETE' })).status, 200);
  });

  it('lists the remembered browsers on the account page, this one marked, and forgets one there: it is asked again', async () => {
    const { id, credentials, phone, agent } = await rememberedUser('gus');
    const chrome = new UserAgent();
    chrome.headers = {
      'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/141.0.0.0 Safari/537.36',
    };
    await signIn(chrome, crm, credentials, {}, { ...phone.app, remember: true });
    clock.advance(30_000);
    const before = sameBrowser(agent);
    const { page } = await walkOwnPages(agent, `${server.issuer}/account/`, credentials, phone, (shown) =>
      shown.html.includes('<h1>Your account'),
    );
    const listed = [...page.html.matchAll(/data-testid="browser"><strong>([^<]+)<\/strong>([^,]*),/g)].map((m) => `${m[1]}${m[2]}`);
    assert.deepEqual(listed, ['Chrome on Windows', 'Firefox on Linux (this browser)'], 'the newest first, this one marked');
    const item = page.html.split('data-testid="browser"').find((part) => part.includes('(this browser)'))!;
    const action = /action="(\/account\/browsers\/[0-9a-f]{16}\/forget)"[^>]*>\s*<input type="hidden" name="csrf" value="([^"]+)"/.exec(
      item,
    );
    assert.ok(action, 'a form to forget this browser');
    const forgotten = await agent.postForm(new URL(action[1]!, page.url), { csrf: action[2]! });
    assert.equal(forgotten.status, 303);
    assert.ok(!agent.cookies.some((cookie) => cookie.name === COOKIE), "this browser's cookie is gone too");
    assert.deepEqual(
      (await rememberedOf(id)).map((browser) => browser.browser),
      ['Chrome on Windows'],
    );
    const events = await eventsOf(id, 'mfa.browser_forgotten');
    assert.deepEqual(
      events.map((event) => [event.actor, event.changed]),
      [['user', ['Firefox on Linux']]],
    );
    // A copy of the cookie kept from before: the token is no longer one of the user's.
    assert.deepEqual((await signIn(before, crm, credentials, {}, phone.app)).seen, ['login', 'code']);
    // Without the form's token, nothing is forgotten.
    const refused = await agent.postForm(new URL('/account/browsers/all/forget', page.url), { csrf: 'x' });
    assert.notEqual(refused.status, 303);
    assert.equal((await rememberedOf(id)).length, 1);
  });

  it('remembers every one of 4 browsers whose codes arrive at the same moment', async () => {
    const { id, credentials, phone } = await registeredUser(server, crm, clock, 'fay');
    // Each browser its own sign-in, up to the code page; then backup codes (not tied to a time
    // step), one per browser, all at once, each ticking "don't ask again". (Four: more
    // attempts at once than the lockout allows lock the account, as parallel guesses must.)
    const codes = phone.backupCodes.slice(0, 4);
    assert.equal(codes.length, 4);
    const agents = codes.map(() => new UserAgent());
    const pages = [];
    for (const agent of agents) {
      const start = await startAuthorization(crm);
      const login = await follow(agent, start.url, crm.redirectUri);
      const posted = await agent.postForm(formAction(login, '/login'), credentials);
      pages.push({ agent, page: await follow(agent, new URL(posted.headers.get('location')!, login.url), crm.redirectUri) });
    }
    const posted = await Promise.all(
      pages.map(({ agent, page }, i) => agent.postForm(formAction(page, '/code'), { code: codes[i]!, remember: '1' })),
    );
    assert.ok(posted.every((response) => response.status === 303));
    await Promise.all(
      pages.map(async ({ agent, page }, i) => {
        const next = await follow(agent, new URL(posted[i]!.headers.get('location')!, page.url), crm.redirectUri);
        const onward = await agent.postForm(formAction(next, '/continue'), {});
        assert.equal(onward.status, 303);
      }),
    );
    assert.equal((await rememberedOf(id)).length, codes.length, 'each browser remembered, none lost to another');
  });
});
