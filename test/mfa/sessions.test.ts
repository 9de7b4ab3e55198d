import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as oidc from 'openid-client';
import { createManualClock } from '../../src/domain/clock.ts';
import { realStoresSkip } from '../support/env.ts';
import { Phone, registeredUser, removeAppPath, walkOwnPages as walk } from '../support/mfa.ts';
import { follow, formAction, signIn, UserAgent, type Page, type RelyingParty } from '../support/relying-party.ts';
import {
  newRealStores,
  patchUser,
  refreshingApplication,
  registerApplication,
  startTestServer,
  type TestServer,
} from '../support/server.ts';

const csrfOf = (page: Page) => /name="csrf" value="([^"]+)"/.exec(page.html)?.[1];
const isLoginPage = (page: Page) => page.html.includes('name="password"');

const isConsole = (page: Page) => page.html.includes('nav class="console"') || page.html.includes('aria-label="Console"');
const isAccount = (page: Page) => page.html.includes('data-testid="backup-codes-left"');

describe('sessions that really end, on Redis and MongoDB, on two nodes', { skip: realStoresSkip }, () => {
  // Token times are checked against the engine's own clock, so this one starts at the real time.
  const clock = createManualClock(Date.now());
  let a: TestServer;
  let b: TestServer;
  let required: RelyingParty;
  /** The same application, its token requests sent to node B. */
  let requiredOnB: oidc.Configuration;
  let off: RelyingParty;
  let people = 0;

  before(async () => {
    const real = newRealStores();
    a = await startTestServer({ real, clock });
    // Node B: the same issuer and stores, as behind a load balancer.
    b = await startTestServer({ real, clock, issuer: a.issuer });
    const registered = await refreshingApplication(a, 'required-app');
    required = registered.rp;
    const { supportsPKCE: _method, ...metadata } = required.config.serverMetadata();
    requiredOnB = new oidc.Configuration({ ...metadata, token_endpoint: `${b.url}/token` }, 'required-app', registered.secret);
    oidc.allowInsecureRequests(requiredOnB);
    off = (
      await registerApplication(a, {
        client_id: 'off-app',
        redirect_uris: ['http://127.0.0.1:9/off'],
        first_party: true,
        mfa_policy: 'off',
      })
    ).rp;
  });
  after(async () => {
    await b?.close();
    await a?.close();
  });

  /** A browser whose requests go to node B. */
  const onB = () => UserAgent.via(a.issuer, b.url);

  async function administrator() {
    const person = await registeredUser(a, required, clock, `admin${++people}`);
    await patchUser(a, person.id, { role: 'admin' });
    return person;
  }

  it('signing out of the console ends the sign-in session: the console, and an application, ask for the password and the code again', async () => {
    const { credentials, phone } = await administrator();
    const agent = new UserAgent();
    const { page: users, seen } = await walk(agent, `${a.issuer}/admin/`, credentials, phone, isConsole);
    assert.deepEqual(seen, ['login', 'code']);

    const out = await agent.postForm(new URL('/admin/sign-out', a.issuer), { csrf: csrfOf(users)! });
    assert.equal(out.status, 303);
    const signedOut = await follow(agent, new URL(out.headers.get('location')!, a.issuer), 'never:');
    assert.equal(signedOut.status, 200);
    assert.match(signedOut.html, /role="status"/, 'a calm status');
    assert.doesNotMatch(signedOut.html, /role="alert"/, 'not an error');
    assert.match(signedOut.html, /href="\/admin\/"[^>]*>Sign in again/);

    clock.advance(30_000);
    const again = await walk(agent, `${a.issuer}/admin/`, credentials, phone, isConsole);
    assert.deepEqual(again.seen, ['login', 'code'], 'the console asks for both again');
    // The same browser, at an application: its single sign-on ended with the session.
    await agent.postForm(new URL('/admin/sign-out', a.issuer), { csrf: csrfOf(again.page)! });
    clock.advance(30_000);
    const app = await signIn(agent, required, credentials, {}, phone.app);
    assert.deepEqual(app.seen, ['login', 'code']);
  });

  it('signing out of the account page ends the sign-in session, seen from the other node too', async () => {
    const { credentials, phone } = await registeredUser(a, required, clock, `user${++people}`);
    const agent = new UserAgent();
    const { page: home } = await walk(agent, `${a.issuer}/account/`, credentials, phone, isAccount);
    const out = await agent.postForm(new URL('/account/logout', a.issuer), { csrf: csrfOf(home)! });
    const signedOut = await follow(agent, new URL(out.headers.get('location')!, a.issuer), 'never:');
    assert.match(signedOut.html, /role="status"/);

    clock.advance(30_000);
    const viaB = onB();
    viaB.cookies = agent.cookies.map((cookie) => ({ ...cookie }));
    const back = await follow(viaB, `${a.issuer}/account/`, 'never:');
    assert.ok(isLoginPage(back), 'node B asks for the password');
    const app = await signIn(viaB, required, credentials, {}, phone.app);
    assert.deepEqual(app.seen, ['login', 'code']);
  });

  it("signing out at an application (the engine's sign-out) ends the account page and the console too", async () => {
    const { credentials, phone } = await administrator();
    const agent = new UserAgent();
    await walk(agent, `${a.issuer}/admin/`, credentials, phone, isConsole);
    clock.advance(30_000);
    await walk(agent, `${a.issuer}/account/`, credentials, phone, isAccount);
    const question = await follow(agent, `${a.issuer}/session/end`, 'never:');
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(question.html)?.[1];
    const confirmed = await agent.postForm(formAction(question, '/session/end/confirm'), { xsrf: xsrf!, logout: 'yes' });
    const done = await follow(agent, new URL(confirmed.headers.get('location')!, a.issuer), 'never:');
    assert.match(done.html, /role="status"[^>]*>You are signed out/);
    assert.ok(isLoginPage(await follow(agent, `${a.issuer}/account/`, 'never:')), 'the account page asks for the password');
    clock.advance(30_000);
    const again = await walk(agent, `${a.issuer}/admin/users`, credentials, phone, isConsole);
    assert.deepEqual(again.seen, ['login', 'code'], 'the console asks for both');
  });

  it('an idle console, and one past its lifetime, ask for the password and the code at the next request', async () => {
    const { credentials, phone } = await administrator();
    const agent = new UserAgent();
    await walk(agent, `${a.issuer}/admin/`, credentials, phone, isConsole);
    clock.advance((a.config.console.idleMinutes - 1) * 60_000);
    assert.ok(isConsole(await follow(agent, `${a.issuer}/admin/users`, 'never:')), 'active: still signed in');
    clock.advance(a.config.console.idleMinutes * 60_000 + 1_000);
    const lapsed = await walk(agent, `${a.issuer}/admin/users`, credentials, phone, isConsole);
    assert.deepEqual(lapsed.seen, ['login', 'code'], 'idle past the limit: both again');

    // However active, the console ends after maxHours.
    const steps = Math.ceil((a.config.console.maxHours * 60) / (a.config.console.idleMinutes - 1));
    for (let i = 0; i < steps; i++) {
      clock.advance((a.config.console.idleMinutes - 1) * 60_000);
      const page = await follow(agent, `${a.issuer}/admin/users`, 'never:');
      if (!isConsole(page)) {
        assert.ok(isLoginPage(page), `ended at step ${i}: the password page`);
        assert.ok((i + 1) * (a.config.console.idleMinutes - 1) >= a.config.console.maxHours * 60, 'not before maxHours');
        return;
      }
    }
    assert.fail('the console never ended');
  });

  it("refuses a console cookie after the administrator's password change, on either node", async () => {
    const { id, credentials, phone } = await administrator();
    const agent = new UserAgent();
    const { page } = await walk(agent, `${a.issuer}/admin/`, credentials, phone, isConsole);
    const saved = agent.cookies.map((cookie) => ({ ...cookie }));
    await patchUser(a, id, { password: 'a brand new passphrase' });

    const viaB = onB();
    viaB.cookies = saved;
    const post = await viaB.postForm(new URL(`/admin/users/${id}/unlock`, a.issuer), { csrf: csrfOf(page)! });
    assert.equal(post.status, 403, 'a change through the old cookie is refused');
    const get = await follow(agent, `${a.issuer}/admin/users`, 'never:');
    assert.ok(isLoginPage(get), 'the old cookie leads to the password page');
    const event = (await a.stores.audit.list({ userId: id, type: 'user.updated', limit: 1 })).events[0];
    assert.equal(event?.reason, 'sessions_ended');
  });

  it('a reset on node A ends the refresh tokens and the browser session: node B refuses them and the browser registers anew', async () => {
    const { id, credentials, phone } = await registeredUser(a, required, clock, `lost${++people}`);
    const browser = onB();
    const { tokens, claims } = await signIn(
      browser,
      required,
      credentials,
      { scope: 'openid offline_access', prompt: 'consent' },
      phone.app,
    );
    assert.deepEqual(claims.amr, ['pwd', 'otp', 'mfa']);
    const refreshed = await oidc.refreshTokenGrant(required.config, tokens.refresh_token!);
    assert.ok(refreshed.access_token, 'refreshes before the reset');

    const reset = await a.adminFetch(`/admin/api/users/${id}/mfa/reset`, { method: 'POST' });
    assert.equal(reset.status, 200);
    await assert.rejects(
      oidc.refreshTokenGrant(requiredOnB, refreshed.refresh_token ?? tokens.refresh_token!),
      (err: Error & { error?: string }) => err.error === 'invalid_grant',
      'node B refuses the refresh token',
    );
    await assert.rejects(oidc.refreshTokenGrant(required.config, tokens.refresh_token!), 'node A too');

    clock.advance(30_000);
    const newPhone = new Phone(clock);
    const again = await signIn(browser, required, credentials, {}, newPhone.app);
    assert.deepEqual(again.seen, ['login', 'register', 'backup-codes'], 'the old browser signs in again and registers a new app');
    const event = (await a.stores.audit.list({ userId: id, type: 'mfa.reset', limit: 1 })).events[0];
    assert.equal(event?.reason, 'sessions_ended');
  });

  it("the user's own deletion of the app ends the sessions it opened", async () => {
    const { credentials, phone } = await registeredUser(a, required, clock, `own${++people}`);
    const agent = new UserAgent();
    const { tokens } = await signIn(agent, required, credentials, { scope: 'openid offline_access', prompt: 'consent' }, phone.app);
    clock.advance(30_000);
    const { page: home } = await walk(agent, `${a.issuer}/account/`, credentials, phone, isAccount);
    const confirm = await follow(agent, `${a.issuer}${removeAppPath(home)}`, 'never:');
    const deleted = await agent.postForm(formAction(confirm, '/remove'), { csrf: csrfOf(confirm) ?? csrfOf(home)! });
    assert.equal(deleted.status, 303);
    const after = await follow(agent, new URL(deleted.headers.get('location')!, a.issuer), 'never:');
    assert.match(after.html, /role="status"[^>]*>The authenticator app was removed/);
    await assert.rejects(oidc.refreshTokenGrant(required.config, tokens.refresh_token!), 'the refresh token ended');
    assert.ok(isLoginPage(await follow(agent, `${a.issuer}/account/`, 'never:')), 'the account page asks for the password');
  });

  it("an administrator ends a user's sessions everywhere: the account page, refresh tokens and single sign-on", async () => {
    const { id, credentials, phone } = await registeredUser(a, required, clock, `ended${++people}`);
    const agent = new UserAgent();
    const { tokens } = await signIn(agent, required, credentials, { scope: 'openid offline_access', prompt: 'consent' }, phone.app);
    await walk(agent, `${a.issuer}/account/`, credentials, phone, isAccount);
    const ended = await b.adminFetch(`/admin/api/users/${id}/sessions/end`, { method: 'POST' });
    assert.equal(ended.status, 204);
    assert.equal((await b.adminFetch('/admin/api/users/nobody/sessions/end', { method: 'POST' })).status, 404);
    await assert.rejects(oidc.refreshTokenGrant(required.config, tokens.refresh_token!));
    assert.ok(isLoginPage(await follow(agent, `${a.issuer}/account/`, 'never:')), 'the account page asks for the password');
    clock.advance(30_000);
    assert.deepEqual((await signIn(agent, required, credentials, {}, phone.app)).seen, ['login', 'code']);
    const event = (await a.stores.audit.list({ userId: id, type: 'user.sessions_ended', limit: 1 })).events[0];
    assert.equal(event?.actor, 'admin');
  });

  it('a password-only re-login claims the password alone, and the account page then asks for a code before any change', async () => {
    const { id, credentials, phone } = await registeredUser(a, required, clock, `victim${++people}`);
    const agent = new UserAgent();
    const first = await signIn(agent, required, credentials, {}, phone.app);
    const factorTime = first.claims.auth_time!;
    assert.deepEqual(first.claims.amr, ['pwd', 'otp', 'mfa']);

    // Long after, someone with the password alone, at the same browser.
    clock.advance(3600_000);
    const relogin = await signIn(agent, off, credentials, { prompt: 'login' });
    assert.deepEqual(relogin.seen, ['login'], 'the off application asks the password only');
    assert.deepEqual(relogin.claims.amr, ['pwd']);
    assert.equal(relogin.claims.acr, 'urn:twofold:acr:password');
    assert.ok(relogin.claims.auth_time! > factorTime, "its auth_time is the password's");

    // Single sign-on to an MFA application keeps the old second-factor time.
    const sso = await signIn(agent, required, credentials, {}, phone.app);
    assert.deepEqual(sso.seen, [], 'single sign-on');
    assert.deepEqual(sso.claims.amr, ['pwd', 'otp', 'mfa']);
    assert.equal(sso.claims.acr, 'urn:twofold:acr:mfa');
    assert.ok(sso.claims.auth_time! <= factorTime + 1, 'auth_time is not moved past the second factor');

    // The account page: signed in by single sign-on, but an hour-old factor is not fresh.
    const { page: home, seen } = await walk(agent, `${a.issuer}/account/`, credentials, phone, isAccount);
    assert.deepEqual(seen, []);
    const confirm = await follow(agent, `${a.issuer}${removeAppPath(home)}`, 'never:');
    assert.match(confirm.html, /name="code"/, 'a code is asked');
    const without = await agent.postForm(formAction(confirm, '/remove'), { csrf: csrfOf(confirm) ?? csrfOf(home)! });
    assert.equal(without.status, 401);
    const codes = await agent.postForm(new URL('/account/backup-codes', a.issuer), { csrf: csrfOf(confirm)! });
    assert.equal(codes.status, 401, 'no new backup codes either');
    const user = await a.stores.users.findById(id);
    assert.equal(user?.mfa.apps?.length, 1, 'the app is still registered');
    assert.equal(user?.mfa.backupCodes?.hashes.length, 10, 'the backup codes are unchanged');

    // With a code, the change is made, and the session now has a fresh factor.
    const made = await agent.postForm(new URL('/account/backup-codes', a.issuer), { csrf: csrfOf(confirm)!, code: await phone.code() });
    assert.equal(made.status, 200);
  });

  it('max_age bounds the second factor too: an MFA application asking for a recent one gets the code page', async () => {
    const { credentials, phone } = await registeredUser(a, required, clock, `maxage${++people}`);
    const agent = new UserAgent();
    await signIn(agent, required, credentials, {}, phone.app);
    clock.advance(600_000);
    await signIn(agent, off, credentials, { prompt: 'login' });
    const asked = await signIn(agent, required, credentials, { max_age: '300' }, phone.app);
    assert.deepEqual(asked.seen, ['code'], 'the password is recent, the factor is not: the code is asked');
    assert.deepEqual(asked.claims.amr, ['pwd', 'otp', 'mfa']);
  });

  it('ends only its own session when many people sign out of the console at the same moment', async () => {
    const admins = await Promise.all(Array.from({ length: 6 }, () => administrator()));
    const agents = admins.map(() => new UserAgent());
    const pages = await Promise.all(
      admins.map((person, i) => walk(agents[i]!, `${a.issuer}/admin/`, person.credentials, person.phone, isConsole)),
    );
    // Half of them sign out together; the other half keep working, on either node.
    await Promise.all(
      agents.slice(0, 3).map((agent, i) => agent.postForm(new URL('/admin/sign-out', a.issuer), { csrf: csrfOf(pages[i]!.page)! })),
    );
    const after = await Promise.all(agents.map((agent) => follow(agent, `${a.issuer}/admin/users`, 'never:')));
    assert.deepEqual(
      after.map((page) => (isConsole(page) ? 'console' : isLoginPage(page) ? 'password' : page.status)),
      ['password', 'password', 'password', 'console', 'console', 'console'],
    );
  });
});
