/**
 * An authenticator app, written for the tests from RFC 6238 and RFC 4226 and independent of
 * twofold's own code: Web Crypto for the HMAC, its own base32 decoding. What the server
 * accepts must be what this computes.
 */
export function decodeBase32(text: string): Uint8Array {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  const bits = [...text.replace(/[\s=]/g, '').toUpperCase()]
    .map((char) => {
      const index = alphabet.indexOf(char);
      if (index < 0) throw new Error(`not base32: ${char}`);
      return index.toString(2).padStart(5, '0');
    })
    .join('');
  const bytes = new Uint8Array(Math.floor(bits.length / 8));
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(bits.slice(i * 8, i * 8 + 8), 2);
  return bytes;
}

export async function authenticatorCode(
  key: Uint8Array,
  epochSeconds: number,
  { digits = 6, period = 30 }: { digits?: number; period?: number } = {},
): Promise<string> {
  const counter = new DataView(new ArrayBuffer(8));
  counter.setBigUint64(0, BigInt(Math.floor(epochSeconds / period)));
  const hmacKey = await crypto.subtle.importKey('raw', new Uint8Array(key), { name: 'HMAC', hash: 'SHA-1' }, false, ['sign']);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', hmacKey, counter.buffer));
  const offset = mac[19]! & 0xf;
  const truncated = ((mac[offset]! & 0x7f) << 24) | (mac[offset + 1]! << 16) | (mac[offset + 2]! << 8) | mac[offset + 3]!;
  return String(truncated % 10 ** digits).padStart(digits, '0');
}

/** Reads an otpauth:// URI as an app does. */
export function parseOtpauth(uri: string) {
  const url = new URL(uri);
  if (url.protocol !== 'otpauth:' || url.host !== 'totp') throw new Error(`not a TOTP URI: ${uri}`);
  const label = decodeURIComponent(url.pathname.slice(1));
  return {
    label,
    secret: url.searchParams.get('secret')!,
    issuer: url.searchParams.get('issuer'),
    algorithm: url.searchParams.get('algorithm') ?? undefined,
    digits: url.searchParams.has('digits') ? Number(url.searchParams.get('digits')) : undefined,
    period: url.searchParams.has('period') ? Number(url.searchParams.get('period')) : undefined,
  };
}
