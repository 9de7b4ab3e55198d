import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createManualClock } from '../../src/domain/clock.ts';
import { SoftwareKey, webauthnOptions } from '../support/authenticator.ts';
import { Phone, registeredUser, walkOwnPages } from '../support/mfa.ts';
import { realStoresSkip } from '../support/env.ts';
import {
  exchangeCode,
  follow,
  formAction,
  signIn,
  startAuthorization,
  UserAgent,
  type Page,
  type RelyingParty,
} from '../support/relying-party.ts';
import { serviceProvider } from '../support/saml-sp.ts';
import {
  createUser,
  newRealStores,
  registerApplication,
  requiredApplication,
  startTestServer,
  type TestServer,
} from '../support/server.ts';
import { startSmtpServer } from '../support/smtp.ts';

/**
 * Security keys through the sign-in pages, as a browser's script drives them, with a
 * software key signing for real, on Redis and the MongoDB test server: registration,
 * sign-in, replayed and wrong answers, two answers at the same moment, and a reset.
 */
describe('security keys through the sign-in pages', { skip: realStoresSkip }, () => {
  const clock = createManualClock(Date.now());
  let server: TestServer;
  let rp: RelyingParty;
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  const real = newRealStores();
  before(async () => {
    smtp = await startSmtpServer();
    server = await startTestServer({
      real,
      clock,
      mail: { smtpUrl: smtp.url, from: 'id@acme.example', retryBaseMs: 50, retries: 3 },
    });
    rp = (
      await registerApplication(server, {
        client_id: 'wiki',
        redirect_uris: ['http://127.0.0.1:9/cb'],
        first_party: true,
        mfa_policy: 'required',
      })
    ).rp;
  });
  after(async () => {
    await server.close();
    await smtp.close();
  });

  const ceremony = (page: Page) => {
    const options = webauthnOptions(page);
    return { challenge: options.challenge, origin: new URL(server.issuer).origin, rpId: 'localhost', userId: options.user?.id };
  };

  /** The password step of a new sign-in: the page after it. */
  async function afterPassword(agent: UserAgent, username: string, password = `${username} passphrase`) {
    const start = await startAuthorization(rp);
    const login = await follow(agent, start.url, rp.redirectUri);
    const answer = await agent.postForm(formAction(login, '/login'), { username, password });
    assert.equal(answer.status, 303);
    return { start, page: await follow(agent, new URL(answer.headers.get('location')!, login.url), rp.redirectUri) };
  }

  /** Posts a key's answer on the key page: the page or place it leads to. */
  async function answer(agent: UserAgent, page: Page, response: unknown, name?: string) {
    const posted = await agent.postForm(formAction(page, '/key'), { response: JSON.stringify(response), ...(name ? { name } : {}) });
    if (posted.status !== 303) return { status: posted.status, page: { url: page.url, status: posted.status, html: await posted.text() } };
    return { status: 303, page: await follow(agent, new URL(posted.headers.get('location')!, page.url), rp.redirectUri) };
  }

  /** Registers a software key for a new user (with a verified address) through the pages; the key, the user's id. */
  async function withKey(username: string) {
    const { id } = await createUser(server, { username, password: `${username} passphrase`, email: `${username}@acme.example` });
    await server.adminFetch(`/admin/api/users/${id}`, { method: 'PATCH', body: JSON.stringify({ email_verified: true }) });
    const key = new SoftwareKey(true);
    const agent = new UserAgent();
    const { start, page: register } = await afterPassword(agent, username);
    assert.match(register.html, /data-testid="choose-key"/, 'the registration page offers a key');
    const chosen = await agent.postForm(formAction(register, '/factor'), { factor: 'webauthn' });
    const keyPage = await follow(agent, new URL(chosen.headers.get('location')!, register.url), rp.redirectUri);
    assert.match(keyPage.html, /Add a security key or passkey/);
    const added = await answer(agent, keyPage, key.create(ceremony(keyPage)), 'Desk key');
    assert.match(added.page.html, /Security key added/);
    const onward = await agent.postForm(formAction(added.page, '/continue'), {});
    const back = await follow(agent, new URL(onward.headers.get('location')!, added.page.url), rp.redirectUri);
    const claims = (await exchangeCode(rp, start, back.url)).claims()!;
    assert.deepEqual(claims.amr, ['pwd', 'hwk', 'user', 'mfa'], 'the key presented, and it verified its user');
    return { id, key, agent };
  }

  // First: SAML requests carry the real time, and the tests after it move the clock on.
  it('tells SAML applications that accept keys only, or ask for them, of the key: the phishing-resistant class', async () => {
    const { key } = await withKey('lia');
    const sp = await serviceProvider(server, 'vault', { register: { mfa_policy: 'required', mfa_factors: ['webauthn'] } });
    const agent = new UserAgent();
    const login = await follow(agent, await sp.saml.getAuthorizeUrlAsync('', undefined, {}), 'never:');
    const posted = await agent.postForm(formAction(login, '/login'), { username: 'lia', password: 'lia passphrase' });
    const keyPage = await follow(agent, new URL(posted.headers.get('location')!, login.url), 'never:');
    assert.match(keyPage.html, /Use your security key/);
    const signed = await agent.postForm(formAction(keyPage, '/key'), { response: JSON.stringify(key.get(ceremony(keyPage))) });
    assert.equal(signed.status, 303);
    const answered = await follow(agent, new URL(signed.headers.get('location')!, keyPage.url), 'never:');
    const { profile } = await sp.saml.validatePostResponseAsync({ SAMLResponse: sp.answerOn(answered).SAMLResponse });
    assert.deepEqual(profile!['amr'], ['pwd', 'hwk', 'user', 'mfa']);
    assert.ok(profile!.getAssertionXml!().includes('<saml:AuthnContextClassRef>urn:twofold:acr:phr</saml:AuthnContextClassRef>'));

    // An application that takes any factor but asks for the phishing-resistant class in its request.
    const asking = await serviceProvider(server, 'payroll', {
      register: { mfa_policy: 'off' },
      saml: { disableRequestedAuthnContext: false, authnContext: ['urn:twofold:acr:phr'], racComparison: 'exact' },
    });
    const next = await follow(agent, await asking.saml.getAuthorizeUrlAsync('', undefined, {}), 'never:');
    const { profile: stated } = await asking.saml.validatePostResponseAsync({ SAMLResponse: asking.answerOn(next).SAMLResponse });
    assert.ok(
      stated!.getAssertionXml!().includes('<saml:AuthnContextClassRef>urn:twofold:acr:phr</saml:AuthnContextClassRef>'),
      'the key of the session meets it',
    );
  });

  it('signs in with a registered key, and refuses an answer given before, a key of nobody, and answers that are not answers', async () => {
    const { id, key } = await withKey('ivy');
    const stored = ((await (await server.adminFetch(`/admin/api/users/${id}`)).json()) as { mfa: { factors: string[] } }).mfa;
    assert.deepEqual(stored.factors, ['webauthn']);
    const added = await smtp.arrival((mail) => mail.to.includes('ivy@acme.example'));
    assert.match(added.subject, /^A security key was added to your account/);
    assert.match(added.text, /A security key or passkey was set up for your account/);

    clock.advance(60_000);
    const agent = new UserAgent();
    const { start, page } = await afterPassword(agent, 'ivy');
    assert.match(page.html, /Use your security key/);
    const signed = key.get(ceremony(page));
    const passed = await answer(agent, page, signed);
    assert.equal(passed.status, 303);
    assert.deepEqual((await exchangeCode(rp, start, passed.page.url)).claims()!.amr, ['pwd', 'hwk', 'user', 'mfa']);

    // A new sign-in: the answer to the last one's challenge, a stranger's key, the user's own
    // key answering a look-alike site (another origin), and garbage.
    clock.advance(60_000);
    const next = new UserAgent();
    let current = (await afterPassword(next, 'ivy')).page;
    const wrongs: ((page: Page) => unknown)[] = [
      () => signed,
      (page) => new SoftwareKey().get(ceremony(page)),
      (page) => key.get({ ...ceremony(page), origin: 'https://localhost.evil.test' }),
      () => 'not json',
    ];
    for (const answerOf of wrongs) {
      const wrong = answerOf(current);
      const refused = await answer(next, current, wrong);
      assert.equal(refused.status, 401, `refused: ${JSON.stringify(wrong).slice(0, 40)}`);
      assert.match(refused.page.html, /was not accepted/);
      current = refused.page;
    }
    const events = ((await (await server.adminFetch(`/admin/api/audit?user=${id}&type=mfa.refused`)).json()) as { events: unknown[] })
      .events;
    assert.equal(events.length, 4, 'each refusal is audited');
    // The fifth wrong answer locks the account, as a fifth wrong code does.
    const locked = await answer(next, current, { id: 'y' });
    assert.equal(locked.status, 403);
    assert.match(locked.page.html, /Account locked/);
    const lockedOut = await answer(next, current, key.get(ceremony(current)));
    assert.equal(lockedOut.status, 400, 'a locked page issues no challenge: no answer is taken, not even the right key');
    const again = await afterPassword(new UserAgent(), 'ivy');
    assert.match(again.page.html, /Account locked/);
    assert.doesNotMatch(again.page.html, /data-options/);
  });

  it('states the phishing-resistant level when it is asked for and a key was presented, and steps a session with only an app code up to a key', async () => {
    const { key } = await withKey('max');
    clock.advance(60_000);
    const agent = new UserAgent();
    const { start, page } = await afterPassword(agent, 'max');
    const signedIn = await answer(agent, page, key.get(ceremony(page)));
    const plain = (await exchangeCode(rp, start, signedIn.page.url)).claims()!;
    assert.deepEqual([plain.acr, plain.amr], ['urn:twofold:acr:mfa', ['pwd', 'hwk', 'user', 'mfa']], 'the level asked for: MFA');
    // The same session, asked for the phishing-resistant level: the key it presented meets it.
    const phr = await startAuthorization(rp, { acr_values: 'urn:twofold:acr:phr' });
    const back = await follow(agent, phr.url, rp.redirectUri);
    const stated = (await exchangeCode(rp, phr, back.url)).claims()!;
    assert.deepEqual([stated.acr, stated.amr], ['urn:twofold:acr:phr', ['pwd', 'hwk', 'user', 'mfa']]);

    // A session that presented only the app's code: the phishing-resistant level asks for a key.
    const phone = new Phone(clock);
    await createUser(server, { username: 'nia', password: 'nia passphrase' });
    const appAgent = new UserAgent();
    const first = await signIn(appAgent, rp, { username: 'nia', password: 'nia passphrase' }, {}, phone.app);
    assert.deepEqual([first.claims.acr, first.claims.amr], ['urn:twofold:acr:mfa', ['pwd', 'otp', 'mfa']]);
    const stepUp = await startAuthorization(rp, { acr_values: 'urn:twofold:acr:phr' });
    const keyPage = await follow(appAgent, stepUp.url, rp.redirectUri);
    assert.match(keyPage.html, /Add a security key or passkey/, 'no password again, and the app code is not enough');
    const niaKey = new SoftwareKey();
    const added = await answer(appAgent, keyPage, niaKey.create(ceremony(keyPage)), 'Nia key');
    const onward = await appAgent.postForm(formAction(added.page, '/continue'), {});
    const done = await follow(appAgent, new URL(onward.headers.get('location')!, added.page.url), rp.redirectUri);
    const steppedUp = (await exchangeCode(rp, stepUp, done.url)).claims()!;
    assert.deepEqual([steppedUp.acr, steppedUp.amr], ['urn:twofold:acr:phr', ['pwd', 'hwk', 'mfa']]);
  });

  it('lists keys on the account page, renames one, and removes one there: the key no longer signs in, and the sessions it opened are over', async () => {
    const { id, agent } = await withKey('ola');
    // The account page, by single sign-on: the key was presented a moment ago.
    const account = await follow(agent, `${server.issuer}/account/`, 'never:');
    assert.match(account.html, /Security keys and passkeys/);
    assert.match(account.html, /<strong>Desk key<\/strong> \(security key\), added/);
    // Renamed: a form token, no fresh factor; a name that is no name is refused.
    const token = /name="csrf" value="([^"]+)"/.exec(account.html)![1]!;
    const empty = await agent.postForm(formAction(account, '/rename'), { csrf: token, name: '   ' });
    assert.equal(empty.status, 400);
    assert.match(await empty.text(), /A name has 1 to 64 characters/);
    const forged = await agent.postForm(formAction(account, '/rename'), { csrf: 'not the token', name: 'Forged' });
    assert.equal(forged.status, 403);
    const renamed = await agent.postForm(formAction(account, '/rename'), { csrf: token, name: '  Office   key ' });
    assert.equal(renamed.status, 303);
    const after = await follow(agent, `${server.issuer}/account/`, 'never:');
    assert.match(after.html, /<strong>Office key<\/strong> \(security key\)/);
    const renames = (
      (await (await server.adminFetch(`/admin/api/audit?user=${id}&type=mfa.key_renamed`)).json()) as {
        events: { changes?: unknown }[];
      }
    ).events;
    assert.deepEqual(
      renames.map((event) => event.changes),
      [[{ field: 'name', from: 'Desk key', to: 'Office key' }]],
    );

    const confirm = await follow(agent, new URL(/href="(\/account\/keys\/[^"]+\/remove)"/.exec(after.html)![1]!, after.url), 'never:');
    assert.match(confirm.html, /Remove “Office key”\?/);
    assert.match(confirm.html, /It is your only second factor/);
    assert.doesNotMatch(confirm.html, /name="code"/, 'a fresh second factor: no code asked');
    const csrf = /name="csrf" value="([^"]+)"/.exec(confirm.html)![1]!;
    const removed = await agent.postForm(formAction(confirm, '/remove'), { csrf });
    assert.equal(removed.status, 303);
    assert.match(removed.headers.get('location')!, /signed-out\?reason=keys/);
    const events = (
      (await (await server.adminFetch(`/admin/api/audit?user=${id}&type=mfa.key_removed`)).json()) as {
        events: { actor?: string; reason?: string }[];
      }
    ).events;
    assert.deepEqual(
      events.map((event) => [event.actor, event.reason]),
      [['user', 'sessions_ended']],
    );
    const removedMail = await smtp.arrival((mail) => mail.to.includes('ola@acme.example') && /removed/.test(mail.subject));
    assert.match(removedMail.text, /“Office key” was removed from your account/);

    // Coming back: the browser's session is over, and the key is no second factor any more.
    const start = await startAuthorization(rp);
    const login = await follow(agent, start.url, rp.redirectUri);
    assert.match(login.html, /name="password"/, 'the password is asked again');
    const posted = await agent.postForm(formAction(login, '/login'), { username: 'ola', password: 'ola passphrase' });
    const next = await follow(agent, new URL(posted.headers.get('location')!, login.url), rp.redirectUri);
    assert.match(next.html, /Set up your authenticator app/, 'a new registration, not the key page');
    const stored = (
      (await (await server.adminFetch(`/admin/api/users/${id}`)).json()) as { mfa: { factors: string[]; backupCodesLeft: number } }
    ).mfa;
    assert.deepEqual([stored.factors, stored.backupCodesLeft], [[], 0], 'the last factor took the backup codes with it');
  });

  it('shows an administrator the keys, and removes one: the user is signed out everywhere, and the key signs in no more', async () => {
    const { id, key, agent } = await withKey('pia');
    const shown = (await (await server.adminFetch(`/admin/api/users/${id}`)).json()) as {
      mfa: { keys: { id: string; name: string; kind: string; addedAt: string; lastUsedAt: string | null }[] };
    };
    assert.deepEqual(
      shown.mfa.keys.map(({ id: keyId, name, kind, lastUsedAt }) => [keyId, name, kind, lastUsedAt]),
      [[key.id.toString('base64url'), 'Desk key', 'security_key', null]],
    );
    const unknown = await server.adminFetch(`/admin/api/users/${id}/mfa/keys/no-such-key`, { method: 'DELETE' });
    assert.equal(unknown.status, 404);
    const bad = await server.adminFetch(`/admin/api/users/${id}/mfa/keys/${encodeURIComponent('not a key!')}`, { method: 'DELETE' });
    assert.equal(bad.status, 400);
    const removed = await server.adminFetch(`/admin/api/users/${id}/mfa/keys/${key.id.toString('base64url')}`, { method: 'DELETE' });
    assert.equal(removed.status, 200);
    const after = (await removed.json()) as { mfa: { keys: unknown[]; factors: string[] } };
    assert.deepEqual([after.mfa.keys, after.mfa.factors], [[], []]);
    const events = (
      (await (await server.adminFetch(`/admin/api/audit?user=${id}&type=mfa.key_removed`)).json()) as {
        events: { actor?: string; changed?: string[] }[];
      }
    ).events;
    assert.deepEqual(
      events.map((event) => [event.actor, event.changed]),
      [['admin', ['Desk key']]],
    );
    // The browser that signed in with the key, now reaching another node: its session is
    // over, and the key is no second factor there either.
    const nodeB = await startTestServer({ clock, real, issuer: server.issuer });
    try {
      const viaB = UserAgent.via(server.issuer, nodeB.url);
      viaB.cookies = agent.cookies.map((cookie) => ({ ...cookie }));
      const login = await follow(viaB, (await startAuthorization(rp)).url, rp.redirectUri);
      assert.match(login.html, /name="password"/, 'signed out by the removal');
      const posted = await viaB.postForm(formAction(login, '/login'), { username: 'pia', password: 'pia passphrase' });
      const next = await follow(viaB, new URL(posted.headers.get('location')!, login.url), rp.redirectUri);
      assert.match(next.html, /Set up your authenticator app/, 'a registration, not the key page');
    } finally {
      await nodeB.close();
    }
  });

  it('adds a key on the account page after a fresh second factor; the key then signs in, and its answer is taken once', async () => {
    const { id, credentials, phone } = await registeredUser(server, rp, clock, 'ray');
    const agent = new UserAgent();
    const home = (
      await walkOwnPages(agent, `${server.issuer}/account/`, credentials, phone, (page) => page.html.includes('<h1>Your account'))
    ).page;
    assert.match(home.html, /data-testid="add-key"/);
    clock.advance(5 * 60_000 + 1_000);
    const page = await follow(agent, `${server.issuer}/account/keys/add`, 'never:');
    assert.match(page.html, /name="code"/, 'an old second factor: a code is asked too');
    const csrf = /name="csrf" value="([^"]+)"/.exec(page.html)![1]!;
    const key = new SoftwareKey(true);
    const first = JSON.stringify(key.create(ceremony(page)));
    const add = (fields: Record<string, string>) =>
      agent.postForm(new URL('/account/keys/add', server.issuer), { csrf, response: first, ...fields });
    const without = await add({ name: 'Desk key' });
    assert.equal(without.status, 401, 'no code: nothing added');
    // The page came back with a new challenge: the first answer is no longer one it asked for.
    const next = { url: page.url, status: 401, html: await without.text() };
    const stale = await add({ name: 'Desk key', code: await phone.code() });
    assert.equal(stale.status, 401, 'an answer to the challenge before');
    assert.equal(((await (await server.adminFetch(`/admin/api/users/${id}`)).json()) as { mfa: { keys: unknown[] } }).mfa.keys.length, 0);
    const fresh = await follow(agent, `${server.issuer}/account/keys/add`, 'never:');
    assert.doesNotMatch(fresh.html, /name="code"/, 'the code typed a moment ago is fresh');
    const freshCsrf = /name="csrf" value="([^"]+)"/.exec(fresh.html)![1]!;
    const added = await agent.postForm(new URL('/account/keys/add', server.issuer), {
      csrf: freshCsrf,
      response: JSON.stringify(key.create(ceremony(fresh))),
      name: 'Desk key',
    });
    assert.equal(added.status, 303);
    assert.notEqual(webauthnOptions(next).challenge, webauthnOptions(page).challenge, 'each showing of the page, a new challenge');
    const replay = await agent.postForm(new URL('/account/keys/add', server.issuer), {
      csrf: freshCsrf,
      response: JSON.stringify(key.create(ceremony(fresh))),
      name: 'Again',
    });
    assert.equal(replay.status, 403, 'the challenge was taken: the form is over');
    const keys = ((await (await server.adminFetch(`/admin/api/users/${id}`)).json()) as { mfa: { keys: { name: string }[] } }).mfa.keys;
    assert.deepEqual(
      keys.map((held) => held.name),
      ['Desk key'],
    );
    // The new key signs in, beside the app.
    clock.advance(60_000);
    const signing = new UserAgent();
    const { start, page: codePage } = await afterPassword(signing, 'ray', credentials.password);
    const chosen = await signing.postForm(formAction(codePage, '/factor'), { factor: 'webauthn' });
    const keyPage = await follow(signing, new URL(chosen.headers.get('location')!, codePage.url), rp.redirectUri);
    const signed = await answer(signing, keyPage, key.get(ceremony(keyPage)));
    assert.deepEqual((await exchangeCode(rp, start, signed.page.url)).claims()!.amr, ['pwd', 'hwk', 'user', 'mfa']);
  });

  it('remembers the browser after a key where the application allows it: the next sign-in there is the password alone', async () => {
    const { key } = await withKey('rue');
    const crm = await requiredApplication(server, 'crm-keys', { remember_device_days: 3 });
    clock.advance(60_000);
    const agent = new UserAgent();
    const start = await startAuthorization(crm);
    const login = await follow(agent, start.url, crm.redirectUri);
    const posted = await agent.postForm(formAction(login, '/login'), { username: 'rue', password: 'rue passphrase' });
    const keyPage = await follow(agent, new URL(posted.headers.get('location')!, login.url), crm.redirectUri);
    assert.match(keyPage.html, /Don’t ask again on this device for 3 days/);
    const signed = await agent.postForm(formAction(keyPage, '/key'), {
      response: JSON.stringify(key.get(ceremony(keyPage))),
      remember: '1',
    });
    assert.equal(signed.status, 303);
    await follow(agent, new URL(signed.headers.get('location')!, keyPage.url), crm.redirectUri);
    const kept = agent.cookies.filter((cookie) => cookie.name === 'twofold_device');
    assert.equal(kept.length, 1, 'the browser is remembered');
    clock.advance(60_000);
    const later = new UserAgent();
    later.cookies = kept;
    const { seen, claims } = await signIn(later, crm, { username: 'rue', password: 'rue passphrase' });
    assert.deepEqual([seen, claims.amr], [['login'], ['pwd']]);
  });

  it('refuses a copy of a key, audits it and tells the user by mail', async () => {
    const { id, key } = await withKey('quin');
    clock.advance(60_000);
    const agent = new UserAgent();
    const { page } = await afterPassword(agent, 'quin');
    assert.equal((await answer(agent, page, key.get(ceremony(page)))).status, 303, 'the key itself: its counter is 1 now');
    // A copy made before that sign-in signs with the counter it had then.
    key.counter = 0;
    clock.advance(60_000);
    const copyAgent = new UserAgent();
    const copyPage = (await afterPassword(copyAgent, 'quin')).page;
    const refused = await answer(copyAgent, copyPage, key.get(ceremony(copyPage)));
    assert.equal(refused.status, 401);
    assert.match(refused.page.html, /This security key was refused/);
    const events = (
      (await (await server.adminFetch(`/admin/api/audit?user=${id}&type=mfa.key_cloned`)).json()) as {
        events: { reason?: string }[];
      }
    ).events;
    assert.deepEqual(
      events.map((event) => event.reason),
      ['Desk key'],
    );
    const mail = await smtp.arrival((sent) => sent.to.includes('quin@acme.example') && /copy of your security key/.test(sent.subject));
    assert.match(mail.text, /a copy of the security key “Desk key”/);
  });

  it('lets one of two simultaneous answers to one challenge through', async () => {
    const { key } = await withKey('jon');
    clock.advance(60_000);
    const agent = new UserAgent();
    const { page } = await afterPassword(agent, 'jon');
    const signed = JSON.stringify(key.get(ceremony(page)));
    const action = formAction(page, '/key');
    const both = await Promise.all([agent.postForm(action, { response: signed }), agent.postForm(action, { response: signed })]);
    const onward = both.filter((response) => response.status === 303 && /\/auth\//.test(response.headers.get('location') ?? ''));
    assert.equal(onward.length, 1, `one passes: ${both.map((response) => response.status).join(', ')}`);
  });

  it("removes the keys with an administrator's reset: the key no longer signs in, and a new registration follows", async () => {
    const { id, key } = await withKey('kit');
    const reset = await server.adminFetch(`/admin/api/users/${id}/mfa/reset`, { method: 'POST' });
    assert.equal(reset.status, 200);
    clock.advance(60_000);
    const agent = new UserAgent();
    const { page } = await afterPassword(agent, 'kit');
    assert.match(page.html, /Set up your authenticator app/, 'registration again, no key page');
    const stored = ((await (await server.adminFetch(`/admin/api/users/${id}`)).json()) as { mfa: { factors: string[] } }).mfa;
    assert.deepEqual(stored.factors, []);
    // Choosing a key again registers a new one; the old key's answer to its challenge is no sign-in.
    const chosen = await agent.postForm(formAction(page, '/factor'), { factor: 'webauthn' });
    const keyPage = await follow(agent, new URL(chosen.headers.get('location')!, page.url), rp.redirectUri);
    const old = await answer(agent, keyPage, key.get(ceremony(keyPage)));
    assert.equal(old.status, 401, 'a signature is no registration');
  });
});
