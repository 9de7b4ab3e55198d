import type { Clock, createManualClock } from '../../src/domain/clock.ts';
import assert from 'node:assert/strict';
import { follow, formAction, signIn, UserAgent, type Page, type RelyingParty } from './relying-party.ts';
import { createUser, type TestServer } from './server.ts';
import { authenticatorCode, decodeBase32 } from './rfc6238.ts';

/**
 * The user's phone: keeps the secret from the registration page and computes codes from it
 * at the time of the server's injected clock (`offset` steps away).
 */
export class Phone {
  secret: Uint8Array | undefined;
  /** The backup codes saved after registering, as shown. */
  backupCodes: string[] = [];
  readonly clock: Clock;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  code(offset = 0): Promise<string> {
    if (!this.secret) throw new Error('nothing registered on this phone');
    return authenticatorCode(this.secret, Math.floor(this.clock.now() / 1000) + offset * 30);
  }

  /** An Authenticator (see relying-party.ts) that registers and answers with current codes. */
  get app() {
    return {
      register: (secret: string) => {
        this.secret = decodeBase32(secret);
        return this.code();
      },
      code: () => this.code(),
      saveBackupCodes: (codes: string[]) => {
        this.backupCodes = codes;
      },
    };
  }
}

/** A 6-digit code that is certainly not `code`. */
export function wrongCode(code: string): string {
  return String((Number(code) + 500_000) % 1_000_000).padStart(6, '0');
}

/**
 * A new user who has registered an authenticator app through `rp` (and kept the backup
 * codes); the clock then moves one step on, so the next code is a new one.
 */
export async function registeredUser(server: TestServer, rp: RelyingParty, clock: ReturnType<typeof createManualClock>, username: string) {
  const credentials = { username, password: 'a long passphrase' };
  const { id } = await createUser(server, credentials);
  const phone = new Phone(clock);
  await signIn(new UserAgent(), rp, credentials, {}, phone.app);
  clock.advance(30_000);
  return { id, credentials, phone };
}

/**
 * Walks twofold's own pages from `url`, answering the password and code pages, until a
 * page that `arrived` recognises. Returns that page and the steps that were asked.
 */
export async function walkOwnPages(
  agent: UserAgent,
  url: string,
  credentials: { username: string; password: string },
  phone: Phone,
  arrived: (page: Page) => boolean,
) {
  let page = await follow(agent, url, 'never:');
  const seen: string[] = [];
  while (!arrived(page)) {
    assert.equal(page.status, 200, `${page.url.pathname}: ${page.html.slice(0, 300)}`);
    if (page.html.includes('name="password"')) {
      seen.push('login');
      const posted = await agent.postForm(formAction(page, '/login'), credentials);
      page = await follow(agent, new URL(posted.headers.get('location')!, page.url), 'never:');
    } else if (page.html.includes('autocomplete="one-time-code"')) {
      seen.push('code');
      const posted = await agent.postForm(formAction(page, '/code'), { code: await phone.code() });
      assert.equal(posted.status, 303);
      page = await follow(agent, new URL(posted.headers.get('location')!, page.url), 'never:');
    } else {
      throw new Error(`unexpected page ${page.url.pathname}: ${page.html.slice(0, 300)}`);
    }
  }
  return { page, seen };
}

/** Where the account page removes the user's first authenticator app. */
export const removeAppPath = (page: Page) => {
  const path = /href="(\/account\/apps\/[0-9a-f]{16}\/remove)"/.exec(page.html)?.[1];
  if (!path) throw new Error(`no authenticator app to remove on ${page.url.pathname}`);
  return path;
};
