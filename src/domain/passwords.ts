import { randomBytes } from 'node:crypto';
import argon2 from 'argon2';

/** argon2id cost. OWASP's minimum is 19 MiB of memory, 2 passes, 1 lane. */
export interface PasswordCost {
  memoryKiB: number;
  passes: number;
  parallelism: number;
}

export const owaspMinimumCost: PasswordCost = { memoryKiB: 19_456, passes: 2, parallelism: 1 };

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(hash: string, password: string): Promise<boolean>;
  /**
   * Burns the same work as a real verification. Used when the username is unknown, so the
   * response time does not tell which accounts exist.
   */
  verifyDummy(password: string): Promise<false>;
}

export async function createPasswordHasher(cost: PasswordCost): Promise<PasswordHasher> {
  const options = {
    // The package types `argon2id` as number; its value is 2 (argon2id).
    type: argon2.argon2id as 2,
    memoryCost: cost.memoryKiB,
    timeCost: cost.passes,
    parallelism: cost.parallelism,
  };
  const dummyHash = await argon2.hash(randomBytes(24).toString('base64url'), options);

  return {
    hash: (password) => argon2.hash(password, options),
    async verify(hash, password) {
      try {
        return await argon2.verify(hash, password);
      } catch {
        return false;
      }
    },
    async verifyDummy(password) {
      await argon2.verify(dummyHash, password).catch(() => false);
      return false;
    },
  };
}
