import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';
import { AppError } from './errors.ts';

/**
 * Encryption of secrets at rest (TOTP secrets, client secrets, signing keys) with
 * AES-256-GCM. Each sealed value carries the id of the key that sealed it, so DATA_KEY can
 * rotate: the first key seals, every listed key opens.
 *
 * Format: `v1.<kid>.<iv>.<ciphertext>.<tag>` (base64url parts). The associated data binds a
 * value to its purpose, so a sealed client secret cannot be replayed as a TOTP secret.
 */
export interface DataKeyring {
  seal(plaintext: string, purpose: string): string;
  open(sealed: string, purpose: string): string;
  /**
   * A 32-byte key for `purpose` derived (HKDF-SHA-256) from the data key `kid`, by default
   * the current one. Keyed hashes keep the kid beside them, so they still verify after a
   * rotation. Throws when `kid` is not configured.
   */
  derive(purpose: string, kid?: string): { kid: string; key: Buffer };
  /** Whether a data key of this id is configured. */
  has(kid: string): boolean;
  readonly currentKeyId: string;
}

/** The id of the data key that sealed `sealed`, or null when it is not a sealed value. */
export function sealedKeyId(sealed: string): string | null {
  const parts = sealed.split('.');
  return parts.length === 5 && parts[0] === 'v1' ? parts[1]! : null;
}

export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('base64url').slice(0, 8);
}

export function createDataKeyring(keys: readonly Buffer[]): DataKeyring {
  if (keys.length === 0) throw new Error('at least one data key is needed');
  for (const key of keys) if (key.length !== 32) throw new Error('a data key is 32 bytes');
  const byId = new Map(keys.map((key) => [keyIdOf(key), key]));
  const current = keys[0]!;
  const currentKeyId = keyIdOf(current);

  return {
    currentKeyId,
    has: (kid) => byId.has(kid),
    derive(purpose, kid = currentKeyId) {
      const key = byId.get(kid);
      if (!key) throw new AppError('internal', 'a keyed value needs a data key that is not configured', { detail: `kid=${kid}` });
      return { kid, key: Buffer.from(hkdfSync('sha256', key, Buffer.alloc(0), `twofold ${purpose}`, 32)) };
    },
    seal(plaintext, purpose) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', current, iv);
      cipher.setAAD(Buffer.from(purpose));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      const tag = cipher.getAuthTag();
      return ['v1', currentKeyId, iv.toString('base64url'), ciphertext.toString('base64url'), tag.toString('base64url')].join('.');
    },
    open(sealed, purpose) {
      const parts = sealed.split('.');
      if (parts.length !== 5 || parts[0] !== 'v1') throw new AppError('internal', 'sealed value is malformed');
      const [, kid, iv, ciphertext, tag] = parts as [string, string, string, string, string];
      const key = byId.get(kid);
      if (!key) throw new AppError('internal', 'sealed value needs a data key that is not configured', { detail: `kid=${kid}` });
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
        decipher.setAAD(Buffer.from(purpose));
        decipher.setAuthTag(Buffer.from(tag, 'base64url'));
        return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
      } catch (cause) {
        throw new AppError('internal', 'sealed value failed authentication', { detail: `kid=${kid}`, cause });
      }
    },
  };
}
