import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createManualClock } from '../../src/domain/clock.ts';
import { realStoresSkip } from '../support/env.ts';
import { follow, UserAgent } from '../support/relying-party.ts';
import { serviceProvider, walkToAnswer, Phone } from '../support/saml-sp.ts';
import { createUser, newRealStores, startTestServer, type TestServer } from '../support/server.ts';

const MFA = 'https://refeds.org/profile/mfa';
const PASSWORD = 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport';

for (const variant of [
  { name: 'embedded', skip: undefined, real: false },
  { name: 'MongoDB and Redis', skip: realStoresSkip, real: true },
]) {
  describe(`SAML single sign-on (${variant.name})`, { skip: variant.skip }, () => {
    const clock = createManualClock(Date.now());
    let server: TestServer;
    before(async () => {
      server = await startTestServer({ clock, ...(variant.real ? { real: newRealStores() } : {}) });
    });
    after(() => server?.close());

    it('signs a user in to a SAML application with a registration, then with single sign-on; the application validates each answer', async () => {
      const sp = await serviceProvider(server, 'wiki', { register: { mfa_policy: 'required' } });
      const credentials = { username: 'ada', password: 'a long passphrase' };
      await createUser(server, { ...credentials, email: 'ada@example.com', name: 'Ada Lovelace' });
      const phone = new Phone(clock);
      const agent = new UserAgent();
      const url = await sp.saml.getAuthorizeUrlAsync('relay-1', undefined, {});
      const { page, seen } = await walkToAnswer(agent, url, credentials, phone);
      assert.deepEqual(seen, ['login', 'register', 'backup-codes']);
      const answer = sp.answerOn(page);
      assert.equal(answer.action, sp.acsUrl);
      assert.equal(answer.RelayState, 'relay-1');
      const { profile } = await sp.saml.validatePostResponseAsync({ SAMLResponse: answer.SAMLResponse });
      assert.ok(profile);
      assert.equal(profile.nameIDFormat, 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent');
      assert.match(profile.nameID, /^[A-Za-z0-9_-]{43}$/);
      assert.equal(profile['urn:oid:0.9.2342.19200300.100.1.3'], 'ada@example.com');
      assert.equal(profile['username'], 'ada');
      assert.equal(profile['name'], 'Ada Lovelace');
      const xml = profile.getAssertionXml!();
      assert.ok(xml.includes(`<saml:AuthnContextClassRef>${MFA}</saml:AuthnContextClassRef>`), 'a second factor was presented');

      // Single sign-on: the same browser opens it again; no page at all, the same NameID.
      clock.advance(60_000);
      const again = await follow(agent, await sp.saml.getAuthorizeUrlAsync('', undefined, {}), 'never:');
      const second = await sp.saml.validatePostResponseAsync({ SAMLResponse: sp.answerOn(again).SAMLResponse });
      assert.equal(second.profile?.nameID, profile.nameID);
      assert.ok(!second.profile!.getAssertionXml!().includes(PASSWORD));
    });
  });
}
