import { AppError } from '../../domain/errors.ts';
import type { ClientRecord, ClientStore } from '../../domain/ports.ts';

export function createMemoryClientStore(): ClientStore {
  const clients = new Map<string, ClientRecord>();
  return {
    async create(client) {
      if (clients.has(client.clientId)) throw new AppError('conflict', 'client_id is taken');
      clients.set(client.clientId, structuredClone(client));
    },
    async find(clientId) {
      const client = clients.get(clientId);
      return client ? structuredClone(client) : null;
    },
    async updateMetadata(clientId, metadata) {
      const client = clients.get(clientId);
      if (!client) return false;
      client.metadata = structuredClone(metadata);
      return true;
    },
    async setSecret(clientId, sealedSecret) {
      const client = clients.get(clientId);
      if (!client) return false;
      client.sealedSecret = sealedSecret;
      return true;
    },
    async importClient(client) {
      const existed = clients.has(client.clientId);
      clients.set(client.clientId, structuredClone(client));
      return existed ? 'updated' : 'created';
    },
    async resealSecret(clientId, old, sealed) {
      const client = clients.get(clientId);
      if (!client || client.sealedSecret !== old) return false;
      client.sealedSecret = sealed;
      return true;
    },
    async delete(clientId) {
      return clients.delete(clientId);
    },
    async list() {
      return [...clients.values()]
        .sort((a, b) => (a.clientId < b.clientId ? -1 : a.clientId > b.clientId ? 1 : 0))
        .map((client) => structuredClone(client));
    },
  };
}
