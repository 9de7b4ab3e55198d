import type { Clock } from '../domain/clock.ts';
import type { DataKeyring } from '../domain/data-key.ts';
import type { ClientStore } from '../domain/ports.ts';
import type { OidcAdapter, OidcPayload } from '../stores/types.ts';
import { CLIENT_SECRET_PURPOSE } from '../domain/clients.ts';

// The engine looks an application up on nearly every request (nine times in one sign-in).
// A node keeps what it read for a few seconds; every change is announced to all nodes and
// drops the copies at once, so this bounds staleness only when an announcement is lost.
const KEEP_MS = 5000;
// Only applications that exist are kept, and at most this many: unknown client_ids sent
// by anyone cannot fill the memory.
const KEEP_AT_MOST = 1000;

/**
 * The provider's Client model, read from the client store (MongoDB in production) so
 * clients added at run time through the admin API are seen by every node. Clients are
 * written only by the admin API, never by the provider.
 */
export function createClientAdapter(
  clients: ClientStore,
  keyring: DataKeyring,
  { clock, onChanged }: { clock: Clock; onChanged: (listener: () => void) => void },
): OidcAdapter {
  const kept = new Map<string, { payload: OidcPayload; at: number }>();
  onChanged(() => kept.clear());
  const readOnly = async () => {
    throw new Error('clients are managed through the admin API');
  };
  return {
    async find(id) {
      const now = clock.now();
      const copy = kept.get(id);
      if (copy && now - copy.at < KEEP_MS && now >= copy.at) return copy.payload;
      const record = await clients.find(id);
      if (!record) {
        kept.delete(id);
        return undefined;
      }
      // Frozen all the way down: every request is handed the same object, and none can
      // change what another sees (the engine only reads it; a write would throw).
      const payload = deepFreeze({
        ...structuredClone(record.metadata),
        client_id: record.clientId,
        ...(record.sealedSecret ? { client_secret: keyring.open(record.sealedSecret, CLIENT_SECRET_PURPOSE) } : {}),
      });
      if (kept.size >= KEEP_AT_MOST) kept.clear();
      kept.set(id, { payload, at: now });
      return payload;
    },
    upsert: readOnly,
    consume: readOnly,
    destroy: readOnly,
    revokeByGrantId: readOnly,
    findByUid: async () => undefined,
    findByUserCode: async () => undefined,
  };
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}
