import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as oidc from 'openid-client';
import { createManualClock } from '../../src/domain/clock.ts';
import { realStoresSkip } from '../support/env.ts';
import { Phone, walkOwnPages } from '../support/mfa.ts';
import { follow, signIn, SignInRefused, UserAgent, type Page, type RelyingParty } from '../support/relying-party.ts';
import { createUser, newRealStores, registerApplication, startTestServer, type TestServer } from '../support/server.ts';
import { startSmtpServer } from '../support/smtp.ts';

const csrfOf = (page: Page) => /name="csrf" value="([^"]+)"/.exec(page.html)![1]!;
const CONFIRM = /(http:\/\/localhost:\d+\/account\/email\/confirm\/[A-Za-z0-9_-]{43})/;

/** The account page's password and email changes, with a real SMTP server. */
describe('changing the password and the email on the account page, on Redis and MongoDB', { skip: realStoresSkip }, () => {
  const clock = createManualClock(Date.now());
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let server: TestServer;
  let rp: RelyingParty;
  before(async () => {
    smtp = await startSmtpServer();
    server = await startTestServer({ real: newRealStores(), clock, mail: { smtpUrl: smtp.url, retryBaseMs: 50 } });
    rp = (
      await registerApplication(server, {
        client_id: 'app',
        redirect_uris: ['http://127.0.0.1:9/cb'],
        first_party: true,
        mfa_policy: 'required',
        grant_types: ['authorization_code', 'refresh_token'],
      })
    ).rp;
  });
  after(async () => {
    await server.close();
    await smtp.close();
  });

  async function member(username: string) {
    const credentials = { username, password: `${username} passphrase` };
    const { id } = await createUser(server, { ...credentials, email: `${username}@old.example` });
    await server.adminFetch(`/admin/api/users/${id}`, { method: 'PATCH', body: JSON.stringify({ email_verified: true }) });
    const phone = new Phone(clock);
    await signIn(new UserAgent(), rp, credentials, {}, phone.app);
    clock.advance(30_000);
    const agent = new UserAgent();
    const { page } = await walkOwnPages(agent, `${server.issuer}/account/`, credentials, phone, (shown) =>
      shown.html.includes('data-testid="backup-codes-left"'),
    );
    return { id, credentials, phone, agent, home: page };
  }
  const mailTo = (address: string, subject: string) => smtp.arrival((m) => m.to.includes(address) && m.subject.startsWith(subject));

  it('changes the password with the current one, ends every session, and the new one signs in with the code', async () => {
    const ola = await member('ola');
    const tokens = await signIn(
      new UserAgent(),
      rp,
      ola.credentials,
      { scope: 'openid offline_access', prompt: 'consent' },
      { code: () => ola.phone.code(1) },
    );
    const page = await follow(ola.agent, `${server.issuer}/account/password`, 'never:');
    assert.match(page.html, /name="current"/);
    assert.doesNotMatch(page.html, /name="code"/, 'a second factor of a moment ago: no code asked');
    const wrong = await ola.agent.postForm(new URL('/account/password', server.issuer), {
      csrf: csrfOf(page),
      current: 'not my password',
      password: 'a new long passphrase',
      confirm: 'a new long passphrase',
    });
    assert.equal(wrong.status, 401);
    assert.match(await wrong.text(), /Your current password is not correct/);
    const changed = await ola.agent.postForm(new URL('/account/password', server.issuer), {
      csrf: csrfOf(page),
      current: ola.credentials.password,
      password: 'a new long passphrase',
      confirm: 'a new long passphrase',
    });
    assert.equal(changed.status, 303);
    assert.equal(changed.headers.get('location'), '/account/signed-out?reason=password');
    await assert.rejects(oidc.refreshTokenGrant(rp.config, tokens.tokens.refresh_token!), 'refresh tokens end');
    const after = await follow(ola.agent, `${server.issuer}/account/password`, 'never:');
    assert.match(after.url.pathname, /^\/interaction\//, 'the account page ended too: its sign-in starts again');
    assert.match(after.html, /name="password"/);
    await assert.rejects(
      signIn(new UserAgent(), rp, ola.credentials, {}, { code: () => ola.phone.code() }),
      (err) => err instanceof SignInRefused,
    );
    clock.advance(60_000);
    const next = await signIn(
      new UserAgent(),
      rp,
      { username: 'ola', password: 'a new long passphrase' },
      {},
      { code: () => ola.phone.code() },
    );
    assert.deepEqual(next.seen, ['login', 'code']);
    await mailTo('ola@old.example', 'Your password was changed');
  });

  it('asks a code when the second factor is older than 5 minutes', async () => {
    const pim = await member('pim');
    clock.advance(6 * 60_000);
    const page = await follow(pim.agent, `${server.issuer}/account/password`, 'never:');
    assert.match(page.html, /name="code"/);
    const fields = { csrf: csrfOf(page), current: pim.credentials.password, password: 'pim new passphrase', confirm: 'pim new passphrase' };
    const without = await pim.agent.postForm(new URL('/account/password', server.issuer), fields);
    assert.equal(without.status, 401);
    assert.match(await without.text(), /That code is not correct/);
    const withCode = await pim.agent.postForm(new URL('/account/password', server.issuer), { ...fields, code: await pim.phone.code() });
    assert.equal(withCode.status, 303);
  });

  it('changes the email by a link mailed to the new address, once; the old address is told', async () => {
    const rue = await member('rue');
    const page = await follow(rue.agent, `${server.issuer}/account/email`, 'never:');
    const bad = await rue.agent.postForm(new URL('/account/email', server.issuer), {
      csrf: csrfOf(page),
      email: 'rue@new.example\r\nBcc: x@y.example',
    });
    assert.equal(bad.status, 400);
    const sent = await rue.agent.postForm(new URL('/account/email', server.issuer), { csrf: csrfOf(page), email: 'rue@new.example' });
    assert.equal(sent.status, 200);
    assert.match(await sent.text(), /A link is on its way to <strong>rue@new\.example<\/strong>/);
    const mail = await mailTo('rue@new.example', 'Confirm your email address');
    const link = CONFIRM.exec(mail.text)![1]!;
    const view = async () =>
      (await (await server.adminFetch(`/admin/api/users/${rue.id}`)).json()) as { email: string; email_verified: boolean };
    assert.deepEqual(await view().then((u) => [u.email, u.email_verified]), ['rue@old.example', true], 'nothing changes before the link');

    // Opening the link (a mail scanner does) changes nothing; the button does.
    const opened = await follow(new UserAgent(), link, 'never:');
    assert.match(opened.html, /data-testid="confirm-email"/);
    assert.equal((await view()).email, 'rue@old.example');
    const confirmed = await new UserAgent().postForm(link, {});
    assert.equal(confirmed.status, 200);
    assert.deepEqual(await view().then((u) => [u.email, u.email_verified]), ['rue@new.example', true]);
    const told = await mailTo('rue@old.example', 'The email address of your account was changed');
    assert.doesNotMatch(told.text, /rue@new/);
    const again = await new UserAgent().postForm(link, {});
    assert.equal(again.status, 400);
    assert.match(await again.text(), /already used/);
  });

  it('refuses an email link after 15 minutes', async () => {
    const sol = await member('sol');
    const page = await follow(sol.agent, `${server.issuer}/account/email`, 'never:');
    await sol.agent.postForm(new URL('/account/email', server.issuer), { csrf: csrfOf(page), email: 'sol@new.example' });
    const link = CONFIRM.exec((await mailTo('sol@new.example', 'Confirm your email address')).text)![1]!;
    clock.advance(15 * 60_000 + 1_000);
    const late = await new UserAgent().postForm(link, {});
    assert.equal(late.status, 400);
    assert.match(await late.text(), /This link has expired/);
  });
});
