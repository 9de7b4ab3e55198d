import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { createManualClock } from '../../src/domain/clock.ts';
import { axeViolations, interceptCallback, launchChromium, screenshotPath, snapshot } from '../support/browser.ts';
import { browserSkip } from '../support/env.ts';
import { authenticatorCode, decodeBase32 } from '../support/rfc6238.ts';
import { wrongCode } from '../support/mfa.ts';
import { startAuthorization, type RelyingParty } from '../support/relying-party.ts';
import { createUser, registerApplication, startTestServer, type TestServer } from '../support/server.ts';

/**
 * Backup codes, the locked page and the account page as a person sees them, at a phone's
 * width and a desktop's, with screenshots of each page.
 */
describe('backup codes, lockout and the account page in Chromium', { skip: browserSkip }, () => {
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
        redirect_uris: ['http://127.0.0.1:9/wiki/cb'],
        first_party: true,
        mfa_policy: 'required',
      })
    ).rp;
  });
  after(async () => {
    await browser.cleanup();
    await server.close();
  });

  const code = (secret: string) => authenticatorCode(decodeBase32(secret), clock.now() / 1000);

  async function passwordStep(page: Page, username: string) {
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(`${username} passphrase`);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }

  for (const [width, height, size] of [
    [390, 844, 'phone'],
    [1280, 900, 'desktop'],
  ] as const) {
    it(`registers, keeps the backup codes, signs in with one, gets locked out, and manages the device (${size})`, async () => {
      const username = `rosa-${size}`;
      await createUser(server, { username, password: `${username} passphrase` });
      const context = await browser.newContext({ viewport: { width, height }, acceptDownloads: true, bypassCSP: true });
      try {
        const page = await context.newPage();
        const callback = await interceptCallback(page, 'http://127.0.0.1:9/');

        // Registration, then the backup codes page.
        await page.goto((await startAuthorization(rp)).url.href);
        await passwordStep(page, username);
        const secret = (await page.getByTestId('totp-secret').textContent())!.replaceAll(' ', '');
        await page.getByLabel('Code from the app').fill(await code(secret));
        await page.getByRole('button', { name: 'Verify and continue' }).click();
        await page.getByTestId('backup-code').first().waitFor();
        await snapshot(page, { path: screenshotPath(`backup-codes-${size}`), fullPage: true });
        const codes = await page.getByTestId('backup-code').allTextContents();
        assert.equal(codes.length, 10);
        assert.equal(
          await page.getByRole('button', { name: 'Copy to clipboard' }).isVisible(),
          true,
          "the copy button runs under the page's policy",
        );
        const download = page.waitForEvent('download');
        await page.getByRole('link', { name: 'Download as a text file' }).click();
        const text = await (await download).createReadStream().then(async (stream) => {
          let all = '';
          for await (const chunk of stream) all += String(chunk);
          return all;
        });
        for (const backup of codes) assert.ok(text.includes(backup), 'the download holds every code');
        await page.getByTestId('continue').click();
        await page.waitForURL('http://127.0.0.1:9/**');
        assert.ok(callback());

        // A backup code instead of the app, in a sign-in the application forces anew.
        clock.advance(30_000);
        await page.goto((await startAuthorization(rp, { prompt: 'login' })).url.href);
        await passwordStep(page, username);
        await page.getByRole('link', { name: 'Use a backup code instead' }).click();
        await page.getByLabel('Backup code').waitFor();
        await snapshot(page, { path: screenshotPath(`code-backup-form-${size}`), fullPage: true });
        await page.getByLabel('Backup code').fill(codes[0]!.toUpperCase());
        await page.getByRole('button', { name: 'Continue' }).click();
        // Told how many are left before going on.
        await page.getByRole('heading', { name: 'Signed in with a backup code' }).waitFor();
        assert.equal(await page.getByTestId('backup-codes-left').textContent(), '9');
        assert.deepEqual(await axeViolations(page), [], `backup code used (${size})`);
        await snapshot(page, { path: screenshotPath(`backup-code-used-${size}`), fullPage: true });
        await page.getByTestId('continue').click();
        await page.waitForURL('http://127.0.0.1:9/**');

        // Five wrong codes: the locked page says until when.
        await page.goto((await startAuthorization(rp, { prompt: 'login' })).url.href);
        await passwordStep(page, username);
        for (let i = 0; i < 5; i++) {
          await page.getByLabel('Code', { exact: true }).fill(wrongCode(await code(secret)));
          await page.getByRole('button', { name: 'Continue' }).click();
          if (i < 4) await page.getByRole('alert').waitFor();
          // The last two tries before the lock are counted down.
          const warned = i < 4 ? (await page.getByRole('alert').textContent())! : '';
          if (i === 2) assert.match(warned, /2 tries left before your account is locked/);
          if (i === 3) {
            assert.match(warned, /1 try left before your account is locked/);
            await snapshot(page, { path: screenshotPath(`code-last-try-${size}`), fullPage: true });
          }
          if (i < 2) assert.doesNotMatch(warned, /left before/);
        }
        await page.getByRole('heading', { name: 'Account locked' }).waitFor();
        assert.match((await page.getByRole('alert').textContent())!, /locked until \d\d:\d\d UTC \(in 15 minutes\)/);
        await snapshot(page, { path: screenshotPath(`locked-${size}`), fullPage: true });
        clock.advance(900_000);

        // The account page (the session passed the second factor: no sign-in page), new
        // codes, then deleting the app.
        await page.goto(`${server.issuer}/account/`);
        await page.getByTestId('apps').waitFor();
        assert.equal(await page.getByTestId('backup-codes-left').textContent(), '9');
        await snapshot(page, { path: screenshotPath(`account-${size}`), fullPage: true });

        await page.getByTestId('regenerate-codes').click();
        // The session's second factor (the backup code) was longer ago than 5 minutes: a code.
        await page.getByLabel('Code', { exact: true }).fill(await code(secret));
        await snapshot(page, { path: screenshotPath(`account-new-codes-confirm-${size}`), fullPage: true });
        await page.getByTestId('confirm').click();
        await page.getByTestId('backup-code').first().waitFor();
        const fresh = await page.getByTestId('backup-code').allTextContents();
        assert.equal(fresh.filter((c) => codes.includes(c)).length, 0);
        await snapshot(page, { path: screenshotPath(`account-new-codes-${size}`), fullPage: true });
        await page.getByTestId('continue').click();
        assert.equal(await page.getByTestId('backup-codes-left').textContent(), '10');

        // A new email address, confirmed by a mailed link (a second factor a moment ago: no code asked).
        await page.getByTestId('change-email').click();
        await page.getByLabel('New email address').fill(`${username}@new.example`);
        assert.deepEqual(await axeViolations(page), [], `email change (${size})`);
        await snapshot(page, { path: screenshotPath(`account-email-${size}`), fullPage: true });
        const mailed = server.printedMails.length;
        await page.getByTestId('change-email').click();
        await page.getByRole('heading', { name: 'Check your mail' }).waitFor();
        await snapshot(page, { path: screenshotPath(`account-email-sent-${size}`), fullPage: true });
        while (server.printedMails.length === mailed) await new Promise((resolve) => setTimeout(resolve, 20));
        const confirmLink = /(http:\/\/localhost:\d+\/account\/email\/confirm\/[\w-]{43})/.exec(server.printedMails.at(-1)!)![1]!;
        await page.goto(confirmLink);
        assert.deepEqual(await axeViolations(page), [], `email confirmation (${size})`);
        await snapshot(page, { path: screenshotPath(`account-email-confirm-${size}`), fullPage: true });
        await page.getByTestId('confirm-email').click();
        await page.getByRole('status').waitFor();
        await page.goto(`${server.issuer}/account/`);
        assert.equal(await page.getByTestId('account-email').textContent(), `${username}@new.example`);
        await page.getByTestId('change-password').click();
        assert.deepEqual(await axeViolations(page), [], `password change (${size})`);
        await snapshot(page, { path: screenshotPath(`account-password-${size}`), fullPage: true });
        await page.goto(`${server.issuer}/account/`);

        // A second app, added here: its code and a name (a second factor a moment ago: no other code asked).
        await page.getByTestId('add-app').click();
        await page.getByRole('heading', { name: 'Add an authenticator app' }).waitFor();
        assert.deepEqual(await axeViolations(page), [], `add an app (${size})`);
        await snapshot(page, { path: screenshotPath(`account-add-app-${size}`), fullPage: true });
        const tablet = (await page.getByTestId('totp-secret').textContent())!.replaceAll(' ', '');
        assert.notEqual(tablet, secret, 'a secret of its own');
        await page.getByLabel('Code from the new app').fill(await code(tablet));
        await page.getByLabel('Name for this app').fill('Tablet');
        await page.getByTestId('add-app-confirm').click();
        await page.getByRole('status').waitFor();
        assert.deepEqual(
          (await page.getByTestId('device').allTextContents()).map((text) => text.replace(/\s+/g, ' ').split(',')[0]),
          ['Authenticator app', 'Tablet'],
        );
        assert.deepEqual(await axeViolations(page), [], `account page with two apps (${size})`);
        await snapshot(page, { path: screenshotPath(`account-apps-${size}`), fullPage: true });

        // The first app removed, with a code of the other (the last factor is more than 5 minutes old).
        clock.advance(6 * 60_000);
        await page.getByTestId('delete-device').first().click();
        await page.getByLabel('Code', { exact: true }).waitFor();
        await snapshot(page, { path: screenshotPath(`account-delete-confirm-${size}`), fullPage: true });
        await page.getByLabel('Code', { exact: true }).fill(await code(tablet));
        await page.getByTestId('confirm').click();
        // Losing a factor ends the sessions: a calm page says so, and the way back in asks
        // for the password again.
        assert.match(
          (await page.getByRole('status').textContent())!,
          /The authenticator app was removed, and you are signed out everywhere/,
        );
        // The accessibility check injects its script, which the page's policy forbids: a context that lets it.
        const checking = await browser.newContext({ viewport: { width, height }, bypassCSP: true });
        try {
          const copy = await checking.newPage();
          await copy.goto(page.url());
          assert.deepEqual(await axeViolations(copy), [], `signed-out page at ${size}`);
        } finally {
          await checking.close();
        }
        await snapshot(page, { path: screenshotPath(`account-deleted-${size}`), fullPage: true });
        await page.getByRole('link', { name: 'Sign in again' }).click();
        await page.getByLabel('Password').waitFor();
      } finally {
        await context.close();
      }
    });
  }
});
