import { z } from 'zod';
import { USER_ID_PATTERN, USER_ID_RULE, USERNAME_PATTERN, USERNAME_RULE } from './users.ts';
import { randomBytes, X509Certificate } from 'node:crypto';
import {
  type KeyStore,
  samlNameIdFormats,
  type AuditLog,
  type ClientRecord,
  type ClientStore,
  type SamlAppRecord,
  type SamlAppStore,
  type UserRecord,
  type UserStore,
  TOTP_APPS_MAX,
  WEBAUTHN_KEYS_MAX,
} from '../domain/ports.ts';
import type { Actor } from './administration.ts';
import type { Clock } from './clock.ts';
import { sealedKeyId, type DataKeyring } from './data-key.ts';
import { CLIENT_SECRET_PURPOSE } from './clients.ts';
import { AppError } from './errors.ts';
import { PAIRWISE_KEY_ID, PAIRWISE_PURPOSE } from './saml-apps.ts';
import { base64url, transports } from './webauthn.ts';
import { REMEMBER_DAYS_MAX } from './remembered-devices.ts';
import { FIRST_APP_NAME, TOTP_SECRET_PURPOSE } from './second-factor.ts';
import { factorKinds, isFactorList } from './factors.ts';

/**
 * Export and import of users (with their second factor, its secret still sealed) and
 * applications, between instances that share DATA_KEY. Import is idempotent: users by
 * username, applications by client_id. Every record is checked, the sealed values' data
 * keys included, before anything is written.
 */
const date = z.iso.datetime().transform((value) => new Date(value));
const sealed = z.string().regex(/^v1\.[\w-]+\.[\w-]+\.[\w-]*\.[\w-]+$/, { message: 'a sealed value' });

/** An authenticator app's fields: its secret sealed, as the user record keeps it. */
const totpApp = {
  sealedSecret: sealed,
  registeredAt: date,
  lastStep: z.number().int().min(-1),
  drift: z.number().int().min(-2).max(2),
  lastOffset: z.number().int().min(-100).max(100).optional(),
  lastUsedAt: date.optional(),
};

/** A security key or passkey: nothing secret (the private key stays in the authenticator). */
const webauthnKey = z.strictObject({
  id: base64url(1366),
  publicKey: base64url(4096),
  counter: z
    .number()
    .int()
    .min(0)
    .max(2 ** 32 - 1),
  transports: transports.optional(),
  deviceType: z.enum(['singleDevice', 'multiDevice']),
  backedUp: z.boolean(),
  name: z.string().min(1).max(64),
  addedAt: date,
  lastUsedAt: date.optional(),
});

const userRecord = z.strictObject({
  id: z.string().regex(USER_ID_PATTERN, { message: USER_ID_RULE }),
  username: z.string().regex(USERNAME_PATTERN, { message: USERNAME_RULE }),
  email: z.string().max(254).optional(),
  emailVerified: z.boolean().optional(),
  name: z.string().max(256).optional(),
  disabled: z.boolean(),
  role: z.literal('admin').optional(),
  passwordHash: z.string().regex(/^\$argon2id\$v=19\$[mtp=\d,]{5,40}\$[\w+/]+\$[\w+/]+$/, { message: 'an argon2id hash' }),
  mfa: z
    .strictObject({
      exempt: z.boolean(),
      pendingSince: date.optional(),
      apps: z
        .array(z.strictObject({ id: z.string().regex(/^[0-9a-f]{16}$/), name: z.string().min(1).max(64), ...totpApp }))
        .max(TOTP_APPS_MAX)
        .refine((apps) => new Set(apps.map((app) => app.id)).size === apps.length, { message: 'an authenticator app is listed twice' })
        .optional(),
      /** A file of an earlier version, when a user had one app: it becomes the user's first. */
      device: z.strictObject(totpApp).optional(),
      email: z.strictObject({ registeredAt: date, lastUsedAt: date.optional() }).optional(),
      webauthn: z
        .array(webauthnKey)
        .max(WEBAUTHN_KEYS_MAX)
        .refine((keys) => new Set(keys.map((key) => key.id)).size === keys.length, { message: 'a security key is listed twice' })
        .optional(),
      backupCodes: z
        .strictObject({ kid: z.string().min(1).max(64), hashes: z.array(z.string().regex(/^[\w-]{43}$/)).max(20), createdAt: date })
        .optional(),
      lock: z.strictObject({ until: date.nullable() }).optional(),
    })
    .transform(({ device, ...mfa }) =>
      device && !mfa.apps?.length ? { ...mfa, apps: [{ id: randomBytes(8).toString('hex'), name: FIRST_APP_NAME, ...device }] } : mfa,
    ),
  lastLogin: z.strictObject({ at: date, ip: z.string().max(64).optional(), userAgent: z.string().max(1024).optional() }).optional(),
  lastAttemptAt: date.optional(),
  createdAt: date,
  updatedAt: date,
});

