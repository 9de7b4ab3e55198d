import { createPrivateKey, generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import forge from 'node-forge';
import type { Clock } from '../domain/clock.ts';
import type { DataKeyring } from '../domain/data-key.ts';
import { AppError } from '../domain/errors.ts';
import type { KeyStore } from '../domain/ports.ts';

export const SAML_KEYS_ID = 'saml-signing';
export const SAML_KEYS_PURPOSE = 'saml-signing-keys';

export interface SigningPair {
  keyPem: string;
  certPem: string;
}

/** The key and certificate that sign now, and a certificate published before it is used. */
export interface SamlSigning {
  current: SigningPair;
  next?: SigningPair | undefined;
  /** Given by the operator in files: rotation is then the operator's, by changing the files. */
  fromFiles: boolean;
}

const CERT_YEARS = 10;
// Every node reads the keys from the store; a rotation reaches them within this time.
const CACHE_MS = 5_000;

/**
 * A 2048-bit RSA key and a self-signed X.509 certificate for it. The key is Node's; the
 * certificate is assembled and signed (SHA-256) by node-forge, which Node cannot do.
 */
export function generateSigningPair(commonName: string, now: number): SigningPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const cert = forge.pki.createCertificate();
  cert.publicKey = forge.pki.publicKeyFromPem(publicKey.export({ type: 'spki', format: 'pem' }).toString());
  // A positive serial of 16 random bytes (RFC 5280 4.1.2.2).
  cert.serialNumber = `01${randomBytes(15).toString('hex')}`;
  cert.validity.notBefore = new Date(now - 60_000);
  cert.validity.notAfter = new Date(now + CERT_YEARS * 365 * 86_400_000);
  const subject = [{ name: 'commonName', value: commonName.slice(0, 64) }];
  cert.setSubject(subject);
  cert.setIssuer(subject);
  cert.sign(forge.pki.privateKeyFromPem(keyPem), forge.md.sha256.create());
  return { keyPem, certPem: forge.pki.certificateToPem(cert) };
}

/** The base64 body of a PEM certificate, as metadata and KeyInfo carry it. */
export const certificateBody = (pem: string): string => pem.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');

function checkedPair(pair: SigningPair, what: string): SigningPair {
  try {
    const cert = new X509Certificate(pair.certPem);
    if (!cert.checkPrivateKey(createPrivateKey(pair.keyPem))) throw new Error('the certificate is not for this key');
  } catch (err) {
    throw new AppError('invalid_request', `${what}: ${(err as Error).message}`);
  }
  return pair;
}

export interface SamlKeyOptions {
  keys: KeyStore;
  keyring: DataKeyring;
  clock: Clock;
  commonName: string;
  files?: { keyFile?: string | undefined; certificateFile?: string | undefined; nextCertificateFile?: string | undefined } | undefined;
}

/**
 * The identity provider's signing keys: from the operator's files when configured, else
 * generated on first start and kept sealed with the data key in the key store, so every
 * node signs with the same key and a restart changes nothing. A next certificate can be
 * published (metadata) before it signs: `prepareNext`, then `rotate` once applications
 * have it.
 */
export function createSamlKeys(options: SamlKeyOptions) {
  const { keys, keyring, clock } = options;
  const seal = (value: { current: SigningPair; next?: SigningPair | undefined }) => keyring.seal(JSON.stringify(value), SAML_KEYS_PURPOSE);
  const open = (sealed: string) => JSON.parse(keyring.open(sealed, SAML_KEYS_PURPOSE)) as { current: SigningPair; next?: SigningPair };

  const fromFiles = (): SamlSigning | undefined => {
    const files = options.files;
    if (!files?.keyFile || !files.certificateFile) return undefined;
    const current = checkedPair(
      { keyPem: readFileSync(files.keyFile, 'utf8'), certPem: readFileSync(files.certificateFile, 'utf8') },
      'saml.keyFile and saml.certificateFile',
    );
    const next = files.nextCertificateFile ? { keyPem: '', certPem: readFileSync(files.nextCertificateFile, 'utf8') } : undefined;
    if (next) new X509Certificate(next.certPem);
    return { current, next, fromFiles: true };
  };
  const given = fromFiles();

  let cached: { at: number; value: SamlSigning } | undefined;
  async function stored(): Promise<{ sealed: string; value: SamlSigning }> {
    const sealed = await keys.getOrCreate(SAML_KEYS_ID, () => seal({ current: generateSigningPair(options.commonName, clock.now()) }));
    return { sealed, value: { ...open(sealed), fromFiles: false } };
  }

  return {
    /** The keys in use now (read again at most every few seconds). */
    async get(): Promise<SamlSigning> {
      if (given) return given;
      const now = clock.now();
      if (cached && now - cached.at < CACHE_MS) return cached.value;
      const { value } = await stored();
      cached = { at: now, value };
      return value;
    },

    /** Makes a next key and certificate, published in the metadata from now on; signing goes on with the current one. */
    async prepareNext(): Promise<SamlSigning> {
      if (given) throw new AppError('conflict', 'the SAML keys come from files (saml.keyFile): rotate them by changing the files');
      const { sealed, value } = await stored();
      const updated = { current: value.current, next: generateSigningPair(options.commonName, clock.now()) };
      if (!(await keys.replace(SAML_KEYS_ID, sealed, seal(updated))))
        throw new AppError('conflict', 'the SAML keys changed meanwhile; try again');
      cached = undefined;
      return { ...updated, fromFiles: false };
    },

    /** Signs with the next key from now on; the old certificate leaves the metadata. */
    async rotate(): Promise<SamlSigning> {
      if (given) throw new AppError('conflict', 'the SAML keys come from files (saml.keyFile): rotate them by changing the files');
      const { sealed, value } = await stored();
      if (!value.next) throw new AppError('conflict', 'there is no next key yet: prepare one first and give applications time to fetch it');
      const updated = { current: value.next };
      if (!(await keys.replace(SAML_KEYS_ID, sealed, seal(updated))))
        throw new AppError('conflict', 'the SAML keys changed meanwhile; try again');
      cached = undefined;
      return { ...updated, fromFiles: false };
    },
  };
}

export type SamlKeys = ReturnType<typeof createSamlKeys>;
