import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createManualClock } from '../../src/domain/clock.ts';
import { realStoresSkip } from '../support/env.ts';
import { Phone, wrongCode } from '../support/mfa.ts';
import {
  backupCodesOnPage,
  exchangeCode,
  follow,
  formAction,
  secretOnPage,
  signIn,
  startAuthorization,
  UserAgent,
  type AuthorizationStart,
  type Page,
  type RelyingParty,
} from '../support/relying-party.ts';
import { createUser, newRealStores, registerApplication, startTestServer, type TestServer } from '../support/server.ts';
import { serviceProvider, walkToAnswer } from '../support/saml-sp.ts';
import { startSmtpServer, type ReceivedMail } from '../support/smtp.ts';

/**
 * Codes by mail as a second factor (SPEC section 12), through a real SMTP server: chosen on
 * the registration page after the app, six digits valid ten minutes, used once across
 * concurrent submissions, resent within a cool-down and a cap, counted toward the lockout,
 * refused where an application accepts the app only, and stated in the tokens.
 */
describe('email codes as a second factor, on Redis and MongoDB with an SMTP server', { skip: realStoresSkip }, () => {
  const clock = createManualClock(Date.now());
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let server: TestServer;
  let wiki: RelyingParty;
  let vault: RelyingParty;
  const real = newRealStores();
  before(async () => {
    smtp = await startSmtpServer();
    server = await startTestServer({
      real,
      clock,
      mail: { smtpUrl: smtp.url, from: 'id@acme.example', retryBaseMs: 50, retries: 5 },
    });
    const common = { first_party: true, mfa_policy: 'required' };
    wiki = (
      await registerApplication(server, { client_id: 'wiki', client_name: 'Wiki', redirect_uris: ['http://127.0.0.1:9/cb'], ...common })
    ).rp;
    vault = (
      await registerApplication(server, {
        client_id: 'vault',
        client_name: 'Vault',
        redirect_uris: ['http://127.0.0.1:9/vault'],
        mfa_factors: ['totp'],
        ...common,
      })
    ).rp;
    const patched = await server.adminFetch('/admin/api/settings', {
      method: 'PATCH',
      body: JSON.stringify({ factors: { email: { enabled: true } }, brand: { name: 'Acme' } }),
    });
    assert.equal(patched.status, 200);
  });
  after(async () => {
    await server.close();
    await smtp.close();
  });

  const isCode = (address: string) => (mail: ReceivedMail) => mail.to.includes(address) && mail.subject.startsWith('Your sign-in code');
  const codeOf = (mail: ReceivedMail) => / is (\d{6})\. It works once, for 10 minutes\./.exec(mail.text)![1]!;
  /** The nth code mailed to `address` (1 = first). */
  const nthCode = async (address: string, nth: number) => codeOf(await smtp.arrival(isCode(address), nth));
  const codesTo = (address: string) => smtp.mails.filter(isCode(address)).length;

  async function user(username: string, verified = true) {
    const credentials = { username, password: `${username} passphrase` };
    const address = `${username}@acme.example`;
    const { id } = await createUser(server, { ...credentials, email: address });
    if (verified) await server.adminFetch(`/admin/api/users/${id}`, { method: 'PATCH', body: JSON.stringify({ email_verified: true }) });
    return { id, credentials, address };
  }

  /** An authorization and its password: the page that follows. */
  async function afterPassword(agent: UserAgent, rp: RelyingParty, credentials: { username: string; password: string }) {
    const start = await startAuthorization(rp);
    const login = await follow(agent, start.url, rp.redirectUri);
    const posted = await agent.postForm(formAction(login, '/login'), credentials);
    assert.equal(posted.status, 303);
    return { start, page: await follow(agent, new URL(posted.headers.get('location')!, login.url), rp.redirectUri) };
  }

  /** A new browser's sign-in up to the page after its password. */
  async function signInFlow(rp: RelyingParty, credentials: { username: string; password: string }) {
    const agent = new UserAgent();
    return { agent, ...(await afterPassword(agent, rp, credentials)) };
  }

  /** Posts a form of the page: the page shown next (a refusal comes back to its page), or where it went. */
  async function submit(agent: UserAgent, rp: RelyingParty, page: Page, suffix: string, fields: Record<string, string>): Promise<Page> {
    const response = await agent.postForm(formAction(page, suffix), fields);
    if (response.status !== 303) return { url: page.url, status: response.status, html: await response.text() };
    return follow(agent, new URL(response.headers.get('location')!, page.url), rp.redirectUri);
  }

  /** The application receives its user: the tokens' claims. */
  async function landed(rp: RelyingParty, start: AuthorizationStart, page: Page) {
    assert.ok(page.url.href.startsWith(rp.redirectUri), `at the application, not ${page.url.pathname} (${page.status})`);
    return (await exchangeCode(rp, start, page.url)).claims()!;
  }

  /** Registers email codes in a first sign-in at the wiki: the backup codes it showed. */
  async function registerByEmail(person: Awaited<ReturnType<typeof user>>) {
    const agent = new UserAgent();
    const { start, page: register } = await afterPassword(agent, wiki, person.credentials);
    assert.ok(secretOnPage(register.html), 'the authenticator app comes first');
    assert.match(register.html, /<strong>Recommended:<\/strong> an authenticator app/);
    const before = codesTo(person.address);
    const emailPage = await submit(agent, wiki, register, '/factor', { factor: 'email' });
    assert.equal(emailPage.status, 200);
    assert.match(emailPage.html, /Confirm your email address/);
    const masked = `${person.address[0]}•••@acme.example`;
    assert.ok(emailPage.html.includes(masked), 'the address, masked');
    assert.ok(!emailPage.html.includes(person.address), 'never the whole address');
    const code = await nthCode(person.address, before + 1);
    const saved = await submit(agent, wiki, emailPage, '/code', { code });
    assert.match(saved.html, /Email codes turned on/);
    const backupCodes = backupCodesOnPage(saved.html);
    assert.equal(backupCodes.length, 10);
    const claims = await landed(wiki, start, await submit(agent, wiki, saved, '/continue', {}));
    assert.deepEqual(claims.amr, ['pwd', 'email', 'mfa']);
    clock.advance(61_000);
    return { backupCodes };
  }

  // First: the SAML requests carry the real time, and the tests after it move the clock on.
  it('a SAML application is told of the email code in its assertion; one that accepts the app only has the app added', async () => {
    const sp = await serviceProvider(server, 'crm', { register: { mfa_policy: 'required' } });
    const sam = await user('sam');
    await registerByEmail(sam);
    const sent = codesTo(sam.address);
    const mailbox = { code: () => nthCode(sam.address, sent + 1), backupCodes: [] } as unknown as Phone;
    const agent = new UserAgent();
    const crm = await walkToAnswer(agent, await sp.saml.getAuthorizeUrlAsync('', undefined, {}), sam.credentials, mailbox);
    assert.deepEqual(crm.seen, ['login', 'code']);
    const { profile } = await sp.saml.validatePostResponseAsync({ SAMLResponse: sp.answerOn(crm.page).SAMLResponse });
    assert.deepEqual(profile!['amr'], ['pwd', 'email', 'mfa']);
    assert.ok(
      profile!.getAssertionXml!().includes('<saml:AuthnContextClassRef>https://refeds.org/profile/mfa</saml:AuthnContextClassRef>'),
    );

    const only = await serviceProvider(server, 'ledger', { register: { mfa_policy: 'required', mfa_factors: ['totp'] } });
    const phone = new Phone(clock);
    const ledger = await walkToAnswer(agent, await only.saml.getAuthorizeUrlAsync('', undefined, {}), null, phone);
    assert.deepEqual(ledger.seen, ['register', 'backup-codes'], 'the session’s email code does not count here');
    const app = await only.saml.validatePostResponseAsync({ SAMLResponse: only.answerOn(ledger.page).SAMLResponse });
    assert.deepEqual(app.profile!['amr'], ['pwd', 'otp', 'mfa']);
  });

  it('registers email codes from the registration page, then signs in with the mailed code, once', async () => {
    const ema = await user('ema');
    await registerByEmail(ema);
    const registered = await smtp.arrival((mail) => mail.to.includes(ema.address) && mail.subject.startsWith('Sign-in codes by email'));
    assert.match(registered.text, /From the address: 127\.0\.0\.1/);

    const view = (await (await server.adminFetch(`/admin/api/users/${ema.id}`)).json()) as { mfa: { status: string; factors: string[] } };
    assert.deepEqual(view.mfa.factors, ['email']);
    assert.equal(view.mfa.status, 'registered');

    // The next sign-in mails a code at once.
    const agent = new UserAgent();
    const sent = codesTo(ema.address);
    const { start, page } = await afterPassword(agent, wiki, ema.credentials);
    assert.match(page.html, /Enter the code we emailed you/);
    const mail = await smtp.arrival(isCode(ema.address), sent + 1);
    assert.match(mail.text, /Your code to sign in to Wiki is \d{6}\./);
    assert.match(mail.html, /<p style="font-weight:700;margin:0 0 1rem">Acme<\/p>/);
    const code = codeOf(mail);
    // A reload mails nothing more.
    await follow(agent, page.url, wiki.redirectUri);
    const claims = await landed(wiki, start, await submit(agent, wiki, page, '/code', { code }));
    assert.deepEqual(claims.amr, ['pwd', 'email', 'mfa']);
    assert.equal(claims.acr, 'urn:twofold:acr:mfa');
    assert.equal(codesTo(ema.address), sent + 1, 'one mail for the sign-in and its reload');

    // The same code in a new sign-in is refused: it belonged to the one that used it.
    clock.advance(61_000);
    const again = await signInFlow(wiki, ema.credentials);
    await smtp.arrival(isCode(ema.address), sent + 2);
    const refused = await submit(again.agent, wiki, again.page, '/code', { code });
    assert.equal(refused.status, 401);
    assert.match(refused.html, /That code is not correct or was already used\. Enter the code from the latest email\./);
  });

  it('refuses a code past its 10 minutes, and takes the new one sent after the cool-down', async () => {
    const tom = await user('tom');
    await registerByEmail(tom);
    const sent = codesTo(tom.address);
    const flow = await signInFlow(wiki, tom.credentials);
    const first = await nthCode(tom.address, sent + 1);

    // At once, a resend waits for the cool-down; nothing is mailed.
    const early = await submit(flow.agent, wiki, flow.page, '/email/resend', {});
    assert.equal(early.status, 429);
    assert.match(early.html, /A code was sent less than a minute ago\. Check your mail, or ask for a new code in \d+ seconds\./);

    clock.advance(10 * 60_000 + 1000);
    const expired = await submit(flow.agent, wiki, flow.page, '/code', { code: first });
    assert.equal(expired.status, 401);
    assert.match(expired.html, /That code has expired: codes work for 10 minutes\. Send a new code and enter it\./);

    const resent = await submit(flow.agent, wiki, flow.page, '/email/resend', {});
    assert.equal(resent.status, 200);
    assert.match(resent.html, /We sent a new code to t•••@acme\.example\. Codes sent before it no longer work\./);
    const second = await nthCode(tom.address, sent + 2);
    assert.equal(codesTo(tom.address), sent + 2, 'exactly one more mail: the early resend sent none');
    if (second !== first) {
      const old = await submit(flow.agent, wiki, flow.page, '/code', { code: first });
      assert.equal(old.status, 401, 'the earlier code no longer works');
    }
    const claims = await landed(wiki, flow.start, await submit(flow.agent, wiki, flow.page, '/code', { code: second }));
    assert.deepEqual(claims.amr, ['pwd', 'email', 'mfa']);
  });

  it('caps the codes at five per 15 minutes, whichever sign-ins ask', async () => {
    const cap = await user('cap');
    await registerByEmail(cap);
    clock.advance(15 * 60_000);
    // The registration's code counted; now five sign-ins a minute apart each mail one.
    const before = codesTo(cap.address);
    let last: Awaited<ReturnType<typeof signInFlow>> | undefined;
    for (let i = 0; i < 5; i++) {
      last = await signInFlow(wiki, cap.credentials);
      await smtp.arrival(isCode(cap.address), before + i + 1);
      clock.advance(61_000);
    }
    const capped = await submit(last!.agent, wiki, last!.page, '/email/resend', {});
    assert.equal(capped.status, 429);
    assert.match(
      capped.html,
      /Too many codes were sent in the last 15 minutes\. Ask for a new one at \d\d:\d\d UTC \(in \d+ minutes?\), or use a backup code\./,
    );
    await server.mail.idle();
    assert.equal(codesTo(cap.address), before + 5);
  });

  it('two submissions of one code at the same moment sign in once', async () => {
    const duo = await user('duo');
    await registerByEmail(duo);
    const sent = codesTo(duo.address);
    const flow = await signInFlow(wiki, duo.credentials);
    const code = await nthCode(duo.address, sent + 1);
    const answers = await Promise.all(
      Array.from({ length: 2 }, () =>
        flow.agent.request(formAction(flow.page, '/code'), {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ code }).toString(),
        }),
      ),
    );
    const onwards = answers.filter((answer) => answer.status === 303 && !/retry=1/.test(answer.headers.get('location') ?? ''));
    assert.equal(onwards.length, 1, `one success: ${answers.map((a) => `${a.status} ${a.headers.get('location')}`).join(', ')}`);
    const events = (await (await server.adminFetch(`/admin/api/audit?user=${duo.id}&type=mfa.passed`)).json()) as {
      events: { reason: string }[];
    };
    assert.equal(
      events.events.filter((event) => event.reason === 'email').length,
      1,
      'one sign-in passed (a registration is an mfa.registered)',
    );
  });

  it('wrong codes count toward the lockout; a backup code still signs in', async () => {
    const lou = await user('lou');
    const { backupCodes } = await registerByEmail(lou);
    const sent = codesTo(lou.address);
    const flow = await signInFlow(wiki, lou.credentials);
    const code = await nthCode(lou.address, sent + 1);
    let page = flow.page;
    for (let i = 0; i < 4; i++) page = await submit(flow.agent, wiki, flow.page, '/code', { code: wrongCode(code) });
    assert.match(page.html, /1 try left before your account is locked/);
    page = await submit(flow.agent, wiki, flow.page, '/code', { code: wrongCode(code) });
    assert.equal(page.status, 403);
    assert.match(page.html, /Account locked/);
    const right = await submit(flow.agent, wiki, flow.page, '/code', { code });
    assert.equal(right.status, 403, 'locked: even the right code is refused');
    await smtp.arrival((mail) => mail.to.includes(lou.address) && mail.subject.startsWith('Your account is locked'));

    await server.adminFetch(`/admin/api/users/${lou.id}/unlock`, { method: 'POST' });
    clock.advance(61_000);
    const next = await signInFlow(wiki, lou.credentials);
    assert.match(next.page.html, /Use a backup code instead/);
    const backupPage = await follow(next.agent, new URL(`${next.page.url.pathname}?use=backup`, next.page.url), wiki.redirectUri);
    assert.match(backupPage.html, /Enter a backup code/);
    assert.match(backupPage.html, /Use the code we emailed you instead/);
    const used = await submit(next.agent, wiki, backupPage, '/code?use=backup', { code: backupCodes[0]! });
    assert.match(used.html, /data-testid="backup-codes-left"/);
    const claims = await landed(wiki, next.start, await submit(next.agent, wiki, used, '/continue', {}));
    assert.deepEqual(claims.amr, ['pwd', 'otp', 'mfa']);
  });

  it('an application that accepts the app only refuses the emailed code and has the user add the app', async () => {
    const ida = await user('ida');
    await registerByEmail(ida);
    // Signed in at the wiki with an emailed code: single sign-on does not carry it to the vault.
    const agent = new UserAgent();
    const sent = codesTo(ida.address);
    const wikiSignIn = await afterPassword(agent, wiki, ida.credentials);
    const code = await nthCode(ida.address, sent + 1);
    await landed(wiki, wikiSignIn.start, await submit(agent, wiki, wikiSignIn.page, '/code', { code }));

    const start = await startAuthorization(vault);
    const register = await follow(agent, start.url, vault.redirectUri);
    assert.ok(secretOnPage(register.html), 'the vault asks for an authenticator app');
    assert.doesNotMatch(register.html, /choose-email|Receive codes by email/, 'no email choice where the app only is accepted');
    const chose = await agent.postForm(formAction(register, '/code').href.replace(/\/code$/, '/factor'), { factor: 'email' });
    assert.equal(chose.status, 303, 'choosing email here changes nothing');
    assert.equal(codesTo(ida.address), sent + 1, 'and mails nothing');
    const refused = await submit(agent, vault, register, '/code', { code });
    assert.equal(refused.status, 401, 'an emailed code is not an app code');

    const phone = new Phone(clock);
    const added = await submit(agent, vault, register, '/code', { code: await phone.app.register(secretOnPage(register.html)!) });
    assert.match(added.html, /Authenticator app added/);
    const claims = await landed(vault, start, await submit(agent, vault, added, '/continue', {}));
    assert.deepEqual(claims.amr, ['pwd', 'otp', 'mfa'], 'the vault reports the app (and the session’s password)');

    const view = (await (await server.adminFetch(`/admin/api/users/${ida.id}`)).json()) as { mfa: { factors: string[] } };
    assert.deepEqual(view.mfa.factors, ['totp', 'email']);
    // With both, the wiki asks for the app's code and offers a mailed one instead.
    clock.advance(61_000);
    const both = await signInFlow(wiki, ida.credentials);
    assert.match(both.page.html, /Open your authenticator app/);
    assert.match(both.page.html, /Email a code to i•••@acme\.example instead/);
    const emailed = await submit(both.agent, wiki, both.page, '/factor', { factor: 'email' });
    assert.match(emailed.html, /Enter the code we emailed you/);
    const mailed = await nthCode(ida.address, sent + 2);
    const wikiClaims = await landed(wiki, both.start, await submit(both.agent, wiki, emailed, '/code', { code: mailed }));
    assert.deepEqual(wikiClaims.amr, ['pwd', 'email', 'mfa']);
  });

  it('the password alone never adds a factor: at an app-only application, a new browser first passes the emailed code', async () => {
    const pia = await user('pia');
    await registerByEmail(pia);
    const sent = codesTo(pia.address);
    const flow = await signInFlow(vault, pia.credentials);
    assert.match(flow.page.html, /Enter the code we emailed you/, 'the factor she has, first');
    assert.equal(secretOnPage(flow.page.html), undefined, 'no registration with the password alone');
    const code = await nthCode(pia.address, sent + 1);
    const wrong = await submit(flow.agent, vault, flow.page, '/code', { code: wrongCode(code) });
    assert.equal(wrong.status, 401);
    assert.equal(secretOnPage(wrong.html), undefined);
    const register = await submit(flow.agent, vault, flow.page, '/code', { code });
    assert.ok(secretOnPage(register.html), 'then the app is added');
    const phone = new Phone(clock);
    const added = await submit(flow.agent, vault, register, '/code', { code: await phone.app.register(secretOnPage(register.html)!) });
    const claims = await landed(vault, flow.start, await submit(flow.agent, vault, added, '/continue', {}));
    assert.deepEqual(claims.amr, ['pwd', 'otp', 'mfa']);
  });

  it('an administrator’s reset on one node ends email codes: on another node the sign-in registers anew, and the session has ended', async () => {
    const rae = await user('rae');
    await registerByEmail(rae);
    const agent = new UserAgent();
    const sent = codesTo(rae.address);
    const first = await afterPassword(agent, wiki, rae.credentials);
    await landed(wiki, first.start, await submit(agent, wiki, first.page, '/code', { code: await nthCode(rae.address, sent + 1) }));

    const nodeB = await startTestServer({ clock, real, issuer: server.issuer, mail: { smtpUrl: smtp.url, retryBaseMs: 50 } });
    try {
      const reset = await server.adminFetch(`/admin/api/users/${rae.id}/mfa/reset`, { method: 'POST' });
      assert.equal(reset.status, 200);
      const view = (await (await nodeB.adminFetch(`/admin/api/users/${rae.id}`)).json()) as { mfa: { factors: string[] } };
      assert.deepEqual(view.mfa.factors, []);
      // The same browser, through node B: the session is gone (the password is asked) and a registration follows.
      const viaB = UserAgent.via(server.issuer, nodeB.url);
      viaB.cookies = agent.cookies.map((cookie) => ({ ...cookie }));
      const start = await startAuthorization(wiki);
      const login = await follow(viaB, start.url, wiki.redirectUri);
      assert.match(login.html, /name="password"/, 'signed out by the reset');
      const posted = await viaB.postForm(formAction(login, '/login'), rae.credentials);
      const next = await follow(viaB, new URL(posted.headers.get('location')!, login.url), wiki.redirectUri);
      assert.ok(secretOnPage(next.html), 'a registration, not a code mailed to the old factor');
      await server.mail.idle();
      assert.equal(codesTo(rae.address), sent + 1, 'no code mailed after the reset');
    } finally {
      await nodeB.close();
    }
  });

  it('offers no email choice to a user without a verified address, nor while email codes are off', async () => {
    const uno = await user('uno', false);
    const flow = await signInFlow(wiki, uno.credentials);
    assert.ok(secretOnPage(flow.page.html));
    assert.doesNotMatch(flow.page.html, /choose-email/);
    const chose = await flow.agent.postForm(formAction(flow.page, '/code').href.replace(/\/code$/, '/factor'), { factor: 'email' });
    assert.equal(chose.status, 303);
    assert.ok(secretOnPage((await follow(flow.agent, flow.page.url, wiki.redirectUri)).html), 'still the app registration');
    await server.mail.idle();
    assert.equal(codesTo(uno.address), 0);

    await server.adminFetch('/admin/api/settings', { method: 'PATCH', body: JSON.stringify({ factors: { email: { enabled: false } } }) });
    try {
      const off = await user('off');
      const offFlow = await signInFlow(wiki, off.credentials);
      assert.ok(secretOnPage(offFlow.page.html));
      assert.doesNotMatch(offFlow.page.html, /choose-email/);
    } finally {
      await server.adminFetch('/admin/api/settings', { method: 'PATCH', body: JSON.stringify({ factors: { email: { enabled: true } } }) });
    }
  });

  it('an SMTP server that refuses mail leaves the page as fast as ever; the code arrives once it is back', async () => {
    const sid = await user('sid');
    await registerByEmail(sid);
    const sent = codesTo(sid.address);
    // Nothing of the registration is still on its way.
    await smtp.arrival((mail) => mail.to.includes(sid.address) && mail.subject.startsWith('Sign-in codes by email'));
    await server.mail.idle();
    const retrying = async () =>
      /twofold_mails_total\{kind="email_code",outcome="retrying"\} [1-9]/.test(await (await fetch(`${server.issuer}/metrics`)).text());
    const retriedBefore = await retrying();
    smtp.state.refuse = true;
    let flow: Awaited<ReturnType<typeof signInFlow>>;
    try {
      flow = await signInFlow(wiki, sid.credentials);
      assert.equal(flow.page.status, 200);
      assert.match(flow.page.html, /We sent a code to s•••@acme\.example\./);
      // The page answered though the server refuses the mail: the queue retries it.
      while (!(await retrying())) await new Promise((resolve) => setTimeout(resolve, 20));
    } finally {
      smtp.state.refuse = false;
    }
    assert.equal(retriedBefore, false);
    const code = await nthCode(sid.address, sent + 1);
    const claims = await landed(wiki, flow.start, await submit(flow.agent, wiki, flow.page, '/code', { code }));
    assert.deepEqual(claims.amr, ['pwd', 'email', 'mfa']);
  });

  it('on the account page, a change after 5 minutes asks a user with email codes only for a backup code', async () => {
    const ava = await user('ava');
    const { backupCodes } = await registerByEmail(ava);
    const agent = new UserAgent();
    const login = await follow(agent, `${server.issuer}/account/`, 'never:');
    const posted = await agent.postForm(formAction(login, '/login'), ava.credentials);
    const sent = codesTo(ava.address);
    const codePage = await follow(agent, new URL(posted.headers.get('location')!, login.url), 'never:');
    assert.match(codePage.html, /Enter the code we emailed you/);
    const done = await agent.postForm(formAction(codePage, '/code'), { code: await nthCode(ava.address, sent + 1) });
    const home = await follow(agent, new URL(done.headers.get('location')!, codePage.url), 'never:');
    assert.match(home.html, /data-testid="email-factor"/);
    assert.match(home.html, /data-testid="backup-codes-left">10</);

    clock.advance(6 * 60_000);
    const confirm = await follow(agent, `${server.issuer}/account/backup-codes`, 'never:');
    assert.match(confirm.html, /Enter one of your backup codes to confirm/);
    const csrf = /name="csrf" value="([^"]+)"/.exec(confirm.html)![1]!;
    const action = new URL('/account/backup-codes', server.issuer);
    for (const code of ['', '123456']) {
      const refused = await agent.postForm(action, { csrf, code });
      assert.equal(refused.status, 401, `refused with ${JSON.stringify(code)}`);
      assert.match(await refused.text(), /That backup code is not correct or was already used/);
    }
    const renewed = await agent.postForm(action, { csrf, code: backupCodes[0]! });
    assert.equal(renewed.status, 200);
    assert.equal(backupCodesOnPage(await renewed.text()).length, 10, 'new backup codes, after a backup code');
  });

  it('refuses a factor that is not one, with nothing changed', async () => {
    const bad = await user('bad');
    const flow = await signInFlow(wiki, bad.credentials);
    for (const fields of [{ factor: 'sms' }, {}, { factor: 'email', extra: '1' }]) {
      const response = await flow.agent.postForm(
        formAction(flow.page, '/code').href.replace(/\/code$/, '/factor'),
        fields as Record<string, string>,
      );
      assert.equal(response.status, 400, JSON.stringify(fields));
    }
    await server.mail.idle();
    assert.equal(codesTo(bad.address), 0);
    const page = await follow(flow.agent, flow.page.url, wiki.redirectUri);
    assert.ok(secretOnPage(page.html), 'still the app registration');
  });

  it('the signIn helper of other tests meets the email page as a code page', async () => {
    const hel = await user('hel');
    await registerByEmail(hel);
    const sent = codesTo(hel.address);
    const { claims, seen } = await signIn(new UserAgent(), wiki, hel.credentials, {}, { code: () => nthCode(hel.address, sent + 1) });
    assert.deepEqual(seen, ['login', 'code']);
    assert.deepEqual(claims.amr, ['pwd', 'email', 'mfa']);
  });
});
