import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { contextPlan, statedClass } from '../../src/saml/authn-context.ts';

const MFA = 'https://refeds.org/profile/mfa';
const PHR = 'urn:twofold:acr:phr';
const PPT = 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport';
const KERBEROS = 'urn:oasis:names:tc:SAML:2.0:ac:classes:Kerberos';

const plan = (wantsMfa: boolean, wantsPhr: boolean, passwordClassOnly: boolean, phrAllowed: boolean) =>
  ({ met: true, wantsMfa, wantsPhr, passwordClassOnly, phrAllowed }) as const;

describe('RequestedAuthnContext against the three classes twofold states', () => {
  const cases: [string, Parameters<typeof contextPlan>[0], ReturnType<typeof contextPlan>, (string | null)[]][] = [
    // name, request, plan, stated after a password / an app code / a security key (null: not reached)
    ['no request: what was presented', undefined, plan(false, false, false, true), [PPT, MFA, PHR]],
    [
      'exact MFA steps up, and says MFA after a key too',
      { comparison: 'exact', classRefs: [MFA] },
      plan(true, false, false, false),
      [null, MFA, MFA],
    ],
    ['minimum MFA steps up', { comparison: 'minimum', classRefs: [MFA] }, plan(true, false, false, true), [null, MFA, PHR]],
    ['better than a password steps up', { comparison: 'better', classRefs: [PPT] }, plan(true, false, false, true), [null, MFA, PHR]],
    ['better than MFA asks for a key', { comparison: 'better', classRefs: [MFA] }, plan(true, true, false, true), [null, null, PHR]],
    [
      'exact phishing-resistant asks for a key',
      { comparison: 'exact', classRefs: [PHR] },
      plan(true, true, false, true),
      [null, null, PHR],
    ],
    ['minimum password: either', { comparison: 'minimum', classRefs: [PPT] }, plan(false, false, false, true), [PPT, MFA, PHR]],
    [
      'exact password: the password class, even after a code',
      { comparison: 'exact', classRefs: [PPT] },
      plan(false, false, true, false),
      [PPT, PPT, PPT],
    ],
    ['exact, either class listed', { comparison: 'exact', classRefs: [PPT, MFA] }, plan(false, false, false, false), [PPT, MFA, MFA]],
    ['maximum password', { comparison: 'maximum', classRefs: [PPT] }, plan(false, false, true, false), [PPT, PPT, PPT]],
    ['only a class twofold cannot state', { comparison: 'exact', classRefs: [KERBEROS] }, { met: false }, []],
    ['better than phishing-resistant', { comparison: 'better', classRefs: [PHR] }, { met: false }, []],
  ];
  for (const [name, request, expected, stated] of cases) {
    it(name, () => {
      const found = contextPlan(request);
      assert.deepEqual(found, expected);
      if (!found.met) return;
      (['password', 'mfa', 'phr'] as const).forEach((presented, i) => {
        if (stated[i]) assert.equal(statedClass(found, presented), stated[i], `after ${presented}`);
      });
    });
  }
});
