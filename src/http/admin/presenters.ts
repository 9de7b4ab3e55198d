import type { ClientRecord, UserRecord } from '../../stores/types.ts';

/** A user as the admin API shows it: never the password hash. */
export function presentUser(user: UserRecord) {
  return {
    id: user.id,
    username: user.username,
    ...(user.email === undefined ? {} : { email: user.email }),
    ...(user.name === undefined ? {} : { name: user.name }),
    disabled: user.disabled,
    mfa: {
      status: user.mfa.device ? 'registered' : user.mfa.pendingSince ? 'pending' : 'none',
      exempt: user.mfa.exempt,
      ...(user.mfa.device ? { registeredAt: user.mfa.device.registeredAt.toISOString() } : {}),
      ...(user.mfa.device?.lastUsedAt ? { lastUsedAt: user.mfa.device.lastUsedAt.toISOString() } : {}),
    },
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
