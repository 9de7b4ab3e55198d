/**
 * The ports of the domain: the records it owns and the store interfaces it needs. The
 * arrows point in: stores/memory, stores/mongo and stores/redis implement these; each
 * interface has one contract suite in test/stores that every implementation passes.
 * Stores take and return plain data; they never see an HTTP context.
 */

/** A registered authenticator app. */
export interface TotpDevice {
  /** Its id among the user's apps (16 hex digits). */
  id: string;
  /** The name the user gave it ("Work phone"). */
  name: string;
  /** The TOTP secret, sealed with the data key. */
  sealedSecret: string;
  registeredAt: Date;
  /** The last accepted time step: codes of this step or earlier are refused. */
  lastStep: number;
  /** The learned clock offset from the server, in steps, that centres the window. */
  drift: number;
  /** The offset of the last accepted code: the drift moves when the next one agrees. */
  lastOffset?: number;
  lastUsedAt?: Date;
}

/** How many authenticator apps one user may register. */
export const TOTP_APPS_MAX = 5;

/** Email codes registered as a second factor: they go to the user's verified address. */
export interface EmailFactor {
  registeredAt: Date;
  lastUsedAt?: Date;
}

/**
 * A WebAuthn credential registered as a second factor: a security key, or a passkey (kept
 * by a platform or password manager, perhaps synced between devices). Nothing in it is
 * secret: the private key never leaves the authenticator.
 */
export interface WebAuthnKey {
  /**
   * The credential id (base64url), once per user. Another user may present the same id
   * (ids are chosen by authenticators, and a crafted registration can copy one): whoever
   * looks a credential up by id alone checks the signature against each holder's key.
   */
  id: string;
  /** The credential's public key (COSE, base64url). */
  publicKey: string;
  /** The signature counter last seen; 0 for an authenticator that keeps none. */
  counter: number;
  /** How the browser reaches the authenticator (`usb`, `nfc`, `ble`, `internal`, `hybrid`), as it said at registration. */
  transports?: string[];
  /** `multiDevice`: may be synced to other devices (a synced passkey); `singleDevice`: bound to one authenticator. */
  deviceType: 'singleDevice' | 'multiDevice';
  backedUp: boolean;
  /** The name the user gave it. */
  name: string;
  addedAt: Date;
  lastUsedAt?: Date;
}

/** How many WebAuthn credentials one user may register. */
export const WEBAUTHN_KEYS_MAX = 10;

/**
 * A browser the user asked not to be asked again on (domain/remembered-devices.ts). The
 * browser holds a random token; only its hash is kept here.
 */
export interface RememberedDevice {
  /** A public id, to list and forget it by. */
  id: string;
  /** SHA-256 of the browser's token (base64url). */
  tokenHash: string;
  /** The browser's family ("Firefox on Linux"), from its User-Agent when it was remembered. */
  browser: string;
  /** The application it was remembered at. */
  clientId?: string;
  rememberedAt: Date;
  /** The days that application allowed, from `rememberedAt`. */
  expiresAt: Date;
  /** The last sign-in it spared a second factor. */
  lastUsedAt?: Date;
}

/** The unused backup codes of a user, as keyed hashes (see domain/backup-codes.ts). */
export interface BackupCodeSet {
  /** The data key the hashing key was derived from. */
  kid: string;
  hashes: string[];
  createdAt: Date;
}

export interface UserMfa {
  /** Never asked for a second factor. */
  exempt: boolean;
  /** A registration page was shown and not completed. */
  pendingSince?: Date;
  /** Authenticator apps, in the order they were added (at most TOTP_APPS_MAX). */
  apps?: TotpDevice[];
  backupCodes?: BackupCodeSet;
  /** Codes sent by mail to the user's verified address are a second factor of this user. */
  email?: EmailFactor;
  /** Security keys and passkeys, in the order they were added (at most WEBAUTHN_KEYS_MAX). */
  webauthn?: WebAuthnKey[];
  /**
   * Browsers remembered after a second factor, the oldest first (at most
   * REMEMBERED_DEVICES_MAX). Forgotten all at once by a password change, disabling, a
   * reset, and any change to the user's factors.
   */
  remembered?: RememberedDevice[];
  /**
   * A lock after too many wrong codes, kept with the user as well as in the guard, so a
   * Redis that lost its data unlocks nobody. `until` null: until an administrator unlocks.
   */
  lock?: { until: Date | null };
}

