import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';

/**
 * A software WebAuthn authenticator for tests without a browser: it makes a P-256
 * credential ("none" attestation) and signs assertions, as a security key does, so the
 * server's checks run on real signatures. The browser tests use Chromium's virtual
 * authenticator instead.
 */

/** The CBOR (RFC 8949) of the few shapes WebAuthn needs: maps, integers, byte and text strings. */
function cbor(value: unknown): Buffer {
  const head = (major: number, length: number) => {
    if (length < 24) return Buffer.from([(major << 5) | length]);
    if (length < 256) return Buffer.from([(major << 5) | 24, length]);
    const out = Buffer.alloc(3);
    out[0] = (major << 5) | 25;
    out.writeUInt16BE(length, 1);
    return out;
  };
  if (typeof value === 'number') return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (typeof value === 'string') return Buffer.concat([head(3, Buffer.byteLength(value)), Buffer.from(value)]);
  if (Buffer.isBuffer(value)) return Buffer.concat([head(2, value.length), value]);
  if (value instanceof Map) return Buffer.concat([head(5, value.size), ...[...value].flatMap(([key, inner]) => [cbor(key), cbor(inner)])]);
  throw new Error(`no CBOR for ${typeof value}`);
}

const b64url = (bytes: Buffer) => bytes.toString('base64url');

export interface Ceremony {
  /** The options the server handed to the page (the JSON of PublicKeyCredential*Options). */
  challenge: string;
  origin: string;
  rpId: string;
  /** At a registration: the user's id the options named (base64url), kept as a passkey keeps it. */
  userId?: string | undefined;
}

export class SoftwareKey {
  readonly id = randomBytes(16);
  private readonly key: KeyObject;
  private readonly publicJwk: { x: string; y: string };
  /** The signature counter; a test may set it back to play a cloned key. */
  counter = 0;
  /** The user handle a registration gave it (a passkey answers with it, so no username is needed). */
  userHandle: string | undefined;

  private readonly verifiesUser: boolean;

  /** `verifiesUser`: the key asks for a PIN or a fingerprint (the UV flag), as a passkey does. */
  constructor(verifiesUser = false) {
    this.verifiesUser = verifiesUser;
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    this.key = privateKey;
    this.publicJwk = publicKey.export({ format: 'jwk' }) as { x: string; y: string };
  }

  private authData(rpId: string, attested?: Buffer): Buffer {
    const flags = 0x01 | (this.verifiesUser ? 0x04 : 0) | (attested ? 0x40 : 0);
    const count = Buffer.alloc(4);
    count.writeUInt32BE(this.counter);
    return Buffer.concat([createHash('sha256').update(rpId).digest(), Buffer.from([flags]), count, attested ?? Buffer.alloc(0)]);
  }

  private clientData(type: string, { challenge, origin }: Ceremony): Buffer {
    return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }));
  }

  /** The browser's answer to navigator.credentials.create(), as @simplewebauthn/browser sends it. */
  create(ceremony: Ceremony) {
    this.userHandle = ceremony.userId;
    const cose = new Map<number, number | Buffer>([
      [1, 2],
      [3, -7],
      [-1, 1],
      [-2, Buffer.from(this.publicJwk.x, 'base64url')],
      [-3, Buffer.from(this.publicJwk.y, 'base64url')],
    ]);
    const length = Buffer.alloc(2);
    length.writeUInt16BE(this.id.length);
    const attested = Buffer.concat([Buffer.alloc(16), length, this.id, cbor(cose)]);
    const attestation = new Map<string, unknown>([
      ['fmt', 'none'],
      ['attStmt', new Map()],
      ['authData', this.authData(ceremony.rpId, attested)],
    ]);
    return {
      id: b64url(this.id),
      rawId: b64url(this.id),
      type: 'public-key',
      response: {
        clientDataJSON: b64url(this.clientData('webauthn.create', ceremony)),
        attestationObject: b64url(cbor(attestation)),
        transports: ['usb'],
      },
      clientExtensionResults: {},
    };
  }

  /** The browser's answer to navigator.credentials.get(): the counter moves on, as a key's does. */
  get(ceremony: Ceremony) {
    this.counter++;
    const authenticatorData = this.authData(ceremony.rpId);
    const clientDataJSON = this.clientData('webauthn.get', ceremony);
    const signed = Buffer.concat([authenticatorData, createHash('sha256').update(clientDataJSON).digest()]);
    return {
      id: b64url(this.id),
      rawId: b64url(this.id),
      type: 'public-key',
      response: {
        clientDataJSON: b64url(clientDataJSON),
        authenticatorData: b64url(authenticatorData),
        signature: b64url(sign('sha256', signed, this.key)),
        ...(this.userHandle ? { userHandle: this.userHandle } : {}),
      },
      clientExtensionResults: {},
    };
  }
}

/** The WebAuthn options a page hands its script (the form's `data-options`, an HTML attribute, escaped). */
export function webauthnOptions(page: { html: string; url: URL }): { challenge: string; rp?: { id: string }; user?: { id: string } } {
  const raw = /data-options="([^"]*)"/.exec(page.html)?.[1];
  if (raw === undefined) throw new Error(`no WebAuthn form on ${page.url.pathname}: ${page.html.slice(0, 200)}`);
  return JSON.parse(raw.replaceAll('&quot;', '"').replaceAll('&#39;', "'").replaceAll('&amp;', '&')) as { challenge: string };
}
