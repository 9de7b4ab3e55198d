import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { packageRoot } from '../../src/config/load.ts';
import { testChromium } from './env.ts';

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
