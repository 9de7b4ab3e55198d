import type { Clock } from '../../domain/clock.ts';
import type { OidcAdapter, OidcPayload, OidcStateStore } from '../types.ts';
import type { Prunable } from './prunable.ts';

interface Entry {
  payload: OidcPayload;
  expiresAt: number | null;
}

/** oidc-provider state in process memory, for the embedded default only. */
export function createMemoryOidcStateStore({ clock }: { clock: Clock }): OidcStateStore & Prunable {
  const entries = new Map<string, Entry>();
  const grantIndex = new Map<string, Set<string>>();
  const uidIndex = new Map<string, string>();
  const userCodeIndex = new Map<string, string>();
  // The account's Session, Grant and token keys, and its grant ids, to end them all.
  const accountIndex = new Map<string, { keys: Set<string>; grants: Set<string> }>();

  const keyOf = (model: string, id: string) => `${model}:${id}`;

  /** Removes an entry and every index entry that points at it, as Redis's expiry does. */
  function drop(key: string) {
    const entry = entries.get(key);
    if (!entry) return;
    entries.delete(key);
    const id = key.slice(key.indexOf(':') + 1);
    const { grantId, uid, userCode, accountId } = entry.payload;
    if (typeof grantId === 'string') {
      const keys = grantIndex.get(grantId);
      keys?.delete(key);
      if (keys?.size === 0) grantIndex.delete(grantId);
    }
    if (typeof uid === 'string' && uidIndex.get(uid) === id) uidIndex.delete(uid);
    if (typeof userCode === 'string' && userCodeIndex.get(userCode) === id) userCodeIndex.delete(userCode);
    if (typeof accountId === 'string') {
      const index = accountIndex.get(accountId);
      if (index) {
        index.keys.delete(key);
        for (const grant of index.grants) if (!grantIndex.has(grant)) index.grants.delete(grant);
        if (index.keys.size === 0 && index.grants.size === 0) accountIndex.delete(accountId);
      }
    }
  }

  /** Drops every instance of a grant: its tokens, codes and the Grant itself. */
  function revokeGrant(grantId: string) {
    for (const key of [...(grantIndex.get(grantId) ?? [])]) drop(key);
  }

  function live(key: string): Entry | undefined {
    const entry = entries.get(key);
    if (entry && entry.expiresAt !== null && entry.expiresAt <= clock.now()) {
      drop(key);
      return undefined;
    }
    return entry;
  }

  function adapterFor(model: string): OidcAdapter {
    const findKey = async (key: string | undefined) => {
      const entry = key === undefined ? undefined : live(key);
      return entry ? structuredClone(entry.payload) : undefined;
    };
    return {
      async upsert(id, payload, expiresIn) {
        const key = keyOf(model, id);
        drop(key);
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
        drop(keyOf(model, id));
      },
      async revokeByGrantId(grantId) {
        revokeGrant(grantId);
      },
    };
  }

  return {
    adapterFor,
    async endSessionsOf(accountId) {
      const index = accountIndex.get(accountId);
      if (!index) return;
      const grants = [...index.grants];
      for (const key of [...index.keys]) drop(key);
      for (const grantId of grants) revokeGrant(grantId);
      accountIndex.delete(accountId);
    },
    prune() {
      for (const key of [...entries.keys()]) live(key);
    },
    entryCount() {
      let count = entries.size + uidIndex.size + userCodeIndex.size;
      for (const keys of grantIndex.values()) count += keys.size;
      for (const index of accountIndex.values()) count += index.keys.size + index.grants.size;
      return count;
    },
    async ttlOf(model, id) {
      const entry = live(keyOf(model, id));
      if (!entry || entry.expiresAt === null) return null;
      return Math.ceil((entry.expiresAt - clock.now()) / 1000);
    },
  };
}
