import { SAML, type SamlConfig } from '@node-saml/node-saml';
import { generateSigningPair } from '../../src/saml/signing-keys.ts';
import { Phone } from './mfa.ts';
import { backupCodesOnPage, follow, formAction, secretOnPage, type Page, type UserAgent } from './relying-party.ts';
import type { TestServer } from './server.ts';

/**
 * A SAML service provider, as an application would run one: node-saml makes its requests
 * and checks twofold's answers with its own code (signatures, audience, destination,
 * InResponseTo, times). Registered in twofold through the admin API from the metadata
 * node-saml writes.
 */
export interface ServiceProvider {
  saml: SAML;
  /** The same application with other request options (step-up, ForceAuthn, IsPassive, …). */
  asking(options: Partial<SamlConfig>): SAML;
  entityId: string;
  acsUrl: string;
  sloUrl: string;
  keys: { keyPem: string; certPem: string };
  /** twofold's answer on the page that posts it to the application. */
  answerOn(page: Page): { action: string; SAMLResponse: string; RelayState?: string | undefined };
}

export async function idpCertificate(server: Pick<TestServer, 'adminFetch'>): Promise<string> {
  const keys = (await (await server.adminFetch('/admin/api/saml/keys')).json()) as { current: { certificate: string } };
  return keys.current.certificate;
}

export async function serviceProvider(
  server: Pick<TestServer, 'adminFetch' | 'issuer'>,
  id: string,
  options: { register?: Record<string, unknown> | false; signRequests?: boolean; saml?: Partial<SamlConfig> } = {},
): Promise<ServiceProvider> {
  const entityId = `https://${id}.sp.example/metadata`;
  const acsUrl = `https://${id}.sp.example/saml/acs`;
  const sloUrl = `https://${id}.sp.example/saml/slo`;
  const keys = generateSigningPair(`${id}.sp.example`, Date.now());
  const config: SamlConfig = {
    entryPoint: `${server.issuer}/saml/sso`,
    logoutUrl: `${server.issuer}/saml/slo`,
    logoutCallbackUrl: sloUrl,
    callbackUrl: acsUrl,
    issuer: entityId,
    audience: entityId,
    idpCert: await idpCertificate(server),
    idpIssuer: `${server.issuer}/saml/metadata`,
    wantAssertionsSigned: true,
    wantAuthnResponseSigned: true,
    identifierFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
    validateInResponseTo: 'always' as never,
    disableRequestedAuthnContext: true,
    // twofold runs on the tests' clock, which they move on a step at a time.
    acceptedClockSkewMs: 3_600_000,
    ...(options.signRequests
      ? { privateKey: keys.keyPem, publicCert: keys.certPem, signatureAlgorithm: 'sha256' as const, digestAlgorithm: 'sha256' }
      : {}),
    ...options.saml,
  };
  const saml = new SAML(config);
  if (options.register !== false) {
    const metadata = saml.generateServiceProviderMetadata(null, keys.certPem);
    const response = await server.adminFetch('/admin/api/saml/apps', {
      method: 'POST',
      body: JSON.stringify({ id, metadata_xml: metadata, name: `App ${id}`, ...options.register }),
    });
    if (response.status !== 201) throw new Error(`SAML application registration failed: ${response.status} ${await response.text()}`);
  }
  return {
    saml,
    asking: (extra) => new SAML({ ...config, ...extra }),
    entityId,
    acsUrl,
    sloUrl,
    keys,
    answerOn(page) {
      const action = /<form[^>]*action="([^"]+)"[^>]*data-auto-submit/.exec(page.html)?.[1];
      const field = (name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(page.html)?.[1]?.replaceAll('&amp;', '&');
      if (!action) throw new Error(`no SAML answer on ${page.url.pathname} (status ${page.status}): ${page.html.slice(0, 300)}`);
      return { action: action.replaceAll('&amp;', '&'), SAMLResponse: field('SAMLResponse')!, RelayState: field('RelayState') };
    },
  };
}

/**
 * Walks twofold's pages from `url` (password, registration, code, backup codes) until the
 * page that posts the SAML answer; returns it and the steps that were asked.
 */
export async function walkToAnswer(
  agent: UserAgent,
  url: string,
  credentials: { username: string; password: string } | null,
  phone: Phone,
) {
  let page = await follow(agent, url, 'never:');
  const seen: string[] = [];
  for (let steps = 0; !page.html.includes('data-auto-submit'); steps++) {
    if (steps > 8 || page.status !== 200)
      throw new Error(`stopped at ${page.url.pathname} with ${page.status}: ${page.html.slice(0, 400)}`);
    let posted: Response;
    if (page.html.includes('name="password"')) {
      if (!credentials) throw new Error('a password page was shown where none was expected');
      seen.push('login');
      posted = await agent.postForm(formAction(page, '/login'), credentials);
    } else if (page.html.includes('autocomplete="one-time-code"')) {
      const secret = secretOnPage(page.html);
      seen.push(secret ? 'register' : 'code');
      posted = await agent.postForm(formAction(page, '/code'), { code: secret ? await phone.app.register(secret) : await phone.code() });
    } else if (page.html.includes('data-testid="continue"')) {
      seen.push('backup-codes');
      phone.backupCodes = backupCodesOnPage(page.html);
      posted = await agent.postForm(formAction(page, '/continue'), {});
    } else {
      throw new Error(`unexpected page ${page.url.pathname}: ${page.html.slice(0, 300)}`);
    }
    if (posted.status !== 303)
      throw new Error(`${page.url.pathname} refused the form: ${posted.status} ${(await posted.text()).slice(0, 300)}`);
    page = await follow(agent, new URL(posted.headers.get('location')!, page.url), 'never:');
  }
  return { page, seen };
}

export { Phone };
