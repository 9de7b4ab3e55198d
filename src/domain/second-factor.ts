import type { Clock } from './clock.ts';
import type { DataKeyring } from './data-key.ts';
import type { SettingsService } from './settings.ts';
import { clampDrift, generateSecret, matchStep, stepAt } from './totp.ts';
import type { ReplayGuard, UserRecord, UserStore } from '../stores/types.ts';

export const TOTP_SECRET_PURPOSE = 'totp-secret';
export const ENROLLMENT_PURPOSE = 'totp-enrollment';

export type RegisterOutcome = 'registered' | 'wrong_code' | 'already_registered';

/**
 * Registration and verification of the TOTP device. The domain finds the matching step;
 * the replay guard claims it atomically across nodes, and the user store records it with
 * one conditional update (`lastStep < step`). A code replayed, or submitted twice at once,
 * succeeds at most once.
 */
export function createSecondFactorService(deps: {
  users: UserStore;
  guard: ReplayGuard;
  keyring: DataKeyring;
  clock: Clock;
  settings: SettingsService;
}) {
  const { users, keyring, clock } = deps;

  return {
    /** A fresh 160-bit secret for a registration, sealed for keeping with the sign-in. */
    newEnrollment(): { secret: Buffer; sealed: string } {
      const secret = generateSecret();
      return { secret, sealed: keyring.seal(secret.toString('base64'), ENROLLMENT_PURPOSE) };
    },

    openEnrollment(sealed: string): Buffer {
      return Buffer.from(keyring.open(sealed, ENROLLMENT_PURPOSE), 'base64');
    },

    /**
     * Stores the device when `code` matches the enrollment secret. The accepted step is
     * stored as the device's last one, so the code used to register cannot sign in again.
     */
    async register(userId: string, sealedEnrollment: string, code: string): Promise<RegisterOutcome> {
      const secret = this.openEnrollment(sealedEnrollment);
      const { skewSteps } = await deps.settings.get();
      const nowStep = stepAt(clock.now());
      const step = matchStep(secret, code, { nowStep, drift: 0, skewSteps, lastStep: -1 });
      if (step === null) return 'wrong_code';
      // Two registrations of one user at once (two tabs): one is stored, the other refused.
      const hold = `register:${userId}`;
      if (!(await deps.guard.acquire(hold, 30))) return 'already_registered';
      try {
        const stored = await users.registerDevice(userId, {
          sealedSecret: keyring.seal(secret.toString('base64'), TOTP_SECRET_PURPOSE),
          registeredAt: new Date(clock.now()),
          lastStep: step,
          drift: clampDrift(step - nowStep, skewSteps),
        });
        return stored ? 'registered' : 'already_registered';
      } finally {
        await deps.guard.release(hold);
      }
    },

    /** True when `code` is a current, unused code of the user's device. */
    async verify(user: UserRecord, code: string): Promise<boolean> {
      const device = user.mfa.device;
      if (!device) return false;
      const secret = Buffer.from(keyring.open(device.sealedSecret, TOTP_SECRET_PURPOSE), 'base64');
      const { skewSteps } = await deps.settings.get();
      const nowStep = stepAt(clock.now());
      const step = matchStep(secret, code, { nowStep, drift: device.drift, skewSteps, lastStep: device.lastStep });
      if (step === null) return false;
      if (!(await deps.guard.claimStep(user.id, step, device.lastStep))) return false;
      return users.acceptStep(user.id, { step, drift: clampDrift(step - nowStep, skewSteps), at: new Date(clock.now()) });
    },
  };
}

export type SecondFactorService = ReturnType<typeof createSecondFactorService>;
