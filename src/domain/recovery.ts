import type { AuditLog, AuditType, SecondFactorGuard, UserStore } from '../stores/types.ts';
import type { Clock } from './clock.ts';
import type { AttemptSource } from './second-factor.ts';

/** Who asked for a recovery step: an administrator (`admin`) or the user on /account. */
export type RecoverySource = AttemptSource & { actor?: string };

/**
 * Getting a user back in, or out: device reset, unlock, device deletion, user deletion.
 * Each is recorded in the audit log. The user document changes in one atomic update and
 * the shared guard forgets the user's attempts, so every node sees the change at once.
 */
export function createRecoveryService(deps: { users: UserStore; guard: SecondFactorGuard; audit: AuditLog; clock: Clock }) {
  const record = (type: AuditType, userId: string, source: RecoverySource) =>
    deps.audit.record({ at: new Date(deps.clock.now()), type, outcome: 'success', userId, ...source });

  async function removeDevice(userId: string, source: RecoverySource, type: 'mfa.reset' | 'mfa.device_deleted'): Promise<boolean> {
    if (!(await deps.users.resetMfa(userId, new Date(deps.clock.now())))) return false;
    await deps.guard.forget(userId);
    await record(type, userId, source);
    return true;
  }

  return {
    /**
     * Removes the device and backup codes (the next sign-in registers anew) and lifts any
     * lock, so a user who lost the phone can register again. False: no such user.
     */
    resetMfa: (userId: string, source: RecoverySource) => removeDevice(userId, source, 'mfa.reset'),

    /** The user's own deletion of the device on /account: the same as a reset. */
    deleteDevice: (userId: string, source: RecoverySource) => removeDevice(userId, source, 'mfa.device_deleted'),

    async unlock(userId: string, source: RecoverySource): Promise<boolean> {
      if (!(await deps.users.findById(userId))) return false;
      await deps.guard.unlock(userId);
      await deps.users.setLock(userId, null);
      await record('mfa.unlocked', userId, source);
      return true;
    },

    async deleteUser(userId: string, source: RecoverySource): Promise<boolean> {
      if (!(await deps.users.delete(userId))) return false;
      await deps.guard.forget(userId);
      await record('user.deleted', userId, source);
      return true;
    },
  };
}

export type RecoveryService = ReturnType<typeof createRecoveryService>;
