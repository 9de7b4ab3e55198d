import { BINDING, NAME_ID_FORMAT, NS } from './names.ts';
import { certificateBody, type SamlSigning } from './signing-keys.ts';
import { escapeXml as x } from './xml.ts';

export interface IdpEndpoints {
  entityId: string;
  ssoUrl: string;
  sloUrl: string;
}

/**
 * The identity provider's metadata (saml-metadata-2.0): its signing certificates (the
 * current one, and the next one once prepared, so applications trust it before it signs),
 * single sign-on and single logout over HTTP-Redirect and HTTP-POST, the NameID formats.
 */
export function idpMetadata(endpoints: IdpEndpoints, signing: SamlSigning): string {
  const certificates = [signing.current, ...(signing.next ? [signing.next] : [])]
    .map(
      (pair) =>
        `<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${certificateBody(pair.certPem)}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>`,
    )
    .join('');
  const services = (element: string, url: string) =>
    [BINDING.redirect, BINDING.post].map((binding) => `<md:${element} Binding="${binding}" Location="${x(url)}"/>`).join('');
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<md:EntityDescriptor xmlns:md="${NS.metadata}" xmlns:ds="${NS.dsig}" entityID="${x(endpoints.entityId)}">` +
    `<md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="${NS.protocol}">` +
    certificates +
    services('SingleLogoutService', endpoints.sloUrl) +
    Object.values(NAME_ID_FORMAT)
      .map((format) => `<md:NameIDFormat>${format}</md:NameIDFormat>`)
      .join('') +
    services('SingleSignOnService', endpoints.ssoUrl) +
    `</md:IDPSSODescriptor></md:EntityDescriptor>\n`
  );
}
