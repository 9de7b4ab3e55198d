import { AppError } from '../domain/errors.ts';
import { NAME_ID_FORMAT, NS } from './names.ts';
import { attr, child, children, isXmlId, samlInstant, textOf } from './xml.ts';

/** What an application asks for in an AuthnRequest (saml-core-2.0 3.4.1). */
export interface AuthnRequest {
  id: string;
  issueInstant: number;
  destination?: string | undefined;
  issuer: string;
  acsUrl?: string | undefined;
  acsIndex?: number | undefined;
  protocolBinding?: string | undefined;
  forceAuthn: boolean;
  isPassive: boolean;
  nameIdFormat?: string | undefined;
  requestedContext?: { comparison: 'exact' | 'minimum' | 'maximum' | 'better'; classRefs: string[] } | undefined;
}

/** An application's LogoutRequest (saml-core-2.0 3.7.1). */
export interface LogoutRequest {
  id: string;
  issueInstant: number;
  destination?: string | undefined;
  issuer: string;
  nameId: string;
  sessionIndexes: string[];
}

const refuse = (message: string): never => {
  throw new AppError('invalid_request', message);
};

/** The parts every request has: SAML 2.0, an ID, an instant, an issuer. */
function common(root: Element, localName: string) {
  if (root.namespaceURI !== NS.protocol || root.localName !== localName) refuse(`expected a samlp:${localName}`);
  if (attr(root, 'Version') !== '2.0') refuse('the request is not SAML 2.0');
  const id = attr(root, 'ID');
  if (!isXmlId(id)) refuse('the request has no valid ID');
  const issueInstant = samlInstant(attr(root, 'IssueInstant'));
  if (issueInstant === undefined) refuse('the request has no valid IssueInstant');
  const issuer = textOf(child(root, NS.assertion, 'Issuer'));
  if (!issuer) refuse('the request names no Issuer');
  return { id: id!, issueInstant: issueInstant!, destination: attr(root, 'Destination'), issuer: issuer! };
}

const booleanAttr = (root: Element, name: string) => {
  const value = attr(root, name);
  if (value === undefined) return false;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  return refuse(`${name} is not a boolean`);
};

export function readAuthnRequest(doc: Document): AuthnRequest {
  const root = doc.documentElement;
  const base = common(root, 'AuthnRequest');
  const index = attr(root, 'AssertionConsumerServiceIndex');
  if (index !== undefined && !/^\d{1,5}$/.test(index)) refuse('AssertionConsumerServiceIndex is not a number');
  const policy = child(root, NS.protocol, 'NameIDPolicy');
  const requested = child(root, NS.protocol, 'RequestedAuthnContext');
  let requestedContext: AuthnRequest['requestedContext'];
  if (requested) {
    const comparison = attr(requested, 'Comparison') ?? 'exact';
    if (!['exact', 'minimum', 'maximum', 'better'].includes(comparison)) refuse('RequestedAuthnContext has an unknown Comparison');
    const classRefs = children(requested, NS.assertion, 'AuthnContextClassRef').map((ref) => textOf(ref) ?? '');
    if (!classRefs.length) refuse('RequestedAuthnContext names no AuthnContextClassRef (declarations are not supported)');
    requestedContext = { comparison: comparison as 'exact', classRefs };
  }
  return {
    ...base,
    acsUrl: attr(root, 'AssertionConsumerServiceURL'),
    acsIndex: index === undefined ? undefined : Number(index),
    protocolBinding: attr(root, 'ProtocolBinding'),
    forceAuthn: booleanAttr(root, 'ForceAuthn'),
    isPassive: booleanAttr(root, 'IsPassive'),
    nameIdFormat: policy ? attr(policy, 'Format') : undefined,
    requestedContext,
  };
}

export function readLogoutRequest(doc: Document): LogoutRequest {
  const root = doc.documentElement;
  const base = common(root, 'LogoutRequest');
  const nameId = textOf(child(root, NS.assertion, 'NameID'));
  if (!nameId) refuse('the LogoutRequest names no NameID (an encrypted one is not supported)');
  return { ...base, nameId: nameId!, sessionIndexes: children(root, NS.protocol, 'SessionIndex').map((index) => textOf(index) ?? '') };
}

/** The format of a NameIDPolicy, as twofold's name for it; undefined for one it does not offer. */
export function nameIdFormatOf(uri: string | undefined): 'persistent' | 'emailAddress' | 'unspecified' | 'any' | undefined {
  if (uri === undefined || uri === NAME_ID_FORMAT.unspecified) return 'any';
  if (uri === NAME_ID_FORMAT.persistent) return 'persistent';
  if (uri === NAME_ID_FORMAT.emailAddress) return 'emailAddress';
  return undefined;
}
