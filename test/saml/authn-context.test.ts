import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { contextPlan, statedClass } from '../../src/saml/authn-context.ts';

const MFA = 'https://refeds.org/profile/mfa';
const PPT = 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport';
const KERBEROS = 'urn:oasis:names:tc:SAML:2.0:ac:classes:Kerberos';

describe('RequestedAuthnContext against the two classes twofold states', () => {
  const cases: [string, Parameters<typeof contextPlan>[0], ReturnType<typeof contextPlan>, string | null, string | null][] = [
    // name, request, plan, stated after a password, stated after a second factor
    ['no request: what was presented', undefined, { met: true, wantsMfa: false, passwordClassOnly: false }, PPT, MFA],
    ['exact MFA steps up', { comparison: 'exact', classRefs: [MFA] }, { met: true, wantsMfa: true, passwordClassOnly: false }, null, MFA],
    [
      'minimum MFA steps up',
      { comparison: 'minimum', classRefs: [MFA] },
      { met: true, wantsMfa: true, passwordClassOnly: false },
      null,
      MFA,
    ],
    [
      'better than a password steps up',
      { comparison: 'better', classRefs: [PPT] },
      { met: true, wantsMfa: true, passwordClassOnly: false },
      null,
      MFA,
    ],
    [
      'minimum password: either',
      { comparison: 'minimum', classRefs: [PPT] },
      { met: true, wantsMfa: false, passwordClassOnly: false },
      PPT,
      MFA,
    ],
    [
      'exact password: the password class, even after a code',
      { comparison: 'exact', classRefs: [PPT] },
      { met: true, wantsMfa: false, passwordClassOnly: true },
      PPT,
      PPT,
    ],
    [
      'exact, either class listed',
      { comparison: 'exact', classRefs: [PPT, MFA] },
      { met: true, wantsMfa: false, passwordClassOnly: false },
      PPT,
      MFA,
    ],
    ['maximum password', { comparison: 'maximum', classRefs: [PPT] }, { met: true, wantsMfa: false, passwordClassOnly: true }, PPT, PPT],
    ['only a class twofold cannot state', { comparison: 'exact', classRefs: [KERBEROS] }, { met: false }, null, null],
    ['better than MFA', { comparison: 'better', classRefs: [MFA] }, { met: false }, null, null],
  ];
  for (const [name, request, plan, afterPassword, afterMfa] of cases) {
    it(name, () => {
      const found = contextPlan(request);
      assert.deepEqual(found, plan);
      if (found.met) {
        if (afterPassword) assert.equal(statedClass(found, false), afterPassword);
        assert.equal(statedClass(found, true), afterMfa);
      }
    });
  }
});
