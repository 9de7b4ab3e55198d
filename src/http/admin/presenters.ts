import type { ClientRecord, UserRecord } from '../../domain/ports.ts';

const iso = (date: Date | undefined) => date?.toISOString() ?? null;

/** A user as the admin API shows it: never the password hash, the secret or the backup codes. */
export function presentUser(user: UserRecord, lock: { until: number | null } | null) {
  return {
    id: user.id,
    username: user.username,
    ...(user.email === undefined ? {} : { email: user.email }),
    email_verified: user.email !== undefined && user.emailVerified === true,
    ...(user.name === undefined ? {} : { name: user.name }),
    disabled: user.disabled,
    role: user.role ?? 'user',
    mfa: {
      status: user.mfa.device ? 'registered' : user.mfa.pendingSince ? 'pending' : 'none',
      exempt: user.mfa.exempt,
      locked: lock !== null,
      // null with locked: until an administrator unlocks.
      lockedUntil: lock?.until ? new Date(lock.until).toISOString() : null,
      ...(user.mfa.device ? { registeredAt: user.mfa.device.registeredAt.toISOString() } : {}),
      lastUsedAt: iso(user.mfa.device?.lastUsedAt),
      backupCodesLeft: user.mfa.device ? (user.mfa.backupCodes?.hashes.length ?? 0) : 0,
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
