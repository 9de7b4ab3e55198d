import { createHash } from 'node:crypto';
import { AppError } from './errors.ts';
import type { StoredLogo } from './ports.ts';

/** Where twofold serves an uploaded logo; its address carries the version, so browsers may keep it. */
export const LOGO_PATH = '/brand/logo';
export const LOGO_MAX_BYTES = 256 * 1024;

/**
 * The raster types a logo may have, known by their first bytes. SVG is not among them: it
 * can carry script, and a logo needs none.
 */
const signatures: readonly { type: string; matches(bytes: Buffer): boolean }[] = [
  { type: 'image/png', matches: (b) => b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) },
  { type: 'image/jpeg', matches: (b) => b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff },
  { type: 'image/gif', matches: (b) => ['GIF87a', 'GIF89a'].includes(b.subarray(0, 6).toString('latin1')) },
  { type: 'image/webp', matches: (b) => b.subarray(0, 4).toString('latin1') === 'RIFF' && b.subarray(8, 12).toString('latin1') === 'WEBP' },
];

/** The media type of image bytes, by their content (never by what the sender said), or null. */
export function imageTypeOf(bytes: Buffer): string | null {
  return signatures.find((signature) => bytes.length >= 12 && signature.matches(bytes))?.type ?? null;
}

/** Checks an uploaded logo: a PNG, JPEG, GIF or WebP image of at most 256 kB. */
export function checkLogo(bytes: Buffer): StoredLogo {
  if (bytes.length === 0) throw new AppError('invalid_request', 'logo: choose an image file');
  if (bytes.length > LOGO_MAX_BYTES) throw new AppError('invalid_request', `logo: at most ${LOGO_MAX_BYTES / 1024} kB`);
  const contentType = imageTypeOf(bytes);
  if (!contentType) throw new AppError('invalid_request', 'logo: a PNG, JPEG, GIF or WebP image');
  return { contentType, bytes, sha256: createHash('sha256').update(bytes).digest('hex') };
}

/** The logo's address for a version of it. */
export const logoAddress = (logo: Pick<StoredLogo, 'sha256'>) => `${LOGO_PATH}?v=${logo.sha256.slice(0, 16)}`;
