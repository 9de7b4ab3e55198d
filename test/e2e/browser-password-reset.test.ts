import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { axeViolations, launchChromium, screenshotPath, snapshot } from '../support/browser.ts';
import { browserSkip } from '../support/env.ts';
import { startAuthorization, type RelyingParty } from '../support/relying-party.ts';
import { createUser, registerApplication, startTestServer, type TestServer } from '../support/server.ts';

/** "Forgot password?" as a person uses it, in Chromium, on the embedded server (mail printed). */
describe('password reset in Chromium', { skip: browserSkip }, () => {
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  let server: TestServer;
  let rp: RelyingParty;
  before(async () => {
    browser = await launchChromium();
    server = await startTestServer();
    rp = (await registerApplication(server, { client_id: 'wiki', client_name: 'Team wiki', redirect_uris: ['http://127.0.0.1:9/cb'] })).rp;
    const { id } = await createUser(server, { username: 'mona', password: 'mona passphrase', email: 'mona@example.com' });
    await server.adminFetch(`/admin/api/users/${id}`, { method: 'PATCH', body: JSON.stringify({ email_verified: true }) });
  });
  after(async () => {
    await browser.cleanup();
    await server.close();
  });

  for (const [size, width, height] of [
    ['phone', 390, 844],
    ['desktop', 1280, 900],
  ] as const) {
    it(`asks for a link from the login page and sets a new password with it (${size})`, async () => {
      const context = await browser.newContext({ viewport: { width, height }, bypassCSP: true });
      try {
        const page = await context.newPage();
        await page.goto((await startAuthorization(rp)).url.href);
        await page.getByTestId('forgot-password').click();
        await page.getByRole('heading', { name: 'Forgot your password?' }).waitFor();
        assert.deepEqual(await axeViolations(page), [], 'forgot page');
        await snapshot(page, { path: screenshotPath(`password-forgot-${size}`), fullPage: true });
        const before = server.printedMails.length;
        await page.getByLabel('Username').fill('mona');
        await page.getByRole('button', { name: 'Send the link' }).click();
        await page.getByRole('heading', { name: 'Check your mail' }).waitFor();
        assert.deepEqual(await axeViolations(page), [], 'sent page');
        await snapshot(page, { path: screenshotPath(`password-sent-${size}`), fullPage: true });
        while (server.printedMails.length === before) await new Promise((resolve) => setTimeout(resolve, 20));
        const link = /(http:\/\/localhost:\d+\/password\/reset\/[A-Za-z0-9_-]{43})/.exec(server.printedMails.at(-1)!)![1]!;

        await page.goto(link);
        await page.getByLabel('New password').fill('short');
        await page.getByLabel('The same again').fill('short');
        await page.getByRole('button', { name: 'Set the new password' }).click();
        assert.match((await page.getByRole('alert').textContent())!, /at least 8 characters/);
        assert.deepEqual(await axeViolations(page), [], 'reset page with an error');
        await snapshot(page, { path: screenshotPath(`password-reset-error-${size}`), fullPage: true });
        const password = `a fresh passphrase for ${size}`;
        await page.getByLabel('New password').fill(password);
        await page.getByLabel('The same again').fill(password);
        await page.getByRole('button', { name: 'Set the new password' }).click();
        await page.getByRole('heading', { name: 'Signed out' }).waitFor();
        await snapshot(page, { path: screenshotPath(`password-changed-${size}`), fullPage: true });
        await page.goto(link);
        assert.match((await page.getByRole('alert').textContent())!, /already used/);
        assert.deepEqual(await axeViolations(page), [], 'used link');
        await snapshot(page, { path: screenshotPath(`password-link-used-${size}`), fullPage: true });
      } finally {
        await context.close();
      }
    });
  }
});
