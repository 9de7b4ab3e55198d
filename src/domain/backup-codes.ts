import { createHmac, randomInt } from 'node:crypto';

/**
 * Backup codes: single-use codes for a user without the phone. Each is 10 characters of
 * Crockford's base32 (no I, L, O or U to misread): 50 random bits from the CSPRNG, shown
 * as `xxxxx-xxxxx`. They are stored only as keyed hashes (HMAC-SHA-256 under a key derived
 * from the data key): the codes are random, so a fast keyed hash is enough and a stolen
 * database does not reveal them.
 */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
export const BACKUP_CODE_LENGTH = 10;
export const BACKUP_CODE_PURPOSE = 'backup-codes';

export function generateBackupCodes(count: number): string[] {
  const codes = new Set<string>();
  while (codes.size < count) {
    let code = '';
    for (let i = 0; i < BACKUP_CODE_LENGTH; i++) code += ALPHABET[randomInt(ALPHABET.length)];
    codes.add(code);
  }
  return [...codes].map(formatBackupCode);
}

export function formatBackupCode(canonical: string): string {
  return `${canonical.slice(0, 5)}-${canonical.slice(5)}`;
}

/**
 * The canonical form of what a person typed, or null when it cannot be a backup code: any
 * case, with or without the dash or spaces; I and L read as 1 and O as 0, as Crockford's
 * base32 says.
 */
export function normalizeBackupCode(input: string): string | null {
  const folded = input.replace(/[\s-]/g, '').toLowerCase().replace(/[il]/g, '1').replace(/o/g, '0');
  if (folded.length !== BACKUP_CODE_LENGTH) return null;
  for (const char of folded) if (!ALPHABET.includes(char)) return null;
  return folded;
}

export function hashBackupCode(key: Buffer, canonical: string): string {
  return createHmac('sha256', key).update(canonical).digest('base64url');
}