const clientRecord = z.strictObject({
  clientId: z.string().regex(/^[\x21-\x7e]{1,128}$/),
  metadata: z.record(z.string(), z.unknown()),
  sealedSecret: sealed.optional(),
  createdAt: date,
});

const httpUrl = z
  .string()
  .max(2048)
  .refine((value) => URL.canParse(value) && /^https?:$/.test(new URL(value).protocol), { message: 'an http(s) URL' });

const samlAppRecord = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/),
  name: z.string().min(1).max(256),
  entityId: z.string().min(1).max(1024),
  acsUrls: z.array(httpUrl).min(1).max(16),
  acsIndexes: z.array(z.number().int().min(0).max(65535)).max(16).optional(),
  certificate: z.string().max(16_384).refine(isCertificate, { message: 'a PEM certificate' }).optional(),
  sloUrl: httpUrl.optional(),
  mfaPolicy: z.enum(['required', 'if_enrolled', 'off']).optional(),
  mfaMaxAge: z.number().int().min(0).max(31_536_000).optional(),
  mfaFactors: z.array(z.enum(factorKinds)).refine(isFactorList, { message: 'one or more factors, each once' }).optional(),
  rememberDeviceDays: z.number().int().min(0).max(REMEMBER_DAYS_MAX).optional(),
  passkeySignIn: z.boolean().optional(),
  nameIdFormat: z.enum(samlNameIdFormats),
  attributes: z
    .array(
      z.strictObject({
        field: z.enum(['username', 'email', 'name', 'id']),
        name: z.string().min(1).max(256),
        nameFormat: z.enum(['uri', 'basic', 'unspecified']).optional(),
      }),
    )
    .max(32)
    .optional(),
  wantAuthnRequestsSigned: z.boolean(),
  idpInitiated: z.boolean(),
  createdAt: date,
  updatedAt: date,
});

function isCertificate(pem: string): boolean {
  try {
    new X509Certificate(pem);
    return true;
  } catch {
    return false;
  }
}

export const exportSchema = z.strictObject({
  format: z.literal('twofold-export'),
  version: z.literal(1),
  exportedAt: z.iso.datetime(),
  users: z.array(userRecord).max(1_000_000),
  clients: z.array(clientRecord).max(100_000).optional(),
  samlApps: z.array(samlAppRecord).max(100_000).optional(),
  /** The secret of persistent SAML NameIDs, sealed: with it, users keep their NameIDs. */
  samlPairwise: sealed.optional(),
});
export type ExportData = z.input<typeof exportSchema>;

