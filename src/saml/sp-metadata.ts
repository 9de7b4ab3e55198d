import { X509Certificate } from 'node:crypto';
import { AppError } from '../domain/errors.ts';
import { BINDING, NAME_ID_FORMAT, NS } from './names.ts';
import { attr, children, parseXml, textOf } from './xml.ts';

/** What a service provider's metadata tells about it. */
export interface SpMetadata {
  entityId: string;
  acsUrls: string[];
  /** Each ACS URL's `index` in the metadata. */
  acsIndexes: number[];
  sloUrl?: string | undefined;
  certificate?: string | undefined;
  wantAuthnRequestsSigned: boolean;
  nameIdFormat?: 'persistent' | 'emailAddress' | 'unspecified' | undefined;
}

const MAX_METADATA_BYTES = 256 * 1024;

/** An endpoint's `index` (an xs:unsignedShort), 0 when absent. */
function indexOf(service: Element): number {
  const index = attr(service, 'index') ?? '0';
  if (!/^\d{1,5}$/.test(index) || Number(index) > 65535)
    throw new AppError('invalid_request', 'metadata_xml: an AssertionConsumerService index is not a number');
  return Number(index);
}

/** A PEM certificate from the base64 of an X509Certificate element, checked to be one. */
export function certificatePem(base64: string): string {
  const body = base64.replace(/\s+/g, '');
  const pem = `-----BEGIN CERTIFICATE-----\n${body.match(/.{1,64}/g)?.join('\n') ?? ''}\n-----END CERTIFICATE-----\n`;
  try {
    new X509Certificate(pem);
  } catch {
    throw new AppError('invalid_request', 'the certificate is not an X.509 certificate');
  }
  return pem;
}

/**
 * Reads an EntityDescriptor with one SPSSODescriptor: its entityID, its assertion
 * consumer services of the HTTP-POST binding (the default first), its single logout
 * service, its signing certificate and whether it signs its requests.
 */
export function parseSpMetadata(xml: string): SpMetadata {
  const doc = parseXml(xml, MAX_METADATA_BYTES);
  const root = doc.documentElement;
  if (root.namespaceURI !== NS.metadata || root.localName !== 'EntityDescriptor') {
    throw new AppError('invalid_request', 'metadata_xml: expected one md:EntityDescriptor');
  }
  const entityId = attr(root, 'entityID');
  if (!entityId) throw new AppError('invalid_request', 'metadata_xml: the EntityDescriptor has no entityID');
  const sps = children(root, NS.metadata, 'SPSSODescriptor');
  if (sps.length !== 1) throw new AppError('invalid_request', 'metadata_xml: expected one SPSSODescriptor');
  const sp = sps[0]!;

  const acs = children(sp, NS.metadata, 'AssertionConsumerService')
    .filter((service) => attr(service, 'Binding') === BINDING.post && attr(service, 'Location'))
    .map((service) => ({
      url: attr(service, 'Location')!,
      isDefault: attr(service, 'isDefault') === 'true',
      index: indexOf(service),
    }))
    .sort((a, b) => Number(b.isDefault) - Number(a.isDefault) || a.index - b.index);
  if (!acs.length) throw new AppError('invalid_request', 'metadata_xml: no AssertionConsumerService with the HTTP-POST binding');

  const slo = children(sp, NS.metadata, 'SingleLogoutService').find(
    (service) => attr(service, 'Binding') === BINDING.redirect || attr(service, 'Binding') === BINDING.post,
  );
  const signingKey = children(sp, NS.metadata, 'KeyDescriptor').find((key) => (attr(key, 'use') ?? 'signing') === 'signing');
  const certText = signingKey ? textOf(signingKey.getElementsByTagNameNS(NS.dsig, 'X509Certificate')[0] as Element | undefined) : undefined;
  const formats = children(sp, NS.metadata, 'NameIDFormat').map((format) => textOf(format));
  const nameIdFormat = formats.includes(NAME_ID_FORMAT.persistent)
    ? 'persistent'
    : formats.includes(NAME_ID_FORMAT.emailAddress)
      ? 'emailAddress'
      : formats.includes(NAME_ID_FORMAT.unspecified)
        ? 'unspecified'
        : undefined;
  return {
    entityId,
    acsUrls: acs.map((service) => service.url),
    acsIndexes: acs.map((service) => service.index),
    sloUrl: slo ? attr(slo, 'Location') : undefined,
    certificate: certText ? certificatePem(certText) : undefined,
    wantAuthnRequestsSigned: attr(sp, 'AuthnRequestsSigned') === 'true',
    nameIdFormat,
  };
}
