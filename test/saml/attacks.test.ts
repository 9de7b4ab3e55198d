import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { createManualClock } from '../../src/domain/clock.ts';
import { follow, formAction, secretOnPage, UserAgent, type Page } from '../support/relying-party.ts';
import { serviceProvider, walkToAnswer, Phone, type ServiceProvider } from '../support/saml-sp.ts';
import { createUser, startTestServer, type TestServer } from '../support/server.ts';

const xmlOf = (base64: string) => Buffer.from(base64, 'base64').toString('utf8');
const statusOf = (xml: string) => [...xml.matchAll(/StatusCode Value="([^"]+)"/g)].map((m) => m[1]!.split(':').pop());

/** An AuthnRequest as an application would write one; `fields` changes what an attacker changes. */
function authnRequest(
  sp: Pick<ServiceProvider, 'entityId' | 'acsUrl'>,
  issuer: string,
  fields: { id?: string; instant?: string; destination?: string; acs?: string; index?: number; issuer?: string; extra?: string } = {},
) {
  const id = fields.id ?? `_${randomBytes(16).toString('hex')}`;
  return (
    `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"` +
    ` ID="${id}" Version="2.0" IssueInstant="${fields.instant ?? new Date().toISOString()}"` +
    ` Destination="${fields.destination ?? `${issuer}/saml/sso`}"` +
    (fields.index === undefined
      ? ` AssertionConsumerServiceURL="${fields.acs ?? sp.acsUrl}"`
      : ` AssertionConsumerServiceIndex="${fields.index}"`) +
    ` ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST">` +
    `<saml:Issuer>${fields.issuer ?? sp.entityId}</saml:Issuer>${fields.extra ?? ''}</samlp:AuthnRequest>`
  );
}

const redirectQuery = (xml: string, relayState?: string) =>
  `SAMLRequest=${encodeURIComponent(deflateRawSync(Buffer.from(xml)).toString('base64'))}${relayState === undefined ? '' : `&RelayState=${encodeURIComponent(relayState)}`}`;