export function createDataPortability(deps: {
  users: UserStore;
  clients: ClientStore;
  samlApps: SamlAppStore;
  keys: KeyStore;
  keyring: DataKeyring;
  audit: AuditLog;
  clock: Clock;
  /** Checks an application's fields as the admin API checks a new one (throws AppError). */
  checkClient: (clientId: string, metadata: Record<string, unknown>) => void;
  /** Checks an application's metadata as the engine will read it. */
  validateClient: (metadata: Record<string, unknown>) => Promise<void>;
}) {
  const record = (type: 'data.exported' | 'data.imported', by: Actor, reason: string) =>
    deps.audit.record({ at: new Date(deps.clock.now()), type, outcome: 'success', ...by, reason });

  /** The opened value; a sealed value that does not open (changed since it was sealed) is refused. */
  function opens(value: string, purpose: string, where: string): string {
    try {
      return deps.keyring.open(value, purpose);
    } catch {
      throw new AppError(
        'invalid_request',
        `${where}: a sealed value does not open with its data key: the file was changed after the export`,
      );
    }
  }

  /** The sealed secret of persistent SAML NameIDs here, if any was made. */
  async function storedPairwise(): Promise<string | undefined> {
    return (await deps.keys.list()).find((key) => key.id === PAIRWISE_KEY_ID)?.value;
  }

  async function allUsers(): Promise<UserRecord[]> {
    const users: UserRecord[] = [];
    let after: string | undefined;
    do {
      const page = await deps.users.list({ limit: 500, ...(after === undefined ? {} : { after }) });
      users.push(...page.users);
      after = page.next;
    } while (after !== undefined);
    return users;
  }

  return {
    async export(options: { clients: boolean }, by: Actor) {
      const users = await allUsers();
      const clients = options.clients ? (await deps.clients.list()).filter((client) => !client.clientId.startsWith('twofold-')) : undefined;
      const samlApps = options.clients ? await deps.samlApps.list() : undefined;
      const samlPairwise = options.clients ? await storedPairwise() : undefined;
      await record(
        'data.exported',
        by,
        `${users.length} users${clients ? `, ${clients.length} clients, ${samlApps!.length} SAML applications` : ''}`,
      );
      return JSON.parse(
        JSON.stringify({
          format: 'twofold-export',
          version: 1,
          exportedAt: new Date(deps.clock.now()).toISOString(),
          // Remembered browsers stay behind: a file restored later must not bring back a
          // browser forgotten since (an import replaces a user's factors, and so forgets them).
          users: users.map(({ mfa: { remembered: _stays, ...mfa }, ...user }) => ({ ...user, mfa })),
          ...(clients ? { clients, samlApps, ...(samlPairwise ? { samlPairwise } : {}) } : {}),
        }),
      ) as unknown;
    },

    async import(input: unknown, by: Actor) {
      const parsed = exportSchema.safeParse(input);
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        throw new AppError('invalid_request', `${issue.path.join('.') || 'the file'}: ${issue.message}`);
      }
      const { users, clients = [], samlApps = [], samlPairwise } = parsed.data;
      // Every check before any write: keys, duplicates, application metadata.
      const usernames = new Set<string>();
      const ids = new Set<string>();
      users.forEach((user, i) => {
        const lower = user.username.toLowerCase();
        if (usernames.has(lower)) throw new AppError('invalid_request', `users.${i}.username: ${user.username} is in the file twice`);
        if (ids.has(user.id)) throw new AppError('invalid_request', `users.${i}.id: ${user.id} is in the file twice`);
        usernames.add(lower);
        ids.add(user.id);
        const kids = [...(user.mfa.apps ?? []).map((app) => sealedKeyId(app.sealedSecret)), user.mfa.backupCodes?.kid];
        for (const kid of kids) {
          if (kid && !deps.keyring.has(kid)) {
            throw new AppError(
              'invalid_request',
              `users.${i} (${user.username}): sealed under data key ${kid}, which this instance does not have; add it to DATA_KEY`,
            );
          }
        }
        for (const app of user.mfa.apps ?? []) opens(app.sealedSecret, TOTP_SECRET_PURPOSE, `users.${i} (${user.username})`);
      });
      const clientIds = new Set<string>();
      for (const [i, client] of clients.entries()) {
        if (client.clientId.startsWith('twofold-'))
          throw new AppError('invalid_request', `clients.${i}: ${client.clientId} is twofold's own application`);
        if (clientIds.has(client.clientId)) throw new AppError('invalid_request', `clients.${i}: ${client.clientId} is in the file twice`);
        clientIds.add(client.clientId);
        if (client.metadata.client_id !== undefined && client.metadata.client_id !== client.clientId) {
          throw new AppError('invalid_request', `clients.${i} (${client.clientId}): its metadata names another client_id`);
        }
        try {
          deps.checkClient(client.clientId, client.metadata);
        } catch (err) {
          throw new AppError('invalid_request', `clients.${i} (${client.clientId}): ${(err as Error).message}`);
        }
        const kid = client.sealedSecret && sealedKeyId(client.sealedSecret);
        if (kid && !deps.keyring.has(kid))
          throw new AppError(
            'invalid_request',
            `clients.${i} (${client.clientId}): sealed under data key ${kid}, which this instance does not have`,
          );
        const secret = client.sealedSecret
          ? opens(client.sealedSecret, CLIENT_SECRET_PURPOSE, `clients.${i} (${client.clientId})`)
          : undefined;
        await deps
          .validateClient({ ...client.metadata, client_id: client.clientId, ...(secret ? { client_secret: secret } : {}) })
          .catch((err: AppError) => {
            throw new AppError('invalid_request', `clients.${i} (${client.clientId}): ${err.message}`);
          });
      }
      const samlIds = new Set<string>();
      const entityIds = new Set<string>();
      for (const [i, app] of samlApps.entries()) {
        const where = `samlApps.${i} (${app.id})`;
        if (app.id.startsWith('twofold-')) throw new AppError('invalid_request', `${where}: ids starting with twofold- are reserved`);
        if (samlIds.has(app.id)) throw new AppError('invalid_request', `${where}: ${app.id} is in the file twice`);
        if (entityIds.has(app.entityId)) throw new AppError('invalid_request', `${where}: entity id ${app.entityId} is in the file twice`);
        samlIds.add(app.id);
        entityIds.add(app.entityId);
        if (app.wantAuthnRequestsSigned && !app.certificate)
          throw new AppError('invalid_request', `${where}: signed requests need a certificate`);
        const holder = await deps.samlApps.findByEntityId(app.entityId);
        if (holder && holder.id !== app.id)
          throw new AppError('conflict', `${where}: entity id ${app.entityId} belongs to ${holder.id} here`);
      }
      let pairwiseToWrite: string | undefined;
      if (samlPairwise) {
        const kid = sealedKeyId(samlPairwise);
        if (kid && !deps.keyring.has(kid)) {
          throw new AppError('invalid_request', `samlPairwise: sealed under data key ${kid}, which this instance does not have`);
        }
        const imported = opens(samlPairwise, PAIRWISE_PURPOSE, 'samlPairwise');
        const here = await storedPairwise();
        // An installation that already made persistent NameIDs keeps its own: taking another
        // secret would change every NameID its applications know.
        if (here && deps.keyring.open(here, PAIRWISE_PURPOSE) !== imported) {
          throw new AppError(
            'conflict',
            'samlPairwise: this installation makes persistent SAML NameIDs of its own already; import into a new installation to keep them',
          );
        }
        if (!here) pairwiseToWrite = samlPairwise;
      }
      for (const [i, user] of users.entries()) {
        const existing = await deps.users.findById(user.id);
        if (existing && existing.username.toLowerCase() !== user.username.toLowerCase()) {
          throw new AppError('conflict', `users.${i} (${user.username}): its id belongs to ${existing.username} here`);
        }
      }

      const counts = { usersCreated: 0, usersUpdated: 0, clientsCreated: 0, clientsUpdated: 0, samlAppsCreated: 0, samlAppsUpdated: 0 };
      for (const user of users) counts[(await deps.users.importUser(user as UserRecord)) === 'created' ? 'usersCreated' : 'usersUpdated']++;
      for (const client of clients)
        counts[(await deps.clients.importClient(client as ClientRecord)) === 'created' ? 'clientsCreated' : 'clientsUpdated']++;
      for (const app of samlApps) {
        const saml = app as SamlAppRecord;
        if (await deps.samlApps.replace(saml)) counts.samlAppsUpdated++;
        else {
          await deps.samlApps.create(saml);
          counts.samlAppsCreated++;
        }
      }
      if (pairwiseToWrite) {
        const kept = await deps.keys.getOrCreate(PAIRWISE_KEY_ID, () => pairwiseToWrite!);
        if (deps.keyring.open(kept, PAIRWISE_PURPOSE) !== deps.keyring.open(pairwiseToWrite, PAIRWISE_PURPOSE)) {
          throw new AppError('conflict', 'samlPairwise: persistent SAML NameIDs were made here while importing; import again');
        }
      }
      await record('data.imported', by, `${users.length} users, ${clients.length} clients, ${samlApps.length} SAML applications`);
      return counts;
    },
  };
}

export type DataPortability = ReturnType<typeof createDataPortability>;
