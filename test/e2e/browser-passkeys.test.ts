import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createManualClock } from '../../src/domain/clock.ts';
import { addVirtualAuthenticator, checkPage, launchChromium, screenshotPath, snapshot, startApplicationPage } from '../support/browser.ts';
import { browserSkip } from '../support/env.ts';
import { registeredUser } from '../support/mfa.ts';
import { exchangeCode, startAuthorization, type RelyingParty } from '../support/relying-party.ts';
import { createUser, patchSettings, registerApplication, startTestServer, type TestServer } from '../support/server.ts';

/**
 * Signing in with a passkey instead of the password, in Chromium, with the browser's
 * virtual authenticator standing in for a phone's or laptop's passkey (discoverable, and
 * verifying its user): the passkey is made during a sign-in, then signs in from the login
 * page with no username or password; without scripts the login page is the password form.
 */
describe('passkey sign-in in Chromium', { skip: browserSkip }, () => {
  const clock = createManualClock(Date.now());
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  let server: TestServer;
  let rp: RelyingParty;
  let application: Awaited<ReturnType<typeof startApplicationPage>>;
  let callbackPrefix: string;
  before(async () => {
    browser = await launchChromium();
    server = await startTestServer({ clock });
    await patchSettings(server, { passkeySignIn: { enabled: true } });
    application = await startApplicationPage();
    callbackPrefix = application.prefix;
    rp = (
      await registerApplication(server, {
        client_id: 'crm',
        client_name: 'Customer records',
        redirect_uris: [`${callbackPrefix}cb`],
        first_party: true,
        mfa_policy: 'required',
        passkey_sign_in: true,
      })
    ).rp;
  });
  after(async () => {
    await browser.cleanup();
    await server.close();
    application.close();
  });

  for (const [size, width, height] of [
    ['phone', 390, 844],
    ['desktop', 1280, 900],
  ] as const) {
    it(`makes a passkey during a sign-in, then signs in with it alone from the login page (${size})`, async () => {
      const username = `pia-${size}`;
      const { id } = await createUser(server, { username, password: `${username} passphrase` });
      const context = await browser.newContext({ viewport: { width, height }, bypassCSP: true });
      try {
        const page = await context.newPage();
        const cdp = await context.newCDPSession(page);
        const authenticatorId = await addVirtualAuthenticator(cdp, 'internal');
        const first = await startAuthorization(rp);
        await page.goto(first.url.href);
        await page.getByLabel('Username').fill(username);
        await page.getByLabel('Password').fill(`${username} passphrase`);
        await page.getByRole('button', { name: 'Sign in', exact: true }).click();
        await page.getByTestId('choose-key').click();
        await page.getByLabel('Name for this key').fill('Laptop passkey');
        await page.getByTestId('key-start').click();
        await page.getByTestId('continue').click();
        await page.waitForURL(`${callbackPrefix}**`);
        await exchangeCode(rp, first, new URL(page.url()));

        // Signed out (the session's cookies gone): the login page offers the passkey.
        clock.advance(60_000);
        await context.clearCookies();
        const start = await startAuthorization(rp);
        await page.goto(start.url.href);
        const offer = page.getByRole('button', { name: 'Sign in with a passkey' });
        await offer.waitFor();
        await checkPage(page, `login-passkey-${size}`, 'login page with the passkey offer');
        // The person does not confirm it is them (no fingerprint, no PIN): no passkey is used, and the page says so.
        await cdp.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified: false });
        await offer.click();
        await page.getByText('No passkey was used').waitFor();
        await checkPage(page, `login-passkey-cancelled-${size}`, 'login page after a passkey not used');
        await cdp.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified: true });
        await offer.click();
        await page.waitForURL(`${callbackPrefix}**`);
        const claims = (await exchangeCode(rp, start, new URL(page.url()))).claims()!;
        assert.deepEqual([claims.sub, claims.acr, claims.amr], [id, 'urn:twofold:acr:mfa', ['hwk', 'user', 'mfa']]);
      } finally {
        await context.close();
      }
    });
  }

  for (const [size, width, height] of [
    ['phone', 390, 844],
    ['desktop', 1280, 900],
  ] as const) {
    it(`adds a passkey on the account page beside the app, which then signs in alone (${size})`, async () => {
      const { credentials, phone } = await registeredUser(server, rp, clock, `lou-${size}`);
      const context = await browser.newContext({ viewport: { width, height }, bypassCSP: true });
      try {
        const page = await context.newPage();
        const cdp = await context.newCDPSession(page);
        const laptop = await addVirtualAuthenticator(cdp, 'internal');
        await page.goto(`${server.issuer}/account/`);
        await page.getByLabel('Username').fill(credentials.username);
        await page.getByLabel('Password').fill(credentials.password);
        await page.getByRole('button', { name: 'Sign in', exact: true }).click();
        await page.getByLabel('Code', { exact: true }).fill(await phone.code());
        await page.getByRole('button', { name: 'Continue' }).click();
        await page.getByTestId('add-key').click();
        await page.getByRole('heading', { name: 'Add a security key or passkey' }).waitFor();
        await checkPage(page, `account-add-key-${size}`, 'account page: add a security key or passkey');
        await page.getByLabel('Name for this key').fill('Laptop passkey');
        await page.getByTestId('key-start').click();
        await page.getByText('The security key or passkey was added.').waitFor();
        assert.deepEqual(
          (await page.getByTestId('key').allTextContents()).map((text) => text.replace(/\s+/g, ' ').split(' (')[0]),
          ['Laptop passkey'],
        );
        await checkPage(page, `account-key-added-${size}`, 'account page with the key added');

        // A second key: the laptop's authenticator put away, a USB key plugged in.
        await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId: laptop });
        await addVirtualAuthenticator(cdp, 'usb');
        await page.getByTestId('add-key').click();
        await page.getByLabel('Name for this key').fill('Blue key');
        await page.getByTestId('key-start').click();
        await page.getByText('The security key or passkey was added.').waitFor();
        assert.deepEqual(
          (await page.getByTestId('key').allTextContents()).map((text) => text.replace(/\s+/g, ' ').split(' (')[0]),
          ['Laptop passkey', 'Blue key'],
        );

        // Signed out: the passkey alone signs in at the application.
        clock.advance(60_000);
        await context.clearCookies();
        const start = await startAuthorization(rp);
        await page.goto(start.url.href);
        await page.getByRole('button', { name: 'Sign in with a passkey' }).click();
        await page.waitForURL(`${callbackPrefix}**`);
        const claims = (await exchangeCode(rp, start, new URL(page.url()))).claims()!;
        assert.deepEqual(claims.amr, ['hwk', 'user', 'mfa']);
      } finally {
        await context.close();
      }
    });
  }

  it('offers no passkey at an application that does not allow it', async () => {
    const other = (
      await registerApplication(server, {
        client_id: 'wiki',
        client_name: 'Team wiki',
        redirect_uris: [`${callbackPrefix}cb`],
        first_party: true,
        mfa_policy: 'required',
      })
    ).rp;
    const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
    try {
      const page = await context.newPage();
      await page.goto((await startAuthorization(other)).url.href);
      await page.getByLabel('Password').waitFor();
      assert.equal(await page.getByRole('button', { name: 'Sign in with a passkey' }).count(), 0);
    } finally {
      await context.close();
    }
  });

  it('shows the login page without JavaScript as the password form alone', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, javaScriptEnabled: false });
    try {
      const page = await context.newPage();
      await page.goto((await startAuthorization(rp)).url.href);
      await page.getByLabel('Password').waitFor();
      assert.equal(await page.getByRole('button', { name: 'Sign in with a passkey' }).isVisible(), false);
      await snapshot(page, { path: screenshotPath('login-passkey-nojs-phone'), fullPage: true });
    } finally {
      await context.close();
    }
  });
});
