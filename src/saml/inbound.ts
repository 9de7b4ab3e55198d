import { verify as verifySignature } from 'node:crypto';
import { inflateRawSync } from 'node:zlib';
import { SignedXml } from 'xml-crypto';
import { AppError } from '../domain/errors.ts';
import { ACCEPTED_DIGEST_ALGORITHMS, ACCEPTED_SIGNATURE_ALGORITHMS, ALGORITHM, NS } from './names.ts';
import { attr, children, MAX_MESSAGE_BYTES, parseXml } from './xml.ts';

/** At most 80 bytes (saml-bindings-2.0 3.4.3, 3.5.3). */
export const MAX_RELAY_STATE_BYTES = 80;

/** A SAML message as it arrived: its XML, its RelayState, and a HTTP-Redirect signature when there is one. */
export interface Inbound {
  binding: 'redirect' | 'post';
  xml: string;
  relayState?: string | undefined;
  redirectSignature?: { sigAlg: string; signature: Buffer; signedOctets: Buffer } | undefined;
}

export type MessageParam = 'SAMLRequest' | 'SAMLResponse';

const refuse = (message: string): never => {
  throw new AppError('invalid_request', message);
};

function base64(value: string, what: string): Buffer {
  const compact = value.replace(/\s+/g, '');
  if (!compact || !/^[A-Za-z0-9+/]+={0,2}$/.test(compact) || compact.length % 4 !== 0) refuse(`${what} is not base64`);
  return Buffer.from(compact, 'base64');
}

function relayStateOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (Buffer.byteLength(value, 'utf8') > MAX_RELAY_STATE_BYTES) refuse(`RelayState is longer than ${MAX_RELAY_STATE_BYTES} bytes`);
  return value;
}

const decodeComponent = (raw: string) => {
  try {
    return decodeURIComponent(raw.replace(/\+/g, ' '));
  } catch {
    return refuse('the query is not URL-encoded');
  }
};

/**
 * The HTTP-Redirect binding: the message deflated, base64- and URL-encoded in the query.
 * The query is read as received: a signature covers its exact octets (saml-bindings-2.0
 * 3.4.4.1), so they are kept, not rebuilt from decoded values.
 */
export function fromRedirect(rawQuery: string, param: MessageParam): Inbound {
  if (rawQuery.length > MAX_MESSAGE_BYTES * 2) refuse('the request is too large');
  const raw = new Map<string, string>();
  for (const part of rawQuery.split('&')) {
    if (!part) continue;
    const at = part.indexOf('=');
    const name = decodeComponent(at < 0 ? part : part.slice(0, at));
    if (raw.has(name)) refuse(`${name} is given twice`);
    raw.set(name, at < 0 ? '' : part.slice(at + 1));
  }
  const message = raw.get(param);
  if (message === undefined) refuse(`${param} is missing`);
  let xml: string;
  try {
    xml = inflateRawSync(base64(decodeComponent(message!), param), { maxOutputLength: MAX_MESSAGE_BYTES }).toString('utf8');
  } catch (err) {
    if (err instanceof AppError) throw err;
    return refuse(`${param} is not a deflated message of at most ${MAX_MESSAGE_BYTES} bytes`);
  }
  const relayState = relayStateOf(raw.has('RelayState') ? decodeComponent(raw.get('RelayState')!) : undefined);
  const signature = raw.get('Signature');
  const sigAlg = raw.get('SigAlg');
  let redirectSignature: Inbound['redirectSignature'];
  if (signature !== undefined || sigAlg !== undefined) {
    if (signature === undefined || sigAlg === undefined) refuse('Signature and SigAlg go together');
    const signedOctets = Buffer.from(
      `${param}=${message}${raw.has('RelayState') ? `&RelayState=${raw.get('RelayState')}` : ''}&SigAlg=${sigAlg}`,
      'utf8',
    );
    redirectSignature = { sigAlg: decodeComponent(sigAlg!), signature: base64(decodeComponent(signature!), 'Signature'), signedOctets };
  }
  return { binding: 'redirect', xml, relayState, redirectSignature };
}

