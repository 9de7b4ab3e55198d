import { DOMParser } from '@xmldom/xmldom';
import { AppError } from '../domain/errors.ts';

/** Inbound SAML messages are small; anything larger is refused before it is parsed. */
export const MAX_MESSAGE_BYTES = 64 * 1024;

/**
 * Parses a SAML message or metadata. No DTD and no entity is accepted, whatever it
 * declares (no entity expansion, no external fetch); any parse error or warning refuses
 * the whole message rather than reading what the parser made of it.
 */
export function parseXml(text: string, maxBytes = MAX_MESSAGE_BYTES): Document {
  if (Buffer.byteLength(text, 'utf8') > maxBytes) throw new AppError('invalid_request', `the XML is larger than ${maxBytes} bytes`);
  if (/<!DOCTYPE|<!ENTITY/i.test(text))
    throw new AppError('invalid_request', 'the XML has a document type declaration, which is not accepted');
  const problems: string[] = [];
  const record = (message: string) => problems.push(message);
  const doc = new DOMParser({ errorHandler: { warning: record, error: record, fatalError: record } }).parseFromString(text, 'text/xml');
  if (problems.length || !doc?.documentElement) throw new AppError('invalid_request', 'the XML is not well-formed');
  if (doc.doctype) throw new AppError('invalid_request', 'the XML has a document type declaration, which is not accepted');
  return doc as unknown as Document;
}

/** The child elements of `parent` with this namespace and local name. */
export function children(parent: Element, ns: string, localName: string): Element[] {
  const found: Element[] = [];
  for (let node = parent.firstChild; node; node = node.nextSibling) {
    if (node.nodeType === 1 && (node as Element).namespaceURI === ns && (node as Element).localName === localName)
      found.push(node as Element);
  }
  return found;
}

/** The one child element of that name, if there is exactly one; more than one is refused. */
export function child(parent: Element, ns: string, localName: string): Element | undefined {
  const found = children(parent, ns, localName);
  if (found.length > 1) throw new AppError('invalid_request', `more than one ${localName} element`);
  return found[0];
}

export function textOf(element: Element | undefined): string | undefined {
  const text = element?.textContent?.trim();
  return text ? text : undefined;
}

/** An attribute's value, or undefined when it is absent. */
export function attr(element: Element, name: string): string | undefined {
  return element.hasAttribute(name) ? element.getAttribute(name)! : undefined;
}

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** Text and attribute values written into XML. */
export const escapeXml = (value: string): string => value.replace(/[&<>"']/g, (c) => XML_ESCAPES[c]!);

/** An xs:ID (an NCName) of a sensible length. */
export const isXmlId = (value: string | undefined): value is string =>
  value !== undefined && value.length <= 256 && /^[A-Za-z_][A-Za-z0-9._-]*$/.test(value);

/** An xs:dateTime in UTC with its `Z`, as SAML requires, to epoch ms. */
export function samlInstant(value: string | undefined): number | undefined {
  if (!value || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/.test(value)) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Epoch ms as SAML writes an instant: UTC, to the second. */
export const instant = (ms: number): string => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
