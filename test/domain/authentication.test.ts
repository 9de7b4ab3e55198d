import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { reportedAuthentication, secondFactorAt, type MethodTimes } from '../../src/domain/authentication.ts';
import type { MfaDecision } from '../../src/domain/mfa-policy.ts';

const now = 1_800_000_000;
const report = (methods: MethodTimes, decision: MfaDecision, ages: { mfaMaxAge?: number; requestMaxAge?: number } = {}) =>
  reportedAuthentication({ methods, decision, ...ages, now, fallbackAuthTime: now - 5 });

describe('what a token reports of a session', () => {
  it('takes the latest of the second factors', () => {
    assert.equal(secondFactorAt({ pwd: now, totp: now - 100, backup_code: now - 50 }), now - 50);
    assert.equal(secondFactorAt({ pwd: now }), undefined);
  });

  it('reports the password alone after a password-only sign-in', () => {
    assert.deepEqual(report({ pwd: now - 10 }, { action: 'none' }), { level: 'password', amr: ['pwd'], authTime: now - 10 });
  });

  it("reports MFA at the second factor's time after password and code", () => {
    assert.deepEqual(report({ pwd: now - 20, totp: now - 10 }, { action: 'none' }), {
      level: 'mfa',
      amr: ['pwd', 'otp', 'mfa'],
      authTime: now - 10,
    });
    assert.deepEqual(report({ pwd: now - 20, backup_code: now - 10 }, { action: 'none' }), {
      level: 'mfa',
      amr: ['pwd', 'otp', 'mfa'],
      authTime: now - 10,
    });
  });

  it('reports the password alone, at its own time, after a password-only re-authentication that needed no factor', () => {
    assert.deepEqual(report({ pwd: now - 1, totp: now - 3600 }, { action: 'none' }), {
      level: 'password',
      amr: ['pwd'],
      authTime: now - 1,
    });
  });

  it('gives an application that wants the factor single sign-on at the old second-factor time, never the later password time', () => {
    const reported = report({ pwd: now - 1, totp: now - 3600 }, { action: 'none', wanted: 'required' });
    assert.deepEqual(reported, { level: 'mfa', amr: ['pwd', 'otp', 'mfa'], authTime: now - 3600 });
  });

  it("claims no MFA past mfa_max_age or the request's max_age", () => {
    assert.equal(report({ pwd: now - 100, totp: now - 100 }, { action: 'none', wanted: 'required' }, { mfaMaxAge: 99 }).level, 'password');
    assert.equal(
      report({ pwd: now - 100, totp: now - 100 }, { action: 'none', wanted: 'required' }, { requestMaxAge: 99 }).level,
      'password',
    );
    assert.equal(report({ pwd: now - 100, totp: now - 100 }, { action: 'none' }, { requestMaxAge: 99 }).level, 'password');
    assert.equal(
      report({ pwd: now - 100, totp: now - 100 }, { action: 'none', wanted: 'required' }, { mfaMaxAge: 100, requestMaxAge: 100 }).level,
      'mfa',
    );
  });

  it('says the authenticator verified its user only of the key reported, presented with that verification', () => {
    assert.deepEqual(report({ pwd: now - 20, hwk: now - 10, user: now - 10 }, { action: 'none' }).amr, ['pwd', 'hwk', 'user', 'mfa']);
    assert.deepEqual(report({ pwd: now - 20, swk: now - 10 }, { action: 'none' }).amr, ['pwd', 'swk', 'mfa'], 'no verification');
    // A verifying key earlier, then a key that did not verify: the later one is reported, without `user`.
    assert.deepEqual(report({ pwd: now - 30, hwk: now - 10, user: now - 20 }, { action: 'none' }).amr, ['pwd', 'hwk', 'mfa']);
    // A verifying key, then the app's code: the code is reported, and `user` is not a factor of its own.
    assert.deepEqual(report({ pwd: now - 30, totp: now - 10, hwk: now - 20, user: now - 20 }, { action: 'none' }).amr, [
      'pwd',
      'otp',
      'mfa',
    ]);
    assert.equal(report({ pwd: now - 30, user: now - 20 }, { action: 'none' }).level, 'password');
  });

  it('claims no MFA for a decision that still asks for a factor', () => {
    assert.equal(report({ pwd: now, totp: now }, { action: 'verify', reason: 'required' }).level, 'password');
    assert.equal(report({ pwd: now, totp: now }, { action: 'deny' }).level, 'password');
  });

  it("falls back to the engine's login time when the session recorded no password", () => {
    assert.deepEqual(report({}, { action: 'none' }), { level: 'password', amr: ['pwd'], authTime: now - 5 });
  });
});