export interface UserRecord {
  id: string;
  username: string;
  email?: string;
  /** The email was confirmed (by a mailed link) or vouched for by an administrator: mail may go to it. */
  emailVerified?: boolean;
  name?: string;
  disabled: boolean;
  /** `admin`: may use the web console. Absent: an ordinary user. */
  role?: 'admin';
  passwordHash: string;
  mfa: UserMfa;
  /** The last password sign-in that succeeded. */
  lastLogin?: { at: Date; ip?: string; userAgent?: string };
  /** The last password sign-in attempt, right or wrong. */
  lastAttemptAt?: Date;
  createdAt: Date;
  updatedAt: Date;
}

export type NewUser = Pick<UserRecord, 'username' | 'email' | 'emailVerified' | 'name' | 'role' | 'passwordHash'>;

export interface UserPatch {
  /** null makes the user an ordinary one again. */
  role?: 'admin' | null;
  disabled?: boolean;
  exempt?: boolean;
  passwordHash?: string;
  /** null removes it. */
  email?: string | null;
  emailVerified?: boolean;
  /** null removes it. */
  name?: string | null;
}

export interface UserQuery {
  /** Case-sensitive username pattern where `*` matches any run of characters (domain/glob.ts). */
  pattern?: string;
  /** Text found in the username, the email or the name, ignoring case (domain/glob.ts `userMatches`). */
  contains?: string;
  /** Only users exempt from the second factor. */
  exempt?: boolean;
  limit: number;
  /** Only usernames after this one (the `next` of the page before). */
  after?: string;
}

export interface UserPage {
  users: UserRecord[];
  /** Where the next page starts, when there may be more. */
  next?: string;
}

/** How many users one list call reads at most while looking for matches of a pattern. */
export const USER_SCAN_LIMIT = 5000;

/** Where a sign-in came from, as the user record keeps it. */
export interface SignInSource {
  ip?: string | undefined;
  userAgent?: string | undefined;
}

/** The `lastLogin` a user record keeps of a successful sign-in. */
export const lastLogin = (at: Date, { ip, userAgent }: SignInSource): NonNullable<UserRecord['lastLogin']> => ({
  at,
  ...(ip ? { ip } : {}),
  ...(userAgent ? { userAgent } : {}),
});

