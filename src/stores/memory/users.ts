import { randomUUID } from 'node:crypto';
import { AppError } from '../../domain/errors.ts';
import type { Clock } from '../../domain/clock.ts';
import { userMatches } from '../../domain/glob.ts';
import { lastLogin, TOTP_APPS_MAX, USER_SCAN_LIMIT, WEBAUTHN_KEYS_MAX, type UserRecord, type UserStore } from '../../domain/ports.ts';
import { REMEMBERED_DEVICES_MAX } from '../../domain/remembered-devices.ts';

/** Users in process memory. Each method runs to completion alone, so each is atomic. */
export function createMemoryUserStore({ clock }: { clock: Clock }): UserStore {
  const byId = new Map<string, UserRecord>();
  const idByLowerName = new Map<string, string>();
  const copy = (user: UserRecord | undefined) => (user ? structuredClone(user) : null);

  return {
    async create(input) {
      const lower = input.username.toLowerCase();
      if (idByLowerName.has(lower)) throw new AppError('conflict', 'username is taken');
      const now = new Date(clock.now());
      const user: UserRecord = { ...input, id: randomUUID(), disabled: false, mfa: { exempt: false }, createdAt: now, updatedAt: now };
      for (const key of ['email', 'emailVerified', 'name', 'role'] as const) if (user[key] === undefined) delete user[key];
      byId.set(user.id, user);
      idByLowerName.set(lower, user.id);
      return structuredClone(user);
    },
    async findById(id) {
      return copy(byId.get(id));
    },
    async findByUsername(username, attemptAt) {
      const user = byId.get(idByLowerName.get(username.toLowerCase()) ?? '');
      if (user && attemptAt) user.lastAttemptAt = attemptAt;
      return copy(user);
    },
    async list({ limit, after, ...query }) {
      const sorted = [...byId.values()]
        .filter((user) => after === undefined || user.username > after)
        .sort((a, b) => (a.username < b.username ? -1 : a.username > b.username ? 1 : 0));
      const users: UserRecord[] = [];
      let scanned = 0;
      for (const user of sorted) {
        if (users.length === limit) return { users, next: users.at(-1)!.username };
        if (scanned === USER_SCAN_LIMIT) return { users, next: sorted[scanned - 1]!.username };
        scanned++;
        if (userMatches(query, user)) users.push(structuredClone(user));
      }
      return { users };
    },
    async update(id, patch, at) {
      const user = byId.get(id);
      if (!user) return null;
      if (patch.disabled !== undefined) user.disabled = patch.disabled;
      if (patch.exempt !== undefined) user.mfa.exempt = patch.exempt;
      if (patch.passwordHash !== undefined) user.passwordHash = patch.passwordHash;
      if (patch.emailVerified !== undefined) user.emailVerified = patch.emailVerified;
      if (patch.role === null) delete user.role;
      else if (patch.role !== undefined) user.role = patch.role;
      for (const key of ['email', 'name'] as const) {
        if (patch[key] === null) delete user[key];
        else if (patch[key] !== undefined) user[key] = patch[key];
      }
      if (patch.passwordHash !== undefined || patch.disabled === true) delete user.mfa.remembered;
      user.updatedAt = at;
      return structuredClone(user);
    },
    async recordSignIn(id, { at, ip, userAgent, succeeded }) {
      const user = byId.get(id);
      if (!user) return;
      user.lastAttemptAt = at;
      if (succeeded) user.lastLogin = lastLogin(at, { ip, userAgent });
    },
    async markRegistrationPending(id, at) {
      const user = byId.get(id);
      if (user && !user.mfa.apps?.length && !user.mfa.email) user.mfa.pendingSince = at;
    },
    async registerDevice(id, device) {
      const user = byId.get(id);
      if (!user || user.mfa.apps?.length) return false;
      user.mfa.apps = [structuredClone(device)];
      delete user.mfa.pendingSince;
      delete user.mfa.remembered;
      return true;
    },
    async addDevice(id, device) {
      const user = byId.get(id);
      const apps = user?.mfa.apps ?? [];
      if (!user || apps.length >= TOTP_APPS_MAX) return false;
      user.mfa.apps = [...apps, structuredClone(device)];
      delete user.mfa.pendingSince;
      delete user.mfa.remembered;
      return true;
    },
    async renameDevice(id, deviceId, name) {
      const app = byId.get(id)?.mfa.apps?.find((held) => held.id === deviceId);
      if (!app) return false;
      app.name = name;
      return true;
    },
    async removeDevice(id, deviceId) {
      const user = byId.get(id);
      const app = user?.mfa.apps?.find((held) => held.id === deviceId);
      if (!user || !app) return null;
      const kept = user.mfa.apps!.filter((held) => held !== app);
      if (kept.length) user.mfa.apps = kept;
      else delete user.mfa.apps;
      delete user.mfa.remembered;
      return structuredClone(app);
    },
    async registerEmailFactor(id, at) {
      const user = byId.get(id);
      if (!user || user.mfa.email) return false;
      user.mfa.email = { registeredAt: at };
      delete user.mfa.pendingSince;
      delete user.mfa.remembered;
      return true;
    },
    async emailFactorUsed(id, at) {
      const factor = byId.get(id)?.mfa.email;
      if (factor) factor.lastUsedAt = at;
    },
    async addWebAuthnKey(id, key) {
      const user = byId.get(id);
      const keys = user?.mfa.webauthn ?? [];
      if (!user || keys.length >= WEBAUTHN_KEYS_MAX) return false;
      if (keys.some((held) => held.id === key.id)) return false;
      user.mfa.webauthn = [...keys, structuredClone(key)];
      delete user.mfa.pendingSince;
      delete user.mfa.remembered;
      return true;
    },
    async useWebAuthnKey(id, keyId, { from, to, at }) {
      const key = byId.get(id)?.mfa.webauthn?.find((held) => held.id === keyId);
      if (!key || key.counter !== from) return false;
      Object.assign(key, { counter: to, lastUsedAt: at });
      return true;
    },
    async renameWebAuthnKey(id, keyId, name) {
      const key = byId.get(id)?.mfa.webauthn?.find((held) => held.id === keyId);
      if (!key) return false;
      key.name = name;
      return true;
    },
    async removeWebAuthnKey(id, keyId) {
      const user = byId.get(id);
      const key = user?.mfa.webauthn?.find((held) => held.id === keyId);
      if (!user || !key) return null;
      user.mfa.webauthn = user.mfa.webauthn!.filter((held) => held !== key);
      delete user.mfa.remembered;
      return structuredClone(key);
    },
    async rememberDevice(id, device) {
      const user = byId.get(id);
      if (!hasFactor(user)) return false;
      user.mfa.remembered = [...(user.mfa.remembered ?? []), structuredClone(device)].slice(-REMEMBERED_DEVICES_MAX);
      return true;
    },
    async rememberedDeviceUsed(id, deviceId, at) {
      const device = byId.get(id)?.mfa.remembered?.find((held) => held.id === deviceId);
      if (device) device.lastUsedAt = at;
    },
    async forgetDevices(id, deviceId) {
      const user = byId.get(id);
      const devices = user?.mfa.remembered ?? [];
      const forgotten = devices.filter((device) => deviceId === undefined || device.id === deviceId);
      if (!user || !forgotten.length) return [];
      const kept = devices.filter((device) => !forgotten.includes(device));
      if (kept.length) user.mfa.remembered = kept;
      else delete user.mfa.remembered;
      return structuredClone(forgotten);
    },
    async acceptStep(id, deviceId, { step, drift, lastOffset, at, signedIn }) {
      const user = byId.get(id);
      const device = user?.mfa.apps?.find((held) => held.id === deviceId);
      if (!user || !device || !(device.lastStep < step)) return false;
      Object.assign(device, { lastStep: step, drift, lastOffset, lastUsedAt: at });
      if (signedIn) Object.assign(user, { lastAttemptAt: at, lastLogin: lastLogin(at, signedIn) });
      return true;
    },
    async setBackupCodes(id, codes) {
      const user = byId.get(id);
      if (!hasFactor(user)) return false;
      user.mfa.backupCodes = structuredClone(codes);
      return true;
    },
    async useBackupCode(id, hash) {
      const user = byId.get(id);
      const codes = user?.mfa.backupCodes;
      const index = codes?.hashes.indexOf(hash) ?? -1;
      if (!hasFactor(user) || !codes || index < 0) return false;
      codes.hashes.splice(index, 1);
      return true;
    },
    async resetMfa(id, at) {
      const user = byId.get(id);
      if (!user) return false;
      user.mfa = { exempt: user.mfa.exempt };
      user.updatedAt = at;
      return true;
    },
    async importUser(record) {
      const lower = record.username.toLowerCase();
      const existingId = idByLowerName.get(lower);
      if (existingId === undefined && byId.has(record.id)) throw new AppError('conflict', `id ${record.id} belongs to another user`);
      const id = existingId ?? record.id;
      const previous = byId.get(id);
      if (previous) idByLowerName.delete(previous.username.toLowerCase());
      byId.set(id, structuredClone({ ...record, id }));
      idByLowerName.set(lower, id);
      return existingId === undefined ? 'created' : 'updated';
    },
    async resealDevice(id, deviceId, old, sealed) {
      const device = byId.get(id)?.mfa.apps?.find((held) => held.id === deviceId);
      if (!device || device.sealedSecret !== old) return false;
      device.sealedSecret = sealed;
      return true;
    },
    async setLock(id, lock) {
      const user = byId.get(id);
      if (!user) return;
      if (lock) user.mfa.lock = structuredClone(lock);
      else delete user.mfa.lock;
    },
    async delete(id) {
      const user = byId.get(id);
      if (!user) return false;
      byId.delete(id);
      idByLowerName.delete(user.username.toLowerCase());
      return true;
    },
  };
}

/** The user has a second factor registered: an app, email codes, a security key or passkey. */
const hasFactor = (user: UserRecord | undefined): user is UserRecord =>
  user !== undefined && ((user.mfa.apps?.length ?? 0) > 0 || user.mfa.email !== undefined || (user.mfa.webauthn?.length ?? 0) > 0);
