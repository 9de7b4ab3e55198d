import { randomBytes, sign as signBytes } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { SignedXml } from 'xml-crypto';
import { ALGORITHM, ATTRIBUTE_NAME_FORMAT, NS, STATUS } from './names.ts';
import type { SigningPair } from './signing-keys.ts';
import { escapeXml as x, instant } from './xml.ts';

/** How long an assertion is good for: at most five minutes after it is issued (SPEC 11). */
export const ASSERTION_SECONDS = 300;

/** A fresh xs:ID: an NCName (a letter first), 160 random bits. */
export const newId = (): string => `_${randomBytes(20).toString('hex')}`;

export interface StatusCode {
  top: typeof STATUS.requester | typeof STATUS.responder | typeof STATUS.success;
  second?: string | undefined;
  message?: string | undefined;
}

export interface AssertionContent {
  nameId: { format: string; value: string; spNameQualifier?: string | undefined };
  sessionIndex: string;
  /** Epoch ms of the authentication the assertion reports. */
  authnInstant: number;
  classRef: string;
  attributes: { name: string; nameFormat: keyof typeof ATTRIBUTE_NAME_FORMAT; values: string[] }[];
}

export interface ResponseEnvelope {
  issuer: string;
  destination: string;
  inResponseTo?: string | undefined;
  audience: string;
  now: number;
}

function statusXml(status: StatusCode): string {
  const inner = status.second ? `<samlp:StatusCode Value="${x(status.second)}"/>` : '';
  const message = status.message ? `<samlp:StatusMessage>${x(status.message)}</samlp:StatusMessage>` : '';
  return `<samlp:Status><samlp:StatusCode Value="${x(status.top)}">${inner}</samlp:StatusCode>${message}</samlp:Status>`;
}

const inResponseTo = (id: string | undefined) => (id ? ` InResponseTo="${x(id)}"` : '');

/**
 * Signs the element with this ID in place: an enveloped RSA-SHA256 signature with
 * exclusive canonicalisation, placed right after the element's Issuer as the schema
 * wants, its certificate in KeyInfo. xml-crypto does the canonicalisation and signing.
 */
function signElement(xml: string, localName: string, id: string, pair: SigningPair): string {
  const signer = new SignedXml({
    privateKey: pair.keyPem,
    publicCert: pair.certPem,
    signatureAlgorithm: ALGORITHM.rsaSha256,
    canonicalizationAlgorithm: ALGORITHM.excC14n,
  });
  const element = `//*[local-name(.)='${localName}' and @ID='${id}']`;
  signer.addReference({ xpath: element, digestAlgorithm: ALGORITHM.sha256, transforms: [ALGORITHM.enveloped, ALGORITHM.excC14n] });
  signer.computeSignature(xml, { prefix: 'ds', location: { reference: `${element}/*[local-name(.)='Issuer']`, action: 'after' } });
  return signer.getSignedXml();
}