export interface UserStore {
  /** Throws AppError `conflict` when the username is taken, whatever its case. */
  create(user: NewUser): Promise<UserRecord>;
  findById(id: string): Promise<UserRecord | null>;
  /** Case-insensitive. */
  /**
   * Any case. With `attemptAt`, a sign-in attempt with this name: the same command records
   * it as the user's `lastAttemptAt`, and the record returned has it.
   */
  findByUsername(username: string, attemptAt?: Date): Promise<UserRecord | null>;
  /**
   * Ordered by username. Reads at most USER_SCAN_LIMIT users per call: a sparse pattern may
   * return fewer than `limit` users with a `next` to go on from.
   */
  list(query: UserQuery): Promise<UserPage>;
  /** A password sign-in of the user: `lastAttemptAt`, and `lastLogin` when it succeeded. */
  recordSignIn(id: string, attempt: SignInSource & { at: Date; succeeded: boolean }): Promise<void>;
  /**
   * The changed user, or null when there is none. A new password, or disabling, forgets the
   * remembered browsers in the same update.
   */
  update(id: string, patch: UserPatch, at: Date): Promise<UserRecord | null>;
  /** Notes that a registration page was shown, unless an app or email codes are registered. */
  markRegistrationPending(id: string, at: Date): Promise<void>;
  /**
   * Stores the user's first app, only if the user has none (two registrations racing: one
   * wins). Clears the pending mark and forgets the remembered browsers (the factors
   * changed). False when an app was already there or the user is gone.
   */
  registerDevice(id: string, device: TotpDevice): Promise<boolean>;
  /**
   * Adds another app (the account page), forgetting the remembered browsers, in one
   * update. False when the user is gone or has TOTP_APPS_MAX already.
   */
  addDevice(id: string, device: TotpDevice): Promise<boolean>;
  /** Renames one app; false when the user has no such app. */
  renameDevice(id: string, deviceId: string, name: string): Promise<boolean>;
  /**
   * Removes one app and forgets the remembered browsers, in one update; the removed app,
   * or null when there was none.
   */
  removeDevice(id: string, deviceId: string): Promise<TotpDevice | null>;
  /**
   * Registers email codes as a second factor, only if the user has not yet (two
   * registrations racing: one wins); forgets the remembered browsers.
   */
  registerEmailFactor(id: string, at: Date): Promise<boolean>;
  /** Notes the use of an email code. */
  emailFactorUsed(id: string, at: Date): Promise<void>;
  /**
   * Adds a WebAuthn credential, clears the pending mark and forgets the remembered
   * browsers, in one update. False when the
   * user is gone, has WEBAUTHN_KEYS_MAX already, or holds this credential id already.
   */
  addWebAuthnKey(id: string, key: WebAuthnKey): Promise<boolean>;
  /**
   * Records a use of a credential: its counter goes from `from` to `to` and `lastUsedAt` is
   * set, only while the stored counter is still `from` (of two uses that read the same
   * counter, one wins). False otherwise, or when the credential is gone.
   */
  useWebAuthnKey(id: string, keyId: string, use: { from: number; to: number; at: Date }): Promise<boolean>;
  /** Renames one WebAuthn credential; false when the user has no such key. */
  renameWebAuthnKey(id: string, keyId: string, name: string): Promise<boolean>;
  /**
   * Removes one WebAuthn credential and forgets the remembered browsers, in one update; the
   * removed key, or null when there was none.
   */
  removeWebAuthnKey(id: string, keyId: string): Promise<WebAuthnKey | null>;
  /**
   * Remembers a browser, only while the user has a second factor; past
   * REMEMBERED_DEVICES_MAX the oldest is forgotten in the same update. False otherwise.
   */
  rememberDevice(id: string, device: RememberedDevice): Promise<boolean>;
  /** Notes that a remembered browser spared a second factor. */
  rememberedDeviceUsed(id: string, deviceId: string, at: Date): Promise<void>;
  /** Forgets one remembered browser (`deviceId`), or all of them; those forgotten (none when there were none). */
  forgetDevices(id: string, deviceId?: string): Promise<RememberedDevice[]>;
  /**
   * Records an accepted time step of one app, only if it is later than that app's last one: one
   * conditional update, atomic on its own, so of simultaneous or replayed claims of one
   * step exactly one wins. With `signedIn`, the code finished a sign-in: the same update
   * records it as `recordSignIn` does a successful one (`lastAttemptAt`, `lastLogin`).
   */
  acceptStep(
    id: string,
    deviceId: string,
    accepted: { step: number; drift: number; lastOffset: number; at: Date; signedIn?: SignInSource },
  ): Promise<boolean>;
  /** Replaces the backup codes, only while a factor (device or email codes) is registered. False otherwise. */
  setBackupCodes(id: string, codes: BackupCodeSet): Promise<boolean>;
  /**
   * Uses one backup code: removes `hash` from the set in one atomic update. True only for
   * the one caller that removed it.
   */
  useBackupCode(id: string, hash: string): Promise<boolean>;
  /**
   * Removes the apps, email codes, security keys and passkeys, the backup codes, the
   * remembered browsers and the pending mark at once. False: no such user.
   */
  resetMfa(id: string, at: Date): Promise<boolean>;
  /** False when there is no such user. */
  delete(id: string): Promise<boolean>;
  /** Sets (or with null lifts) the user's lock. */
  setLock(id: string, lock: { until: Date | null } | null): Promise<void>;
  /**
   * Writes an imported user: over the user of the same username (whatever its case), which
   * keeps its id, or as a new user with the record's id. Throws AppError `conflict` when the
   * id belongs to another username.
   */
  importUser(user: UserRecord): Promise<'created' | 'updated'>;
  /** Replaces an app's sealed secret, only if it is still `old` (a key rotation). */
  resealDevice(id: string, deviceId: string, old: string, sealed: string): Promise<boolean>;
}

