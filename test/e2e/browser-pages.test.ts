import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { createManualClock } from '../../src/domain/clock.ts';
import { axeViolations, interceptCallback, launchChromium, scanQrCode, screenshotPath, snapshot } from '../support/browser.ts';
import { browserSkip } from '../support/env.ts';
import { wrongCode } from '../support/mfa.ts';
import { authenticatorCode, decodeBase32 } from '../support/rfc6238.ts';
import { startAuthorization, type RelyingParty } from '../support/relying-party.ts';
import { createUser, patchSettings, registerApplication, startTestServer, type TestServer } from '../support/server.ts';

/**
 * The sign-in pages as people see them, on a phone (390 px) and a desktop (1280 px): the
 * organisation and the application named, the hooks kept, no resubmission after a refused
 * form, and no accessibility violation in any page or state. Screenshots of each.
 */
describe('sign-in pages in Chromium', { skip: browserSkip }, () => {
  const clock = createManualClock(Date.now());
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  let server: TestServer;
  let rp: RelyingParty;

  before(async () => {
    browser = await launchChromium();
    server = await startTestServer({ clock });
    await patchSettings(server, { brand: { name: 'Acme Corp', logoUrl: null }, issuerLabel: 'Acme' });
    rp = (
      await registerApplication(server, {
        client_id: 'portal',
        client_name: 'Staff portal',
        redirect_uris: ['http://127.0.0.1:9/portal/cb'],
        first_party: true,
        mfa_policy: 'required',
      })
    ).rp;
  });
  after(async () => {
    await browser.cleanup();
    await server.close();
  });

  for (const [width, height, size] of [
    [390, 844, 'phone'],
    [1280, 900, 'desktop'],
  ] as const) {
    it(`walks every page and state with no violation (${size})`, async () => {
      const username = `ines-${size}`;
      await createUser(server, { username, password: `${username} passphrase` });
      // bypassCSP lets the test inject axe-core; the pages' own policy is tested elsewhere.
      const context: BrowserContext = await browser.newContext({ viewport: { width, height }, bypassCSP: true });
      const check = async (page: Page, name: string) => {
        await snapshot(page, { path: screenshotPath(`${name}-${size}`), fullPage: true });
        assert.deepEqual(await axeViolations(page), [], `${name} at ${size} width`);
      };
      try {
        const page = await context.newPage();
        await interceptCallback(page, 'http://127.0.0.1:9/');
        await page.goto((await startAuthorization(rp)).url.href);

        // The login page names the organisation and the application.
        assert.equal(await page.locator('header.brand').textContent(), 'Acme Corp');
        assert.match(await page.title(), /· Acme Corp$/);
        assert.match((await page.locator('main').textContent())!, /Staff portal/);
        await check(page, 'pages-login');

        // A wrong password: the page comes back by a redirect, with the error once.
        await page.getByLabel('Username').fill(username);
        await page.getByLabel('Password').fill('not my password');
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.getByRole('alert').waitFor();
        assert.equal(await page.getByLabel('Password').getAttribute('aria-invalid'), 'true');
        assert.equal(await page.getByLabel('Password').getAttribute('aria-describedby'), 'form-error');
        // The field in error has the focus (autofocus applies once the page has loaded).
        await page.waitForFunction(() => document.activeElement?.id === 'password');
        await check(page, 'pages-login-wrong-password');
        const reloaded = await page.reload();
        assert.equal(reloaded?.request().method(), 'GET', 'Reload asks for the page, and sends no form again');
        assert.equal(await page.getByRole('alert').count(), 0, 'the error showed once');

        await page.getByLabel('Username').fill(username);
        await page.getByLabel('Password').fill(`${username} passphrase`);
        await page.getByRole('button', { name: 'Sign in' }).click();

        // Registration: the QR code at whole pixels, the same URI behind the phone's link.
        await page.getByTestId('totp-qr').waitFor();
        const qr = page.getByTestId('totp-qr');
        const { natural, shown } = await qr.evaluate((img: HTMLImageElement) => ({
          natural: img.naturalWidth,
          shown: img.getBoundingClientRect().width,
        }));
        assert.equal(shown, natural, 'the QR code is shown at the size it was drawn');
        const link = page.getByTestId('otpauth-link');
        const scanned = await scanQrCode(context, await snapshot(page, { fullPage: true }));
        assert.equal(await link.getAttribute('href'), scanned, 'the link opens what the QR code holds');
        assert.equal(await link.isVisible(), size === 'phone', 'the link shows on the phone that shows the page');
        assert.match((await page.locator('main').textContent())!, /Time-based, 6 digits, every 30 seconds/);
        assert.match((await page.locator('main').textContent())!, /This page stays valid for another (9|10) minutes\./);
        const code = page.locator('input[name="code"]');
        for (const [attribute, value] of [
          ['autocomplete', 'one-time-code'],
          ['inputmode', 'numeric'],
          ['pattern', '[0-9 ]*'],
        ]) {
          assert.equal(await code.getAttribute(attribute!), value);
        }
        await check(page, 'pages-register');
        const secret = (await page.getByTestId('totp-secret').textContent())!.replaceAll(' ', '');
        const codeNow = () => authenticatorCode(decodeBase32(secret), clock.now() / 1000);

        await code.fill(wrongCode(await codeNow()));
        await page.getByRole('button', { name: 'Verify and continue' }).click();
        await page.getByRole('alert').waitFor();
        await check(page, 'pages-register-wrong-code');
        assert.equal((await page.goBack())?.request().method() ?? 'GET', 'GET', 'Back asks for a page, and sends no form again');
        await page.goForward();

        await page.locator('input[name="code"]').fill(await codeNow());
        await page.getByRole('button', { name: 'Verify and continue' }).click();
        await page.getByRole('heading', { name: 'Authenticator app added' }).waitFor();
        await check(page, 'pages-registered');
        await page.getByTestId('continue').click();
        await page.waitForURL('http://127.0.0.1:9/**');

        // The code page, its backup-code form, a wrong code, and the lock.
        clock.advance(30_000);
        await page.goto((await startAuthorization(rp, { prompt: 'login' })).url.href);
        await page.getByLabel('Username').fill(username);
        await page.getByLabel('Password').fill(`${username} passphrase`);
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.getByLabel('Code', { exact: true }).waitFor();
        await check(page, 'pages-code');
        await page.getByRole('link', { name: 'Use a backup code instead' }).click();
        await page.getByLabel('Backup code').waitFor();
        assert.equal(await page.getByLabel('Backup code').getAttribute('name'), 'code');
        await check(page, 'pages-code-backup');
        await page.getByLabel('Backup code').fill('nope');
        await page.getByRole('button', { name: 'Continue' }).click();
        await page.getByRole('alert').waitFor();
        assert.equal(await page.getByLabel('Backup code').count(), 1, 'the backup form comes back after a wrong backup code');
        await check(page, 'pages-code-backup-wrong');
        await page.getByRole('link', { name: 'Use your authenticator app instead' }).click();
        for (let i = 0; i < 4; i++) {
          await page.getByLabel('Code', { exact: true }).fill(wrongCode(await codeNow()));
          await page.getByRole('button', { name: 'Continue' }).click();
          await page.waitForLoadState();
        }
        await page.getByRole('heading', { name: 'Account locked' }).waitFor();
        await check(page, 'pages-locked');
        clock.advance(900_000);

        // Pages outside a sign-in.
        await page.goto(`${server.issuer}/interaction/no-such-sign-in`);
        assert.match((await page.locator('h1').textContent())!, /Sign-in expired/);
        await check(page, 'pages-expired');
        const missing = await page.goto(`${server.issuer}/no/such/page`);
        assert.equal(missing?.status(), 404);
        assert.equal(await page.locator('h1').textContent(), 'Page not found');
        await check(page, 'pages-404');
        const notAllowed = await page.goto(`${server.issuer}/interaction/abc/login`);
        assert.equal(notAllowed?.status(), 405);
        assert.equal(await page.locator('h1').textContent(), 'This page cannot be opened that way');
        await check(page, 'pages-405');
        await page.goto(`${server.issuer}/`);
        assert.equal(await page.locator('h1').textContent(), 'Acme Corp sign-in');
        await check(page, 'pages-home');
      } finally {
        await context.close();
      }
    });
  }

  it('signs in and registers with JavaScript switched off', async () => {
    await createUser(server, { username: 'nojs', password: 'nojs passphrase' });
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, javaScriptEnabled: false });
    try {
      const page = await context.newPage();
      const callback = await interceptCallback(page, 'http://127.0.0.1:9/');
      await page.goto((await startAuthorization(rp)).url.href);
      await page.getByLabel('Username').fill('nojs');
      await page.getByLabel('Password').fill('nojs passphrase');
      await page.getByRole('button', { name: 'Sign in' }).click();
      const secret = (await page.getByTestId('totp-secret').textContent())!.replaceAll(' ', '');
      await page.locator('input[name="code"]').fill(await authenticatorCode(decodeBase32(secret), clock.now() / 1000));
      await page.getByRole('button', { name: 'Verify and continue' }).click();
      await page.getByTestId('backup-code').first().waitFor();
      assert.equal(await page.getByTestId('backup-code').count(), 10, 'the codes are on the page without scripts');
      assert.equal(await page.getByRole('button', { name: 'Copy to clipboard' }).isVisible(), false, 'no button that needs a script');
      await page.getByTestId('continue').click();
      await page.waitForURL('http://127.0.0.1:9/**');
      assert.ok(callback().searchParams.get('code'));
    } finally {
      await context.close();
    }
  });
});
