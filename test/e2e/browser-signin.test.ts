import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { interceptCallback, launchChromium, scanQrCode, screenshotPath, snapshot } from '../support/browser.ts';
import { authenticatorCode, decodeBase32, parseOtpauth } from '../support/rfc6238.ts';
import { browserSkip, realStoresSkip } from '../support/env.ts';
import { exchangeCode, relyingParty, startAuthorization } from '../support/relying-party.ts';
import { createUser, newRealStores, registerClient, startTestServer, type TestServer } from '../support/server.ts';

describe('sign-in in headless Chromium', { skip: browserSkip }, () => {
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  before(async () => {
    browser = await launchChromium();
  });
  after(() => browser.cleanup());

  it('a newcomer signs in through the embedded demo and sees the ID token claims', async () => {
    const server = await startTestServer({ demo: true });
    const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
    try {
      const page = await context.newPage();
      await page.goto(`${server.issuer}/demo/`);
      await snapshot(page, { path: screenshotPath('demo-start') });
      await page.getByRole('button', { name: 'Sign in' }).click();

      await page.waitForURL(/\/interaction\//);
      await page.getByLabel('Username').fill(server.demo!.username);
      await page.getByLabel('Password').fill('not the password');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await assert.doesNotReject(page.getByRole('alert').waitFor());
      assert.equal(await page.getByRole('alert').textContent(), 'The username or password is not correct.');
      await snapshot(page, { path: screenshotPath('login-wrong-password') });

      await page.getByLabel('Password').fill(server.demo!.password);
      await page.getByRole('button', { name: 'Sign in' }).click();

      // The demo application requires the second factor: the newcomer registers an app.
      await page.getByTestId('totp-qr').waitFor();
      await snapshot(page, { path: screenshotPath('demo-register'), fullPage: true });
      const uri = await scanQrCode(context, await snapshot(page, { fullPage: true }));
      const { secret } = parseOtpauth(uri);
      await page.getByLabel('Code from the app').fill(await authenticatorCode(decodeBase32(secret), Date.now() / 1000));
      await page.getByRole('button', { name: 'Verify and continue' }).click();
      // The backup codes, once, before the application.
      await page.getByTestId('backup-code').first().waitFor();
      assert.equal(await page.getByTestId('backup-code').count(), 10);
      await snapshot(page, { path: screenshotPath('demo-backup-codes'), fullPage: true });
      await page.getByTestId('continue').click();
      await page.waitForURL(`${server.issuer}/demo/`);
      await snapshot(page, { path: screenshotPath('demo-claims'), fullPage: true });
      const claims = Object.fromEntries(
        await page
          .locator('table.claims tr')
          .evaluateAll((rows) =>
            rows.map((row) => [row.querySelector('th')?.textContent ?? '', row.querySelector('td')?.textContent ?? '']),
          ),
      );
      assert.equal(claims.amr, '["pwd","otp","mfa"]');
      assert.equal(claims.acr, 'urn:twofold:acr:mfa');
      assert.equal(claims.iss, server.issuer);
      assert.equal(claims.aud, 'demo-app');
    } finally {
      await context.close();
      await server.close();
    }
  });

  describe('on Redis and MongoDB', { skip: realStoresSkip }, () => {
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ real: newRealStores() });
    });
    after(() => server.close());

    it('fills the login page, returns a code, and openid-client validates the tokens', async () => {
      const user = await createUser(server, { username: 'paula', password: 'paula passphrase', name: 'Paula' });
      const client = await registerClient(server, {
        client_id: 'portal',
        client_name: 'Portal',
        redirect_uris: ['http://127.0.0.1:9/portal/callback'],
      });
      const rp = await relyingParty(server.issuer, 'portal', client.client_secret, 'http://127.0.0.1:9/portal/callback');
      const start = await startAuthorization(rp);
      const context = await browser.newContext();
      try {
        const page = await context.newPage();
        const callback = await interceptCallback(page, 'http://127.0.0.1:9/');
        await page.goto(start.url.href);
        await snapshot(page, { path: screenshotPath('login') });
        await page.getByLabel('Username').fill('paula');
        await page.getByLabel('Password').fill('paula passphrase');
        await page.getByRole('button', { name: 'Sign in' }).click();

        // A third-party client: the consent page comes next.
        await page.getByTestId('consent-allow').waitFor();
        assert.match(
          (await page.locator('main').textContent()) ?? '',
          /Portal asks to use your account.It will be able to see:your name and usernameyour email address/,
        );
        await snapshot(page, { path: screenshotPath('consent') });
        await page.getByTestId('consent-allow').click();
        await page.waitForURL('http://127.0.0.1:9/**');

        const tokens = await exchangeCode(rp, start, callback());
        assert.equal(tokens.claims()?.sub, user.id);
        assert.deepEqual(tokens.claims()?.amr, ['pwd']);
      } finally {
        await context.close();
      }
    });
  });
});
