import { randomBytes, randomUUID } from 'node:crypto';
import { Schema, type Connection } from 'mongoose';
import { AppError } from '../../domain/errors.ts';
import type { Clock } from '../../domain/clock.ts';
import { literalPrefix, userMatches } from '../../domain/glob.ts';
import {
  lastLogin,
  USER_SCAN_LIMIT,
  TOTP_APPS_MAX,
  WEBAUTHN_KEYS_MAX,
  type RememberedDevice,
  type UserRecord,
  type UserStore,
} from '../../domain/ports.ts';
import { REMEMBERED_DEVICES_MAX } from '../../domain/remembered-devices.ts';
import { FIRST_APP_NAME } from '../../domain/second-factor.ts';
import { guard, isDuplicateKey } from './connection.ts';

type UserDocument = Omit<UserRecord, 'id'> & {
  _id: string;
  /** Lower-cased username: the unique index that makes usernames case-insensitive. */
  usernameLower: string;
};

const userSchema = new Schema<UserDocument>(
  {
    _id: { type: String, required: true },
    username: { type: String, required: true },
    usernameLower: { type: String, required: true, unique: true },
    email: { type: String },
    emailVerified: { type: Boolean },
    name: { type: String },
    disabled: { type: Boolean, required: true, default: false },
    role: { type: String },
    passwordHash: { type: String, required: true },
    // The second factor lives in the user's document, so every change to it is one
    // single-document atomic update (no transactions needed).
    mfa: { type: Schema.Types.Mixed, required: true, default: () => ({ exempt: false }) },
    lastLogin: { type: Schema.Types.Mixed },
    lastAttemptAt: { type: Date },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
  },
  { collection: 'users', versionKey: false, strict: 'throw' },
);
userSchema.index({ username: 1 });
// Finds the holder of a credential; users without credentials are not in the index.
userSchema.index({ 'mfa.webauthn.id': 1 }, { sparse: true });

/** A filter part: the user has a second factor registered (device, email codes, a security key or passkey). */
const HAS_FACTOR = [{ 'mfa.apps.0': { $exists: true } }, { 'mfa.email': { $exists: true } }, { 'mfa.webauthn.0': { $exists: true } }];

/**
 * Users stored when a user had one app (`mfa.device`) keep it as the first of their apps:
 * each such document is rewritten once, in one conditional update (nodes starting at the
 * same moment rewrite each at most once). Runs at start-up, before the store is used.
 */
async function migrateSingleApps(users: {
  find(filter: object, options: object): AsyncIterable<{ _id: string; mfa: { device: object } }>;
  updateOne(filter: object, update: object): Promise<unknown>;
}) {
  await guard(async () => {
    for await (const doc of users.find({ 'mfa.device': { $exists: true } }, { projection: { 'mfa.device': 1 } })) {
      const app = { id: randomBytes(8).toString('hex'), name: FIRST_APP_NAME, ...doc.mfa.device };
      await users.updateOne(
        { _id: doc._id, 'mfa.device': { $exists: true }, 'mfa.apps.0': { $exists: false } },
        { $set: { 'mfa.apps': [app] }, $unset: { 'mfa.device': '' } },
      );
    }
  });
}

function toRecord(doc: UserDocument): UserRecord {
  const { _id, usernameLower: _lower, ...rest } = doc;
  const user: UserRecord = { id: _id, ...rest, mfa: doc.mfa ?? { exempt: false } };
  for (const key of ['email', 'emailVerified', 'name', 'role', 'lastLogin', 'lastAttemptAt'] as const)
    if (user[key] == null) delete user[key];
  return user;
}

