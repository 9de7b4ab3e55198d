import type { Clock, createManualClock } from '../../src/domain/clock.ts';
import { signIn, UserAgent, type RelyingParty } from './relying-party.ts';
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