export interface AttemptLimits {
  /** Consecutive wrong codes that lock the user. */
  maxAttempts: number;
  /** How long a lock lasts; 0: until an administrator unlocks. */
  lockoutSeconds: number;
  /** Epoch milliseconds of the server's clock. */
  now: number;
}

export type AttemptResult =
  | { outcome: 'passed' }
  | { outcome: 'reserved' }
  | { outcome: 'wrong' | 'replayed'; failures: number }
  /** `until`: epoch ms, or null for a lock only an administrator lifts; `justNow`: this attempt locked it. */
  | { outcome: 'locked'; until: number | null; justNow?: boolean };

/**
 * Second-factor attempts, shared by every node (Redis): the lock, the count of consecutive
 * wrong codes and the last claimed time step of each user. Each call is one atomic step,
 * so parallel guesses cannot slip past the limit or reuse a step. It stands in front of
 * the user store's own atomic updates, not in place of them.
 */
export interface SecondFactorGuard {
  /**
   * One TOTP attempt: refused while locked; else claims `step` (null: no code matched)
   * when it is later than every step claimed before and than `floor`, which resets the
   * count; else counts a wrong (or replayed) code and locks at `maxAttempts`.
   */
  attemptStep(userId: string, step: number | null, floor: number, limits: AttemptLimits): Promise<AttemptResult>;
  /** Counts an attempt before a check done elsewhere (a backup code); refused while locked. */
  reserve(userId: string, limits: AttemptLimits): Promise<AttemptResult>;
  /** Ends a reserved attempt: a success resets the count, a failure may lock. */
  settle(userId: string, passed: boolean, limits: AttemptLimits): Promise<AttemptResult>;
  /** The user's lock at `now`, if any. */
  lockOf(userId: string, now: number): Promise<{ until: number | null } | null>;
  /** Lifts the lock and clears the count. */
  unlock(userId: string): Promise<void>;
  /** Forgets everything about the user: lock, count and claimed steps (device reset, deletion). */
  forget(userId: string): Promise<void>;
  /** A short exclusive hold on `name`; false while another holds it. */
  acquire(name: string, ttlSeconds: number): Promise<boolean>;
  release(name: string): Promise<void>;
}

/** Sliding-window rate limits (first factor), shared by every node. */
export interface RateLimiter {
  /**
   * Counts one hit of `key` at `now` (epoch ms) unless `limit` hits already fall within the
   * last `windowMs`; then says when the oldest of them leaves the window.
   */
  hit(key: string, limit: number, windowMs: number, now: number): Promise<{ allowed: boolean; retryAfterMs: number }>;
  /**
   * Counts one hit at `now` against each window in turn, in one step: the first window
   * already full refuses it (`refusedBy` is its index) and the windows after it are not
   * counted.
   */
  hitInTurn(windows: readonly RateWindow[], now: number): Promise<{ allowed: boolean; retryAfterMs: number; refusedBy: number }>;
}

/** A sliding window of a rate limit: `limit` hits of `key` per `windowMs`. */
export interface RateWindow {
  key: string;
  limit: number;
  windowMs: number;
}

export const auditTypes = [
  'mfa.passed',
  'mfa.refused',
  'mfa.registered',
  'mfa.backup_code_used',
  /** A security key signed right with a counter that went back: a copy of it is in use. */
  'mfa.key_cloned',
  /** A security key or passkey was removed (by the user, or an administrator). */
  'mfa.key_removed',
  /** A security key or passkey was given another name (`changes`: the name before and after). */
  'mfa.key_renamed',
  /** An authenticator app was given another name (`changes`: the name before and after). */
  'mfa.app_renamed',
  /** A browser was remembered after a second factor (`reason`: its family). */
  'mfa.browser_remembered',
  /** A remembered browser spared the second factor of a sign-in (`reason`: its family). */
  'mfa.browser_used',
  /** Remembered browsers were forgotten by the user or an administrator (`changed`: their families). */
  'mfa.browser_forgotten',
  'mfa.locked',
  'mfa.unlocked',
  'mfa.reset',
  'mfa.device_deleted',
  'mfa.backup_codes_regenerated',
  'password.refused',
  'signin.succeeded',
  'signin.refused',
  'rate_limited',
  'user.created',
  'user.updated',
  'user.exempted',
  'user.unexempted',
  'user.deleted',
  'user.sessions_ended',
  'client.created',
  'client.updated',
  'client.deleted',
  'client.secret_rotated',
  'settings.updated',
  'data.exported',
  'data.imported',
  'keys.rotated',
  'saml.signed_in',
  'saml.refused',
  'saml.signed_out',
  'mail.sent',
  'mail.failed',
  'password.reset_requested',
] as const;
export type AuditType = (typeof auditTypes)[number];