/** A successful Response: the Assertion signed, then the Response around it signed too. */
export function signedResponse(envelope: ResponseEnvelope, content: AssertionContent, pair: SigningPair): string {
  const responseId = newId();
  const assertionId = newId();
  const issued = instant(envelope.now);
  const notOnOrAfter = instant(envelope.now + ASSERTION_SECONDS * 1000);
  const { nameId } = content;
  const qualifier = nameId.spNameQualifier ? ` SPNameQualifier="${x(nameId.spNameQualifier)}"` : '';
  const attributes = content.attributes.length
    ? `<saml:AttributeStatement>${content.attributes
        .map(
          (attribute) =>
            `<saml:Attribute Name="${x(attribute.name)}" NameFormat="${ATTRIBUTE_NAME_FORMAT[attribute.nameFormat]}">${attribute.values
              .map((value) => `<saml:AttributeValue xsi:type="xs:string">${x(value)}</saml:AttributeValue>`)
              .join('')}</saml:Attribute>`,
        )
        .join('')}</saml:AttributeStatement>`
    : '';
  const assertion =
    `<saml:Assertion xmlns:saml="${NS.assertion}" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" ID="${assertionId}" Version="2.0" IssueInstant="${issued}">` +
    `<saml:Issuer>${x(envelope.issuer)}</saml:Issuer>` +
    `<saml:Subject><saml:NameID Format="${x(nameId.format)}"${qualifier}>${x(nameId.value)}</saml:NameID>` +
    `<saml:SubjectConfirmation Method="urn:oasis:names:tc:SAML:2.0:cm:bearer"><saml:SubjectConfirmationData${inResponseTo(envelope.inResponseTo)} NotOnOrAfter="${notOnOrAfter}" Recipient="${x(envelope.destination)}"/></saml:SubjectConfirmation></saml:Subject>` +
    `<saml:Conditions NotBefore="${issued}" NotOnOrAfter="${notOnOrAfter}"><saml:AudienceRestriction><saml:Audience>${x(envelope.audience)}</saml:Audience></saml:AudienceRestriction></saml:Conditions>` +
    `<saml:AuthnStatement AuthnInstant="${instant(content.authnInstant)}" SessionIndex="${x(content.sessionIndex)}"><saml:AuthnContext><saml:AuthnContextClassRef>${x(content.classRef)}</saml:AuthnContextClassRef></saml:AuthnContext></saml:AuthnStatement>` +
    attributes +
    `</saml:Assertion>`;
  const response =
    `<samlp:Response xmlns:samlp="${NS.protocol}" xmlns:saml="${NS.assertion}" ID="${responseId}" Version="2.0" IssueInstant="${issued}" Destination="${x(envelope.destination)}"${inResponseTo(envelope.inResponseTo)}>` +
    `<saml:Issuer>${x(envelope.issuer)}</saml:Issuer>${statusXml({ top: STATUS.success })}` +
    signElement(assertion, 'Assertion', assertionId, pair) +
    `</samlp:Response>`;
  return signElement(response, 'Response', responseId, pair);
}

/** A Response that says why there is no assertion, signed like any other. */
export function signedErrorResponse(envelope: Omit<ResponseEnvelope, 'audience'>, status: StatusCode, pair: SigningPair): string {
  const id = newId();
  const xml =
    `<samlp:Response xmlns:samlp="${NS.protocol}" xmlns:saml="${NS.assertion}" ID="${id}" Version="2.0" IssueInstant="${instant(envelope.now)}" Destination="${x(envelope.destination)}"${inResponseTo(envelope.inResponseTo)}>` +
    `<saml:Issuer>${x(envelope.issuer)}</saml:Issuer>${statusXml(status)}</samlp:Response>`;
  return signElement(xml, 'Response', id, pair);
}

/** A LogoutResponse (saml-core-2.0 3.7.2), unsigned: the binding signs it. */
export function logoutResponse(envelope: Omit<ResponseEnvelope, 'audience'>, status: StatusCode): { id: string; xml: string } {
  const id = newId();
  const xml =
    `<samlp:LogoutResponse xmlns:samlp="${NS.protocol}" xmlns:saml="${NS.assertion}" ID="${id}" Version="2.0" IssueInstant="${instant(envelope.now)}" Destination="${x(envelope.destination)}"${inResponseTo(envelope.inResponseTo)}>` +
    `<saml:Issuer>${x(envelope.issuer)}</saml:Issuer>${statusXml(status)}</samlp:LogoutResponse>`;
  return { id, xml };
}

export const signXmlMessage = (xml: string, localName: string, id: string, pair: SigningPair) => signElement(xml, localName, id, pair);

/**
 * The HTTP-Redirect binding's URL for a message: deflated, base64, URL-encoded, and signed
 * over the exact query it sends (saml-bindings-2.0 3.4.4.1).
 */
export function redirectUrl(
  target: string,
  param: 'SAMLResponse' | 'SAMLRequest',
  xml: string,
  relayState: string | undefined,
  pair: SigningPair,
): string {
  let query = `${param}=${encodeURIComponent(deflateRawSync(Buffer.from(xml, 'utf8')).toString('base64'))}`;
  if (relayState !== undefined) query += `&RelayState=${encodeURIComponent(relayState)}`;
  query += `&SigAlg=${encodeURIComponent(ALGORITHM.rsaSha256)}`;
  const signature = signBytes('sha256', Buffer.from(query, 'utf8'), pair.keyPem).toString('base64');
  const url = new URL(target);
  return `${url.origin}${url.pathname}?${url.search ? `${url.search.slice(1)}&` : ''}${query}&Signature=${encodeURIComponent(signature)}`;
}
