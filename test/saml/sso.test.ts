import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { SignedXml } from 'xml-crypto';
import { after, before, describe, it } from 'node:test';
import { createManualClock } from '../../src/domain/clock.ts';
import { realStoresSkip } from '../support/env.ts';
import { follow, UserAgent } from '../support/relying-party.ts';
import { serviceProvider, walkToAnswer, Phone } from '../support/saml-sp.ts';
import {
  createUser,
  newRealStores,
  patchSettings,
  patchUser,
  refreshingApplication,
  startTestServer,
  type TestServer,
} from '../support/server.ts';
import { signIn } from '../support/relying-party.ts';

const xmlOf = (base64: string) => Buffer.from(base64, 'base64').toString('utf8');
const statusOf = (xml: string) => [...xml.matchAll(/StatusCode Value="([^"]+)"/g)].map((m) => m[1]!.split(':').pop());
const isLoginPage = (html: string) => html.includes('name="password"');

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
      const real = variant.real ? newRealStores() : undefined;
      server = await startTestServer({ clock, ...(real ? { real } : {}) });
      // On the real stores, a second node of the same issuer, as behind a load balancer.
      if (real) nodeB = await startTestServer({ clock, real, issuer: server.issuer });
    });
    let nodeB: TestServer | undefined;
    after(async () => {
      await nodeB?.close();
      await server?.close();
    });
    /** The same browser, its requests sent to node B when there is one. */
    const sameBrowserOnB = (agent: UserAgent) => {
      if (!nodeB) return agent;
      const viaB = UserAgent.via(server.issuer, nodeB!.url);
      viaB.cookies = agent.cookies.map((cookie) => ({ ...cookie }));
      return viaB;
    };

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
      assert.deepEqual(profile['amr'], ['pwd', 'otp', 'mfa'], 'which: the authenticator app');

      // The audit log names the SAML application and the protocol, for the factor and the sign-in.
      const audit = async (type: string) =>
        ((await (await server.adminFetch(`/admin/api/audit?type=${type}`)).json()) as { events: Record<string, unknown>[] }).events;
      const [registeredEvent] = await audit('mfa.registered');
      assert.deepEqual([registeredEvent!.clientId, registeredEvent!.protocol], ['wiki', 'saml']);
      const [signedIn] = await audit('saml.signed_in');
      assert.deepEqual([signedIn!.clientId, signedIn!.protocol, signedIn!.reason], ['wiki', 'saml', 'mfa']);

      // Single sign-on: the same browser opens it again; no page at all, the same NameID.
      clock.advance(60_000);
      const again = await follow(agent, await sp.saml.getAuthorizeUrlAsync('', undefined, {}), 'never:');
      const second = await sp.saml.validatePostResponseAsync({ SAMLResponse: sp.answerOn(again).SAMLResponse });
      assert.equal(second.profile?.nameID, profile.nameID);
      assert.ok(!second.profile!.getAssertionXml!().includes(PASSWORD));
    });

    let people = 0;
    /** A user who registered an app through a SAML sign-in, with the browser that did it. */
    async function registered(sp: Awaited<ReturnType<typeof serviceProvider>>) {
      const credentials = { username: `person${++people}`, password: 'a long passphrase' };
      const { id } = await createUser(server, { ...credentials, email: `person${people}@example.com` });
      const phone = new Phone(clock);
      const agent = new UserAgent();
      const { page } = await walkToAnswer(agent, await sp.saml.getAuthorizeUrlAsync('', undefined, {}), credentials, phone);
      const { profile } = await sp.saml.validatePostResponseAsync({ SAMLResponse: sp.answerOn(page).SAMLResponse });
      clock.advance(30_000);
      return { id, credentials, phone, agent, profile: profile! };
    }

    it('one second factor serves OIDC and SAML applications alike, both ways', async () => {
      const sp = await serviceProvider(server, 'crm', { register: { mfa_policy: 'required' } });
      const { rp } = await refreshingApplication(server, 'crm-oidc');
      // OIDC first, with a code; then the SAML application asks for nothing.
      const credentials = { username: `person${++people}`, password: 'a long passphrase' };
      await createUser(server, credentials);
      const phone = new Phone(clock);
      const agent = new UserAgent();
      const first = await signIn(agent, rp, credentials, {}, phone.app);
      assert.deepEqual(first.seen, ['login', 'register', 'backup-codes']);
      clock.advance(30_000);
      const { page, seen } = await walkToAnswer(agent, await sp.saml.getAuthorizeUrlAsync('', undefined, {}), null, phone);
      assert.deepEqual(seen, []);
      const { profile } = await sp.saml.validatePostResponseAsync({ SAMLResponse: sp.answerOn(page).SAMLResponse });
      assert.ok(profile!.getAssertionXml!().includes(MFA));

      // SAML first, with a code; then the OIDC application asks for nothing, and its token says MFA.
      const other = await registered(sp);
      const oidcAfter = await signIn(other.agent, rp, null, {}, {});
      assert.deepEqual(oidcAfter.seen, []);
      assert.deepEqual(oidcAfter.claims.amr, ['pwd', 'otp', 'mfa']);
    });

    it('steps up when RequestedAuthnContext names the REFEDS MFA class, asking only for the code', async () => {
      const sp = await serviceProvider(server, 'portal', { register: { mfa_policy: 'off' } });
      const mfaSp = await serviceProvider(server, 'mfa-setup', { register: { mfa_policy: 'required' } });
      const user = await registered(mfaSp);
      const plain = await walkToAnswer(user.agent, await sp.saml.getAuthorizeUrlAsync('', undefined, {}), null, user.phone);
      assert.deepEqual(plain.seen, []);

      // A fresh browser: the password alone for a policy-off application, stated as such.
      const fresh = new UserAgent();
      const passwordOnly = await walkToAnswer(fresh, await sp.saml.getAuthorizeUrlAsync('', undefined, {}), user.credentials, user.phone);
      assert.deepEqual(passwordOnly.seen, ['login']);
      const first = await sp.saml.validatePostResponseAsync({ SAMLResponse: sp.answerOn(passwordOnly.page).SAMLResponse });
      assert.ok(first.profile!.getAssertionXml!().includes(PASSWORD));
      assert.ok(!first.profile!.getAssertionXml!().includes(MFA));

      const stepUp = sp.asking({ disableRequestedAuthnContext: false, authnContext: [MFA], racComparison: 'minimum' });
      const stepped = await walkToAnswer(fresh, await stepUp.getAuthorizeUrlAsync('', undefined, {}), user.credentials, user.phone);
      assert.deepEqual(stepped.seen, ['code'], 'the password is not asked again');
      const second = await stepUp.validatePostResponseAsync({ SAMLResponse: sp.answerOn(stepped.page).SAMLResponse });
      assert.ok(second.profile!.getAssertionXml!().includes(MFA));
    });

    it('ForceAuthn asks for the password again, and the code the policy asks for; IsPassive never shows a page', async () => {
      const sp = await serviceProvider(server, 'vpn', { register: { mfa_policy: 'required' } });
      const user = await registered(sp);
      const forced = sp.asking({ forceAuthn: true });
      const again = await walkToAnswer(user.agent, await forced.getAuthorizeUrlAsync('', undefined, {}), user.credentials, user.phone);
      assert.deepEqual(again.seen, ['login', 'code']);
      const { profile } = await forced.validatePostResponseAsync({ SAMLResponse: sp.answerOn(again.page).SAMLResponse });
      assert.ok(profile!.getAssertionXml!().includes(MFA));

      const passive = sp.asking({ passive: true });
      const quiet = await follow(user.agent, await passive.getAuthorizeUrlAsync('', undefined, {}), 'never:');
      const signedIn = await passive.validatePostResponseAsync({ SAMLResponse: sp.answerOn(quiet).SAMLResponse });
      assert.equal(signedIn.profile?.nameID, user.profile.nameID);

      const nobody = await follow(new UserAgent(), await passive.getAuthorizeUrlAsync('', undefined, {}), 'never:');
      assert.ok(!isLoginPage(nobody.html));
      const refused = xmlOf(sp.answerOn(nobody).SAMLResponse);
      assert.deepEqual(statusOf(refused), ['Responder', 'NoPassive']);
      // The application reads NoPassive as "nobody is signed in", not as an error.
      const none = await passive.validatePostResponseAsync({ SAMLResponse: sp.answerOn(nobody).SAMLResponse });
      assert.equal(none.profile, null);
    });

    it('applies the switch, the exemptions and the policy to SAML applications as to OIDC ones', async () => {
      const sp = await serviceProvider(server, 'intranet', { register: { mfa_policy: 'if_enrolled' } });
      const setup = await serviceProvider(server, 'intranet-setup', { register: { mfa_policy: 'required' } });
      const user = await registered(setup);
      const asked = await walkToAnswer(
        new UserAgent(),
        await sp.saml.getAuthorizeUrlAsync('', undefined, {}),
        user.credentials,
        user.phone,
      );
      assert.deepEqual(asked.seen, ['login', 'code'], 'if_enrolled: a registered user gives the code');
      await patchUser(server, user.id, { exempt: true });
      const exempt = await walkToAnswer(
        new UserAgent(),
        await setup.saml.getAuthorizeUrlAsync('', undefined, {}),
        user.credentials,
        user.phone,
      );
      assert.deepEqual(exempt.seen, ['login'], 'an exempt user is not asked');
      const { profile } = await setup.saml.validatePostResponseAsync({ SAMLResponse: setup.answerOn(exempt.page).SAMLResponse });
      assert.ok(profile!.getAssertionXml!().includes(PASSWORD), 'and the assertion says password');
      await patchUser(server, user.id, { exempt: false });
      await patchSettings(server, { enabled: false });
      try {
        const off = await walkToAnswer(
          new UserAgent(),
          await setup.saml.getAuthorizeUrlAsync('', undefined, {}),
          user.credentials,
          user.phone,
        );
        assert.deepEqual(off.seen, ['login'], 'the master switch off asks nobody');
      } finally {
        await patchSettings(server, { enabled: true });
      }
    });

    it('IdP-initiated sign-in goes to an application that allows it, and is refused for one that does not', async () => {
      const allowed = await serviceProvider(server, 'dashboard', {
        register: { mfa_policy: 'required', idp_initiated: true },
        saml: { validateInResponseTo: 'never' as never },
      });
      const user = await registered(allowed);
      const started = await follow(user.agent, `${server.issuer}/saml/start/dashboard?RelayState=%2Fhome`, 'never:');
      const answer = allowed.answerOn(started);
      assert.equal(answer.RelayState, '/home');
      assert.ok(!xmlOf(answer.SAMLResponse).includes('InResponseTo'));
      const { profile } = await allowed.saml.validatePostResponseAsync({ SAMLResponse: answer.SAMLResponse });
      assert.equal(profile?.nameID, user.profile.nameID);

      await serviceProvider(server, 'ledger', { register: { mfa_policy: 'required' } });
      const refused = await follow(user.agent, `${server.issuer}/saml/start/ledger`, 'never:');
      assert.equal(refused.status, 403);
      assert.ok(!refused.html.includes('data-auto-submit'));
    });

    it('single logout from the application ends the sign-in session: the next sign-in asks for the password and the code', async () => {
      const sp = await serviceProvider(server, 'mail', { register: { mfa_policy: 'required' }, signRequests: true });
      const user = await registered(sp);
      const { rp } = await refreshingApplication(server, `mail-oidc-${variant.real ? 'r' : 'e'}`);
      const logoutUrl = await sp.saml.getLogoutUrlAsync(user.profile, 'bye', {});
      const back = await user.agent.request(logoutUrl);
      assert.equal(back.status, 303);
      const location = new URL(back.headers.get('location')!);
      assert.equal(`${location.origin}${location.pathname}`, sp.sloUrl);
      const query = Object.fromEntries(location.searchParams);
      const validated = await sp.saml.validateRedirectAsync(query, location.search.slice(1));
      assert.equal(validated.loggedOut, true);
      assert.equal(query.RelayState, 'bye');

      // Ended on every node: the same browser, on node B, is asked for the password and the code.
      const after = await walkToAnswer(
        sameBrowserOnB(user.agent),
        await sp.saml.getAuthorizeUrlAsync('', undefined, {}),
        user.credentials,
        user.phone,
      );
      assert.deepEqual(after.seen, ['login', 'code']);
      clock.advance(30_000);
      // The session ended for OIDC applications too.
      await sp.saml.getLogoutUrlAsync(user.profile, '', {}).then((url) => user.agent.request(url));
      const oidcAfter = await signIn(user.agent, rp, user.credentials, {}, user.phone.app);
      assert.deepEqual(oidcAfter.seen, ['login', 'code']);
    });

    it('single logout over HTTP-POST: the request, signed in the XML, ends the session on this site and the answer is posted back signed', async () => {
      const sp = await serviceProvider(server, 'files', { register: { mfa_policy: 'required' }, signRequests: true });
      const user = await registered(sp);
      const id = `_${randomBytes(16).toString('hex')}`;
      const unsigned =
        `<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${id}" Version="2.0" IssueInstant="${new Date(clock.now()).toISOString()}" Destination="${server.issuer}/saml/slo">` +
        `<saml:Issuer>${sp.entityId}</saml:Issuer><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">${user.profile.nameID}</saml:NameID></samlp:LogoutRequest>`;
      // Signed as the application's SAML library signs (xml-crypto, enveloped, after the Issuer).
      const signer = new SignedXml({
        privateKey: sp.keys.keyPem,
        signatureAlgorithm: 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256',
        canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#',
      });
      signer.addReference({
        xpath: "/*[local-name(.)='LogoutRequest']",
        digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256',
        transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', 'http://www.w3.org/2001/10/xml-exc-c14n#'],
      });
      signer.computeSignature(unsigned, {
        location: { reference: "/*[local-name(.)='LogoutRequest']/*[local-name(.)='Issuer']", action: 'after' },
      });
      const fields = { SAMLRequest: Buffer.from(signer.getSignedXml()).toString('base64'), RelayState: 'post-bye' };
      // The application's site posts it: no cookie of twofold's comes along (SameSite=Lax).
      const crossSite = new UserAgent();
      const posted = await crossSite.postForm(`${server.issuer}/saml/slo`, fields);
      assert.equal(posted.status, 303);
      const finish = new URL(posted.headers.get('location')!, server.issuer);
      assert.equal(finish.pathname, '/saml/slo/finish');
      // The browser follows to twofold's own address, where its session is seen and ended.
      const answerPage = await follow(user.agent, finish, 'never:');
      const answer = sp.answerOn(answerPage);
      assert.equal(answer.action, sp.sloUrl);
      assert.equal(answer.RelayState, 'post-bye');
      const response = xmlOf(answer.SAMLResponse);
      assert.deepEqual(statusOf(response), ['Success']);
      assert.ok(response.includes(`InResponseTo="${id}"`));
      const checker = new SignedXml({
        publicCert: ((await (await server.adminFetch('/admin/api/saml/keys')).json()) as { current: { certificate: string } }).current
          .certificate,
        getCertFromKeyInfo: () => null,
      });
      checker.loadSignature(/<ds:Signature[\s\S]*<\/ds:Signature>/.exec(response)![0]);
      assert.equal(checker.checkSignature(response), true, 'the LogoutResponse is signed by twofold');
      // The same request again: refused; and the session is over.
      assert.equal((await new UserAgent().postForm(`${server.issuer}/saml/slo`, fields)).status, 400);
      const after = await walkToAnswer(user.agent, await sp.saml.getAuthorizeUrlAsync('', undefined, {}), user.credentials, user.phone);
      assert.deepEqual(after.seen, ['login', 'code']);
    });

    it('keeps 12 SAML sign-ins at the same moment apart: each answer names its own user', async () => {
      const sp = await serviceProvider(server, 'crowd', { register: { mfa_policy: 'required' } });
      const crowd = await Promise.all(
        Array.from({ length: 12 }, async (_, i) => {
          const credentials = { username: `crowd${i}`, password: 'a long passphrase' };
          await createUser(server, { ...credentials, email: `crowd${i}@example.com` });
          return credentials;
        }),
      );
      const answers = await Promise.all(
        crowd.map(async (credentials) => {
          const { page } = await walkToAnswer(
            new UserAgent(),
            await sp.saml.getAuthorizeUrlAsync('', undefined, {}),
            credentials,
            new Phone(clock),
          );
          const { profile } = await sp.saml.validatePostResponseAsync({ SAMLResponse: sp.answerOn(page).SAMLResponse });
          return profile!;
        }),
      );
      assert.deepEqual(
        answers.map((profile) => profile['username']),
        crowd.map((person) => person.username),
      );
      assert.equal(new Set(answers.map((profile) => profile.nameID)).size, 12, 'twelve NameIDs');
    });
  });
}