/** One audit event. Never a code, a secret or a password. */
export interface AuditEvent {
  at: Date;
  type: AuditType;
  outcome: 'success' | 'failure';
  userId?: string | undefined;
  clientId?: string | undefined;
  ip?: string | undefined;
  userAgent?: string | undefined;
  /** Who acted, when not the user: `admin` (the admin token). */
  actor?: string | undefined;
  /** A short reason (`wrong`, `replayed`, `locked`, `per_account`, …). */
  reason?: string | undefined;
  /** What an administration event changed: field or setting names. */
  changed?: string[] | undefined;
  /** Settings events: each changed setting with its value before and after (settings hold no secret). */
  changes?: AuditChange[] | undefined;
  /** The second factor a sign-in presented (`totp`, `backup_code`), or `none`. */
  factor?: string | undefined;
  /** The application an administration event is about. */
  targetClientId?: string | undefined;
  /** The protocol of the application an event is about or came through: `oidc` or `saml`. */
  protocol?: 'oidc' | 'saml' | undefined;
}

/** One changed setting, as text: `enabled`, `true`, `false`. */
export interface AuditChange {
  field: string;
  from: string | null;
  to: string | null;
}

export interface AuditQuery {
  userId?: string | undefined;
  /** Events of any of these users (a name pattern resolved to ids). */
  userIds?: readonly string[] | undefined;
  /** Events of this application: signed in to, or changed. */
  clientId?: string | undefined;
  type?: AuditType | undefined;
  /** Only events at or after this time. */
  since?: Date | undefined;
  /** Only events before this time. */
  until?: Date | undefined;
  /** Where this page starts: the `next` of the page before. */
  cursor?: string | undefined;
  limit: number;
}

export interface AuditLog {
  /** Writes the events in one go (one insert), in the order given. */
  record(...events: AuditEvent[]): Promise<void>;
  /** Newest first; `next` when there may be more. A malformed cursor is AppError `invalid_request`. */
  list(query: AuditQuery): Promise<{ events: AuditEvent[]; next?: string }>;
  /** Drops the events older than the retention (the Mongo log leaves it to a TTL index). */
  readonly retentionDays: number;
}

export interface StoredSettings {
  enabled?: boolean;
  defaultPolicy?: 'required' | 'if_enrolled' | 'off';
  skewSteps?: number;
  maxAttempts?: number;
  lockoutSeconds?: number;
  backupCodes?: { enabled: boolean; count: number };
  issuerLabel?: string;
  registrationMessage?: string;
  brand?: { name: string; logoUrl: string | null };
  notifications?: { enabled: boolean };
  factors?: { totp: { enabled: boolean }; email: { enabled: boolean }; webauthn?: { enabled: boolean } };
  passkeySignIn?: { enabled: boolean };
}

/** The run-time settings an administrator changed; defaults are the domain's. */
export interface SettingsStore {
  get(): Promise<StoredSettings>;
  /** Sets the given keys in one update and returns all stored settings. */
  update(patch: StoredSettings): Promise<StoredSettings>;
  /** The uploaded logo, kept apart from the settings (which every node reads often). */
  getLogo(): Promise<StoredLogo | null>;
  putLogo(logo: StoredLogo): Promise<void>;
}

/** An uploaded logo: checked image bytes, their media type, and their SHA-256 (hex) as the version. */
export interface StoredLogo {
  contentType: string;
  bytes: Buffer;
  sha256: string;
}