/** The HTTP-POST binding: the message base64-encoded in a form field. */
export function fromPost(body: Record<string, unknown>, param: MessageParam): Inbound {
  const message = body[param];
  if (typeof message !== 'string') return refuse(`${param} is missing`);
  const xmlBytes = base64(message, param);
  if (xmlBytes.length > MAX_MESSAGE_BYTES) refuse(`${param} is larger than ${MAX_MESSAGE_BYTES} bytes`);
  const relayState = body.RelayState;
  if (relayState !== undefined && typeof relayState !== 'string') refuse('RelayState is given twice');
  return { binding: 'post', xml: xmlBytes.toString('utf8'), relayState: relayStateOf(relayState as string | undefined) };
}

/** Whether a check passed; a check that throws (malformed input) did not. */
function attempt(check: () => boolean): boolean {
  try {
    return check();
  } catch {
    return false;
  }
}

const HASH_OF: Record<string, string> = { [ALGORITHM.rsaSha256]: 'sha256', [ALGORITHM.rsaSha512]: 'sha512' };

/** The signature of an HTTP-POST message: a ds:Signature child of its root element, if any. */
function embeddedSignature(root: Element): Element | undefined {
  const signatures = children(root, NS.dsig, 'Signature');
  if (signatures.length > 1) refuse('the message has more than one signature');
  return signatures[0];
}

/**
 * The message to act on, with its signature checked against the application's
 * certificate. Over HTTP-Redirect the signature covers the query's exact octets. Over
 * HTTP-POST it must be an enveloped signature of the root element alone, and what is
 * returned is what the signature covers (xml-crypto's signed reference, parsed again),
 * never the received document: an element moved or added beside the signed one (signature
 * wrapping) is not read. A signature is checked whenever the application has a
 * certificate; `required` refuses a message without one.
 */
export function verifiedMessage(inbound: Inbound, certificate: string | undefined, required: boolean): Document {
  const received = parseXml(inbound.xml);
  const root = received.documentElement;
  if (inbound.binding === 'redirect') {
    const signed = inbound.redirectSignature;
    if (!signed) return required ? refuse('the application signs its requests, and this one is not signed') : received;
    if (!certificate) return refuse('the message is signed, and the application has no certificate to check it');
    const hash = HASH_OF[signed.sigAlg];
    if (!hash) refuse('the signature algorithm is not accepted (RSA-SHA256 or RSA-SHA512)');
    const valid = attempt(() => verifySignature(hash!, signed.signedOctets, certificate, signed.signature));
    return valid ? received : refuse('the signature does not verify');
  }

  const signature = embeddedSignature(root);
  if (!signature) return required ? refuse('the application signs its requests, and this one is not signed') : received;
  if (!certificate) return refuse('the message is signed, and the application has no certificate to check it');
  const id = attr(root, 'ID');
  const signedInfo = children(signature, NS.dsig, 'SignedInfo')[0];
  const method = signedInfo ? attr(children(signedInfo, NS.dsig, 'SignatureMethod')[0] ?? signedInfo, 'Algorithm') : undefined;
  if (!method || !ACCEPTED_SIGNATURE_ALGORITHMS.includes(method))
    refuse('the signature algorithm is not accepted (RSA-SHA256 or RSA-SHA512)');
  const references = signedInfo ? children(signedInfo, NS.dsig, 'Reference') : [];
  if (references.length !== 1 || !id || attr(references[0]!, 'URI') !== `#${id}`) refuse('the signature does not cover the message itself');
  const digest = attr(children(references[0]!, NS.dsig, 'DigestMethod')[0] ?? references[0]!, 'Algorithm');
  if (!digest || !ACCEPTED_DIGEST_ALGORITHMS.includes(digest)) refuse('the digest algorithm is not accepted (SHA-256 or SHA-512)');

  const checker = new SignedXml({ publicCert: certificate, getCertFromKeyInfo: () => null });
  const valid = attempt(() => {
    checker.loadSignature(signature);
    return checker.checkSignature(inbound.xml);
  });
  if (!valid) refuse('the signature does not verify');
  const signedReferences = checker.getSignedReferences();
  if (signedReferences.length !== 1) refuse('the signature does not cover the message itself');
  const signedDoc = parseXml(signedReferences[0]!);
  const signedRoot = signedDoc.documentElement;
  if (signedRoot.namespaceURI !== root.namespaceURI || signedRoot.localName !== root.localName || attr(signedRoot, 'ID') !== id) {
    refuse('the signature does not cover the message itself');
  }
  return signedDoc;
}
