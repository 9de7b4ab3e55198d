import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { DataKeyring } from '../domain/data-key.ts';
import type { KeyStore } from '../domain/ports.ts';

export const SIGNING_KEYS_PURPOSE = 'oidc-signing-keys';
export const SIGNING_KEYS_ID = 'oidc-jwks';

export interface Jwks {
  keys: Record<string, unknown>[];
}

function generateJwks(): Jwks {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { keys: [{ ...jwk, kid: randomBytes(12).toString('base64url'), alg: 'RS256', use: 'sig' }] };
}

/**
 * The provider's signing keys: generated on first start, stored sealed with the data key,
 * and read back on every later start, so tokens stay valid across restarts and every node
 * signs with the same key.
 */
export async function loadSigningKeys(keys: KeyStore, keyring: DataKeyring): Promise<Jwks> {
  const sealed = await keys.getOrCreate(SIGNING_KEYS_ID, () => keyring.seal(JSON.stringify(generateJwks()), SIGNING_KEYS_PURPOSE));
  return JSON.parse(keyring.open(sealed, SIGNING_KEYS_PURPOSE)) as Jwks;
}