export interface ClientRecord {
  clientId: string;
  /** OIDC client metadata and twofold's own (first_party, …), without the secret. */
  metadata: Record<string, unknown>;
  /** The client secret sealed with the data key, when the client has one. */
  sealedSecret?: string;
  createdAt: Date;
}

/** What other nodes keep a short-lived copy of, and so must hear about when it changes. */
export type ChangeTopic = 'settings' | 'clients';

export interface ClientStore {
  /** Throws AppError `conflict` when the client_id exists. */
  create(client: ClientRecord): Promise<void>;
  find(clientId: string): Promise<ClientRecord | null>;
  /** Ordered by client_id. */
  list(): Promise<ClientRecord[]>;
  /** Replaces the metadata; false when there is no such client. */
  updateMetadata(clientId: string, metadata: Record<string, unknown>): Promise<boolean>;
  /** Replaces the sealed secret; false when there is no such client. */
  setSecret(clientId: string, sealedSecret: string): Promise<boolean>;
  /** False when there is no such client. */
  delete(clientId: string): Promise<boolean>;
  /** Writes an imported client over the one of the same client_id, or as a new one. */
  importClient(client: ClientRecord): Promise<'created' | 'updated'>;
  /** Replaces the sealed secret, only if it is still `old` (a key rotation). */
  resealSecret(clientId: string, old: string, sealed: string): Promise<boolean>;
}

export interface KeyStore {
  /**
   * The value stored under `id`, or, when there is none, `create()`'s value stored and
   * returned. Two nodes starting at once agree on one value.
   */
  getOrCreate(id: string, create: () => string): Promise<string>;
  list(): Promise<{ id: string; value: string }[]>;
  /** Replaces the value, only if it is still `old` (a key rotation). */
  replace(id: string, old: string, value: string): Promise<boolean>;
}

/** The sign-in sessions of every protocol, as the domain ends them. */
export interface SessionEnder {
  /** Ends every session of the account and revokes every grant (and so every token) it has. */
  endSessionsOf(accountId: string): Promise<void>;
}

/** What a sign-in under way keeps between its pages (with its protocol state, expiring with it). */
export interface SignInState {
  /** The account whose password was accepted, or the session's account at a step-up. */
  accountId: string;
  /** When this sign-in's password was accepted (epoch seconds). */
  passwordAt?: number | undefined;
  /** A registration's secret, sealed, made once per sign-in. */
  sealedEnrollment?: string | undefined;
  /** The second factor passed in this sign-in (epoch seconds); the backup codes are shown before it ends. */
  secondFactorAt?: number | undefined;
  /** The new backup codes, sealed, until the person has seen them and goes on. */
  sealedBackupCodes?: string | undefined;
  /** A backup code passed the second factor: how many are left, shown before the sign-in ends. */
  backupCodesLeft?: number | undefined;
  /** Email codes or a security key were chosen in this sign-in: to register, or instead of the app. */
  factor?: 'email' | 'webauthn' | undefined;
  /** The WebAuthn challenge the key page of this sign-in issued (base64url): checked once. */
  keyChallenge?: string | undefined;
  /** The code mailed in this sign-in: its id, keyed hash, and when it was sent and expires (epoch seconds). */
  emailCode?: { id: string; hash: string; sentAt: number; expiresAt: number } | undefined;
  /** What passed the second factor in this sign-in, until the page after it is seen. */
  passedWith?: 'totp' | 'email' | 'backup_code' | 'hwk' | 'swk' | undefined;
  /** The key that passed it was one whose authenticator verified its user (a PIN, a biometric). */
  passedVerified?: true | undefined;
  /** "Don't ask again on this device" was ticked: the browser is remembered when the sign-in ends. */
  remember?: true | undefined;
  /** The user's own factor passed in this sign-in, before another is added. */
  proven?: true | undefined;
}

export interface JourneyStateStore {
  get(id: string): Promise<SignInState | undefined>;
  put(id: string, state: SignInState, expiresIn: number): Promise<void>;
  drop(id: string): Promise<void>;
  /** The WebAuthn challenge of the login page's passkey form (before anyone is known), kept with the sign-in. */
  putChallenge(id: string, challenge: string, expiresIn: number): Promise<void>;
  /** Takes that challenge away: each is answered once. */
  takeChallenge(id: string): Promise<string | undefined>;
}

