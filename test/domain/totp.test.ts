import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { base32Decode, base32Encode } from '../../src/domain/base32.ts';
import { groupedSecret, hotp, matchStep, normalizeCode, otpauthUri, stepAt } from '../../src/domain/totp.ts';
import { authenticatorCode, decodeBase32, parseOtpauth } from '../support/rfc6238.ts';

const rfcSeed = Buffer.from('12345678901234567890');

describe('TOTP', () => {
  it('computes the RFC 6238 Appendix B SHA-1 vectors', () => {
    const vectors: [number, string][] = [
      [59, '94287082'],
      [1111111109, '07081804'],
      [1111111111, '14050471'],
      [1234567890, '89005924'],
      [2000000000, '69279037'],
      [20000000000, '65353130'],
    ];
    for (const [seconds, code] of vectors) {
      assert.equal(hotp(rfcSeed, stepAt(seconds * 1000), 8), code, `T=${seconds}`);
    }
  });

  it('agrees with an independent authenticator on random secrets and times', async () => {
    for (let i = 0; i < 50; i++) {
      const secret = randomBytes(20);
      const seconds = Math.floor(Math.random() * 4e9);
      assert.equal(hotp(secret, stepAt(seconds * 1000)), await authenticatorCode(secret, seconds));
    }
  });

  it('encodes base32 as RFC 4648 does', () => {
    assert.equal(base32Encode(Buffer.from('foobar')), 'MZXW6YTBOI');
    assert.equal(base32Encode(Buffer.from('f')), 'MY');
    assert.deepEqual(base32Decode('MZXW 6YTB-OI'), Buffer.from('foobar'));
    const secret = randomBytes(20);
    assert.equal(base32Encode(secret).length, 32);
    assert.deepEqual(Buffer.from(decodeBase32(base32Encode(secret))), secret);
  });

  it('shows a 160-bit secret in eight groups of four', () => {
    const grouped = groupedSecret(randomBytes(20));
    assert.match(grouped, /^([A-Z2-7]{4} ){7}[A-Z2-7]{4}$/);
  });

  it('builds the otpauth URI an app reads, with label and account escaped', () => {
    const secret = randomBytes(20);
    const uri = otpauthUri({ secret, label: 'Acme SSO', account: 'zoë@acme' });
    assert.match(uri, /^otpauth:\/\/totp\/Acme%20SSO:zo%C3%AB%40acme\?secret=[A-Z2-7]{32}&issuer=Acme%20SSO&algorithm=SHA1&digits=6&period=30$/);
    const parsed = parseOtpauth(uri);
    assert.equal(parsed.label, 'Acme SSO:zoë@acme');
    assert.equal(parsed.issuer, 'Acme SSO');
    assert.deepEqual(Buffer.from(decodeBase32(parsed.secret)), secret);
  });

  it('normalises spaces and dashes out of a typed code', () => {
    assert.equal(normalizeCode(' 123 456 '), '123456');
    assert.equal(normalizeCode('123-456'), '123456');
  });

  describe('window, drift and replay', () => {
    const secret = randomBytes(20);
    const now = 1_000_000;
    const code = (step: number) => hotp(secret, step);
    const at = (overrides: Partial<Parameters<typeof matchStep>[2]> = {}) => ({ nowStep: now, drift: 0, skewSteps: 1, lastStep: 0, ...overrides });

    it('accepts the current step and one either side with skew 1, not two', () => {
      assert.equal(matchStep(secret, code(now), at()), now);
      assert.equal(matchStep(secret, code(now - 1), at()), now - 1);
      assert.equal(matchStep(secret, code(now + 1), at()), now + 1);
      assert.equal(matchStep(secret, code(now + 2), at()), null);
      assert.equal(matchStep(secret, code(now - 2), at()), null);
    });

    it('accepts only the current step with skew 0, and ten either side with skew 10', () => {
      assert.equal(matchStep(secret, code(now - 1), at({ skewSteps: 0 })), null);
      assert.equal(matchStep(secret, code(now), at({ skewSteps: 0 })), now);
      assert.equal(matchStep(secret, code(now - 10), at({ skewSteps: 10 })), now - 10);
      assert.equal(matchStep(secret, code(now + 11), at({ skewSteps: 10 })), null);
    });

    it('centres the window on the learned drift', () => {
      assert.equal(matchStep(secret, code(now + 2), at({ drift: 1 })), now + 2);
      assert.equal(matchStep(secret, code(now - 1), at({ drift: 1 })), null);
    });

    it('bounds the drift so it never moves the window more than skewSteps', () => {
      assert.equal(matchStep(secret, code(now + 5), at({ drift: 50 })), null);
      assert.equal(matchStep(secret, code(now + 2), at({ drift: 50 })), now + 2);
      assert.equal(matchStep(secret, code(now), at({ skewSteps: 0, drift: 3 })), now, 'no drift at skew 0');
    });

    it('refuses a step at or before the last accepted one (RFC 6238 section 5.2)', () => {
      assert.equal(matchStep(secret, code(now), at({ lastStep: now })), null);
      assert.equal(matchStep(secret, code(now - 1), at({ lastStep: now - 1 })), null);
      assert.equal(matchStep(secret, code(now + 1), at({ lastStep: now })), now + 1);
    });

    it('refuses codes of another length or alphabet', () => {
      for (const bad of ['', '12345', '1234567', 'abcdef', '12345a', '١٢٣٤٥٦', `${code(now)} `]) {
        assert.equal(matchStep(secret, bad, at()), null, JSON.stringify(bad));
      }
    });
  });
});
