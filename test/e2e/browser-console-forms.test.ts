import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { createManualClock } from '../../src/domain/clock.ts';
import { generateSigningPair } from '../../src/saml/signing-keys.ts';
import { axeViolations, consoleFirstSignIn, launchChromium, screenshotPath, snapshot } from '../support/browser.ts';
import { browserSkip } from '../support/env.ts';
import { createUser, startTestServer, type TestServer } from '../support/server.ts';

// A 2×2 PNG, the logo an organisation's web site serves.
const LOGO_PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP8z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg==',
  'base64',
);

type AuditEvent = { type: string; changes?: { field: string; from: string | null; to: string | null }[]; changed?: string[] };

/**
 * The console as an administrator uses it: forms that come back with what was typed and
 * each problem beside its field, a success message after every action that a reload does
 * not repeat, confirmations first, the brand logo, and the API documentation.
 */
describe('console forms, messages, logo and API documentation in Chromium', { skip: browserSkip }, () => {
  const clock = createManualClock(Date.now());
  let browser: Awaited<ReturnType<typeof launchChromium>>;
  let server: TestServer;
  let context: BrowserContext;
  let page: Page;
  let logoServer: Server;
  let logoOrigin: string;

  const api = async (path: string, init: RequestInit = {}) => (await server.adminFetch(path, init)).json() as Promise<any>;
  const auditCount = async () => (await api('/admin/api/audit?limit=500')).events.length as number;

  before(async () => {
    browser = await launchChromium();
    server = await startTestServer({ clock });
    await createUser(server, { username: 'root', password: 'root passphrase', role: 'admin' });
    await createUser(server, { username: 'dana', password: 'dana passphrase' });
    // An organisation's web site over https (its own certificate), serving the logo.
    const pair = generateSigningPair('localhost', Date.now());
    logoServer = createServer({ key: pair.keyPem, cert: pair.certPem }, (_req, res) => {
      res.writeHead(200, { 'content-type': 'image/png' });
      res.end(LOGO_PNG);
    });
    await new Promise<void>((resolve) => logoServer.listen(0, '127.0.0.1', resolve));
    logoOrigin = `https://localhost:${(logoServer.address() as AddressInfo).port}`;
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, ignoreHTTPSErrors: true, bypassCSP: false });
    page = await context.newPage();
    // Sign in to the console as root, registering an app on the way.
    await consoleFirstSignIn(page, server.issuer, { username: 'root', password: 'root passphrase' }, clock.now() / 1000);
    await page.waitForURL(`${server.issuer}/admin/users`);
  });
  after(async () => {
    await context?.close();
    await browser.cleanup();
    await new Promise((resolve) => logoServer.close(resolve));
    await server.close();
  });

  /** axe needs its script on the page, which the pages' policy forbids: it checks a copy opened without the policy. */
  async function accessible(name: string) {
    const checking = await browser.newContext({ viewport: page.viewportSize()!, bypassCSP: true, ignoreHTTPSErrors: true });
    try {
      await checking.addCookies(await context.cookies());
      const copy = await checking.newPage();
      await copy.setContent(await page.content(), { waitUntil: 'load' });
      assert.deepEqual(await axeViolations(copy), [], name);
    } finally {
      await checking.close();
    }
  }

  /** The error shown beside a field, tied to it. */
  async function fieldError(id: string) {
    const input = page.locator(`#${id}`);
    assert.equal(await input.getAttribute('aria-invalid'), 'true', `${id} is marked invalid`);
    const describedBy = (await input.getAttribute('aria-describedby'))!.split(' ');
    assert.ok(describedBy.includes(`${id}-error`), `${id} is described by its error`);
    return (await page.locator(`#${id}-error`).textContent())!;
  }

  async function shoot(name: string) {
    await snapshot(page, { path: screenshotPath(`${name}-desktop`), fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    await snapshot(page, { path: screenshotPath(`${name}-phone`), fullPage: true });
    await accessible(`${name} at 390 px`);
    await page.setViewportSize({ width: 1280, height: 900 });
  }

  it('shows every problem of a form beside its field, with what was typed, and writes nothing', async () => {
    const events = await auditCount();
    // Adding a user: a taken name and a short password at once.
    await page.goto(`${server.issuer}/admin/users`);
    await page.getByLabel('Username').fill('dana');
    await page.getByLabel('Email (optional)').fill('not an address');
    await page.getByLabel('Full name (optional)').fill('Dana Again');
    await page.getByLabel('Password', { exact: true }).fill('short');
    await page.getByRole('button', { name: 'Add the user' }).click();
    await page.locator('#form-error').waitFor();
    assert.match(await fieldError('email'), /Enter an email address/);
    assert.match(await fieldError('password'), /at least 8 characters/);
    assert.equal(await page.getByLabel('Username').inputValue(), 'dana', 'what was typed stays');
    assert.equal(await page.getByLabel('Full name (optional)').inputValue(), 'Dana Again');
    assert.match((await page.locator('#form-error').textContent())!, /2 things need a change/);
    await shoot('console-user-add-errors');
    // Fixed, the name is now the only problem: it is taken.
    await page.getByLabel('Email (optional)').fill('dana2@example.com');
    await page.getByLabel('Password', { exact: true }).fill('a long passphrase');
    await page.getByRole('button', { name: 'Add the user' }).click();
    assert.match(await fieldError('username'), /This username is taken/);
    assert.equal(await page.getByLabel('Email (optional)').inputValue(), 'dana2@example.com');

    // An application: a client id with a space, a relative redirect URI, a word for seconds.
    await page.goto(`${server.issuer}/admin/clients`);
    await page.getByLabel('Client id').fill('my app');
    await page.getByLabel('Redirect URIs, one per line').fill('/callback');
    await page.getByLabel('Ask the second factor again after (seconds)').fill('ten');
    await page.getByRole('button', { name: 'Add the application' }).click();
    assert.match(await fieldError('client_id'), /without spaces/);
    assert.match(await fieldError('redirect_uris'), /whole address/);
    const seconds = await fieldError('mfa_max_age');
    assert.match(seconds, /number of seconds/);
    assert.doesNotMatch(seconds, /NaN|expected number/);
    assert.equal(await page.getByLabel('Ask the second factor again after (seconds)').inputValue(), 'ten');
    await shoot('console-client-add-errors');

    // Settings: three bad numbers at once, in words, not API keys.
    await page.goto(`${server.issuer}/admin/settings`);
    await page.getByLabel('Wrong codes before a lock').fill('0');
    await page.getByLabel('Validity window (steps either side)').fill('lots');
    await page.getByLabel('How many backup codes').fill('99');
    await page.getByLabel('Organisation name').fill('Acme Widgets');
    await page.getByRole('button', { name: 'Save settings' }).click();
    assert.match(await fieldError('maxAttempts'), /from 1 to 10/);
    assert.match(await fieldError('skewSteps'), /from 0 to 10/);
    assert.match(await fieldError('backupCodesCount'), /from 1 to 20/);
    const summary = (await page.locator('#form-error').textContent())!;
    assert.match(summary, /3 things need a change/);
    assert.doesNotMatch(summary, /maxAttempts|backupCodes|NaN/);
    assert.equal(await page.getByLabel('Organisation name').inputValue(), 'Acme Widgets', 'a good value typed stays too');
    assert.equal(await page.getByLabel('Validity window (steps either side)').inputValue(), 'lots');
    await shoot('console-settings-errors');

    // A logo path that serves nothing.
    await page.goto(`${server.issuer}/admin/settings`);
    await page.getByLabel('Logo address').fill('/static/acme.png');
    await page.getByRole('button', { name: 'Save settings' }).click();
    assert.match(await fieldError('brandLogoUrl'), /No image is served at \/static\/acme\.png/);

    // A user's details: a bad email.
    const dana = (await api('/admin/api/users?q=dana')).users[0];
    await page.goto(`${server.issuer}/admin/users/${dana.id}`);
    await page.getByLabel('Email', { exact: true }).fill('dana@');
    await page.getByLabel('Full name', { exact: true }).fill('Dana Scully');
    await page.getByRole('button', { name: 'Save details' }).click();
    assert.match(await fieldError('email'), /Enter an email address/);
    assert.equal(await page.getByLabel('Full name', { exact: true }).inputValue(), 'Dana Scully');

    // Setting a password too short.
    await page.goto(`${server.issuer}/admin/users/${dana.id}/set-password`);
    await page.getByLabel('New password').fill('short');
    await page.getByTestId('confirm').click();
    assert.match(await fieldError('password'), /at least 8 characters/);

    // A SAML application without its fields.
    await page.goto(`${server.issuer}/admin/saml`);
    await page.getByLabel('Id (letters, digits, ., - or _)').fill('bad id!');
    await page.getByLabel('Ask the second factor again after (seconds)').fill('-5');
    await page.getByRole('button', { name: 'Add the application' }).click();
    await fieldError('id');
    assert.match(await fieldError('mfa_max_age'), /number of seconds/);
    assert.equal(await page.getByLabel('Id (letters, digits, ., - or _)').inputValue(), 'bad id!');

    assert.equal(await auditCount(), events, 'nothing was written');
    assert.equal((await api('/admin/api/settings')).maxAttempts, 5);
  });

  it('ends each action with a message on the page it returns to, which a reload does not repeat', async () => {
    const dana = (await api('/admin/api/users?q=dana')).users[0];
    const page_ = `${server.issuer}/admin/users/${dana.id}`;
    await page.goto(page_);
    assert.equal(await page.getByTestId('unlock').count(), 0, 'unlock is offered only to a locked user');
    assert.equal(await page.getByTestId('reset-mfa').count(), 0, 'reset only to a registered one');

    await page.getByTestId('exempt').click();
    await page.getByTestId('confirm').click();
    await page.waitForURL(page_);
    assert.match((await page.getByTestId('flash').textContent())!, /dana is exempt/);
    await shoot('console-user-saved');
    const events = await auditCount();
    await page.reload();
    assert.equal(await page.getByTestId('flash').count(), 0, 'the message is gone after a reload');
    assert.equal(await auditCount(), events, 'and nothing was done again');

    // Details saved, then the same again: a message, but no event for a change of nothing.
    await page.getByLabel('Email', { exact: true }).fill('dana@example.com');
    await page.getByLabel('Full name', { exact: true }).fill('Dana Scully');
    await page.getByRole('button', { name: 'Save details' }).click();
    assert.match((await page.getByTestId('flash').textContent())!, /details of dana were saved/);
    assert.equal(await auditCount(), events + 1);
    await page.getByRole('button', { name: 'Save details' }).click();
    assert.match((await page.getByTestId('flash').textContent())!, /Nothing was changed/);
    assert.equal(await auditCount(), events + 1, 'no event for a change that changed nothing');

    // The exempt users are listed in the settings.
    await page.goto(`${server.issuer}/admin/settings`);
    assert.deepEqual(await page.getByTestId('exempt-users').locator('a').allTextContents(), ['dana']);
    const types = (await api(`/admin/api/audit?user=${dana.id}`)).events.map((e: AuditEvent) => e.type);
    assert.deepEqual(types.slice(0, 2), ['user.updated', 'user.exempted']);
  });

  it('adds an application, shows its secret once with a copy button, rotates it only after a confirmation, and deletes it after one', async () => {
    await page.goto(`${server.issuer}/admin/clients`);
    await page.getByLabel('Client id').fill('crm');
    await page.getByLabel('Name people see').fill('Customer records');
    await page.getByLabel('Redirect URIs, one per line').fill('https://crm.example.com/cb');
    // "Don't ask again": a number of days from 0 to 365 (a year and a day is refused, in words).
    await page.getByLabel('“Don’t ask again on this device” for (days)').fill('366');
    await page.getByRole('button', { name: 'Add the application' }).click();
    assert.match(await fieldError('remember_device_days'), /number of days from 0 to 365/);
    await page.getByLabel('“Don’t ask again on this device” for (days)').fill('30');
    await page.getByLabel('A passkey may sign in instead of the password').check();
    await page.getByRole('button', { name: 'Add the application' }).click();
    await page.waitForURL(`${server.issuer}/admin/clients/crm`);
    const stored = await api('/admin/api/clients/crm');
    assert.deepEqual([stored.remember_device_days, stored.passkey_sign_in], [30, true]);
    const first = (await page.getByTestId('client-secret').textContent())!;
    assert.ok(first.length >= 32);
    assert.equal(await page.getByRole('button', { name: 'Copy' }).isVisible(), true, 'a copy button, with scripts');
    assert.equal(await page.getByTestId('dev-issuer').textContent(), server.issuer);
    assert.match((await page.locator('section.idp').textContent())!, /\.well-known\/openid-configuration/);
    await shoot('console-client-added');
    await page.reload();
    assert.equal(await page.getByTestId('client-secret').count(), 0, 'shown once');

    await page.getByTestId('rotate-secret').click();
    await page.getByRole('heading', { name: 'Make a new client secret?' }).waitFor();
    const rotations = async () => (await api('/admin/api/audit?type=client.secret_rotated')).events.length;
    assert.equal(await rotations(), 0, 'opening the confirmation rotates nothing');
    await shoot('console-client-rotate-confirm');
    await page.getByTestId('confirm').click();
    const second = (await page.getByTestId('client-secret').textContent())!;
    assert.notEqual(second, first);
    await page.reload();
    assert.equal(await rotations(), 1, 'a reload rotates nothing again');

    // Both switched off again from the form.
    await page.getByLabel('“Don’t ask again on this device” for (days)').fill('');
    await page.getByLabel('A passkey may sign in instead of the password').uncheck();
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByText('The application was saved.').waitFor();
    const cleared = await api('/admin/api/clients/crm');
    assert.deepEqual([cleared.remember_device_days, cleared.passkey_sign_in], [undefined, undefined]);

    await page.getByTestId('delete-client').click();
    await page.getByTestId('confirm').click();
    await page.waitForURL(`${server.issuer}/admin/clients`);
    assert.match((await page.getByTestId('flash').textContent())!, /Customer records was deleted/);
    assert.equal((await server.adminFetch('/admin/api/clients/crm')).status, 404);
  });

  it('records a settings change with exactly the changed settings, old and new', async () => {
    await page.goto(`${server.issuer}/admin/settings`);
    await page.getByLabel('Wrong codes before a lock').fill('3');
    await page.getByLabel('Organisation name').fill('Acme Widgets');
    await page.getByRole('button', { name: 'Save settings' }).click();
    assert.match((await page.getByTestId('flash').textContent())!, /Saved/);
    const [event] = (await api('/admin/api/audit?type=settings.updated&limit=1')).events as AuditEvent[];
    assert.deepEqual(event!.changes, [
      { field: 'maxAttempts', from: '5', to: '3' },
      { field: 'brand.name', from: 'twofold', to: 'Acme Widgets' },
    ]);
    await page.goto(`${server.issuer}/admin/audit?type=settings.updated`);
    assert.match((await page.getByTestId('audit-row').first().textContent())!, /maxAttempts: 5 → 3; brand\.name: twofold → Acme Widgets/);
    await shoot('console-audit-settings');
    await api('/admin/api/settings', { method: 'PATCH', body: JSON.stringify({ maxAttempts: 5 }) });
  });

  it('shows a logo at an https address, whose origin the pages allow, and an uploaded one', async () => {
    const violations: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) violations.push(message.text());
    });
    await page.goto(`${server.issuer}/admin/settings`);
    await page.getByLabel('Logo address').fill(`${logoOrigin}/logo.png`);
    await page.getByRole('button', { name: 'Save settings' }).click();
    assert.match((await page.getByTestId('flash').textContent())!, /Saved/);
    const logo = page.locator('header.brand img.logo');
    await logo.waitFor();
    assert.equal(await logo.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth), 2, 'the image loaded');
    const policy = (await page.request.get(`${server.issuer}/admin/settings`, { maxRedirects: 0 })).headers()['content-security-policy'];
    assert.match(policy!, new RegExp(`img-src 'self' data: ${logoOrigin.replace(/[.:/]/g, '\\$&')};`));
    // The sign-in pages show it too.
    const signIn = await context.newPage();
    await signIn.goto(`${server.issuer}/account/`);
    await signIn.locator('header.brand img.logo').waitFor();
    assert.equal(await signIn.locator('header.brand img.logo').evaluate((img: HTMLImageElement) => img.naturalWidth), 2);
    await signIn.close();
    await shoot('console-settings-logo');

    // An upload: kept and served by twofold.
    await page.locator('#logo').setInputFiles({ name: 'logo.png', mimeType: 'image/png', buffer: LOGO_PNG });
    await page.getByRole('button', { name: 'Upload the logo' }).click();
    assert.match((await page.getByTestId('flash').textContent())!, /The logo was uploaded/);
    assert.match((await api('/admin/api/settings')).brand.logoUrl, /^\/brand\/logo\?v=/);
    await page.locator('header.brand img.logo').waitFor();
    assert.equal(await page.locator('header.brand img.logo').evaluate((img: HTMLImageElement) => img.naturalWidth), 2);
    // Not an image: refused beside the field.
    await page.locator('#logo').setInputFiles({ name: 'logo.png', mimeType: 'image/png', buffer: Buffer.from('<svg onload="alert(1)"/>') });
    await page.getByRole('button', { name: 'Upload the logo' }).click();
    assert.match(await fieldError('logo'), /PNG, JPEG, GIF or WebP/);
    assert.deepEqual(violations, [], 'no policy violation');
    await api('/admin/api/settings', { method: 'PATCH', body: JSON.stringify({ brand: { name: 'twofold', logoUrl: null } }) });
  });

  it("vouches for a user's email, switches notifications, and sends a test mail to the administrator", async () => {
    const root = (await api('/admin/api/users?q=root')).users[0];
    await page.goto(`${server.issuer}/admin/users/${root.id}`);
    await page.getByLabel('Email', { exact: true }).fill('root@example.com');
    await page.getByLabel('Verified: I vouch that this address is the user’s').check();
    await page.getByRole('button', { name: 'Save details' }).click();
    assert.match((await page.getByTestId('flash').textContent())!, /details of root were saved/);
    assert.match((await page.locator('dl.facts').textContent())!, /root@example\.com \(verified\)/);
    assert.equal((await api(`/admin/api/users/${root.id}`)).email_verified, true);
    await shoot('console-user-email');

    await page.goto(`${server.issuer}/admin/settings`);
    await page.getByTestId('test-mail').click();
    assert.match((await page.getByTestId('flash').textContent())!, /A test mail is on its way to root@example\.com/);
    await server.mail.idle();
    assert.ok(server.printedMails.some((text) => text.includes('mail to root@example.com: A test mail')));
    await page.getByLabel('Tell users by mail when their sign-in methods change').uncheck();
    await page.getByRole('button', { name: 'Save settings' }).click();
    assert.equal((await api('/admin/api/settings')).notifications.enabled, false);
    await shoot('console-settings-mail');
    await api('/admin/api/settings', { method: 'PATCH', body: JSON.stringify({ notifications: { enabled: true } }) });
  });

  it("shows times in the viewer's time zone, and in UTC without scripts", async () => {
    const dana = (await api('/admin/api/users?q=dana')).users[0];
    const zoned = await browser.newContext({ timezoneId: 'Asia/Tokyo', locale: 'en-GB' });
    const plain = await browser.newContext({ javaScriptEnabled: false });
    try {
      for (const other of [zoned, plain]) await other.addCookies(await context.cookies());
      const tokyo = await zoned.newPage();
      await tokyo.goto(`${server.issuer}/admin/users/${dana.id}`);
      const time = tokyo.locator('table.audit time').first();
      const iso = (await time.getAttribute('datetime'))!;
      const expected = new Intl.DateTimeFormat('en-GB', {
        timeZone: 'Asia/Tokyo',
        year: 'numeric',
        month: '2-digit',
        day: '2-digit',
        hour: '2-digit',
        minute: '2-digit',
        timeZoneName: 'short',
      }).format(new Date(iso));
      assert.equal(await time.textContent(), expected);
      assert.match(expected, /GMT\+9/);
      const utc = await plain.newPage();
      await utc.goto(`${server.issuer}/admin/users/${dana.id}`);
      assert.equal(await utc.locator('table.audit time').first().textContent(), `${iso.replace('T', ' ').slice(0, 16)} UTC`);
    } finally {
      await zoned.close();
      await plain.close();
    }
  });

  it('renders the API documentation from twofold itself, without any policy violation', async () => {
    const violations: string[] = [];
    const outside: string[] = [];
    const docs = await context.newPage();
    docs.on('console', (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) violations.push(message.text());
    });
    docs.on('request', (request) => {
      if (!request.url().startsWith(server.issuer) && !request.url().startsWith('data:')) outside.push(request.url());
    });
    await docs.goto(`${server.issuer}/admin/`);
    await docs.getByRole('link', { name: 'API' }).click();
    await docs.waitForURL(`${server.issuer}/admin/api/docs`);
    await docs.locator('.opblock-tag-section').first().waitFor();
    const tags = await docs.locator('.opblock-tag').allTextContents();
    for (const tag of ['users', 'applications', 'settings', 'audit', 'data'])
      assert.ok(
        tags.some((t) => t.startsWith(tag)),
        `the ${tag} tag`,
      );
    assert.ok((await docs.locator('.opblock-summary-path').count()) >= 25, 'every operation is listed');
    assert.deepEqual(violations, []);
    assert.deepEqual(outside, [], 'nothing from elsewhere');
    await snapshot(docs, { path: screenshotPath('api-docs-desktop'), fullPage: false });
    await docs.setViewportSize({ width: 390, height: 844 });
    await snapshot(docs, { path: screenshotPath('api-docs-phone'), fullPage: false });
    await docs.close();
  });
});
