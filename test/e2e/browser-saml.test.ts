import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { createManualClock } from '../../src/domain/clock.ts';
import { axeViolations, consoleFirstSignIn, launchChromium, scanQrCode, screenshotPath, snapshot } from '../support/browser.ts';
import { browserSkip } from '../support/env.ts';
import { authenticatorCode, decodeBase32, parseOtpauth } from '../support/rfc6238.ts';
import { serviceProvider, type ServiceProvider } from '../support/saml-sp.ts';
import { createUser, startTestServer, type TestServer } from '../support/server.ts';

const MFA = 'https://refeds.org/profile/mfa';

describe('SAML applications in Chromium: the sign-in pages and the console', { skip: browserSkip }, () => {
  const clock = createManualClock(Date.now());
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  let server: TestServer;

  before(async () => {
    browser = await launchChromium();
    server = await startTestServer({ clock });
  });
  after(async () => {
    await browser?.cleanup();
    await server?.close();
  });

  /** Stands in for the application's ACS: the browser's POST there is answered and its form kept. */
  async function interceptAcs(page: Page, sp: ServiceProvider): Promise<() => Record<string, string>> {
    let posted: Record<string, string> | undefined;
    await page.route(`${sp.acsUrl}**`, async (route) => {
      posted = Object.fromEntries(new URLSearchParams(route.request().postData() ?? ''));
      await route.fulfill({ status: 200, contentType: 'text/plain', body: 'back at the application' });
    });
    return () => {
      if (!posted) throw new Error('the browser never posted to the application');
      return posted;
    };
  }

  it('signs in to a SAML application: registration by the QR code, then a code in a new session; the application validates both', async () => {
    const sp = await serviceProvider(server, 'wiki', { register: { mfa_policy: 'required', name: 'Team wiki' } });
    await createUser(server, { username: 'iris', password: 'iris passphrase', email: 'iris@example.com' });
    let secret: Uint8Array | undefined;
    for (const [round, width] of [
      [1, 390],
      [2, 1280],
    ] as const) {
      const context: BrowserContext = await browser.newContext({ viewport: { width, height: 900 }, bypassCSP: true });
      try {
        const page = await context.newPage();
        const answer = await interceptAcs(page, sp);
        await page.goto(await sp.saml.getAuthorizeUrlAsync('from-wiki', undefined, {}));
        assert.match((await page.locator('main').textContent())!, /Team wiki/, 'the page names the SAML application');
        await page.getByLabel('Username').fill('iris');
        await page.getByLabel('Password').fill('iris passphrase');
        await page.getByRole('button', { name: 'Sign in' }).click();
        if (round === 1) {
          const qr = await page.getByTestId('totp-qr').screenshot();
          secret = decodeBase32(parseOtpauth(await scanQrCode(context, qr)).secret);
          await page.getByLabel('Code from the app').fill(await authenticatorCode(secret, clock.now() / 1000));
          await page.getByRole('button', { name: 'Verify and continue' }).click();
          await page.getByTestId('continue').click();
        } else {
          clock.advance(30_000);
          await page.getByLabel('Code', { exact: true }).fill(await authenticatorCode(secret!, clock.now() / 1000));
          await page.getByRole('button', { name: 'Continue' }).click();
        }
        await page.waitForURL(`${sp.acsUrl}**`);
        const form = answer();
        assert.equal(form.RelayState, 'from-wiki');
        const { profile } = await sp.saml.validatePostResponseAsync({ SAMLResponse: form.SAMLResponse! });
        assert.ok(profile!.getAssertionXml!().includes(MFA));
        assert.equal(profile!['email'], 'iris@example.com');
      } finally {
        await context.close();
      }
    }
  });

  it('shows the page that posts the answer, calm and accessible, when scripts do not run', async () => {
    const sp = await serviceProvider(server, 'board', { register: { mfa_policy: 'off', name: 'Project board' } });
    await createUser(server, { username: 'noscript', password: 'noscript passphrase' });
    for (const [width, name] of [
      [390, 'phone'],
      [1280, 'desktop'],
    ] as const) {
      const context = await browser.newContext({ viewport: { width, height: 800 }, bypassCSP: true });
      try {
        const page = await context.newPage();
        await interceptAcs(page, sp);
        // As without scripts: the page's script, which sends the form at once, does not load.
        await page.route('**/assets/twofold.js', (route) => route.fulfill({ status: 200, contentType: 'text/javascript', body: '' }));
        await page.goto(await sp.saml.getAuthorizeUrlAsync('', undefined, {}));
        await page.getByLabel('Username').fill('noscript');
        await page.getByLabel('Password').fill('noscript passphrase');
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.getByRole('heading', { name: 'Continue to Project board' }).waitFor();
        assert.deepEqual(await axeViolations(page), [], `the answer's page at ${width} px`);
        await snapshot(page, { path: screenshotPath(`saml-post-${name}`), fullPage: true });
        await page.getByRole('button', { name: 'Continue' }).click();
        await page.waitForURL(`${sp.acsUrl}**`);
      } finally {
        await context.close();
      }
    }
  });

  it('lets an administrator add a SAML application from pasted metadata, see what its administrator needs, change and delete it', async () => {
    const sp = await serviceProvider(server, 'payroll', { register: false, signRequests: true });
    const admin = await server.adminFetch('/admin/api/users', {
      method: 'POST',
      body: JSON.stringify({ username: 'chief', password: 'chief passphrase', role: 'admin' }),
    });
    assert.equal(admin.status, 201);
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
    try {
      const page = await context.newPage();
      await consoleFirstSignIn(page, server.issuer, { username: 'chief', password: 'chief passphrase' }, clock.now() / 1000);
      await page.waitForURL(`${server.issuer}/admin/users`);

      await page.getByRole('link', { name: 'SAML applications' }).click();
      assert.deepEqual(await axeViolations(page), [], 'SAML applications page, empty');
      await page.getByLabel('Id (letters, digits, ., - or _)').fill('payroll');
      await page.getByLabel('Paste its metadata XML').fill(sp.saml.generateServiceProviderMetadata(null, sp.keys.certPem));
      await page.getByLabel('Name people see').fill('Payroll');
      await page.getByLabel('Second factor', { exact: true }).selectOption('required');
      await page.getByRole('button', { name: 'Add the application' }).click();
      await page.getByRole('heading', { name: 'Payroll' }).waitFor();
      assert.equal(await page.getByTestId('idp-metadata-url').textContent(), `${server.issuer}/saml/metadata`);
      const keys = (await (await server.adminFetch('/admin/api/saml/keys')).json()) as { current: { sha256_fingerprint: string } };
      assert.equal(await page.getByTestId('idp-fingerprint').textContent(), keys.current.sha256_fingerprint);
      assert.deepEqual(await axeViolations(page), [], 'SAML application page');
      await snapshot(page, { path: screenshotPath('console-saml-app-desktop'), fullPage: true });
      const added = (await (await server.adminFetch('/admin/api/saml/apps/payroll')).json()) as Record<string, unknown>;
      assert.deepEqual([added.entity_id, added.mfa_policy, added.want_authn_requests_signed], [sp.entityId, 'required', true]);

      await page.getByLabel(/Allow sign-in started here/).check();
      await page.getByRole('button', { name: 'Save' }).click();
      await page.getByTestId('idp-initiated-url').waitFor();
      assert.equal(
        ((await (await server.adminFetch('/admin/api/saml/apps/payroll')).json()) as { idp_initiated: boolean }).idp_initiated,
        true,
      );

      // A bad ACS URL: a clear message, nothing changed.
      await page.getByLabel(/Assertion consumer service URLs/).fill('javascript:alert(1)');
      await page.getByRole('button', { name: 'Save' }).click();
      assert.match((await page.locator('#acs_urls-error').textContent())!, /Each line must be a whole address/);
      assert.equal(await page.getByLabel(/Assertion consumer service URLs/).inputValue(), 'javascript:alert(1)', 'what was typed stays');
      assert.deepEqual(((await (await server.adminFetch('/admin/api/saml/apps/payroll')).json()) as { acs_urls: string[] }).acs_urls, [
        sp.acsUrl,
      ]);

      await page.goto(`${server.issuer}/admin/saml`);
      assert.deepEqual(await axeViolations(page), [], 'SAML applications page');
      await snapshot(page, { path: screenshotPath('console-saml-apps-desktop'), fullPage: true });
      await page.setViewportSize({ width: 390, height: 844 });
      assert.deepEqual(await axeViolations(page), [], 'SAML applications page at 390 px');
      await snapshot(page, { path: screenshotPath('console-saml-apps-phone'), fullPage: true });
      await page.goto(`${server.issuer}/admin/saml/payroll`);
      assert.deepEqual(await axeViolations(page), [], 'SAML application page at 390 px');
      await snapshot(page, { path: screenshotPath('console-saml-app-phone'), fullPage: true });
      await page.getByTestId('delete-saml-app').click();
      await page.getByRole('heading', { name: 'Delete this SAML application?' }).waitFor();
      assert.equal((await server.adminFetch('/admin/api/saml/apps/payroll')).status, 200, 'nothing is deleted before the confirmation');
      await page.getByTestId('confirm').click();
      await page.waitForURL(`${server.issuer}/admin/saml`);
      assert.match((await page.getByTestId('flash').textContent())!, /was deleted/);
      assert.equal((await server.adminFetch('/admin/api/saml/apps/payroll')).status, 404);
      const audit = (await (await server.adminFetch('/admin/api/audit?type=client.deleted')).json()) as {
        events: { actor: string; protocol: string }[];
      };
      assert.deepEqual([audit.events[0]!.actor, audit.events[0]!.protocol], ['console:chief', 'saml']);
    } finally {
      await context.close();
    }
  });
});