export async function createMongoUserStore({ connection, clock }: { connection: Connection; clock: Clock }): Promise<UserStore> {
  const Users = connection.model<UserDocument>('User', userSchema);
  await guard(() => Users.createCollection().catch((err) => (/already exists/i.test(err.message) ? undefined : Promise.reject(err))));
  await guard(() => Users.createIndexes());
  await migrateSingleApps(Users.collection as never);

  return {
    async create(input) {
      const now = new Date(clock.now());
      const doc: UserDocument = {
        _id: randomUUID(),
        username: input.username,
        usernameLower: input.username.toLowerCase(),
        ...(input.email === undefined ? {} : { email: input.email }),
        ...(input.emailVerified === undefined ? {} : { emailVerified: input.emailVerified }),
        ...(input.name === undefined ? {} : { name: input.name }),
        ...(input.role === undefined ? {} : { role: input.role }),
        disabled: false,
        passwordHash: input.passwordHash,
        mfa: { exempt: false },
        createdAt: now,
        updatedAt: now,
      };
      try {
        await guard(() => Users.collection.insertOne(doc as never));
      } catch (err) {
        if (isDuplicateKey(err)) throw new AppError('conflict', 'username is taken');
        throw err;
      }
      return toRecord(doc);
    },
    async findById(id) {
      const doc = await guard(() => Users.findById(id).lean<UserDocument>().exec());
      return doc ? toRecord(doc) : null;
    },
    async findByUsername(username, attemptAt) {
      const filter = { usernameLower: username.toLowerCase() };
      const doc = await guard((): Promise<unknown> =>
        attemptAt
          ? Users.collection.findOneAndUpdate(filter, { $set: { lastAttemptAt: attemptAt } }, { returnDocument: 'after' })
          : Users.findOne(filter).lean<UserDocument>().exec(),
      );
      return doc ? toRecord(doc as UserDocument) : null;
    },
    async list({ limit, after, ...query }) {
      const { pattern } = query;
      // The pattern's literal start narrows the index range; the rest is matched here,
      // without a regular expression, reading at most USER_SCAN_LIMIT users.
      const prefix = pattern === undefined ? '' : literalPrefix(pattern);
      const range: Record<string, string> = {};
      if (after !== undefined && after >= prefix) range.$gt = after;
      else if (prefix) range.$gte = prefix;
      if (prefix) range.$lt = `${prefix}\u{10FFFF}`;
      const filter = {
        ...(Object.keys(range).length ? { username: range } : {}),
        ...(query.exempt === undefined ? {} : { 'mfa.exempt': query.exempt }),
      };
      return guard(async () => {
        const users: UserRecord[] = [];
        let scanned = 0;
        let last: string | undefined;
        for await (const doc of Users.find(filter)
          .sort({ username: 1 })
          .limit(USER_SCAN_LIMIT + 1)
          .lean<UserDocument>()
          .cursor({ batchSize: Math.min(limit + 1, 500) })) {
          if (users.length === limit) return { users, next: users.at(-1)!.username };
          if (scanned === USER_SCAN_LIMIT) return { users, next: last! };
          scanned++;
          last = doc.username;
          if (userMatches(query, { ...doc, mfa: doc.mfa ?? { exempt: false } })) users.push(toRecord(doc));
        }
        return { users };
      });
    },
    async update(id, patch, at) {
      const set: Record<string, unknown> = { updatedAt: at };
      const unset: Record<string, ''> = {};
      if (patch.disabled !== undefined) set.disabled = patch.disabled;
      if (patch.exempt !== undefined) set['mfa.exempt'] = patch.exempt;
      if (patch.passwordHash !== undefined) set.passwordHash = patch.passwordHash;
      if (patch.emailVerified !== undefined) set.emailVerified = patch.emailVerified;
      for (const key of ['email', 'name', 'role'] as const) {
        if (patch[key] === null) unset[key] = '';
        else if (patch[key] !== undefined) set[key] = patch[key];
      }
      if (patch.passwordHash !== undefined || patch.disabled === true) unset['mfa.remembered'] = '';
      const update = Object.keys(unset).length ? { $set: set, $unset: unset } : { $set: set };
      const doc = await guard(() => Users.collection.findOneAndUpdate({ _id: id } as never, update, { returnDocument: 'after' }));
      return doc ? toRecord(doc as unknown as UserDocument) : null;
    },
    async recordSignIn(id, { at, ip, userAgent, succeeded }) {
      const set: Record<string, unknown> = { lastAttemptAt: at };
      if (succeeded) set.lastLogin = lastLogin(at, { ip, userAgent });
      await guard(() => Users.collection.updateOne({ _id: id } as never, { $set: set }));
    },
    async markRegistrationPending(id, at) {
      await guard(() =>
        Users.collection.updateOne({ _id: id, 'mfa.apps.0': { $exists: false }, 'mfa.email': { $exists: false } } as never, {
          $set: { 'mfa.pendingSince': at },
        }),
      );
    },
    async registerDevice(id, device) {
      const result = await guard(() =>
        Users.collection.updateOne({ _id: id, 'mfa.apps.0': { $exists: false } } as never, {
          $set: { 'mfa.apps': [device] },
          $unset: { 'mfa.pendingSince': '', 'mfa.remembered': '' },
        }),
      );
      return result.modifiedCount === 1;
    },
    async addDevice(id, device) {
      const result = await guard(() =>
        Users.collection.updateOne(
          { _id: id, [`mfa.apps.${TOTP_APPS_MAX - 1}`]: { $exists: false } } as never,
          { $push: { 'mfa.apps': device }, $unset: { 'mfa.pendingSince': '', 'mfa.remembered': '' } } as never,
        ),
      );
      return result.modifiedCount === 1;
    },
    async renameDevice(id, deviceId, name) {
      const result = await guard(() =>
        Users.collection.updateOne(
          { _id: id, 'mfa.apps.id': deviceId } as never,
          { $set: { 'mfa.apps.$[app].name': name } },
          { arrayFilters: [{ 'app.id': deviceId }] },
        ),
      );
      return result.matchedCount === 1;
    },
    async removeDevice(id, deviceId) {
      // The document before the update names the app removed (and whether it was there).
      const before = await guard(() =>
        Users.collection.findOneAndUpdate(
          { _id: id, 'mfa.apps.id': deviceId } as never,
          { $pull: { 'mfa.apps': { id: deviceId } }, $unset: { 'mfa.remembered': '' } } as never,
          { returnDocument: 'before' },
        ),
      );
      const apps = (before as unknown as UserDocument | null)?.mfa.apps ?? [];
      return apps.find((app) => app.id === deviceId) ?? null;
    },
    async registerEmailFactor(id, at) {
      const result = await guard(() =>
        Users.collection.updateOne({ _id: id, 'mfa.email': { $exists: false } } as never, {
          $set: { 'mfa.email': { registeredAt: at } },
          $unset: { 'mfa.pendingSince': '', 'mfa.remembered': '' },
        }),
      );
      return result.modifiedCount === 1;
    },
    async emailFactorUsed(id, at) {
      await guard(() =>
        Users.collection.updateOne({ _id: id, 'mfa.email': { $exists: true } } as never, { $set: { 'mfa.email.lastUsedAt': at } }),
      );
    },
    async addWebAuthnKey(id, key) {
      const result = await guard(() =>
        Users.collection.updateOne(
          { _id: id, [`mfa.webauthn.${WEBAUTHN_KEYS_MAX - 1}`]: { $exists: false }, 'mfa.webauthn.id': { $ne: key.id } } as never,
          { $push: { 'mfa.webauthn': key }, $unset: { 'mfa.pendingSince': '', 'mfa.remembered': '' } } as never,
        ),
      );
      return result.modifiedCount === 1;
    },
    async useWebAuthnKey(id, keyId, { from, to, at }) {
      const result = await guard(() =>
        Users.collection.updateOne(
          { _id: id, 'mfa.webauthn': { $elemMatch: { id: keyId, counter: from } } } as never,
          { $set: { 'mfa.webauthn.$[key].counter': to, 'mfa.webauthn.$[key].lastUsedAt': at } },
          { arrayFilters: [{ 'key.id': keyId }] },
        ),
      );
      return result.matchedCount === 1;
    },
    async renameWebAuthnKey(id, keyId, name) {
      const result = await guard(() =>
        Users.collection.updateOne(
          { _id: id, 'mfa.webauthn.id': keyId } as never,
          { $set: { 'mfa.webauthn.$[key].name': name } },
          { arrayFilters: [{ 'key.id': keyId }] },
        ),
      );
      return result.matchedCount === 1;
    },
    async removeWebAuthnKey(id, keyId) {
      // The document before the update names the key removed (and whether it was there).
      const before = await guard(() =>
        Users.collection.findOneAndUpdate(
          { _id: id, 'mfa.webauthn.id': keyId } as never,
          { $pull: { 'mfa.webauthn': { id: keyId } }, $unset: { 'mfa.remembered': '' } } as never,
          {
            returnDocument: 'before',
          },
        ),
      );
      const keys = (before as unknown as UserDocument | null)?.mfa.webauthn ?? [];
      return keys.find((key) => key.id === keyId) ?? null;
    },
    async rememberDevice(id, device) {
      const result = await guard(() =>
        Users.collection.updateOne(
          { _id: id, $or: HAS_FACTOR } as never,
          { $push: { 'mfa.remembered': { $each: [device], $slice: -REMEMBERED_DEVICES_MAX } } } as never,
        ),
      );
      return result.modifiedCount === 1;
    },
    async rememberedDeviceUsed(id, deviceId, at) {
      await guard(() =>
        Users.collection.updateOne(
          { _id: id, 'mfa.remembered.id': deviceId } as never,
          { $set: { 'mfa.remembered.$[device].lastUsedAt': at } },
          { arrayFilters: [{ 'device.id': deviceId }] },
        ),
      );
    },
    async forgetDevices(id, deviceId) {
      // The document before the update names the browsers forgotten.
      const before = await guard(() =>
        Users.collection.findOneAndUpdate(
          { _id: id, ...(deviceId === undefined ? { 'mfa.remembered.0': { $exists: true } } : { 'mfa.remembered.id': deviceId }) } as never,
          deviceId === undefined ? { $unset: { 'mfa.remembered': '' } } : ({ $pull: { 'mfa.remembered': { id: deviceId } } } as never),
          { returnDocument: 'before' },
        ),
      );
      const devices: RememberedDevice[] = (before as unknown as UserDocument | null)?.mfa.remembered ?? [];
      return deviceId === undefined ? devices : devices.filter((device) => device.id === deviceId);
    },
    async acceptStep(id, deviceId, { step, drift, lastOffset, at, signedIn }) {
      const set: Record<string, unknown> = {
        'mfa.apps.$[app].lastStep': step,
        'mfa.apps.$[app].drift': drift,
        'mfa.apps.$[app].lastOffset': lastOffset,
        'mfa.apps.$[app].lastUsedAt': at,
      };
      if (signedIn) Object.assign(set, { lastAttemptAt: at, lastLogin: lastLogin(at, signedIn) });
      const result = await guard(() =>
        Users.collection.updateOne(
          { _id: id, 'mfa.apps': { $elemMatch: { id: deviceId, lastStep: { $lt: step } } } } as never,
          { $set: set },
          { arrayFilters: [{ 'app.id': deviceId }] },
        ),
      );
      return result.modifiedCount === 1;
    },
    async setBackupCodes(id, codes) {
      const result = await guard(() =>
        Users.collection.updateOne({ _id: id, $or: HAS_FACTOR } as never, { $set: { 'mfa.backupCodes': codes } }),
      );
      return result.modifiedCount === 1;
    },
    async useBackupCode(id, hash) {
      // The filter names the code and the update pulls it: of simultaneous uses, the
      // document changes once, for one caller.
      const result = await guard(() =>
        Users.collection.updateOne(
          { _id: id, $or: HAS_FACTOR, 'mfa.backupCodes.hashes': hash } as never,
          {
            $pull: { 'mfa.backupCodes.hashes': hash },
          } as never,
        ),
      );
      return result.modifiedCount === 1;
    },
    async resetMfa(id, at) {
      const result = await guard(() =>
        Users.collection.updateOne({ _id: id } as never, {
          $unset: {
            'mfa.apps': '',
            'mfa.email': '',
            'mfa.webauthn': '',
            'mfa.backupCodes': '',
            'mfa.remembered': '',
            'mfa.pendingSince': '',
            'mfa.lock': '',
          },
          $set: { updatedAt: at },
        }),
      );
      return result.matchedCount === 1;
    },
    async importUser(record) {
      const { id, ...rest } = record;
      const fields = { ...rest, usernameLower: record.username.toLowerCase() };
      try {
        // Over the same username (keeping its id), else a new document with the record's id.
        const updated = await guard(() => Users.collection.updateOne({ usernameLower: fields.usernameLower } as never, { $set: fields }));
        if (updated.matchedCount === 1) return 'updated';
        await guard(() => Users.collection.insertOne({ _id: id, ...fields } as never));
        return 'created';
      } catch (err) {
        if (isDuplicateKey(err)) throw new AppError('conflict', `id ${id} or username ${record.username} belongs to another user`);
        throw err;
      }
    },
    async resealDevice(id, deviceId, old, sealed) {
      const result = await guard(() =>
        Users.collection.updateOne(
          { _id: id, 'mfa.apps': { $elemMatch: { id: deviceId, sealedSecret: old } } } as never,
          { $set: { 'mfa.apps.$[app].sealedSecret': sealed } },
          { arrayFilters: [{ 'app.id': deviceId }] },
        ),
      );
      return result.modifiedCount === 1;
    },
    async setLock(id, lock) {
      await guard(() =>
        Users.collection.updateOne({ _id: id } as never, lock ? { $set: { 'mfa.lock': lock } } : { $unset: { 'mfa.lock': '' } }),
      );
    },
    async delete(id) {
      const result = await guard(() => Users.collection.deleteOne({ _id: id } as never));
      return result.deletedCount === 1;
    },
  };
}
