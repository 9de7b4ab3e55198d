import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createManualClock } from '../../src/domain/clock.ts';
import { axeViolations, consoleFirstSignIn, interceptCallback, launchChromium, screenshotPath, snapshot } from '../support/browser.ts';
import { browserSkip } from '../support/env.ts';
import { exchangeCode, startAuthorization, type RelyingParty } from '../support/relying-party.ts';
import { createUser, registerApplication, startTestServer, type TestServer } from '../support/server.ts';

/**
 * Email codes as a person meets them, in Chromium, on the embedded server (mails printed):
 * the choice on the registration page, the email code page, the resend cool-down, and the
 * console's settings and user page that show and switch the factor.
 */
describe('email codes in Chromium', { skip: browserSkip }, () => {
  const clock = createManualClock(Date.now());
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  let server: TestServer;
  let rp: RelyingParty;
  before(async () => {
    browser = await launchChromium();
    server = await startTestServer({ clock });
    rp = (
      await registerApplication(server, {
        client_id: 'wiki',
        client_name: 'Team wiki',
        redirect_uris: ['http://127.0.0.1:9/cb'],
        first_party: true,
        mfa_policy: 'required',
        // The code pages then offer "don't ask again on this device" (left unticked here).
        remember_device_days: 14,
      })
    ).rp;
    await server.adminFetch('/admin/api/settings', { method: 'PATCH', body: JSON.stringify({ factors: { email: { enabled: true } } }) });
    await createUser(server, { username: 'root', password: 'root passphrase', role: 'admin' });
  });
  after(async () => {
    await browser.cleanup();
    await server.close();
  });

  /** The code of the latest mail printed after `seen` mails, once it is there. */
  const mailedCode = async (seen: number) => {
    while (server.printedMails.length === seen) await new Promise((resolve) => setTimeout(resolve, 20));
    return /Your code to sign in to Team wiki is (\d{6})\./.exec(server.printedMails.at(-1)!)![1]!;
  };

  for (const [size, width, height] of [
    ['phone', 390, 844],
    ['desktop', 1280, 900],
  ] as const) {
    it(`registers email codes instead of an app, then signs in with a mailed code (${size})`, async () => {
      const username = `mia-${size}`;
      const { id } = await createUser(server, { username, password: 'mia passphrase', email: `${username}@example.com` });
      await server.adminFetch(`/admin/api/users/${id}`, { method: 'PATCH', body: JSON.stringify({ email_verified: true }) });
      const context = await browser.newContext({ viewport: { width, height }, bypassCSP: true });
      try {
        const page = await context.newPage();
        const callback = await interceptCallback(page, 'http://127.0.0.1:9/');
        const start = await startAuthorization(rp);
        await page.goto(start.url.href);
        await page.getByLabel('Username').fill(username);
        await page.getByLabel('Password').fill('mia passphrase');
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.getByRole('heading', { name: 'Set up your authenticator app' }).waitFor();
        await page.getByRole('heading', { name: 'No authenticator app? Receive codes by email' }).waitFor();
        assert.deepEqual(await axeViolations(page), [], 'registration page with the email choice');
        await snapshot(page, { path: screenshotPath(`register-email-choice-${size}`), fullPage: true });

        const seen = server.printedMails.length;
        await page.getByTestId('choose-email').click();
        await page.getByRole('heading', { name: 'Confirm your email address' }).waitFor();
        assert.match((await page.getByRole('status').textContent())!, /We sent a code to m•••@example\.com\./);
        assert.deepEqual(await axeViolations(page), [], 'email code page, registering');
        await snapshot(page, { path: screenshotPath(`email-code-register-${size}`), fullPage: true });
        await page.getByLabel('Code from the email').fill(await mailedCode(seen));
        await page.getByRole('button', { name: 'Verify and continue' }).click();
        await page.getByRole('heading', { name: 'Email codes turned on' }).waitFor();
        assert.deepEqual(await axeViolations(page), [], 'email codes turned on');
        await snapshot(page, { path: screenshotPath(`email-codes-added-${size}`), fullPage: true });
        await page.getByTestId('continue').click();
        await page.waitForURL('http://127.0.0.1:9/**');
        const claims = (await exchangeCode(rp, start, callback())).claims()!;
        assert.deepEqual(claims.amr, ['pwd', 'email', 'mfa']);

        // The account page, by single sign-on: it shows the email codes.
        await page.goto(`${server.issuer}/account/`);
        await page.getByTestId('email-factor').waitFor();
        assert.equal(await page.getByTestId('backup-codes-left').textContent(), '10');
        assert.deepEqual(await axeViolations(page), [], 'account page with email codes');
        await snapshot(page, { path: screenshotPath(`account-email-factor-${size}`), fullPage: true });
      } finally {
        await context.close();
      }

      clock.advance(61_000);
      const again = await browser.newContext({ viewport: { width, height }, bypassCSP: true });
      try {
        const page = await again.newPage();
        const callback = await interceptCallback(page, 'http://127.0.0.1:9/');
        const start = await startAuthorization(rp);
        const seen = server.printedMails.length;
        await page.goto(start.url.href);
        await page.getByLabel('Username').fill(username);
        await page.getByLabel('Password').fill('mia passphrase');
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.getByRole('heading', { name: 'Enter the code we emailed you' }).waitFor();
        const code = await mailedCode(seen);
        assert.deepEqual(await axeViolations(page), [], 'email code page');
        await snapshot(page, { path: screenshotPath(`email-code-${size}`), fullPage: true });
        await page.getByTestId('resend').click();
        assert.match((await page.getByRole('alert').textContent())!, /A code was sent less than a minute ago/);
        assert.deepEqual(await axeViolations(page), [], 'email code page, resend too soon');
        await snapshot(page, { path: screenshotPath(`email-code-resend-wait-${size}`), fullPage: true });
        await page.getByLabel('Code from the email').fill(code);
        await page.getByRole('button', { name: 'Continue' }).click();
        await page.waitForURL('http://127.0.0.1:9/**');
        assert.deepEqual((await exchangeCode(rp, start, callback())).claims()!.amr, ['pwd', 'email', 'mfa']);
      } finally {
        await again.close();
      }
    });
  }

  it('the console switches email codes, shows a user’s factor, and lets an application accept the app only', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
    try {
      const page = await context.newPage();
      await consoleFirstSignIn(page, server.issuer, { username: 'root', password: 'root passphrase' }, Math.floor(clock.now() / 1000));
      await page.goto(`${server.issuer}/admin/settings`);
      assert.equal(await page.getByLabel('Codes by email').isChecked(), true);
      await page.getByLabel('Authenticator app (TOTP)').uncheck();
      await page.getByLabel('Codes by email').uncheck();
      await page.getByLabel('Security keys and passkeys (WebAuthn)').uncheck();
      await page.getByRole('button', { name: 'Save settings' }).click();
      assert.match((await page.locator('#factorTotp-error').textContent())!, /Keep at least one second factor/);
      assert.deepEqual(await axeViolations(page), [], 'settings with a factor problem');
      await snapshot(page, { path: screenshotPath('console-settings-factors-error-desktop'), fullPage: true });
      const settings = (await (await server.adminFetch('/admin/api/settings')).json()) as { factors: unknown };
      assert.deepEqual(
        settings.factors,
        { totp: { enabled: true }, email: { enabled: true }, webauthn: { enabled: true } },
        'nothing half-written',
      );

      const users = (await (await server.adminFetch('/admin/api/users?q=mia-phone')).json()) as { users: { id: string }[] };
      await page.goto(`${server.issuer}/admin/users/${users.users[0]!.id}`);
      assert.equal(await page.getByTestId('factors').textContent(), 'Codes by email');
      await snapshot(page, { path: screenshotPath('console-user-email-factor-desktop'), fullPage: true });

      await page.goto(`${server.issuer}/admin/clients/wiki`);
      await page.getByLabel('Second factors accepted').selectOption('totp');
      await page.getByRole('button', { name: 'Save' }).first().click();
      await page.getByText('The application was saved.').waitFor();
      const wiki = (await (await server.adminFetch('/admin/api/clients/wiki')).json()) as { mfa_factors?: string[] };
      assert.deepEqual(wiki.mfa_factors, ['totp']);
      assert.deepEqual(await axeViolations(page), [], 'application page');
      await snapshot(page, { path: screenshotPath('console-client-factors-desktop'), fullPage: true });
    } finally {
      await context.close();
    }
  });
});
