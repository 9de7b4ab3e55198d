import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decideMfa, type MfaDecision, type PolicyInput } from '../../src/domain/mfa-policy.ts';

const now = 1_800_000_000;
const base: PolicyInput = {
  settings: { enabled: true, defaultPolicy: 'off' },
  client: {},
  user: { exempt: false, disabled: false, hasDevice: true },
  stepUp: false,
  lastSecondFactorAt: undefined,
  now,
};

type Row = [
  string,
  Partial<Omit<PolicyInput, 'settings' | 'client' | 'user'>> & {
    settings?: Partial<PolicyInput['settings']>;
    client?: PolicyInput['client'];
    user?: Partial<PolicyInput['user']>;
  },
  MfaDecision,
];

const rows: Row[] = [
  ['default policy off asks nothing', {}, { action: 'none' }],
  ['default policy required asks for a code', { settings: { defaultPolicy: 'required' } }, { action: 'verify', reason: 'required' }],
  [
    'the client policy wins over the default',
    { settings: { defaultPolicy: 'required' }, client: { mfaPolicy: 'off' } },
    { action: 'none' },
  ],
  [
    'required without a device registers one',
    { client: { mfaPolicy: 'required' }, user: { hasDevice: false } },
    { action: 'register', reason: 'required' },
  ],
  ['if_enrolled with a device asks for a code', { client: { mfaPolicy: 'if_enrolled' } }, { action: 'verify', reason: 'if_enrolled' }],
  ['if_enrolled without a device asks nothing', { client: { mfaPolicy: 'if_enrolled' }, user: { hasDevice: false } }, { action: 'none' }],
  ['the master switch off asks nobody', { settings: { enabled: false }, client: { mfaPolicy: 'required' } }, { action: 'none' }],
  ['the master switch off ignores step-up too', { settings: { enabled: false }, stepUp: true }, { action: 'none' }],
  ['an exempt user is never asked', { client: { mfaPolicy: 'required' }, user: { exempt: true } }, { action: 'none' }],
  ['an exempt user is not asked for step-up', { stepUp: true, user: { exempt: true } }, { action: 'none' }],
  ['a disabled user is refused', { client: { mfaPolicy: 'off' }, user: { disabled: true } }, { action: 'deny' }],
  ['a disabled exempt user is refused', { user: { disabled: true, exempt: true } }, { action: 'deny' }],
  ['a disabled user is refused with the switch off', { settings: { enabled: false }, user: { disabled: true } }, { action: 'deny' }],
  ['step-up on an off client asks for a code', { client: { mfaPolicy: 'off' }, stepUp: true }, { action: 'verify', reason: 'step_up' }],
  ['step-up without a device registers one', { stepUp: true, user: { hasDevice: false } }, { action: 'register', reason: 'step_up' }],
  [
    'a session that passed the factor is not asked again',
    { client: { mfaPolicy: 'required' }, lastSecondFactorAt: now - 3600 },
    { action: 'none', wanted: 'required' },
  ],
  [
    'a session that passed the factor satisfies step-up',
    { stepUp: true, lastSecondFactorAt: now - 10 },
    { action: 'none', wanted: 'step_up' },
  ],
  [
    'mfa_max_age not yet passed asks nothing',
    { client: { mfaPolicy: 'required', mfaMaxAge: 300 }, lastSecondFactorAt: now - 300 },
    { action: 'none', wanted: 'required' },
  ],
  [
    "the request's max_age asks again for a factor older than it",
    { client: { mfaPolicy: 'required' }, requestMaxAge: 60, lastSecondFactorAt: now - 61 },
    { action: 'verify', reason: 'max_age' },
  ],
  [
    'the stricter of mfa_max_age and max_age applies',
    { client: { mfaPolicy: 'required', mfaMaxAge: 30 }, requestMaxAge: 600, lastSecondFactorAt: now - 31 },
    { action: 'verify', reason: 'max_age' },
  ],
  [
    'a factor within max_age is not asked again',
    { client: { mfaPolicy: 'if_enrolled' }, requestMaxAge: 60, lastSecondFactorAt: now - 60 },
    { action: 'none', wanted: 'if_enrolled' },
  ],
  [
    'mfa_max_age passed asks again',
    { client: { mfaPolicy: 'required', mfaMaxAge: 300 }, lastSecondFactorAt: now - 301 },
    { action: 'verify', reason: 'max_age' },
  ],
  [
    'mfa_max_age 0 asks at every request after the one that passed',
    { client: { mfaPolicy: 'required', mfaMaxAge: 0 }, lastSecondFactorAt: now - 1 },
    { action: 'verify', reason: 'max_age' },
  ],
  [
    'mfa_max_age does not matter on an off client',
    { client: { mfaPolicy: 'off', mfaMaxAge: 1 }, lastSecondFactorAt: now - 100 },
    { action: 'none' },
  ],
  [
    'mfa_max_age applies to step-up',
    { client: { mfaMaxAge: 60 }, stepUp: true, lastSecondFactorAt: now - 61 },
    { action: 'verify', reason: 'max_age' },
  ],
  [
    'a device reset after the factor asks to register again on max_age',
    { client: { mfaPolicy: 'required', mfaMaxAge: 60 }, user: { hasDevice: false }, lastSecondFactorAt: now - 61 },
    { action: 'register', reason: 'max_age' },
  ],
];

describe('MFA policy decision', () => {
  for (const [name, overrides, expected] of rows) {
    it(name, () => {
      const input: PolicyInput = {
        ...base,
        ...overrides,
        settings: { ...base.settings, ...overrides.settings },
        client: { ...base.client, ...overrides.client },
        user: { ...base.user, ...overrides.user },
      };
      assert.deepEqual(decideMfa(input), expected);
    });
  }
});
