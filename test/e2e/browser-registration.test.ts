import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { createManualClock } from '../../src/domain/clock.ts';
import { interceptCallback, launchChromium, scanQrCode, screenshotPath, snapshot } from '../support/browser.ts';
import { browserSkip, realStoresSkip } from '../support/env.ts';
import { exchangeCode, startAuthorization } from '../support/relying-party.ts';
import { authenticatorCode, decodeBase32, parseOtpauth } from '../support/rfc6238.ts';
import { createUser, newRealStores, patchSettings, registerApplication, startTestServer, type TestServer } from '../support/server.ts';

describe('registering an authenticator in Chromium on Redis and MongoDB', { skip: browserSkip ?? realStoresSkip }, () => {
  const clock = createManualClock(Date.now());
  let server: TestServer;
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  before(async () => {
    server = await startTestServer({ real: newRealStores(), clock });
    browser = await launchChromium();
  });
  after(async () => {
    await browser.cleanup();
    await server.close();
  });

  it('scans the QR code from the page, registers, and later signs in with a code', async () => {
    await patchSettings(server, { issuerLabel: 'Acme SSO', registrationMessage: 'Use the <b>company</b> phone.' });
    const user = await createUser(server, { username: 'quentin', password: 'quentin passphrase' });
    const rp = (
      await registerApplication(server, {
        client_id: 'intranet',
        client_name: 'Intranet',
        redirect_uris: ['http://127.0.0.1:9/intranet/cb'],
        first_party: true,
        mfa_policy: 'required',
      })
    ).rp;

    const signInOnce = async (answer: (page: Page) => Promise<string>, shot: string) => {
      const start = await startAuthorization(rp);
      const context = await browser.newContext({ viewport: { width: 412, height: 915 } });
      try {
        const page = await context.newPage();
        const callback = await interceptCallback(page, 'http://127.0.0.1:9/');
        await page.goto(start.url.href);
        await page.getByLabel('Username').fill('quentin');
        await page.getByLabel('Password').fill('quentin passphrase');
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.locator('input[name="code"]').waitFor();
        await snapshot(page, { path: screenshotPath(shot), fullPage: true });
        const code = await answer(page);
        await page.locator('input[name="code"]').fill(code);
        await page.locator('form:has(input[name="code"]) button[type="submit"]').click();
        if (await page.getByTestId('backup-code').first().isVisible()) {
          await snapshot(page, { path: screenshotPath(`${shot}-backup-codes`), fullPage: true });
          await page.getByTestId('continue').click();
        }
        await page.waitForURL('http://127.0.0.1:9/**');
        const tokens = await exchangeCode(rp, start, callback());
        return { page, tokens, context };
      } finally {
        await context.close();
      }
    };

    let secret = '';
    const registration = await signInOnce(async (page) => {
      assert.equal(await page.getByText('Use the <b>company</b> phone.').count(), 1, 'the message is shown as text');
      const uri = await scanQrCode(page.context(), await snapshot(page, { fullPage: true }));
      const parsed = parseOtpauth(uri);
      assert.equal(parsed.label, 'Acme SSO:quentin');
      assert.equal(parsed.issuer, 'Acme SSO');
      // Absent parameters mean the Key URI format's defaults, which are these.
      assert.equal(parsed.algorithm ?? 'SHA1', 'SHA1');
      assert.equal(parsed.digits ?? 6, 6);
      assert.equal(parsed.period ?? 30, 30);
      const shown = (await page.getByTestId('totp-secret').textContent())!.replaceAll(' ', '');
      assert.equal(shown, parsed.secret, "the text key is the QR code's secret");
      secret = parsed.secret;
      return authenticatorCode(decodeBase32(secret), clock.now() / 1000);
    }, 'register');
    assert.equal(registration.tokens.claims()?.sub, user.id);
    assert.deepEqual(registration.tokens.claims()?.amr, ['pwd', 'otp', 'mfa']);

    clock.advance(30_000);
    const later = await signInOnce(async (page) => {
      assert.equal(await page.getByTestId('totp-qr').count(), 0, 'no QR code once registered');
      return authenticatorCode(decodeBase32(secret), clock.now() / 1000);
    }, 'code');
    assert.equal(later.tokens.claims()?.acr, 'urn:twofold:acr:mfa');
  });
});
