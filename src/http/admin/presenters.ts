import { registeredFactors } from '../../domain/factors.ts';
import type { ClientRecord, UserRecord } from '../../domain/ports.ts';

const iso = (date: Date | undefined) => date?.toISOString() ?? null;
const latest = (...dates: (Date | undefined)[]) =>
  dates.filter((at): at is Date => at !== undefined).sort((a, b) => b.getTime() - a.getTime())[0];

/** A user as the admin API shows it: never the password hash, the secret or the backup codes. */
export function presentUser(user: UserRecord, lock: { until: number | null } | null) {
  const factors = registeredFactors(user);
  // The first factor's registration.
  const apps = user.mfa.apps ?? [];
  const registeredAt = [
    ...apps.map((app) => app.registeredAt),
    user.mfa.email?.registeredAt,
    ...(user.mfa.webauthn ?? []).map((key) => key.addedAt),
  ]
    .filter((at): at is Date => at !== undefined)
    .sort((a, b) => a.getTime() - b.getTime())[0];
  return {
    id: user.id,
    username: user.username,
    ...(user.email === undefined ? {} : { email: user.email }),
    email_verified: user.email !== undefined && user.emailVerified === true,
    ...(user.name === undefined ? {} : { name: user.name }),
    disabled: user.disabled,
    role: user.role ?? 'user',
    mfa: {
      status: factors.length ? 'registered' : user.mfa.pendingSince ? 'pending' : 'none',
      // The second factors registered: `totp` (authenticator app), `email` (codes by mail).
      factors,
      exempt: user.mfa.exempt,
      locked: lock !== null,
      // null with locked: until an administrator unlocks.
      lockedUntil: lock?.until ? new Date(lock.until).toISOString() : null,
      ...(registeredAt ? { registeredAt: registeredAt.toISOString() } : {}),
      lastUsedAt: iso(
        latest(...apps.map((app) => app.lastUsedAt), user.mfa.email?.lastUsedAt, ...(user.mfa.webauthn ?? []).map((key) => key.lastUsedAt)),
      ),
      backupCodesLeft: factors.length ? (user.mfa.backupCodes?.hashes.length ?? 0) : 0,
      apps: apps.map((app) => ({
        id: app.id,
        name: app.name,
        registeredAt: app.registeredAt.toISOString(),
        lastUsedAt: iso(app.lastUsedAt),
      })),
      keys: (user.mfa.webauthn ?? []).map((key) => ({
        id: key.id,
        name: key.name,
        kind: key.deviceType === 'multiDevice' ? ('passkey' as const) : ('security_key' as const),
        addedAt: key.addedAt.toISOString(),
        lastUsedAt: iso(key.lastUsedAt),
      })),
      rememberedBrowsers: (user.mfa.remembered ?? []).map((device) => ({
        id: device.id,
        browser: device.browser,
        ...(device.clientId ? { application: device.clientId } : {}),
        rememberedAt: device.rememberedAt.toISOString(),
        expiresAt: device.expiresAt.toISOString(),
        lastUsedAt: iso(device.lastUsedAt),
      })),
    },
    lastLogin: user.lastLogin ? { ...user.lastLogin, at: user.lastLogin.at.toISOString() } : null,
    lastAttemptAt: iso(user.lastAttemptAt),
    createdAt: user.createdAt.toISOString(),
    updatedAt: user.updatedAt.toISOString(),
  };
}

/** A client as the admin API shows it: never the secret, only whether it has one. */
export function presentClient(client: ClientRecord) {
  return {
    ...client.metadata,
    client_id: client.clientId,
    has_client_secret: client.sealedSecret !== undefined,
    created_at: client.createdAt.toISOString(),
  };
}
