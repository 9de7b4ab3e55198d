import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { axeViolations, launchChromium, screenshotPath, snapshot } from '../support/browser.ts';
import { browserSkip } from '../support/env.ts';
import { authenticatorCode, decodeBase32 } from '../support/rfc6238.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

describe('the embedded demo application in Chromium', { skip: browserSkip }, () => {
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  let server: TestServer;
  /** A backup code the first test leaves unused, for the SAML sign-in. */
  let spareBackupCode: string | undefined;
  before(async () => {
    browser = await launchChromium();
    server = await startTestServer({ demo: true });
  });
  after(async () => {
    await browser.cleanup();
    await server.close();
  });

  it('keeps two sign-ins started in two tabs apart, shows who signed in with dates, and signs out with one confirmation', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    try {
      const first = await context.newPage();
      const second = await context.newPage();
      for (const tab of [first, second]) {
        await tab.goto(`${server.issuer}/demo/`);
        await tab.getByRole('button', { name: 'Sign in' }).click();
        await tab.waitForURL(/\/interaction\//);
      }
      // The first tab, started first, finishes first: its sign-in was not lost to the second.
      await first.getByLabel('Username').fill(server.demo!.username);
      await first.getByLabel('Password').fill(server.demo!.password);
      await first.getByRole('button', { name: 'Sign in' }).click();
      const secret = (await first.getByTestId('totp-secret').textContent())!.replaceAll(' ', '');
      await first.getByLabel('Code from the app').fill(await authenticatorCode(decodeBase32(secret), Date.now() / 1000));
      await first.getByRole('button', { name: 'Verify and continue' }).click();
      const backupCodes = await first.getByTestId('backup-code').allTextContents();
      spareBackupCode = backupCodes[1];
      await first.getByTestId('continue').click();
      await first.waitForURL(`${server.issuer}/demo/`);
      assert.match((await first.locator('p.lead').textContent())!, /signed in as Demo User \(demo@example\.com\)/);
      assert.equal(await first.getByTestId('account-link').getAttribute('href'), '/account/', 'the way to the account page');
      const issued = await first.locator('table.claims tr', { hasText: 'iat' }).locator('time').getAttribute('datetime');
      assert.ok(issued && Math.abs(Date.parse(issued) - Date.now()) < 600_000, 'iat is shown as a date');
      await snapshot(first, { path: screenshotPath('demo-signed-in'), fullPage: true });

      // The second tab's sign-in is still good too (it began before the first had a session,
      // so it asks for its own second factor: a backup code here).
      await second.getByLabel('Username').fill(server.demo!.username);
      await second.getByLabel('Password').fill(server.demo!.password);
      await second.getByRole('button', { name: 'Sign in' }).click();
      await second.getByLabel('Code', { exact: true }).fill(backupCodes[0]!);
      await second.getByRole('button', { name: 'Continue' }).click();
      await second.getByTestId('continue').click();
      await second.waitForURL(`${server.issuer}/demo/`);
      assert.match((await second.locator('p.lead').textContent())!, /signed in as Demo User/);

      // Signing out: the demo's button, and no second question.
      await first.getByRole('button', { name: 'Sign out' }).click();
      await first.waitForURL(`${server.issuer}/demo/`);
      assert.equal(await first.getByRole('button', { name: 'Sign in' }).count(), 1, 'signed out after one click');
      await first.getByRole('button', { name: 'Sign in' }).click();
      await first.waitForURL(/\/interaction\//);
      assert.equal(await first.getByLabel('Password').count(), 1, 'the twofold session ended too');
    } finally {
      await context.close();
    }
  });

  it('signs in to the demo SAML application with the second factor, shows the assertion, and signs out by single logout', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
    try {
      const page = await context.newPage();
      await page.goto(`${server.issuer}/demo/saml/`);
      await page.getByRole('button', { name: 'Sign in with SAML' }).click();
      await page.getByLabel('Username').fill(server.demo!.username);
      await page.getByLabel('Password').fill(server.demo!.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      // Registered in the first test: the code of the same app.
      await page.getByLabel('Code', { exact: true }).waitFor();
      assert.match((await page.locator('main').textContent())!, /Demo SAML application/);
      await page.getByRole('link', { name: 'Use a backup code instead' }).click();
      await page.getByLabel('Backup code').fill(spareBackupCode!);
      await page.getByRole('button', { name: 'Continue' }).click();
      assert.equal(await page.getByTestId('backup-codes-left').textContent(), '8');
      await page.getByTestId('continue').click();
      await page.waitForURL(`${server.issuer}/demo/saml/`);
      const assertion = (await page.getByTestId('assertion').textContent())!;
      assert.match(assertion, /https:\/\/refeds\.org\/profile\/mfa/);
      assert.match(assertion, /demo@example\.com/);
      assert.deepEqual(await axeViolations(page), [], 'demo SAML page, signed in');
      await snapshot(page, { path: screenshotPath('demo-saml-signed-in'), fullPage: true });
      await page.setViewportSize({ width: 390, height: 844 });
      await snapshot(page, { path: screenshotPath('demo-saml-signed-in-phone'), fullPage: true });

      await page.getByRole('button', { name: 'Sign out (single logout)' }).click();
      await page.waitForURL(`${server.issuer}/demo/saml/`);
      await page.getByRole('button', { name: 'Sign in with SAML' }).click();
      // Single logout ended the sign-in session: the password is asked again.
      await page.getByLabel('Password').waitFor();
    } finally {
      await context.close();
    }
  });
});
