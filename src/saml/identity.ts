import { createHmac, randomBytes } from 'node:crypto';
import type { DataKeyring } from '../domain/data-key.ts';
import type { KeyStore, SamlAppRecord, UserRecord } from '../domain/ports.ts';
import { DEFAULT_SAML_ATTRIBUTES, PAIRWISE_KEY_ID, PAIRWISE_PURPOSE } from '../domain/saml-apps.ts';
import { NAME_ID_FORMAT } from './names.ts';
import type { AssertionContent } from './outbound.ts';

/**
 * Who a user is to one SAML application: the NameID in the application's format and the
 * attributes it is given. A persistent NameID is opaque and stable per user and
 * application (HMAC-SHA256 of the application's entity id and the user's id under a
 * secret made on first start and kept sealed), so two applications cannot link their users
 * by it, and a rotation of DATA_KEY does not change it.
 */
export function createSamlIdentity(deps: { keys: KeyStore; keyring: DataKeyring }) {
  async function secret(): Promise<Buffer> {
    const sealed = await deps.keys.getOrCreate(PAIRWISE_KEY_ID, () =>
      deps.keyring.seal(randomBytes(32).toString('base64'), PAIRWISE_PURPOSE),
    );
    return Buffer.from(deps.keyring.open(sealed, PAIRWISE_PURPOSE), 'base64');
  }

  return {
    /** The NameID, or undefined when the user has nothing of that format (no email). */
    async nameIdOf(user: UserRecord, app: SamlAppRecord): Promise<AssertionContent['nameId'] | undefined> {
      switch (app.nameIdFormat) {
        case 'persistent': {
          const value = createHmac('sha256', await secret())
            .update(`${app.entityId}\n${user.id}`)
            .digest('base64url');
          return { format: NAME_ID_FORMAT.persistent, value, spNameQualifier: app.entityId };
        }
        case 'emailAddress':
          return user.email ? { format: NAME_ID_FORMAT.emailAddress, value: user.email } : undefined;
        case 'unspecified':
          return { format: NAME_ID_FORMAT.unspecified, value: user.username };
      }
    },

    /** The attributes the application is given; a field the user has no value for is left out. */
    attributesOf(user: UserRecord, app: SamlAppRecord): AssertionContent['attributes'] {
      const valueOf = { username: user.username, email: user.email, name: user.name, id: user.id };
      return (app.attributes ?? DEFAULT_SAML_ATTRIBUTES).flatMap((attribute) => {
        const value = valueOf[attribute.field];
        return value ? [{ name: attribute.name, nameFormat: attribute.nameFormat ?? 'unspecified', values: [value] }] : [];
      });
    },
  };
}

export type SamlIdentity = ReturnType<typeof createSamlIdentity>;