/** Which user field a SAML attribute carries, under which name. */
export interface SamlAttribute {
  field: 'username' | 'email' | 'name' | 'id';
  name: string;
  /** `uri`, `basic` or `unspecified` (SAML 2.0 core 8.2). */
  nameFormat?: 'uri' | 'basic' | 'unspecified' | undefined;
}

export const samlNameIdFormats = ['persistent', 'emailAddress', 'unspecified'] as const;
export type SamlNameIdFormat = (typeof samlNameIdFormats)[number];

/** A SAML 2.0 application (service provider), as an administrator registered it. */
export interface SamlAppRecord {
  id: string;
  name: string;
  entityId: string;
  /** The assertion consumer service URLs (HTTP-POST binding); the first is the default. */
  acsUrls: string[];
  /** From metadata: each ACS URL's `index`, which a request may name instead of the URL. */
  acsIndexes?: number[] | undefined;
  /** The application's signing certificate (PEM), checking its signed requests. */
  certificate?: string | undefined;
  sloUrl?: string | undefined;
  mfaPolicy?: 'required' | 'if_enrolled' | 'off' | undefined;
  mfaMaxAge?: number | undefined;
  /** The second factors the application accepts; all that are switched on when absent. */
  mfaFactors?: ('totp' | 'email' | 'webauthn')[] | undefined;
  /** How many days a browser may be remembered after a second factor; 0 or absent: never. */
  rememberDeviceDays?: number | undefined;
  /** A passkey may sign in instead of the password, where the setting allows it. */
  passkeySignIn?: boolean | undefined;
  nameIdFormat: SamlNameIdFormat;
  /** Unset: the default set (username, email and name under their OID and plain names). */
  attributes?: SamlAttribute[] | undefined;
  wantAuthnRequestsSigned: boolean;
  idpInitiated: boolean;
  createdAt: Date;
  updatedAt: Date;
}

export interface SamlAppStore {
  /** Fails with `conflict` when the id or the entity id is taken. */
  create(app: SamlAppRecord): Promise<void>;
  find(id: string): Promise<SamlAppRecord | null>;
  findByEntityId(entityId: string): Promise<SamlAppRecord | null>;
  /** Replaces the application; false when there is none. Fails with `conflict` when its entity id is another's. */
  replace(app: SamlAppRecord): Promise<boolean>;
  delete(id: string): Promise<boolean>;
  /** Ordered by id. */
  list(): Promise<SamlAppRecord[]>;
}

/** The SAML signing keys as administration sees them: certificates, never the keys. */
export interface SamlKeySet {
  current: { certPem: string };
  next?: { certPem: string } | undefined;
  fromFiles: boolean;
}

export interface SamlKeyManager {
  get(): Promise<SamlKeySet>;
  prepareNext(): Promise<SamlKeySet>;
  rotate(): Promise<SamlKeySet>;
}

/** What a mail is for (its audit events and metrics say this, never its content). */
export type MailKind =
  | 'test'
  | 'password_reset'
  | 'email_verification'
  | 'email_code'
  | 'notify.email_codes_added'
  | 'notify.authenticator_added'
  | 'notify.security_key_added'
  | 'notify.security_key_removed'
  | 'notify.security_key_cloned'
  | 'notify.authenticator_deleted'
  | 'notify.authenticator_reset'
  | 'notify.backup_codes_regenerated'
  | 'notify.backup_code_used'
  | 'notify.locked'
  | 'notify.password_changed'
  | 'notify.email_changed';

/** A mail ready to go: one recipient, a subject, plain text and simple HTML. */
export interface OutgoingMail {
  kind: MailKind;
  to: string;
  /** Whom it is about, for the audit log. */
  userId?: string | undefined;
  subject: string;
  text: string;
  html: string;
}

/**
 * Sending mail. `send` only queues: it never waits for the mail server, so no page is
 * held by a slow or absent one. `enabled` is false when no mail can go out (production
 * without SMTP_URL).
 */
export interface Mailer {
  readonly enabled: boolean;
  send(mail: OutgoingMail): void;
}
