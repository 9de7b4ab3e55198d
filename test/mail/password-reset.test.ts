import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as oidc from 'openid-client';
import { createManualClock } from '../../src/domain/clock.ts';
import { realStoresSkip } from '../support/env.ts';
import { Phone } from '../support/mfa.ts';
import { follow, signIn, SignInRefused, startAuthorization, UserAgent, type RelyingParty } from '../support/relying-party.ts';
import { createUser, newRealStores, registerApplication, startTestServer, type TestServer } from '../support/server.ts';
import { startSmtpServer, type ReceivedMail } from '../support/smtp.ts';

const LINK = /(http:\/\/localhost:\d+\/password\/reset\/[A-Za-z0-9_-]{43})/;

/** "Forgot password?" through a real SMTP server: a link that works once, for 15 minutes. */
describe('password reset by mail, on Redis and MongoDB', { skip: realStoresSkip }, () => {
  const clock = createManualClock(Date.now());
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let server: TestServer;
  let rp: RelyingParty;
  before(async () => {
    smtp = await startSmtpServer();
    server = await startTestServer({
      real: newRealStores(),
      clock,
      mail: { smtpUrl: smtp.url, retryBaseMs: 50 },
      rateLimits: { perAccount: { limit: 5, windowSeconds: 60 }, perIp: { limit: 1000, windowSeconds: 60 } },
    });
    rp = (
      await registerApplication(server, {
        client_id: 'wiki',
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

  async function member(username: string, verified = true) {
    const credentials = { username, password: `${username} passphrase` };
    const { id } = await createUser(server, { ...credentials, email: `${username}@example.com` });
    if (verified) await server.adminFetch(`/admin/api/users/${id}`, { method: 'PATCH', body: JSON.stringify({ email_verified: true }) });
    const phone = new Phone(clock);
    await signIn(new UserAgent(), rp, credentials, {}, phone.app);
    clock.advance(30_000);
    return { id, credentials, phone, address: `${username}@example.com` };
  }

  const post = (agent: UserAgent, path: string, fields: Record<string, string>) => agent.postForm(new URL(path, server.issuer), fields);
  const ask = async (username: string, agent = new UserAgent()) => {
    const answer = await post(agent, '/password/forgot', { username });
    return { status: answer.status, html: await answer.text() };
  };
  /** The link of the `count`th reset mail to `address`, once it has arrived (the answer does not wait for it); no more than `count` by then. */
  const linkFor = async (address: string, count: number) => {
    const isReset = (m: ReceivedMail) => m.to.includes(address) && m.subject.startsWith('Choose a new password');
    const mail = await smtp.arrival(isReset, count);
    await server.mail.idle();
    assert.equal(smtp.mails.filter(isReset).length, count, `${count} reset mails to ${address}`);
    return LINK.exec(mail.text)![1]!;
  };

  it('offers "Forgot password?" on the login page, mails a link that works once, ends every session, and keeps the second factor', async () => {
    const lena = await member('lena');
    // A session and a refresh token from before.
    const agent = new UserAgent();
    const first = await signIn(
      agent,
      rp,
      lena.credentials,
      { scope: 'openid offline_access', prompt: 'consent' },
      { code: () => lena.phone.code() },
    );
    assert.ok(first.tokens.refresh_token);
    const login = await follow(new UserAgent(), (await startAuthorization(rp)).url, rp.redirectUri);
    assert.match(login.html, /<a href="\/password\/forgot" data-testid="forgot-password">Forgot password\?<\/a>/);

    const asked = await ask('lena');
    assert.equal(asked.status, 200);
    assert.match(asked.html, /If this account has a verified email address, a link to choose a new password is on its way/);
    const link = await linkFor(lena.address, 1);
    const mail = smtp.mails.at(-1)!;
    assert.match(mail.text, /within 15 minutes; it works once/);
    assert.doesNotMatch(mail.text, /passphrase/);

    const resetter = new UserAgent();
    const page = await follow(resetter, link, 'never:');
    assert.equal(page.status, 200);
    assert.match(page.html, /name="password"/);
    // Not the same twice: nothing used up, the link still works.
    const mismatch = await post(resetter, link, { password: 'a new long passphrase', confirm: 'another one' });
    assert.equal(mismatch.status, 400);
    assert.match(await mismatch.text(), /The two passwords are not the same/);
    const done = await post(resetter, link, { password: 'a new long passphrase', confirm: 'a new long passphrase' });
    assert.equal(done.status, 200);
    assert.match(await done.text(), /Your password is changed, and you are signed out everywhere/);

    // Used: refused in words.
    const again = await post(resetter, link, { password: 'yet another passphrase', confirm: 'yet another passphrase' });
    assert.equal(again.status, 400);
    assert.match(await again.text(), /This link was already used, or is not one we sent/);
    const reopened = await follow(new UserAgent(), link, 'never:');
    assert.match(reopened.html, /already used/);

    // Everything from before has ended; the new password signs in, and the code is still asked.
    await assert.rejects(oidc.refreshTokenGrant(rp.config, first.tokens.refresh_token!), 'the refresh token is revoked');
    await assert.rejects(signIn(agent, rp, null), 'the session is gone');
    await assert.rejects(
      signIn(new UserAgent(), rp, lena.credentials, {}, { code: () => lena.phone.code() }),
      (err) => err instanceof SignInRefused,
    );
    clock.advance(30_000);
    const next = await signIn(
      new UserAgent(),
      rp,
      { username: 'lena', password: 'a new long passphrase' },
      {},
      { code: () => lena.phone.code() },
    );
    assert.deepEqual(next.seen, ['login', 'code'], 'the second factor is asked as before');
    await server.mail.idle();
    assert.ok(
      smtp.mails.some((m) => m.to.includes(lena.address) && m.subject.startsWith('Your password was changed')),
      'and the user is told',
    );
    const events = (await (await server.adminFetch(`/admin/api/audit?user=${lena.id}&type=user.updated`)).json()) as {
      events: { reason: string; changed: string[] }[];
    };
    assert.deepEqual([events.events[0]!.reason, events.events[0]!.changed], ['password_reset', ['password']]);
  });

  it('gives the same answer, and sends nothing, for an unknown account or one without a verified address', async () => {
    await member('uma', false);
    const resets = () => smtp.mails.filter((m) => m.subject.startsWith('Choose a new password')).length;
    const sent = resets();
    const unknown = await ask('nobody-here');
    const unverified = await ask('uma');
    const known = await member('kai');
    const real = await ask('kai');
    assert.deepEqual([unknown.status, unverified.status, real.status], [200, 200, 200]);
    assert.equal(unknown.html, real.html, 'the same page');
    assert.equal(unverified.html, real.html);
    await linkFor(known.address, 1);
    assert.equal(resets(), sent + 1, 'one reset mail: to kai alone');
  });

  it('refuses a link after 15 minutes, a tampered one and one of the wrong shape, in words', async () => {
    const ezra = await member('ezra');
    await ask('ezra');
    const link = await linkFor(ezra.address, 1);
    clock.advance(15 * 60_000 + 1_000);
    const expired = await follow(new UserAgent(), link, 'never:');
    assert.equal(expired.status, 400);
    assert.match(expired.html, /This link has expired: it works for 15 minutes/);
    const tampered = link.slice(0, -1) + (link.endsWith('A') ? 'B' : 'A');
    assert.match((await follow(new UserAgent(), tampered, 'never:')).html, /already used, or is not one we sent/);
    for (const bad of ['short', `${'x'.repeat(43)}!`, 'x'.repeat(44), '%0d%0aSet-Cookie:x']) {
      const page = await follow(new UserAgent(), `${server.issuer}/password/reset/${bad}`, 'never:');
      assert.equal(page.status === 400 || page.status === 404, true, bad);
      if (page.status === 400) assert.match(page.html, /not a whole password reset link/);
    }
    const still = await signIn(new UserAgent(), rp, ezra.credentials, {}, { code: () => ezra.phone.code() });
    assert.deepEqual(still.seen, ['login', 'code'], 'the old password still works');
  });

  it('lets one of two simultaneous uses of a link through', async () => {
    const ida = await member('ida');
    await ask('ida');
    const link = await linkFor(ida.address, 1);
    const answers = await Promise.all(
      ['first passphrase', 'second passphrase'].map((password) => post(new UserAgent(), link, { password, confirm: password })),
    );
    assert.deepEqual(answers.map((a) => a.status).sort(), [200, 400]);
  });

  it('limits requests per account name', async () => {
    await member('rex');
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) statuses.push((await ask('REX')).status);
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 429]);
    await linkFor('rex@example.com', 5);
  });
});

describe('password reset without mail', () => {
  it('is not offered when no mail can go out', { skip: realStoresSkip }, async () => {
    const server = await startTestServer({ real: newRealStores() });
    try {
      assert.equal(server.mail.enabled, false);
      const rp = (await registerApplication(server, { client_id: 'app', redirect_uris: ['http://127.0.0.1:9/cb'] })).rp;
      const login = await follow(new UserAgent(), (await startAuthorization(rp)).url, rp.redirectUri);
      assert.doesNotMatch(login.html, /Forgot password/);
      assert.equal((await fetch(`${server.issuer}/password/forgot`)).status, 404);
    } finally {
      await server.close();
    }
  });
});

describe('password reset across two nodes', { skip: realStoresSkip }, () => {
  it('a link asked on one node and used on the other ends the session and the refresh token held on the first', async () => {
    const clock = createManualClock(Date.now());
    const smtp = await startSmtpServer();
    const real = newRealStores();
    const mail = { smtpUrl: smtp.url, retryBaseMs: 50 };
    const a = await startTestServer({ real, clock, mail });
    // Node B: the same issuer and stores, as behind a load balancer.
    const b = await startTestServer({ real, clock, mail, issuer: a.issuer });
    try {
      const { rp } = await registerApplication(a, {
        client_id: 'wiki',
        redirect_uris: ['http://127.0.0.1:9/cb'],
        first_party: true,
        mfa_policy: 'required',
        grant_types: ['authorization_code', 'refresh_token'],
      });
      const credentials = { username: 'noor', password: 'noor passphrase' };
      const { id } = await createUser(a, { ...credentials, email: 'noor@example.com' });
      await a.adminFetch(`/admin/api/users/${id}`, { method: 'PATCH', body: JSON.stringify({ email_verified: true }) });
      const phone = new Phone(clock);
      const onA = new UserAgent();
      const first = await signIn(onA, rp, credentials, { scope: 'openid offline_access', prompt: 'consent' }, phone.app);
      assert.deepEqual((await signIn(onA, rp, null)).seen, [], 'single sign-on on node A before');
      const onB = UserAgent.via(a.issuer, b.url);

      await onA.postForm(new URL('/password/forgot', a.issuer), { username: 'noor' });
      const link = LINK.exec((await smtp.arrival((m) => m.subject.startsWith('Choose a new password'))).text)![1]!;
      const done = await onB.postForm(link, { password: 'a new long passphrase', confirm: 'a new long passphrase' });
      assert.equal(done.status, 200, 'used on node B');

      await assert.rejects(oidc.refreshTokenGrant(rp.config, first.tokens.refresh_token!), 'the refresh token is revoked, asked on node A');
      await assert.rejects(signIn(onA, rp, null), 'node A asks for the password again');
      const again = await onA.postForm(link, { password: 'yet another passphrase', confirm: 'yet another passphrase' });
      assert.equal(again.status, 400, 'and the link is used up on node A too');
    } finally {
      await b.close();
      await a.close();
      await smtp.close();
    }
  });
});
