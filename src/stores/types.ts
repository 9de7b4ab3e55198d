/**
 * The ports between the domain and storage. Implementations: memory/ (the embedded
 * default), mongo/ (durable identity data) and redis/ (short-lived protocol state). Each
 * interface has one contract suite in test/stores that every implementation passes.
 * Stores take and return plain data; they never see an HTTP context.
 */

/** A registered authenticator app. */
export interface TotpDevice {
  /** The TOTP secret, sealed with the data key. */
  sealedSecret: string;
  registeredAt: Date;
  /** The last accepted time step: codes of this step or earlier are refused. */
  lastStep: number;
  /** The device's clock offset from the server's, in steps. */
  drift: number;
  lastUsedAt?: Date;
}

export interface UserMfa {
  /** Never asked for a second factor. */
  exempt: boolean;
  /** A registration page was shown and not completed. */
  pendingSince?: Date;
  device?: TotpDevice;
}

export interface UserRecord {
  id: string;
  username: string;
  email?: string;
  name?: string;
  disabled: boolean;
  passwordHash: string;
  mfa: UserMfa;
  createdAt: Date;
  updatedAt: Date;
}

export type NewUser = Pick<UserRecord, 'username' | 'email' | 'name' | 'passwordHash'>;

export interface UserPatch {
  disabled?: boolean;
  exempt?: boolean;
}

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
  /** The changed user, or null when there is none. */
  update(id: string, patch: UserPatch, at: Date): Promise<UserRecord | null>;
  /** Notes that a registration page was shown, unless a device is registered. */
  markRegistrationPending(id: string, at: Date): Promise<void>;
  /**
   * Stores the device, only if the user has none (two registrations racing: one wins).
   * Clears the pending mark. False when a device was already there or the user is gone.
   */
  registerDevice(id: string, device: TotpDevice): Promise<boolean>;
  /**
   * Records an accepted time step, only if it is later than the device's last one: one
   * conditional update, atomic on its own, so of simultaneous or replayed claims of one
   * step exactly one wins.
   */
  acceptStep(id: string, accepted: { step: number; drift: number; at: Date }): Promise<boolean>;
}

/**
 * Claims second-factor time steps in Redis before the user store's conditional update: a
 * cheap refusal of replays and parallel guesses, shared by every node. It stands in front
 * of the store's own atomic update, not in place of it.
 */
export interface ReplayGuard {
  /**
   * Claims time step `step` of `userId`'s device: true only if it is later than every step
   * claimed before and than `floor` (the device's stored last step). Atomic across nodes.
   */
  claimStep(userId: string, step: number, floor: number): Promise<boolean>;
  /** A short exclusive hold on `name`; false while another holds it. */
  acquire(name: string, ttlSeconds: number): Promise<boolean>;
  release(name: string): Promise<void>;
}

export interface StoredSettings {
  enabled?: boolean;
  defaultPolicy?: 'required' | 'if_enrolled' | 'off';
  skewSteps?: number;
  issuerLabel?: string;
  registrationMessage?: string;
}

/** The run-time settings an administrator changed; defaults are the domain's. */
export interface SettingsStore {
  get(): Promise<StoredSettings>;
  /** Sets the given keys in one update and returns all stored settings. */
  update(patch: StoredSettings): Promise<StoredSettings>;
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
  /** Replaces the metadata; false when there is no such client. */
  updateMetadata(clientId: string, metadata: Record<string, unknown>): Promise<boolean>;
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
  settings: SettingsStore;
  guard: ReplayGuard;
  /** Tells every node that the settings changed; `onChange` hears it (this node's too). */
  notifySettingsChanged(): Promise<void>;
  onSettingsChanged(listener: () => void): void;
  keys: KeyStore;
  oidc: OidcStateStore;
  /** Pings every backing server; false for one that does not answer in time. */
  health(): Promise<StoreHealth>;
  close(): Promise<void>;
}
