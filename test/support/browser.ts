import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import jsQRModule from 'jsqr';
import { chromium, type Browser, type BrowserContext, type CDPSession, type Page } from 'playwright-core';
import { packageRoot } from '../../src/config/load.ts';
import { testChromium } from './env.ts';
import { authenticatorCode, decodeBase32 } from './rfc6238.ts';

/**
 * Debian's Chromium, headless, with no background traffic. Playwright gives every launch a
 * fresh, empty profile of its own and removes it on close.
 */
export async function launchChromium(): Promise<Browser & { cleanup(): Promise<void> }> {
  const browser = await chromium.launch({
    executablePath: testChromium!,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return Object.assign(browser, { cleanup: () => browser.close() });
}

/** Where screenshots of the pages go, for a person to look at (not committed). */
export function screenshotPath(name: string): string {
  const dir = join(packageRoot, 'test-output', 'screenshots');
  mkdirSync(dir, { recursive: true });
  return join(dir, `${name}.png`);
}

/**
 * A screenshot of the page. Headless Chromium on a busy machine now and then answers a
 * capture with "Unable to capture screenshot" (the page itself is fine); the capture is
 * tried again then, up to three times. Any other error is the test's.
 */
export async function snapshot(page: Page, options: Parameters<Page['screenshot']>[0] = {}): Promise<Buffer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await page.screenshot(options);
    } catch (err) {
      if (attempt === 3 || !String(err).includes('Unable to capture screenshot')) throw err;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

/**
 * Reads a QR code from a screenshot, as a phone's camera would: the PNG is drawn on a
 * canvas in a blank page of the same browser to get its pixels, and jsQR decodes them.
 */
// jsqr is CommonJS whose module.exports is the function; its types describe an ES default.
const jsQR = jsQRModule as unknown as typeof jsQRModule.default;

export async function scanQrCode(context: BrowserContext, png: Buffer): Promise<string> {
  const blank = await context.newPage();
  try {
    const { pixels, width, height } = await blank.evaluate(async (base64) => {
      const image = new Image();
      image.src = `data:image/png;base64,${base64}`;
      await image.decode();
      const canvas = document.createElement('canvas');
      canvas.width = image.naturalWidth;
      canvas.height = image.naturalHeight;
      const context2d = canvas.getContext('2d')!;
      context2d.drawImage(image, 0, 0);
      const { data } = context2d.getImageData(0, 0, canvas.width, canvas.height);
      let binary = '';
      for (let i = 0; i < data.length; i += 0x8000) binary += String.fromCharCode(...data.subarray(i, i + 0x8000));
      return { pixels: btoa(binary), width: canvas.width, height: canvas.height };
    }, png.toString('base64'));
    const decoded = jsQR(new Uint8ClampedArray(Buffer.from(pixels, 'base64')), width, height);
    if (!decoded) throw new Error('no QR code found in the screenshot');
    return decoded.data;
  } finally {
    await blank.close();
  }
}

/**
 * Stands in for the application at `prefix` (its redirect URI): the browser's arrival there
 * is answered and its URL kept, for the test to exchange the code.
 */
export async function interceptCallback(page: Page, prefix: string): Promise<() => URL> {
  let callback: URL | undefined;
  await page.route(`${prefix}**`, async (route) => {
    callback = new URL(route.request().url());
    await route.fulfill({ status: 200, contentType: 'text/plain', body: 'back at the application' });
  });
  return () => {
    if (!callback) throw new Error(`the browser never came back to ${prefix}`);
    return callback;
  };
}

const axeSource = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/**
 * axe-core's verdict on the page as it is: the rules it breaks, with where. The context
 * needs `bypassCSP: true`, as axe is injected as a script of the page's own.
 */
export async function axeViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: axeSource });
  const result = (await page.evaluate(async () => (globalThis as unknown as { axe: { run(): Promise<unknown> } }).axe.run())) as {
    violations: { id: string; nodes: { target: string[] }[] }[];
  };
  return result.violations.map((v) => `${v.id} at ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

/**
 * Signs in to the console at `issuer` through twofold's pages as a person does: the
 * password, then a new authenticator app (its code at `nowSeconds`), then the backup codes.
 * The console's first sign-in always registers an app.
 */
export async function consoleFirstSignIn(
  page: Page,
  issuer: string,
  credentials: { username: string; password: string },
  nowSeconds: number,
) {
  await page.goto(`${issuer}/admin/`);
  await page.getByLabel('Username').fill(credentials.username);
  await page.getByLabel('Password').fill(credentials.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  const secret = (await page.getByTestId('totp-secret').textContent())!.replaceAll(' ', '');
  await page.getByLabel('Code from the app').fill(await authenticatorCode(decodeBase32(secret), nowSeconds));
  await page.getByRole('button', { name: 'Verify and continue' }).click();
  await page.getByTestId('continue').click();
}

/**
 * The applications' redirect target as a real local page ("back at the application"), so
 * that a browser's form posts after a key's answer (sent by the page's script) end where a
 * person's would. `prefix`: its address, to wait for.
 */
export async function startApplicationPage(): Promise<{ prefix: string; close(): void }> {
  const application = createServer((_, response) => response.end('back at the application'));
  await new Promise<void>((resolve) => application.listen(0, '127.0.0.1', resolve));
  return { prefix: `http://127.0.0.1:${(application.address() as AddressInfo).port}/`, close: () => application.close() };
}

/**
 * A virtual WebAuthn authenticator (the DevTools protocol's WebAuthn domain) on this page's
 * browser, that keeps discoverable credentials and verifies its user: `internal` stands for
 * a laptop's or phone's passkeys, `usb` for a security key with a PIN. Its id, to remove it.
 */
export async function addVirtualAuthenticator(cdp: CDPSession, transport: 'internal' | 'usb'): Promise<string> {
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2',
      transport,
      hasResidentKey: true,
      hasUserVerification: true,
      isUserVerified: true,
      automaticPresenceSimulation: true,
    },
  });
  return authenticatorId;
}

/** A page as a person meets it: no axe-core violation (`what` names it), and its screenshot as `name`. */
export async function checkPage(page: Page, name: string, what: string): Promise<void> {
  assert.deepEqual(await axeViolations(page), [], what);
  await snapshot(page, { path: screenshotPath(name), fullPage: true });
}
