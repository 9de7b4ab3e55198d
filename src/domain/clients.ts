import { randomBytes } from 'node:crypto';
import type { Clock } from './clock.ts';
import { AppError } from './errors.ts';
import type { DataKeyring } from './data-key.ts';
import type { ClientRecord, ClientStore } from '../domain/ports.ts';

export const CLIENT_SECRET_PURPOSE = 'client-secret';

export interface ClientRegistration {
  client_id: string;
  client_secret?: string | undefined;
  token_endpoint_auth_method?: string | undefined;
  [key: string]: unknown;
}

/**
 * An address exactly as given: the URL parser silently drops tabs and line breaks, so an
 * address holding them would be stored as one thing and compared as another.
 */
export const URL_AS_GIVEN = /^[^\s\p{Cc}]+$/u;
export const URL_AS_GIVEN_RULE = 'an absolute URL without spaces or control characters';

/**
 * Refuses application metadata whose addresses (`*_uri`, `*_uris`) are not exactly what
 * they would be parsed as. Every way in (API, console, import) goes through it.
 */
export function checkClientAddresses(metadata: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(metadata)) {
    if (!/_uris?$/.test(key)) continue;
    const addresses = Array.isArray(value) ? value : [value];
    if (addresses.some((address) => typeof address === 'string' && !URL_AS_GIVEN.test(address))) {
      throw new AppError('invalid_request', `${key}: ${URL_AS_GIVEN_RULE}`);
    }
  }
}

/** Checks metadata as the OIDC engine will read it; throws with a message when invalid. */
export type ClientMetadataValidator = (metadata: Record<string, unknown>) => Promise<void>;

/**
 * Relying parties. A confidential client's secret is generated when none is given, shown
 * once in the answer to its registration, and stored sealed with the data key.
 */
export function createClientService(deps: { clients: ClientStore; keyring: DataKeyring; clock: Clock; validate: ClientMetadataValidator }) {
  return {
    async register(input: ClientRegistration): Promise<{ record: ClientRecord; secret?: string }> {
      const { client_secret: given, ...metadata } = input;
      const isPublic = metadata.token_endpoint_auth_method === 'none';
      const secret = isPublic ? undefined : (given ?? randomBytes(32).toString('base64url'));
      await deps.validate({ ...metadata, ...(secret ? { client_secret: secret } : {}) });
      const record: ClientRecord = {
        clientId: input.client_id,
        metadata,
        ...(secret ? { sealedSecret: deps.keyring.seal(secret, CLIENT_SECRET_PURPOSE) } : {}),
        createdAt: new Date(deps.clock.now()),
      };
      await deps.clients.create(record);
      return { record, ...(secret && given === undefined ? { secret } : {}) };
    },
    /**
     * Changes metadata: given keys replace, keys set to null are removed. The result is
     * checked as a whole, as at registration, before anything is stored.
     */
    async update(clientId: string, patch: Record<string, unknown>): Promise<ClientRecord | null> {
      const record = await deps.clients.find(clientId);
      if (!record) return null;
      const metadata = { ...record.metadata };
      for (const [key, value] of Object.entries(patch)) {
        if (value === null) delete metadata[key];
        else metadata[key] = value;
      }
      const secret = record.sealedSecret ? deps.keyring.open(record.sealedSecret, CLIENT_SECRET_PURPOSE) : undefined;
      await deps.validate({ ...metadata, ...(secret ? { client_secret: secret } : {}) });
      if (!(await deps.clients.updateMetadata(clientId, metadata))) return null;
      return { ...record, metadata };
    },
    find: (clientId: string) => deps.clients.find(clientId),
    list: () => deps.clients.list(),
    delete: (clientId: string) => deps.clients.delete(clientId),
    /** A new generated secret for a confidential client, sealed; null for a public or unknown one. */
    async rotateSecret(clientId: string): Promise<string | null> {
      const record = await deps.clients.find(clientId);
      if (!record?.sealedSecret) return null;
      const secret = randomBytes(32).toString('base64url');
      return (await deps.clients.setSecret(clientId, deps.keyring.seal(secret, CLIENT_SECRET_PURPOSE))) ? secret : null;
    },
  };
}

export type ClientService = ReturnType<typeof createClientService>;
