import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createManualClock } from '../../src/domain/clock.ts';
import { realStoresSkip } from '../support/env.ts';
import { Phone, wrongCode } from '../support/mfa.ts';
import { follow, formAction, signIn, startAuthorization, UserAgent, type RelyingParty } from '../support/relying-party.ts';
import { createUser, newRealStores, registerApplication, startTestServer, type TestServer } from '../support/server.ts';
import { startSmtpServer } from '../support/smtp.ts';

/**
 * Mail to users when their sign-in methods change, through a real SMTP server: each
 * arrives with what happened, when, from where and what to do, and holds no secret.
 */
describe('notifications by mail, on Redis and MongoDB with an SMTP server', { skip: realStoresSkip }, () => {
  const clock = createManualClock(Date.now());
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let server: TestServer;
  let rp: RelyingParty;
  before(async () => {
    smtp = await startSmtpServer();
    server = await startTestServer({
      real: newRealStores(),
      clock,
      mail: { smtpUrl: smtp.url, from: 'Acme sign-in <id@acme.example>', retryBaseMs: 50, retries: 3 },
    });
    rp = (
      await registerApplication(server, {
        client_id: 'wiki',
        redirect_uris: ['http://127.0.0.1:9/cb'],
        first_party: true,
        mfa_policy: 'required',
      })
    ).rp;
    await server.adminFetch('/admin/api/settings', { method: 'PATCH', body: JSON.stringify({ brand: { name: 'Acme' } }) });
  });
  after(async () => {
    await server.close();
    await smtp.close();
  });

  const mailsTo = (address: string) => smtp.mails.filter((mail) => mail.to.includes(address));
  const user = async (username: string, verified = true) => {
    const credentials = { username, password: `${username} passphrase` };
    const { id } = await createUser(server, { ...credentials, email: `${username}@acme.example` });
    if (verified) await server.adminFetch(`/admin/api/users/${id}`, { method: 'PATCH', body: JSON.stringify({ email_verified: true }) });
    return { id, credentials, address: `${username}@acme.example`, phone: new Phone(clock) };
  };

  it('tells the user when an app is added, a backup code used, the account locked, the app reset and the password changed', async () => {
    const nina = await user('nina');
    const seenBefore = smtp.mails.length;
    await signIn(new UserAgent(), rp, nina.credentials, {}, nina.phone.app);
    await smtp.received(seenBefore + 1);
    const [added] = mailsTo(nina.address);
    assert.equal(added!.subject, 'An authenticator app was added to your account · Acme');
    assert.equal(added!.from, 'id@acme.example');
    assert.match(added!.text, /^Hello nina,/);
    assert.match(added!.text, /When: \d{4}-\d\d-\d\d \d\d:\d\d UTC/);
    assert.match(added!.text, /From the address: 127\.0\.0\.1/);
    assert.match(added!.text, /If this was not you, tell your administrator/);
    assert.match(added!.html, /<p style="font-weight:700;margin:0 0 1rem">Acme<\/p>/);
    const secretText = Buffer.from(nina.phone.secret!).toString('hex');
    for (const mail of mailsTo(nina.address)) {
      assert.doesNotMatch(mail.text + mail.html, new RegExp(secretText), 'no key');
      for (const code of nina.phone.backupCodes) assert.ok(!(mail.text + mail.html).includes(code), 'no backup code');
      assert.doesNotMatch(mail.html, /<img|src=|https?:\/\/[^\s<]*\.(png|gif)/, 'nothing fetched when opened');
    }

    clock.advance(30_000);
    await signIn(new UserAgent(), rp, nina.credentials, {}, { code: () => nina.phone.backupCodes[0]! });
    await smtp.received(seenBefore + 2);
    assert.match(
      mailsTo(nina.address)[1]!.text,
      /A backup code was used instead of your second factor to sign in\. 9 backup codes are left\./,
    );

    // Five wrong codes: locked.
    const agent = new UserAgent();
    const login = await follow(agent, (await startAuthorization(rp)).url, rp.redirectUri);
    const posted = await agent.postForm(formAction(login, '/login'), nina.credentials);
    const codePage = await follow(agent, new URL(posted.headers.get('location')!, login.url), rp.redirectUri);
    for (let i = 0; i < 5; i++) await agent.postForm(formAction(codePage, '/code'), { code: wrongCode(await nina.phone.code()) });
    await smtp.received(seenBefore + 3);
    assert.equal(mailsTo(nina.address)[2]!.subject, 'Your account is locked after wrong codes · Acme');

    await server.adminFetch(`/admin/api/users/${nina.id}/mfa/reset`, { method: 'POST' });
    await smtp.received(seenBefore + 4);
    const reset = mailsTo(nina.address)[3]!;
    assert.equal(reset.subject, 'An administrator reset your authenticator app · Acme');
    assert.match(reset.text, /By: an administrator \(admin API\)/);

    await server.adminFetch(`/admin/api/users/${nina.id}`, {
      method: 'PATCH',
      body: JSON.stringify({ password: 'a brand new passphrase' }),
    });
    await smtp.received(seenBefore + 5);
    assert.equal(mailsTo(nina.address)[4]!.subject, 'Your password was changed · Acme');

    // The email changed: the old address is told, and the new one (unverified) gets nothing.
    await server.adminFetch(`/admin/api/users/${nina.id}`, { method: 'PATCH', body: JSON.stringify({ email: 'nina.new@acme.example' }) });
    await smtp.received(seenBefore + 6);
    const moved = mailsTo(nina.address)[5]!;
    assert.equal(moved.subject, 'The email address of your account was changed · Acme');
    assert.doesNotMatch(moved.text, /nina\.new/, 'the new address is not named');
    const view = (await (await server.adminFetch(`/admin/api/users/${nina.id}`)).json()) as { email_verified: boolean };
    assert.equal(view.email_verified, false, 'a new address is unverified');

    const sent = (await (await server.adminFetch(`/admin/api/audit?user=${nina.id}&type=mail.sent`)).json()) as {
      events: { reason: string }[];
    };
    assert.deepEqual(
      sent.events.map((e) => e.reason),
      [
        'notify.email_changed',
        'notify.password_changed',
        'notify.authenticator_reset',
        'notify.locked',
        'notify.backup_code_used',
        'notify.authenticator_added',
      ],
      'an audit event per mail: its kind, never its content',
    );
  });

  it('writes to no unverified address, and to nobody while notifications are off', async () => {
    const otto = await user('otto', false);
    await signIn(new UserAgent(), rp, otto.credentials, {}, otto.phone.app);
    const vera = await user('vera');
    await server.adminFetch('/admin/api/settings', { method: 'PATCH', body: JSON.stringify({ notifications: { enabled: false } }) });
    await signIn(new UserAgent(), rp, vera.credentials, {}, vera.phone.app);
    await server.adminFetch('/admin/api/settings', { method: 'PATCH', body: JSON.stringify({ notifications: { enabled: true } }) });
    // A later mail to vera is the proof that nothing earlier was waiting.
    await server.adminFetch(`/admin/api/users/${vera.id}/mfa/reset`, { method: 'POST' });
    await server.mail.idle();
    assert.deepEqual(mailsTo(otto.address), []);
    assert.deepEqual(
      mailsTo(vera.address).map((m) => m.subject),
      ['An administrator reset your authenticator app · Acme'],
    );
  });

  it('never holds a page for a mail server that refuses or is slow: the mail is retried, and counted', async () => {
    const wes = await user('wes');
    smtp.state.refuse = true;
    const attempts = smtp.state.attempts;
    const { seen } = await signIn(new UserAgent(), rp, wes.credentials, {}, wes.phone.app);
    assert.deepEqual(seen, ['login', 'register', 'backup-codes'], 'the sign-in went through');
    while (smtp.state.attempts < attempts + 2) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(mailsTo(wes.address), [], 'refused so far');
    smtp.state.refuse = false;
    await server.mail.idle();
    assert.equal(mailsTo(wes.address).length, 1, 'delivered on a retry');
    const metrics = await (await fetch(`${server.issuer}/metrics`)).text();
    assert.match(metrics, /twofold_mails_total\{kind="notify\.authenticator_added",outcome="retrying"\} [1-9]/);
    assert.match(metrics, /twofold_mails_total\{kind="notify\.authenticator_added",outcome="sent"\} [1-9]/);

    // A slow server: the page answers while the mail is still being accepted.
    smtp.state.delayMs = 1500;
    const before = mailsTo(wes.address).length;
    const answer = await server.adminFetch(`/admin/api/users/${wes.id}/mfa/reset`, { method: 'POST' });
    assert.equal(answer.status, 200);
    assert.equal(mailsTo(wes.address).length, before, 'answered before the mail was accepted');
    await server.mail.idle();
    smtp.state.delayMs = 0;
    assert.equal(mailsTo(wes.address).length, before + 1);
  });

  it('refuses addresses with line breaks, invisible characters or too long, writing nothing', async () => {
    const { id } = await createUser(server, { username: 'xena', password: 'xena passphrase' });
    for (const email of [
      'x@acme.example\r\nBcc: all@acme.example',
      'x\u200b@acme.example',
      `${'x'.repeat(250)}@acme.example`,
      'x@acme.example\n',
    ]) {
      const created = await server.adminFetch('/admin/api/users', {
        method: 'POST',
        body: JSON.stringify({ username: `y${Math.random().toString(36).slice(2, 8)}`, password: 'a long passphrase', email }),
      });
      assert.equal(created.status, 400, JSON.stringify(email));
      const patched = await server.adminFetch(`/admin/api/users/${id}`, { method: 'PATCH', body: JSON.stringify({ email }) });
      assert.equal(patched.status, 400, JSON.stringify(email));
    }
    const view = (await (await server.adminFetch(`/admin/api/users/${id}`)).json()) as { email?: string };
    assert.equal(view.email, undefined, 'nothing written');
    const named = await server.adminFetch(`/admin/api/users/${id}`, {
      method: 'PATCH',
      body: JSON.stringify({ name: 'Xena\r\nBcc: all@acme.example' }),
    });
    assert.equal(named.status, 400, 'a name with a line break');
    const verifyNothing = await server.adminFetch(`/admin/api/users/${id}`, {
      method: 'PATCH',
      body: JSON.stringify({ email: null, email_verified: true }),
    });
    assert.equal(verifyNothing.status, 400);
  });
});

describe('mail in embedded mode without a mail server', () => {
  it('prints each mail and shows the newest at /demo/mail; production without SMTP_URL has email off', async () => {
    const server = await startTestServer({ demo: true });
    try {
      const { id } = await createUser(server, { username: 'pia', password: 'pia passphrase' });
      await server.adminFetch(`/admin/api/users/${id}`, {
        method: 'PATCH',
        body: JSON.stringify({ email: 'pia@example.com', email_verified: true }),
      });
      await server.adminFetch(`/admin/api/users/${id}`, { method: 'PATCH', body: JSON.stringify({ password: 'another long passphrase' }) });
      await server.mail.idle();
      assert.ok(server.printedMails.some((text) => text.includes('mail to pia@example.com: Your password was changed')));
      const page = await (await fetch(`${server.issuer}/demo/mail`)).text();
      assert.match(page, /Your password was changed · twofold/);
      assert.match(page, /pia@example\.com/);
    } finally {
      await server.close();
    }
  });
});
