/**
 * What the stores offer beside the domain's ports (src/domain/ports.ts): the OIDC engine's
 * own state, health, and the set of stores the composition root wires together.
 */
import type {
  SamlAppStore,
  UserStore,
  SecondFactorGuard,
  RateLimiter,
  AuditLog,
  SettingsStore,
  ChangeTopic,
  ClientStore,
  KeyStore,
} from '../domain/ports.ts';

/** What oidc-provider stores for one model instance. */
export type OidcPayload = Record<string, unknown> & {
  grantId?: string;
  uid?: string;
  userCode?: string;
  consumed?: number;
};

/** The oidc-provider adapter interface (its example/my_adapter.js), per model name. */
export interface OidcAdapter {
  upsert(id: string, payload: OidcPayload, expiresIn?: number): Promise<void>;
  find(id: string): Promise<OidcPayload | undefined>;
  findByUid(uid: string): Promise<OidcPayload | undefined>;
  findByUserCode(userCode: string): Promise<OidcPayload | undefined>;
  consume(id: string): Promise<void>;
  destroy(id: string): Promise<void>;
  revokeByGrantId(grantId: string): Promise<void>;
}

export interface OidcStateStore {
  adapterFor(model: string): OidcAdapter;
  /** Ends every session of the account and revokes every grant (and so every token) it has. */
  endSessionsOf(accountId: string): Promise<void>;
  /** Seconds until the stored instance expires; null when absent or without expiry. */
  ttlOf(model: string, id: string): Promise<number | null>;
}

export interface StoreHealth {
  mongodb: boolean;
  redis: boolean;
}

export interface Stores {
  kind: 'memory' | 'mongo+redis';
  users: UserStore;
  clients: ClientStore;
  samlApps: SamlAppStore;
  settings: SettingsStore;
  guard: SecondFactorGuard;
  rateLimiter: RateLimiter;
  audit: AuditLog;
  /** Tells every node that the settings or the applications changed; `onChanged` hears it (this node's too). */
  notifyChanged(topic: ChangeTopic): Promise<void>;
  onChanged(topic: ChangeTopic, listener: () => void): void;
  keys: KeyStore;
  oidc: OidcStateStore;
  /** Pings every backing server; false for one that does not answer in time. */
  health(): Promise<StoreHealth>;
  close(): Promise<void>;
}
