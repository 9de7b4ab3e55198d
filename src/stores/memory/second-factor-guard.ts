import type { Clock } from '../../domain/clock.ts';
import type { AttemptLimits, AttemptResult, SecondFactorGuard } from '../types.ts';

interface UserAttempts {
  /** Epoch ms the lock ends; 0: until an administrator unlocks. */
  lockedUntil?: number;
  failures: number;
  lastStep?: number;
}

/**
 * The embedded guard: the same rules as the Redis script, each call running to completion
 * alone in this process, so each is atomic here too.
 */
export function createMemorySecondFactorGuard({ clock }: { clock: Clock }): SecondFactorGuard {
  const users = new Map<string, UserAttempts>();
  const holds = new Map<string, number>();

  function stateOf(userId: string, now: number): UserAttempts {
    const state = users.get(userId) ?? { failures: 0 };
    users.set(userId, state);
    if (state.lockedUntil !== undefined && state.lockedUntil !== 0 && state.lockedUntil <= now) {
      delete state.lockedUntil;
      state.failures = 0;
    }
    return state;
  }

  const lockedResult = (state: UserAttempts, justNow = false): AttemptResult => ({
    outcome: 'locked',
    until: state.lockedUntil === 0 ? null : state.lockedUntil!,
    justNow,
  });

  function fail(state: UserAttempts, limits: AttemptLimits, outcome: 'wrong' | 'replayed', counted: boolean): AttemptResult {
    if (!counted) state.failures++;
    if (state.failures >= limits.maxAttempts) {
      state.failures = 0;
      state.lockedUntil = limits.lockoutSeconds === 0 ? 0 : limits.now + limits.lockoutSeconds * 1000;
      return lockedResult(state, true);
    }
    return { outcome, failures: state.failures };
  }

  return {
    async attemptStep(userId, step, floor, limits) {
      const state = stateOf(userId, limits.now);
      if (state.lockedUntil !== undefined) return lockedResult(state);
      if (step === null) return fail(state, limits, 'wrong', false);
      if (step > Math.max(state.lastStep ?? floor, floor)) {
        state.lastStep = step;
        state.failures = 0;
        return { outcome: 'passed' };
      }
      return fail(state, limits, 'replayed', false);
    },
    async reserve(userId, limits) {
      const state = stateOf(userId, limits.now);
      if (state.lockedUntil !== undefined) return lockedResult(state);
      state.failures++;
      if (state.failures > limits.maxAttempts) return fail(state, limits, 'wrong', true);
      return { outcome: 'reserved' };
    },
    async settle(userId, passed, limits) {
      const state = stateOf(userId, limits.now);
      if (state.lockedUntil !== undefined) return lockedResult(state);
      if (passed) {
        state.failures = 0;
        return { outcome: 'passed' };
      }
      state.failures = Math.max(state.failures, 1);
      return fail(state, limits, 'wrong', true);
    },
    async lockOf(userId, now) {
      const state = stateOf(userId, now);
      return state.lockedUntil === undefined ? null : { until: state.lockedUntil === 0 ? null : state.lockedUntil };
    },
    async unlock(userId) {
      const state = users.get(userId);
      if (state) {
        delete state.lockedUntil;
        state.failures = 0;
      }
    },
    async forget(userId) {
      users.delete(userId);
    },
    async acquire(name, ttlSeconds) {
      const until = holds.get(name);
      if (until !== undefined && until > clock.now()) return false;
      holds.set(name, clock.now() + ttlSeconds * 1000);
      return true;
    },
    async release(name) {
      holds.delete(name);
    },
  };
}
