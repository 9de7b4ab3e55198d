import type { DataKeyring } from '../domain/data-key.ts';
import type { ClientStore, OidcAdapter } from '../stores/types.ts';
import { CLIENT_SECRET_PURPOSE } from '../domain/clients.ts';

/**
 * The provider's Client model, read from the client store (MongoDB in production) so
 * clients added at run time through the admin API are seen by every node. Clients are
 * written only by the admin API, never by the provider.
 */
export function createClientAdapter(clients: ClientStore, keyring: DataKeyring): OidcAdapter {
  const readOnly = async () => {
    throw new Error('clients are managed through the admin API');
  };
  return {
    async find(id) {
      const record = await clients.find(id);
      if (!record) return undefined;
      return {
        ...record.metadata,
        client_id: record.clientId,
        ...(record.sealedSecret ? { client_secret: keyring.open(record.sealedSecret, CLIENT_SECRET_PURPOSE) } : {}),
      };
    },
    upsert: readOnly,
    consume: readOnly,
    destroy: readOnly,
    revokeByGrantId: readOnly,
    findByUid: async () => undefined,
    findByUserCode: async () => undefined,
  };
}