describe('SAML requests an attacker sends', () => {
  const clock = createManualClock(Date.now());
  let server: TestServer;
  let open: ServiceProvider;
  let signing: ServiceProvider;
  before(async () => {
    server = await startTestServer({ clock });
    open = await serviceProvider(server, 'open', { register: { mfa_policy: 'required' } });
    signing = await serviceProvider(server, 'signing', {
      register: { mfa_policy: 'required', want_authn_requests_signed: true },
      signRequests: true,
    });
  });
  after(() => server?.close());

  const get = (query: string) => follow(new UserAgent(), `${server.issuer}/saml/sso?${query}`, 'never:');
  const post = async (fields: Record<string, string>): Promise<Page> => {
    const agent = new UserAgent();
    const response = await agent.postForm(`${server.issuer}/saml/sso`, fields);
    return { url: new URL(`${server.issuer}/saml/sso`), status: response.status, html: await response.text() };
  };
  /** A plain error page: no answer goes anywhere, and no sign-in began. */
  const plainRefusal = (page: Page, status = 400) => {
    assert.equal(page.status, status, page.html.slice(0, 300));
    assert.ok(!page.html.includes('data-auto-submit'), 'nothing is posted anywhere');
    assert.ok(!page.html.includes('name="password"'), 'no sign-in began');
  };
  /** A signed SAML error sent to the registered ACS, which the application reads. */
  const samlRefusal = (sp: ServiceProvider, page: Page, ...codes: string[]) => {
    assert.equal(page.status, 200, page.html.slice(0, 300));
    const answer = sp.answerOn(page);
    assert.equal(answer.action, sp.acsUrl);
    assert.deepEqual(statusOf(xmlOf(answer.SAMLResponse)), codes);
  };

  it('accepts a request ID once: a replayed AuthnRequest gets RequestDenied', async () => {
    const query = redirectQuery(authnRequest(open, server.issuer));
    const first = await get(query);
    assert.ok(first.html.includes('name="password"'), 'the first is shown the sign-in');
    samlRefusal(open, await get(query), 'Requester', 'RequestDenied');
  });

  it('sends nothing to an ACS URL the application did not register, and refuses unknown issuers', async () => {
    plainRefusal(await get(redirectQuery(authnRequest(open, server.issuer, { acs: 'https://evil.example/acs' }))));
    plainRefusal(await get(redirectQuery(authnRequest(open, server.issuer, { issuer: 'https://unknown.example/sp' }))));
  });

  it("reads AssertionConsumerServiceIndex as the index the application's metadata gave its ACS URL", async () => {
    // The application's metadata (node-saml's) gives its one ACS URL index 1.
    const byIndex = await get(redirectQuery(authnRequest(open, server.issuer, { index: 1 })));
    assert.ok(byIndex.html.includes('name="password"'), 'index 1 is the registered ACS URL');
    plainRefusal(await get(redirectQuery(authnRequest(open, server.issuer, { index: 0 }))));
  });

  it('refuses an unsigned request, and one signed by another key, for an application that signs its requests', async () => {
    samlRefusal(signing, await get(redirectQuery(authnRequest(signing, server.issuer))), 'Requester', 'RequestDenied');
    // Signed by the application's own library, over HTTP-Redirect: accepted.
    const good = await follow(new UserAgent(), await signing.saml.getAuthorizeUrlAsync('x', undefined, {}), 'never:');
    assert.ok(good.html.includes('name="password"'));
    // The same request, its signature made with another key: refused.
    const impostor = await serviceProvider(server, 'signing', { register: false, signRequests: true });
    const forged = await follow(new UserAgent(), await impostor.saml.getAuthorizeUrlAsync('x', undefined, {}), 'never:');
    samlRefusal(signing, forged, 'Requester', 'RequestDenied');
    // A signed request whose RelayState was changed afterwards: the signature covers it.
    const url = new URL(await signing.saml.getAuthorizeUrlAsync('mine', undefined, {}));
    url.searchParams.set('RelayState', 'theirs');
    samlRefusal(signing, await follow(new UserAgent(), url, 'never:'), 'Requester', 'RequestDenied');
  });

  it('acts only on the signed element: a wrapped request (the signed one moved, an unsigned one in its place) is refused', async () => {
    // The HTTP-POST binding carries the XML as it is (saml-bindings-2.0 3.5.4): not deflated.
    const postBinding = signing.asking({ authnRequestBinding: 'HTTP-POST', skipRequestCompression: true });
    const form = await postBinding.getAuthorizeFormAsync('', undefined, {});
    const signed = xmlOf(/name="SAMLRequest" value="([^"]+)"/.exec(form)![1]!);
    // Accepted as it is, over HTTP-POST.
    const accepted = await post({ SAMLRequest: Buffer.from(signed).toString('base64') });
    assert.equal(accepted.status, 303, accepted.html.slice(0, 2000));

    const fresh = xmlOf(/name="SAMLRequest" value="([^"]+)"/.exec(await postBinding.getAuthorizeFormAsync('', undefined, {}))![1]!);
    const signature = /<(ds:)?Signature[\s\S]*<\/(ds:)?Signature>/.exec(fresh)![0];
    const original = fresh.replace(signature, '');
    const originalId = /ID="([^"]+)"/.exec(fresh)![1]!;
    // The attacker's request, with the signature and the signed request moved inside it.
    const wrapped = authnRequest(signing, server.issuer, {
      id: `_evil${randomBytes(8).toString('hex')}`,
      extra: `${signature}<samlp:Extensions>${original.replace(/^<\?xml[^>]*>/, '')}</samlp:Extensions>`,
    });
    samlRefusal(signing, await post({ SAMLRequest: Buffer.from(wrapped).toString('base64') }), 'Requester', 'RequestDenied');
    // The same with the attacker's element taking the signed one's ID.
    const sameId = authnRequest(signing, server.issuer, {
      id: originalId,
      extra: `${signature}<samlp:Extensions>${original.replace(/^<\?xml[^>]*>/, '')}</samlp:Extensions>`,
    });
    samlRefusal(signing, await post({ SAMLRequest: Buffer.from(sameId).toString('base64') }), 'Requester', 'RequestDenied');
  });

  it('refuses DTDs and entities, malformed encodings, XML that is not SAML and huge requests, with a page and never a 500', async () => {
    const dtd = `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x "expanded">]>${authnRequest(open, server.issuer, { extra: '&x;' })}`;
    plainRefusal(await get(redirectQuery(dtd)));
    plainRefusal(await post({ SAMLRequest: Buffer.from(dtd).toString('base64') }));
    plainRefusal(await get('SAMLRequest=%%%not-base64'));
    plainRefusal(await get(`SAMLRequest=${encodeURIComponent(Buffer.from('not deflated at all').toString('base64'))}`));
    plainRefusal(await get(redirectQuery('<html><body>not SAML</body></html>')));
    plainRefusal(await get(redirectQuery('<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"')));
    plainRefusal(await get(''));
    // Deflated, a request that inflates past the limit.
    const huge = authnRequest(open, server.issuer, { extra: `<!--${'a'.repeat(200_000)}-->` });
    plainRefusal(await get(redirectQuery(huge)));
    const hugePost = await post({ SAMLRequest: Buffer.from(huge).toString('base64') });
    assert.ok(hugePost.status === 400 || hugePost.status === 413, String(hugePost.status));
  });

  it('answers a wrong Destination, an expired or a future IssueInstant, a long RelayState with a SAML error or a page', async () => {
    samlRefusal(
      open,
      await get(redirectQuery(authnRequest(open, server.issuer, { destination: 'https://other-idp.example/sso' }))),
      'Requester',
      'RequestDenied',
    );
    const expired = new Date(clock.now() - 3_600_000).toISOString();
    samlRefusal(open, await get(redirectQuery(authnRequest(open, server.issuer, { instant: expired }))), 'Requester', 'RequestDenied');
    const future = new Date(clock.now() + 3_600_000).toISOString();
    samlRefusal(open, await get(redirectQuery(authnRequest(open, server.issuer, { instant: future }))), 'Requester', 'RequestDenied');
    plainRefusal(await get(redirectQuery(authnRequest(open, server.issuer), 'r'.repeat(81))));
    // RelayState of 80 bytes is returned unchanged.
    const relay = `${'é'.repeat(39)}ab`;
    const page = await get(redirectQuery(authnRequest(open, server.issuer, { destination: 'https://other-idp.example/sso' }), relay));
    assert.equal(open.answerOn(page).RelayState, relay);
  });

  it('refuses a sign-out request the application could not have signed: the session stays', async () => {
    const credentials = { username: 'grace', password: 'a long passphrase' };
    await createUser(server, credentials);
    const agent = new UserAgent();
    const { page } = await walkToAnswer(agent, await open.saml.getAuthorizeUrlAsync('', undefined, {}), credentials, new Phone(clock));
    const { profile } = await open.saml.validatePostResponseAsync({ SAMLResponse: open.answerOn(page).SAMLResponse });
    const unsigned =
      `<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_x${randomBytes(8).toString('hex')}" Version="2.0" IssueInstant="${new Date().toISOString()}">` +
      `<saml:Issuer>${open.entityId}</saml:Issuer><saml:NameID>${profile!.nameID}</saml:NameID></samlp:LogoutRequest>`;
    const forged = await agent.request(`${server.issuer}/saml/slo?${redirectQuery(unsigned)}`);
    assert.equal(forged.status, 400);
    // Still signed in: the application gets an answer without a page.
    const still = await follow(agent, await open.saml.getAuthorizeUrlAsync('', undefined, {}), 'never:');
    assert.ok(still.html.includes('data-auto-submit'));
  });

  it('answers a sign-in once: the return from the sign-in, replayed, makes no second assertion', async () => {
    await createUser(server, { username: 'replayer', password: 'a long passphrase' });
    const agent = new UserAgent();
    const url = await open.saml.getAuthorizeUrlAsync('', undefined, {});
    const phone = new Phone(clock);
    // Walk the pages up to the engine's return to the SAML front door, and keep that address.
    let page = await follow(agent, url, `${server.issuer}/saml/callback`);
    const credentials = { username: 'replayer', password: 'a long passphrase' };
    const posted = await agent.postForm(formAction(page, '/login'), credentials);
    page = await follow(agent, new URL(posted.headers.get('location')!, page.url), `${server.issuer}/saml/callback`);
    const registered = await agent.postForm(formAction(page, '/code'), { code: await phone.app.register(secretOnPage(page.html)!) });
    page = await follow(agent, new URL(registered.headers.get('location')!, page.url), `${server.issuer}/saml/callback`);
    const continued = await agent.postForm(formAction(page, '/continue'), {});
    const callback = await follow(agent, new URL(continued.headers.get('location')!, page.url), `${server.issuer}/saml/callback`);
    assert.equal(callback.url.pathname, '/saml/callback');
    // The same return sent three times at the same moment: one answer.
    const pages = await Promise.all([1, 2, 3].map(() => follow(agent, callback.url, 'never:')));
    assert.equal(pages.filter((page) => page.html.includes('data-auto-submit')).length, 1, 'one answer');
    for (const other of pages.filter((page) => !page.html.includes('data-auto-submit')))
      assert.ok(other.status >= 400 && other.status < 500);
    const replayed = await follow(agent, callback.url, 'never:');
    assert.ok(!replayed.html.includes('data-auto-submit'), 'no answer later either');
  });
});
