import type { AuditLog, AuditType, SecondFactorGuard, TotpDevice, UserStore, WebAuthnKey } from '../domain/ports.ts';
import { registeredFactors } from './factors.ts';
import type { SessionEnder } from './ports.ts';
import type { Clock } from './clock.ts';
import type { AttemptSource } from './second-factor.ts';

/** Who asked for a recovery step: an administrator (`admin`) or the user on /account. */
export type RecoverySource = AttemptSource & { actor?: string };

/**
 * Getting a user back in, or out: device reset, unlock, device deletion, user deletion.
 * Each is recorded in the audit log. The user document changes in one atomic update and
 * the shared guard forgets the user's attempts, so every node sees the change at once.
 * Losing the second factor (a reset, a deletion) ends every session, grant and refresh
 * token of the user, as a password change does: whoever held the phone signed nobody in
 * for good, and the audit event says the sessions ended.
 */
export const SESSIONS_ENDED = 'sessions_ended';

export function createRecoveryService(deps: {
  users: UserStore;
  guard: SecondFactorGuard;
  oidc: SessionEnder;
  audit: AuditLog;
  clock: Clock;
}) {
  const record = (type: AuditType, userId: string, source: RecoverySource, reason?: string) =>
    deps.audit.record({ at: new Date(deps.clock.now()), type, outcome: 'success', userId, ...source, ...(reason ? { reason } : {}) });

  /** After one authenticator was removed: a user left with none starts again, and every session of the user ends. */
  async function afterRemoval(userId: string, type: 'mfa.key_removed' | 'mfa.device_deleted', name: string, source: RecoverySource) {
    const user = await deps.users.findById(userId);
    if (user && registeredFactors(user).length === 0) await deps.users.resetMfa(userId, new Date(deps.clock.now()));
    await Promise.all([deps.guard.forget(userId), deps.oidc.endSessionsOf(userId)]);
    await deps.audit.record({
      at: new Date(deps.clock.now()),
      type,
      outcome: 'success',
      userId,
      ...source,
      reason: SESSIONS_ENDED,
      changed: [name],
    });
  }

  return {
    /**
     * Removes every authenticator and the backup codes (the next sign-in registers anew)
     * and lifts any lock, so a user who lost the phone can register again. False: no such user.
     */
    async resetMfa(userId: string, source: RecoverySource): Promise<boolean> {
      if (!(await deps.users.resetMfa(userId, new Date(deps.clock.now())))) return false;
      await Promise.all([deps.guard.forget(userId), deps.oidc.endSessionsOf(userId)]);
      await record('mfa.reset', userId, source, SESSIONS_ENDED);
      return true;
    },

    /**
     * Removes one security key or passkey (the user on /account, or an administrator).
     * Losing a factor ends every session of the user; a user left with no factor
     * registers anew at the next sign-in that asks for one (the backup codes go too). The
     * removed key, or null when there was none.
     */
    async removeKey(userId: string, keyId: string, source: RecoverySource): Promise<WebAuthnKey | null> {
      const removed = await deps.users.removeWebAuthnKey(userId, keyId);
      if (removed) await afterRemoval(userId, 'mfa.key_removed', removed.name, source);
      return removed;
    },

    /** Removes one authenticator app, as `removeKey` removes a key. The removed app, or null. */
    async removeApp(userId: string, appId: string, source: RecoverySource): Promise<TotpDevice | null> {
      const removed = await deps.users.removeDevice(userId, appId);
      if (removed) await afterRemoval(userId, 'mfa.device_deleted', removed.name, source);
      return removed;
    },

    async unlock(userId: string, source: RecoverySource): Promise<boolean> {
      if (!(await deps.users.findById(userId))) return false;
      await deps.guard.unlock(userId);
      await deps.users.setLock(userId, null);
      await record('mfa.unlocked', userId, source);
      return true;
    },

    async deleteUser(userId: string, source: RecoverySource): Promise<boolean> {
      if (!(await deps.users.delete(userId))) return false;
      await Promise.all([deps.guard.forget(userId), deps.oidc.endSessionsOf(userId)]);
      await record('user.deleted', userId, source, SESSIONS_ENDED);
      return true;
    },

    /**
     * Forgets one remembered browser (`browserId`), or every one: their next sign-in asks
     * for the second factor, and so does any application they would have spared it in a
     * session open now (the browser is checked at each). False when there was none.
     */
    async forgetBrowsers(userId: string, browserId: string | undefined, source: RecoverySource): Promise<boolean> {
      const forgotten = await deps.users.forgetDevices(userId, browserId);
      if (!forgotten.length) return false;
      await deps.audit.record({
        at: new Date(deps.clock.now()),
        type: 'mfa.browser_forgotten',
        outcome: 'success',
        userId,
        ...source,
        changed: forgotten.map((device) => device.browser),
      });
      return true;
    },

    /** Ends every session, grant and refresh token of the user (a lost laptop). False: no such user. */
    async endSessions(userId: string, source: RecoverySource): Promise<boolean> {
      if (!(await deps.users.findById(userId))) return false;
      await deps.oidc.endSessionsOf(userId);
      await record('user.sessions_ended', userId, source, SESSIONS_ENDED);
      return true;
    },
  };
}

export type RecoveryService = ReturnType<typeof createRecoveryService>;
