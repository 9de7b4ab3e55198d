import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { base32Encode, codeAt, groupedSecret, learnDrift, matchStep, normalizeCode, otpauthUri, stepAt } from '../../src/domain/totp.ts';
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
      assert.equal(codeAt(rfcSeed, stepAt(seconds * 1000), 8), code, `T=${seconds}`);
    }
  });

  it('agrees with an independent authenticator on random secrets and times', async () => {
    for (let i = 0; i < 50; i++) {
      const secret = randomBytes(20);
      const seconds = Math.floor(Math.random() * 4e9);
      assert.equal(codeAt(secret, stepAt(seconds * 1000)), await authenticatorCode(secret, seconds));
    }
  });

  it('encodes base32 as RFC 4648 does', () => {
    assert.equal(base32Encode(Buffer.from('foobar')), 'MZXW6YTBOI');
    assert.equal(base32Encode(Buffer.from('f')), 'MY');
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
    assert.match(
      uri,
      /^otpauth:\/\/totp\/Acme%20SSO:zo%C3%AB%40acme\?secret=[A-Z2-7]{32}&issuer=Acme%20SSO(&algorithm=SHA1)?(&digits=6)?(&period=30)?$/,
    );
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
    const code = (step: number) => codeAt(secret, step);
    const at = (overrides: Partial<Parameters<typeof matchStep>[2]> = {}) => ({
      nowStep: now,
      drift: 0,
      skewSteps: 1,
      lastStep: 0,
      ...overrides,
    });

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
      assert.equal(matchStep(secret, code(now - 3), at({ drift: -2 })), now - 3);
    });

    it('bounds the drift to two steps, so a window never reaches past skewSteps + 2 from now', () => {
      assert.equal(matchStep(secret, code(now + 3), at({ drift: 50 })), now + 3, 'drift 50 counts as 2: now+1 … now+3');
      assert.equal(matchStep(secret, code(now + 4), at({ drift: 50 })), null);
      assert.equal(matchStep(secret, code(now), at({ drift: 50 })), null);
      assert.equal(matchStep(secret, code(now + 2), at({ skewSteps: 0, drift: 3 })), now + 2, 'skew 0 with drift 2: exactly now+2');
      assert.equal(matchStep(secret, code(now), at({ skewSteps: 0, drift: 3 })), null);
      // Skew 10: the furthest steps accepted are 12 away (10 + a drift of 2), never 20.
      assert.equal(matchStep(secret, code(now + 12), at({ skewSteps: 10, drift: 10 })), now + 12);
      assert.equal(matchStep(secret, code(now + 13), at({ skewSteps: 10, drift: 10 })), null);
      assert.equal(matchStep(secret, code(now + 20), at({ skewSteps: 10, drift: 10 })), null);
      assert.equal(matchStep(secret, code(now - 12), at({ skewSteps: 10, drift: -10 })), now - 12);
      assert.equal(matchStep(secret, code(now - 13), at({ skewSteps: 10, drift: -10 })), null);
    });

    it('learns a drift only when two successive accepted codes agree on it, and at most two steps', () => {
      assert.equal(learnDrift({ drift: 0 }, 1), 0, 'one code one step ahead proves nothing yet');
      assert.equal(learnDrift({ drift: 0, lastOffset: 1 }, 1), 1, 'the second in a row moves the window');
      assert.equal(learnDrift({ drift: 1, lastOffset: 1 }, 0), 1, 'one code at now does not move it back');
      assert.equal(learnDrift({ drift: 1, lastOffset: 0 }, 0), 0, 'two at now do');
      assert.equal(learnDrift({ drift: 0, lastOffset: 5 }, 5), 2, 'never more than two steps');
      assert.equal(learnDrift({ drift: 0, lastOffset: -7 }, -7), -2);
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
