import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { createManualClock } from '../../src/domain/clock.ts';
import { checkPage, consoleFirstSignIn, launchChromium, startApplicationPage } from '../support/browser.ts';
import { browserSkip } from '../support/env.ts';
import { registeredUser } from '../support/mfa.ts';
import { exchangeCode, startAuthorization, type RelyingParty } from '../support/relying-party.ts';
import { createUser, registerApplication, startTestServer, type TestServer } from '../support/server.ts';

const DAY = 86_400_000;

/**
 * "Don't ask again on this device" as a person meets it, in Chromium: the box on the code
 * page, the browser signing in with its password alone afterwards, the account page that
 * lists it and forgets it, and the console's view of it.
 */
describe('remembered browsers in Chromium', { skip: browserSkip }, () => {
  const clock = createManualClock(Date.now());
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  let server: TestServer;
  let rp: RelyingParty;
  let application: Awaited<ReturnType<typeof startApplicationPage>>;
  let callbackPrefix: string;
  before(async () => {
    browser = await launchChromium();
    server = await startTestServer({ clock });
    application = await startApplicationPage();
    callbackPrefix = application.prefix;
    rp = (
      await registerApplication(server, {
        client_id: 'crm',
        client_name: 'Customer records',
        redirect_uris: [`${callbackPrefix}cb`],
        first_party: true,
        mfa_policy: 'required',
        remember_device_days: 30,
      })
    ).rp;
  });
  after(async () => {
    await browser.cleanup();
    await server.close();
    application.close();
  });

  async function passwordStep(page: Page, url: string, credentials: { username: string; password: string }) {
    await page.goto(url);
    await page.getByLabel('Username').fill(credentials.username);
    await page.getByLabel('Password').fill(credentials.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  for (const [size, width, height] of [
    ['phone', 390, 844],
    ['desktop', 1280, 900],
  ] as const) {
    it(`offers "don't ask again", then signs the browser in with its password alone, and forgets it on the account page (${size})`, async () => {
      const { credentials, phone } = await registeredUser(server, rp, clock, `ria-${size}`);
      const context = await browser.newContext({ viewport: { width, height }, bypassCSP: true });
      try {
        const page = await context.newPage();
        const start = await startAuthorization(rp);
        await passwordStep(page, start.url.href, credentials);
        await page.getByRole('heading', { name: 'Enter your code' }).waitFor();
        const box = page.getByLabel('Don’t ask again on this device for 30 days');
        assert.equal(await box.isChecked(), false, 'unticked until the person ticks it');
        await checkPage(page, `code-remember-${size}`, 'code page with "don’t ask again"');
        await page.getByLabel('Code', { exact: true }).fill(await phone.code());
        await box.check();
        await page.getByRole('button', { name: 'Continue' }).click();
        await page.waitForURL(`${callbackPrefix}**`);
        const first = (await exchangeCode(rp, start, new URL(page.url()))).claims()!;
        assert.deepEqual(first.amr, ['pwd', 'otp', 'mfa']);

        // Days later, the sign-in session over (its cookies gone), the same browser: the password alone.
        clock.advance(3 * DAY);
        await context.clearCookies({ name: /^(?!twofold_device$)/ });
        const again = await startAuthorization(rp);
        await passwordStep(page, again.url.href, credentials);
        await page.waitForURL(`${callbackPrefix}**`);
        const second = (await exchangeCode(rp, again, new URL(page.url()))).claims()!;
        assert.deepEqual([second.acr, second.amr], ['urn:twofold:acr:password', ['pwd']]);

        // The account page (which always asks the code) lists the browser, and forgets it.
        clock.advance(30_000);
        await page.goto(`${server.issuer}/account/`);
        await page.getByLabel('Code', { exact: true }).fill(await phone.code());
        assert.equal(await page.getByTestId('remember').count(), 0, 'the account page does not remember browsers');
        await page.getByRole('button', { name: 'Continue' }).click();
        await page.getByRole('heading', { name: 'Remembered browsers' }).waitFor();
        const item = page.getByTestId('browser');
        assert.match((await item.textContent())!, /Chrome on Linux \(this browser\), remembered/);
        await checkPage(page, `account-browsers-${size}`, 'account page with a remembered browser');
        await page.getByRole('button', { name: 'Forget Chrome on Linux (this browser)' }).click();
        await page.getByRole('heading', { name: 'Your account' }).waitFor();
        assert.equal(await page.getByTestId('browser').count(), 0);
        assert.equal((await context.cookies()).filter((cookie) => cookie.name === 'twofold_device').length, 0);
      } finally {
        await context.close();
      }
    });
  }

  it('shows an administrator the remembered browsers and the setting, at both widths', async () => {
    const { id, credentials, phone } = await registeredUser(server, rp, clock, 'sam');
    // Remembered from the pages (no browser needed for this part).
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
    try {
      const page = await context.newPage();
      const start = await startAuthorization(rp);
      await passwordStep(page, start.url.href, credentials);
      await page.getByLabel('Code', { exact: true }).fill(await phone.code());
      await page.getByLabel('Don’t ask again on this device for 30 days').check();
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.waitForURL(`${callbackPrefix}**`);
    } finally {
      await context.close();
    }
    const admin = { username: 'root-remember', password: 'root-remember passphrase' };
    await createUser(server, { ...admin, role: 'admin' });
    const adminContext = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
    try {
      const page = await adminContext.newPage();
      await consoleFirstSignIn(page, server.issuer, admin, Math.floor(clock.now() / 1000));
      for (const [size, width, height] of [
        ['phone', 390, 844],
        ['desktop', 1280, 900],
      ] as const) {
        await page.setViewportSize({ width, height });
        await page.goto(`${server.issuer}/admin/users/${id}`);
        await page.getByTestId('browsers').waitFor();
        assert.match((await page.getByTestId('browser').textContent())!, /Chrome on Linux at crm, remembered/);
        await checkPage(page, `console-user-browsers-${size}`, 'console user page with remembered browsers');
        await page.goto(`${server.issuer}/admin/clients/crm`);
        assert.equal(await page.getByLabel('“Don’t ask again on this device” for (days)').inputValue(), '30');
        await checkPage(page, `console-client-remember-${size}`, 'console application page with the remembered-browser setting');
      }
      // Forgotten from the console: the user's page no longer lists it.
      await page.goto(`${server.issuer}/admin/users/${id}`);
      await page.getByTestId('forget-browsers').click();
      await page.getByRole('button', { name: 'Forget the browsers' }).click();
      await page.getByText('The remembered browsers of sam were forgotten').waitFor();
      assert.equal(await page.getByTestId('browser').count(), 0);
      // The user's app, listed by name, and removed from the console.
      assert.match((await page.getByTestId('app').textContent())!, /Authenticator app, added/);
      await page.getByTestId('remove-app').click();
      await page.getByRole('heading', { name: 'Remove the authenticator app “Authenticator app”?' }).waitFor();
      await checkPage(page, 'console-remove-app-desktop', 'console confirmation of an app’s removal');
      await page.getByRole('button', { name: 'Remove the authenticator app' }).click();
      await page.getByText('The authenticator app “Authenticator app” of sam was removed and their sessions ended.').waitFor();
      assert.equal(await page.getByTestId('app').count(), 0);
    } finally {
      await adminContext.close();
    }
  });
});
