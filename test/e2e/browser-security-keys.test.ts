import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, CDPSession, Page } from 'playwright-core';
import { createManualClock } from '../../src/domain/clock.ts';
import {
  addVirtualAuthenticator,
  checkPage,
  consoleFirstSignIn,
  launchChromium,
  screenshotPath,
  snapshot,
  startApplicationPage,
} from '../support/browser.ts';
import { browserSkip } from '../support/env.ts';
import { Phone } from '../support/mfa.ts';
import { exchangeCode, signIn, startAuthorization, UserAgent, type RelyingParty } from '../support/relying-party.ts';
import { createUser, registerApplication, startTestServer, type TestServer } from '../support/server.ts';

/**
 * Security keys as a person meets them, in Chromium, with the browser's virtual
 * authenticator (the DevTools protocol's WebAuthn domain) standing in for a USB key that
 * verifies its user: registration during sign-in, signing in with it, a copy of the key
 * refused, the app and a key side by side, and the key page without JavaScript.
 */
describe('security keys in Chromium', { skip: browserSkip }, () => {
  const clock = createManualClock(Date.now());
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  let server: TestServer;
  let rp: RelyingParty;
  let keysOnly: RelyingParty;
  // The applications' redirect URI is a real page: the browser's form posts after a key's
  // answer (sent by the page's script) then end where a person's would.
  let application: Awaited<ReturnType<typeof startApplicationPage>>;
  let callbackPrefix: string;
  before(async () => {
    browser = await launchChromium();
    server = await startTestServer({ clock });
    application = await startApplicationPage();
    callbackPrefix = application.prefix;
    const app = (client_id: string, extra: Record<string, unknown> = {}) =>
      registerApplication(server, {
        client_id,
        client_name: 'Team wiki',
        redirect_uris: [`${callbackPrefix}cb`],
        first_party: true,
        mfa_policy: 'required',
        ...extra,
      });
    // The key page then offers "don't ask again on this device" (left unticked here).
    rp = (await app('wiki', { remember_device_days: 14 })).rp;
    keysOnly = (await app('vault', { client_name: 'Vault', mfa_factors: ['webauthn'] })).rp;
  });
  after(async () => {
    await browser.cleanup();
    await server.close();
    application.close();
  });

  /** Where the browser arrived back at the application, once it has. */
  async function backAtApplication(page: Page): Promise<URL> {
    await page.waitForURL(`${callbackPrefix}**`);
    return new URL(page.url());
  }

  /** A USB security key that verifies its user (a PIN), attached to this page's browser. */
  async function attachKey(page: Page): Promise<{ cdp: CDPSession; authenticatorId: string }> {
    const cdp = await page.context().newCDPSession(page);
    return { cdp, authenticatorId: await addVirtualAuthenticator(cdp, 'usb') };
  }

  async function passwordStep(page: Page, start: { url: URL }, username: string) {
    await page.goto(start.url.href);
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(`${username} passphrase`);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  const audited = async (userId: string, type: string) =>
    ((await (await server.adminFetch(`/admin/api/audit?user=${userId}&type=${type}`)).json()) as { events: { reason?: string }[] }).events;

  for (const [size, width, height] of [
    ['phone', 390, 844],
    ['desktop', 1280, 900],
  ] as const) {
    it(`registers a security key during sign-in, signs in with it, and refuses a copy of it (${size})`, async () => {
      const username = `kai-${size}`;
      const { id } = await createUser(server, { username, password: `${username} passphrase` });
      let context: BrowserContext = await browser.newContext({ viewport: { width, height }, bypassCSP: true });
      try {
        const page = await context.newPage();
        const key = await attachKey(page);
        const start = await startAuthorization(rp);
        await passwordStep(page, start, username);
        await page.getByRole('heading', { name: 'Have a security key or a passkey?' }).waitFor();
        await checkPage(page, `register-key-choice-${size}`, 'registration page with the security key choice');
        await page.getByTestId('choose-key').click();
        await page.getByRole('heading', { name: 'Add a security key or passkey' }).waitFor();
        assert.equal(await page.locator('[data-webauthn-unavailable]').isVisible(), false, 'the browser can use keys');
        await checkPage(page, `key-register-${size}`, 'security key registration page');
        await page.getByLabel('Name for this key').fill('Blue key');
        await page.getByTestId('key-start').click();
        await page.getByRole('heading', { name: 'Security key added' }).waitFor();
        await checkPage(page, `key-added-${size}`, 'security key added, with backup codes');
        await page.getByTestId('continue').click();
        const claims = (await exchangeCode(rp, start, await backAtApplication(page))).claims()!;
        assert.deepEqual(claims.amr, ['pwd', 'hwk', 'user', 'mfa'], 'the key presented, bound to its device, and it verified its user');
        assert.equal(claims.acr, 'urn:twofold:acr:mfa');
        const stored = ((await (await server.adminFetch(`/admin/api/users/${id}`)).json()) as { mfa: { factors: string[] } }).mfa;
        assert.deepEqual(stored.factors, ['webauthn']);

        // The account page lists the key, and offers its removal (looked at, not done here).
        await page.goto(`${server.issuer}/account/`);
        await page.getByTestId('key').waitFor();
        assert.match((await page.getByTestId('key').textContent())!, /Blue key \(security key\), added/);
        await checkPage(page, `account-keys-${size}`, 'account page with a security key');
        await page.getByTestId('remove-key').click();
        await page.getByRole('heading', { name: 'Remove “Blue key”?' }).waitFor();
        await checkPage(page, `account-key-remove-${size}`, 'removal of a key, confirmation');

        // Signing in again (a new browser session, the same key): the key page, and the key.
        const credential = (await key.cdp.send('WebAuthn.getCredentials', { authenticatorId: key.authenticatorId })).credentials[0]!;
        await context.close();
        clock.advance(60_000);
        context = await browser.newContext({ viewport: { width, height }, bypassCSP: true });
        const again = await context.newPage();
        const sameKey = await attachKey(again);
        await sameKey.cdp.send('WebAuthn.addCredential', { authenticatorId: sameKey.authenticatorId, credential });
        const second = await startAuthorization(rp);
        await passwordStep(again, second, username);
        await again.getByRole('heading', { name: 'Use your security key' }).waitFor();
        await checkPage(again, `key-signin-${size}`, 'security key page');
        await again.getByTestId('key-start').click();
        assert.deepEqual((await exchangeCode(rp, second, await backAtApplication(again))).claims()!.amr, ['pwd', 'hwk', 'user', 'mfa']);

        // A copy of the key: the same private key, its counter back where it began.
        const used = (await sameKey.cdp.send('WebAuthn.getCredentials', { authenticatorId: sameKey.authenticatorId })).credentials[0]!;
        assert.ok(used.signCount > credential.signCount, 'the key counts its signatures');
        await context.close();
        clock.advance(60_000);
        context = await browser.newContext({ viewport: { width, height }, bypassCSP: true });
        const cloned = await context.newPage();
        const copy = await attachKey(cloned);
        await copy.cdp.send('WebAuthn.addCredential', { authenticatorId: copy.authenticatorId, credential: { ...used, signCount: 0 } });
        await passwordStep(cloned, await startAuthorization(rp), username);
        await cloned.getByRole('heading', { name: 'Use your security key' }).waitFor();
        await cloned.getByTestId('key-start').click();
        await cloned.getByText('This security key was refused').waitFor();
        assert.match(cloned.url(), /\/interaction\//, 'no sign-in');
        await checkPage(cloned, `key-cloned-${size}`, 'security key page after a copy was refused');
        assert.deepEqual(
          (await audited(id, 'mfa.key_cloned')).map((event) => event.reason),
          ['Blue key'],
        );
      } finally {
        await context.close();
      }
    });
  }

  it('keeps the authenticator app beside a key: an application that accepts keys only adds one after the app, then both work', async () => {
    const username = 'lena';
    const { id } = await createUser(server, { username, password: `${username} passphrase` });
    const phone = new Phone(clock);
    await signIn(new UserAgent(), rp, { username, password: `${username} passphrase` }, {}, phone.app);
    clock.advance(30_000);
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
    try {
      const page = await context.newPage();
      await attachKey(page);
      const start = await startAuthorization(keysOnly);
      await passwordStep(page, start, username);
      // The vault takes keys only: the app she has proves her first, then a key is added.
      await page.getByRole('heading', { name: 'Enter your code' }).waitFor();
      await page.getByLabel('Code').fill(await phone.code());
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByRole('heading', { name: 'Add a security key or passkey' }).waitFor();
      await page.getByTestId('key-start').click();
      await page.getByRole('heading', { name: 'Security key added' }).waitFor();
      await page.getByTestId('continue').click();
      assert.deepEqual((await exchangeCode(keysOnly, start, await backAtApplication(page))).claims()!.amr, ['pwd', 'hwk', 'user', 'mfa']);
      const factors = ((await (await server.adminFetch(`/admin/api/users/${id}`)).json()) as { mfa: { factors: string[] } }).mfa.factors;
      assert.deepEqual(factors, ['totp', 'webauthn']);

      // At the wiki, which takes either: the app's code page, with the key offered instead.
      await context.clearCookies();
      clock.advance(60_000);
      const wikiStart = await startAuthorization(rp);
      await passwordStep(page, wikiStart, username);
      await page.getByRole('heading', { name: 'Enter your code' }).waitFor();
      await checkPage(page, 'code-key-instead-desktop', 'code page offering the security key');
      await page.getByTestId('choose-key').click();
      await page.getByRole('heading', { name: 'Use your security key' }).waitFor();
      await page.getByTestId('key-start').click();
      assert.deepEqual((await exchangeCode(rp, wikiStart, await backAtApplication(page))).claims()!.amr, ['pwd', 'hwk', 'user', 'mfa']);
    } finally {
      await context.close();
    }
    // And the app alone still signs her in where it is accepted.
    clock.advance(30_000);
    const { claims, seen } = await signIn(new UserAgent(), rp, { username, password: `${username} passphrase` }, {}, phone.app);
    assert.deepEqual(
      [seen, claims.amr],
      [
        ['login', 'code'],
        ['pwd', 'otp', 'mfa'],
      ],
    );
  });

  it("shows an administrator a user's keys in the console, and removes one", async () => {
    await createUser(server, { username: 'root', password: 'root passphrase', role: 'admin' });
    const { id } = await createUser(server, { username: 'ines', password: 'ines passphrase' });
    const data = (await (await server.adminFetch('/admin/api/export')).json()) as { users: { id: string; mfa: Record<string, unknown> }[] };
    const ines = data.users.find((user) => user.id === id)!;
    const key = (keyId: string, name: string, deviceType: string) => ({
      id: keyId,
      publicKey: 'pQECAyYgASFYIA',
      counter: 0,
      deviceType,
      backedUp: deviceType === 'multiDevice',
      name,
      addedAt: '2026-11-01T10:00:00.000Z',
    });
    ines.mfa.webauthn = [key('k1', 'Blue key', 'singleDevice'), key('k2', 'Phone passkey', 'multiDevice')];
    assert.equal(
      (await server.adminFetch('/admin/api/import', { method: 'POST', body: JSON.stringify({ ...data, users: [ines] }) })).status,
      200,
    );
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
    try {
      const page = await context.newPage();
      await consoleFirstSignIn(page, server.issuer, { username: 'root', password: 'root passphrase' }, Math.floor(clock.now() / 1000));
      await page.goto(`${server.issuer}/admin/users/${id}`);
      assert.deepEqual(
        (await page.getByTestId('key').allTextContents()).map((text) => text.replace(/\s+/g, ' ').split(', added')[0]),
        ['Blue key (security key)', 'Phone passkey (passkey)'],
      );
      await checkPage(page, 'console-user-keys-desktop', 'console user page with keys');
      await page.setViewportSize({ width: 390, height: 844 });
      await snapshot(page, { path: screenshotPath('console-user-keys-phone'), fullPage: true });
      await page.setViewportSize({ width: 1280, height: 900 });
      await page.getByRole('link', { name: 'Remove Blue key' }).click();
      await page.getByRole('heading', { name: 'Remove the security key “Blue key”?' }).waitFor();
      await checkPage(page, 'console-key-remove-desktop', 'console key removal confirmation');
      await page.getByRole('button', { name: 'Remove the security key' }).click();
      await page.getByText('The security key “Blue key” of ines was removed').waitFor();
      assert.deepEqual(
        (await page.getByTestId('key').allTextContents()).map((text) => text.replace(/\s+/g, ' ').split(', added')[0]),
        ['Phone passkey (passkey)'],
      );
    } finally {
      await context.close();
    }
  });

  it('shows the key page without JavaScript with the other ways in', async () => {
    const username = 'noah';
    await createUser(server, { username, password: `${username} passphrase` });
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, javaScriptEnabled: false });
    try {
      const page = await context.newPage();
      await passwordStep(page, await startAuthorization(rp), username);
      await page.getByTestId('choose-key').click();
      await page.getByRole('heading', { name: 'Add a security key or passkey' }).waitFor();
      assert.equal(await page.locator('#key-form').isVisible(), false, 'no button that needs a script');
      await page.getByText('This browser cannot use security keys here').waitFor();
      await snapshot(page, { path: screenshotPath('key-register-nojs-phone'), fullPage: true });
      // Back to the app, which works without scripts.
      await page.getByTestId('choose-app').click();
      await page.getByRole('heading', { name: 'Set up your authenticator app' }).waitFor();
    } finally {
      await context.close();
    }
  });
});
