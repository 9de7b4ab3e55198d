import type { Clock } from '../../src/domain/clock.ts';
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
