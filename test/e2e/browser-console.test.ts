import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { createManualClock } from '../../src/domain/clock.ts';
import { axeViolations, consoleFirstSignIn, launchChromium, screenshotPath, snapshot } from '../support/browser.ts';
import { browserSkip } from '../support/env.ts';
import { Phone, wrongCode } from '../support/mfa.ts';
import { follow, formAction, signIn, startAuthorization, UserAgent, type RelyingParty } from '../support/relying-party.ts';
import { createUser, registerApplication, startTestServer, type TestServer } from '../support/server.ts';

describe('the web admin console in Chromium', { skip: browserSkip }, () => {
  const clock = createManualClock(Date.now());
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  let server: TestServer;
  let rp: RelyingParty;
  const users: Record<string, { id: string; credentials: { username: string; password: string }; phone: Phone }> = {};

  before(async () => {
    browser = await launchChromium();
    server = await startTestServer({ clock });
    rp = (
      await registerApplication(server, {
        client_id: 'intranet',
        redirect_uris: ['http://127.0.0.1:9/cb'],
        first_party: true,
        mfa_policy: 'required',
      })
    ).rp;
    for (const username of ['jo-smith', 'major-jones', 'lou-locked', 'kim']) {
      const credentials = { username, password: `${username} passphrase` };
      const { id } = await createUser(server, credentials);
      users[username] = { id, credentials, phone: new Phone(clock) };
      await signIn(new UserAgent(), rp, credentials, {}, users[username]!.phone.app);
    }
    clock.advance(30_000);
    // Lou gets locked out.
    const agent = new UserAgent();
    const login = await follow(agent, (await startAuthorization(rp)).url, rp.redirectUri);
    const posted = await agent.postForm(formAction(login, '/login'), users['lou-locked']!.credentials);
    const codePage = await follow(agent, new URL(posted.headers.get('location')!, login.url), rp.redirectUri);
    for (let i = 0; i < 5; i++)
      await agent.postForm(formAction(codePage, '/code'), { code: wrongCode(await users['lou-locked']!.phone.code()) });
    const admin = await server.adminFetch('/admin/api/users', {
      method: 'POST',
      body: JSON.stringify({ username: 'boss', password: 'boss passphrase', role: 'admin' }),
    });
    assert.equal(admin.status, 201);
  });
  after(async () => {
    await browser.cleanup();
    await server.close();
  });

  /** Signs in to the console through twofold's pages, registering an app the first time. */
  const consoleSignIn = (page: Page, username: string) =>
    consoleFirstSignIn(page, server.issuer, { username, password: `${username} passphrase` }, clock.now() / 1000);

  const apiUser = async (id: string) =>
    (await (await server.adminFetch(`/admin/api/users/${id}`)).json()) as {
      mfa: { status: string; locked: boolean; exempt: boolean };
      disabled: boolean;
    };

  it('lets an administrator find, reset and unlock users, switch the second factor, and add an application', async () => {
    const context: BrowserContext = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
    try {
      const page = await context.newPage();
      await consoleSignIn(page, 'boss');
      await page.waitForURL(`${server.issuer}/admin/users`);

      await page.locator('input[name="q"]').fill('*jo*');
      await page.getByRole('button', { name: 'Search' }).click();
      const rows = await page.getByTestId('user-row').locator('th a').allTextContents();
      assert.deepEqual(rows, ['jo-smith', 'major-jones'], 'each row holds its username');
      assert.deepEqual(await axeViolations(page), [], 'users page');
      await snapshot(page, { path: screenshotPath('console-users-desktop'), fullPage: true });

      // Reset Jo's app: her next sign-in registers anew.
      await page.getByRole('link', { name: 'jo-smith' }).click();
      assert.deepEqual(await axeViolations(page), [], 'user page');
      await snapshot(page, { path: screenshotPath('console-user-desktop'), fullPage: true });
      await page.getByTestId('reset-mfa').click();
      assert.deepEqual(await axeViolations(page), [], 'confirmation page');
      await snapshot(page, { path: screenshotPath('console-confirm-desktop'), fullPage: true });
      await page.getByTestId('confirm').click();
      await page.getByText('Recent events').waitFor();
      assert.equal((await apiUser(users['jo-smith']!.id)).mfa.status, 'none');
      const next = await signIn(new UserAgent(), rp, users['jo-smith']!.credentials, {}, new Phone(clock).app);
      assert.deepEqual(next.seen, ['login', 'register', 'backup-codes']);

      // Unlock Lou.
      assert.equal((await apiUser(users['lou-locked']!.id)).mfa.locked, true);
      await page.goto(`${server.issuer}/admin/users?q=lou*`);
      await page.getByRole('link', { name: 'lou-locked' }).click();
      await page.getByTestId('unlock').click();
      await page.getByTestId('confirm').click();
      await page.getByText('Recent events').waitFor();
      assert.equal((await apiUser(users['lou-locked']!.id)).mfa.locked, false);
      const events = await (await server.adminFetch(`/admin/api/audit?user=${users['lou-locked']!.id}&type=mfa.unlocked`)).json();
      assert.equal((events as { events: { actor: string }[] }).events[0]!.actor, 'console:boss', 'the administrator is the actor');

      // Sign Kim out everywhere (a lost laptop).
      await page.goto(`${server.issuer}/admin/users/${users.kim!.id}`);
      await page.getByTestId('end-sessions').click();
      await page.getByRole('heading', { name: 'Sign this user out everywhere?' }).waitFor();
      assert.deepEqual(await axeViolations(page), [], 'sign-out-everywhere confirmation');
      await snapshot(page, { path: screenshotPath('console-end-sessions-desktop'), fullPage: true });
      await page.getByTestId('confirm').click();
      await page.getByText('Recent events').waitFor();
      const ended = await (await server.adminFetch(`/admin/api/audit?user=${users.kim!.id}&type=user.sessions_ended`)).json();
      assert.equal((ended as { events: { actor: string }[] }).events[0]!.actor, 'console:boss');

      // The master switch, off and on again.
      await page.getByRole('link', { name: 'Settings' }).click();
      assert.deepEqual(await axeViolations(page), [], 'settings page');
      await snapshot(page, { path: screenshotPath('console-settings-desktop'), fullPage: true });
      await page.locator('input[name="enabled"]').uncheck();
      await page.getByRole('button', { name: 'Save settings' }).click();
      await page.getByText('Saved.').waitFor();
      assert.equal(((await (await server.adminFetch('/admin/api/settings')).json()) as { enabled: boolean }).enabled, false);
      assert.deepEqual((await signIn(new UserAgent(), rp, users.kim!.credentials)).seen, ['login'], 'nobody is asked while it is off');
      await page.locator('input[name="enabled"]').check();
      await page.getByRole('button', { name: 'Save settings' }).click();
      await page.getByText('Saved.').waitFor();
      assert.equal(((await (await server.adminFetch('/admin/api/settings')).json()) as { enabled: boolean }).enabled, true);

      // A new application that requires the second factor.
      await page.getByRole('link', { name: 'Applications', exact: true }).click();
      await page.getByLabel('Client id').fill('crm');
      await page.getByLabel('Name people see').fill('Customer records');
      await page.getByLabel('Redirect URIs, one per line').fill('https://crm.example.com/cb');
      await page.getByLabel('Second factor', { exact: true }).selectOption('required');
      await page.getByRole('button', { name: 'Add the application' }).click();
      assert.ok((await page.getByTestId('client-secret').textContent())!.length >= 32, 'the secret, shown once');
      assert.deepEqual(await axeViolations(page), [], 'applications page');
      await snapshot(page, { path: screenshotPath('console-clients-desktop'), fullPage: true });
      const crm = (await (await server.adminFetch('/admin/api/clients/crm')).json()) as { mfa_policy: string; client_name: string };
      assert.deepEqual([crm.mfa_policy, crm.client_name], ['required', 'Customer records']);
      await page.getByRole('heading', { name: 'Customer records' }).waitFor();
      assert.match((await page.getByTestId('flash').textContent())!, /The application Customer records was added/);
      assert.deepEqual(await axeViolations(page), [], 'application page');

      await page.getByRole('link', { name: 'Audit log' }).click();
      await page.getByLabel('User').fill('lou-locked');
      await page.getByRole('button', { name: 'Show' }).click();
      assert.match((await page.locator('table.list').textContent())!, /Unlocked/);
      assert.deepEqual(await axeViolations(page), [], 'audit page');
      await snapshot(page, { path: screenshotPath('console-audit-desktop'), fullPage: true });

      // A form posted without its CSRF token changes nothing.
      const forged = await context.request.post(`${server.issuer}/admin/settings`, {
        form: { enabled: 'off', defaultPolicy: 'off' },
        maxRedirects: 0,
      });
      assert.equal(forged.status(), 403);
      assert.equal(((await (await server.adminFetch('/admin/api/settings')).json()) as { enabled: boolean }).enabled, true);

      // At a phone's width: the same pages, usable.
      await page.setViewportSize({ width: 390, height: 844 });
      for (const [path, name] of [
        ['/admin/users', 'users'],
        [`/admin/users/${users.kim!.id}`, 'user'],
        [`/admin/users/${users.kim!.id}/end-sessions`, 'end-sessions'],
        ['/admin/clients', 'clients'],
        ['/admin/settings', 'settings'],
        ['/admin/audit', 'audit'],
      ]) {
        await page.goto(`${server.issuer}${path}`);
        assert.deepEqual(await axeViolations(page), [], `${name} at 390 px`);
        await snapshot(page, { path: screenshotPath(`console-${name}-phone`), fullPage: true });
      }

      await page.getByRole('button', { name: 'Sign out boss' }).click();
      await page.getByRole('heading', { name: 'Signed out' }).waitFor();
      assert.match((await page.getByRole('status').textContent())!, /signed out of the console and of your sign-in/);
      assert.equal(await page.getByRole('alert').count(), 0, 'a calm status, not an error');
      assert.deepEqual(await axeViolations(page), [], 'signed-out page at 390 px');
      await snapshot(page, { path: screenshotPath('console-signed-out-phone'), fullPage: true });
      await page.setViewportSize({ width: 1280, height: 900 });
      assert.deepEqual(await axeViolations(page), [], 'signed-out page');
      await snapshot(page, { path: screenshotPath('console-signed-out-desktop'), fullPage: true });
      const afterSignOut = await context.request.get(`${server.issuer}/admin/users`, { maxRedirects: 0 });
      assert.equal(afterSignOut.status(), 302, 'signed out: the console sends to sign in again');
      // Its link leads to the password page, not straight back in.
      await page.getByRole('link', { name: 'Sign in again' }).click();
      await page.getByLabel('Password').waitFor();
      assert.equal(await page.getByTestId('backup-codes-left').count(), 0);
    } finally {
      await context.close();
    }
  });

  it('refuses a user who is not an administrator right after the password, before any registration, and lets them in once they are one', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, bypassCSP: true });
    try {
      const { id } = await createUser(server, { username: 'nadine', password: 'nadine passphrase' });
      const page = await context.newPage();
      await page.goto(`${server.issuer}/admin/`);
      await page.getByLabel('Username').fill('nadine');
      await page.getByLabel('Password').fill('nadine passphrase');
      const [answer] = await Promise.all([
        page.waitForResponse((response) => response.url().includes('/login') && response.request().method() === 'POST'),
        page.getByRole('button', { name: 'Sign in' }).click(),
      ]);
      assert.equal(answer.status(), 403);
      await page.getByRole('heading', { name: 'The console is for administrators' }).waitFor();
      assert.equal(await page.getByTestId('totp-secret').count(), 0, 'no registration was offered');
      assert.equal(await page.getByRole('link', { name: 'Your account' }).getAttribute('href'), '/account/');
      assert.equal(await page.getByRole('link', { name: 'Sign out' }).count(), 1);
      assert.equal((await apiUser(id)).mfa.status, 'none', 'nothing was registered, not even pending');
      assert.deepEqual(await axeViolations(page), [], 'refusal at 390 px');
      await snapshot(page, { path: screenshotPath('console-not-admin-phone'), fullPage: true });
      await page.setViewportSize({ width: 1280, height: 900 });
      await snapshot(page, { path: screenshotPath('console-not-admin-desktop'), fullPage: true });
      const refusals = (await (await server.adminFetch(`/admin/api/audit?user=${id}&type=signin.refused`)).json()) as {
        events: { reason: string }[];
      };
      assert.deepEqual(
        refusals.events.map((e) => e.reason),
        ['not_admin'],
      );

      // Made an administrator, the same browser signs in to the console.
      assert.equal(
        (await server.adminFetch(`/admin/api/users/${id}`, { method: 'PATCH', body: JSON.stringify({ role: 'admin' }) })).status,
        200,
      );
      await consoleSignIn(page, 'nadine');
      await page.waitForURL(`${server.issuer}/admin/users`);
      await page.getByRole('button', { name: 'Sign out nadine' }).waitFor();
    } finally {
      await context.close();
    }
  });
});
