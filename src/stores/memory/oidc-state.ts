import type { Clock } from '../../domain/clock.ts';
import type { OidcAdapter, OidcPayload, OidcStateStore } from '../types.ts';

interface Entry {
  payload: OidcPayload;
  expiresAt: number | null;
}

/** oidc-provider state in process memory, for the embedded default only. */
export function createMemoryOidcStateStore({ clock }: { clock: Clock }): OidcStateStore {
  const entries = new Map<string, Entry>();
  const grantIndex = new Map<string, Set<string>>();
  const uidIndex = new Map<string, string>();
  const userCodeIndex = new Map<string, string>();
  // The account's Session, Grant and token keys, and its grant ids, to end them all.
  const accountIndex = new Map<string, { keys: Set<string>; grants: Set<string> }>();

  const keyOf = (model: string, id: string) => `${model}:${id}`;

  function live(key: string): Entry | undefined {
    const entry = entries.get(key);
    if (entry && entry.expiresAt !== null && entry.expiresAt <= clock.now()) {
      entries.delete(key);
      return undefined;
    }
    return entry;
  }

  // Expired entries are dropped when read; a periodic sweep keeps unread ones from piling up.
  const sweep = setInterval(() => {
    for (const key of entries.keys()) live(key);
  }, 60_000);
  sweep.unref();

  function adapterFor(model: string): OidcAdapter {
    const findKey = async (key: string | undefined) => {
      const entry = key === undefined ? undefined : live(key);
      return entry ? structuredClone(entry.payload) : undefined;
    };
    return {
      async upsert(id, payload, expiresIn) {
        const key = keyOf(model, id);
        const expiresAt = expiresIn ? clock.now() + expiresIn * 1000 : null;
        entries.set(key, { payload: structuredClone(payload), expiresAt });
        if (payload.grantId) {
          const keys = grantIndex.get(payload.grantId) ?? new Set();
          keys.add(key);
          grantIndex.set(payload.grantId, keys);
        }
        if (payload.uid) uidIndex.set(payload.uid, id);
        if (typeof payload.accountId === 'string') {
          const index = accountIndex.get(payload.accountId) ?? { keys: new Set<string>(), grants: new Set<string>() };
          index.keys.add(key);
          if (payload.grantId) index.grants.add(payload.grantId);
          accountIndex.set(payload.accountId, index);
        }
        if (payload.userCode) userCodeIndex.set(payload.userCode, id);
      },
      find: (id) => findKey(keyOf(model, id)),
      async findByUid(uid) {
        const id = uidIndex.get(uid);
        return id === undefined ? undefined : findKey(keyOf(model, id));
      },
      async findByUserCode(userCode) {
        const id = userCodeIndex.get(userCode);
        return id === undefined ? undefined : findKey(keyOf(model, id));
      },
      async consume(id) {
        const entry = live(keyOf(model, id));
        if (entry) entry.payload.consumed = Math.floor(clock.now() / 1000);
      },
      async destroy(id) {
        entries.delete(keyOf(model, id));
      },
      async revokeByGrantId(grantId) {
        for (const key of grantIndex.get(grantId) ?? []) entries.delete(key);
        grantIndex.delete(grantId);
      },
    };
  }

  return {
    adapterFor,
    async endSessionsOf(accountId) {
      const index = accountIndex.get(accountId);
      if (!index) return;
      for (const key of index.keys) entries.delete(key);
      for (const grantId of index.grants) {
        for (const key of grantIndex.get(grantId) ?? []) entries.delete(key);
        grantIndex.delete(grantId);
      }
      accountIndex.delete(accountId);
    },
    async ttlOf(model, id) {
      const entry = live(keyOf(model, id));
      if (!entry || entry.expiresAt === null) return null;
      return Math.ceil((entry.expiresAt - clock.now()) / 1000);
    },
  };
}
