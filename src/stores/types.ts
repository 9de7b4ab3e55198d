/**
 * The ports between the domain and storage. Implementations: memory/ (the embedded
 * default), mongo/ (durable identity data) and redis/ (short-lived protocol state). Each
 * interface has one contract suite in test/stores that every implementation passes.
 * Stores take and return plain data; they never see an HTTP context.
 */

export interface UserRecord {
  id: string;
  username: string;
  email?: string;
  name?: string;
  disabled: boolean;
  passwordHash: string;
  createdAt: Date;
  updatedAt: Date;
}

export type NewUser = Pick<UserRecord, 'username' | 'email' | 'name' | 'passwordHash'>;

export interface UserQuery {
  /** Case-sensitive username pattern where `*` matches any run of characters. */
  pattern?: string;
  limit: number;
}

export interface UserStore {
  /** Throws AppError `conflict` when the username is taken, whatever its case. */
  create(user: NewUser): Promise<UserRecord>;
  findById(id: string): Promise<UserRecord | null>;
  /** Case-insensitive. */
  findByUsername(username: string): Promise<UserRecord | null>;
  /** Ordered by username. */
  list(query: UserQuery): Promise<UserRecord[]>;
}

export interface ClientRecord {
  clientId: string;
  /** OIDC client metadata and twofold's own (first_party, …), without the secret. */
  metadata: Record<string, unknown>;
  /** The client secret sealed with the data key, when the client has one. */
  sealedSecret?: string;
  createdAt: Date;
}

export interface ClientStore {
  /** Throws AppError `conflict` when the client_id exists. */
  create(client: ClientRecord): Promise<void>;
  find(clientId: string): Promise<ClientRecord | null>;
  /** Ordered by client_id. */
  list(): Promise<ClientRecord[]>;
}

export interface KeyStore {
  /**
   * The value stored under `id`, or, when there is none, `create()`'s value stored and
   * returned. Two nodes starting at once agree on one value.
   */
  getOrCreate(id: string, create: () => string): Promise<string>;
}

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
  keys: KeyStore;
  oidc: OidcStateStore;
  /** Pings every backing server; false for one that does not answer in time. */
  health(): Promise<StoreHealth>;
  close(): Promise<void>;
}
