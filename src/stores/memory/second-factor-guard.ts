import type { Clock } from '../../domain/clock.ts';
import type { AttemptLimits, AttemptResult, SecondFactorGuard } from '../../domain/ports.ts';
import type { Prunable } from './prunable.ts';

// The same lifetimes as the Redis guard's keys.
const STEP_TTL_MS = 1800 * 1000;
const FAILURES_TTL_MS = 86_400 * 1000;

interface UserAttempts {
  /** Epoch ms the lock ends; 0: until an administrator unlocks. */
  lockedUntil?: number;
  failures: number;
  /** When the count last went up: it is forgotten a day later, as the Redis key expires. */
  failedAt?: number;
  lastStep?: number;
  steppedAt?: number;
}

/**
 * The embedded guard: the same rules as the Redis script, each call running to completion
 * alone in this process, so each is atomic here too.
 */
export function createMemorySecondFactorGuard({ clock }: { clock: Clock }): SecondFactorGuard & Prunable {
  const users = new Map<string, UserAttempts>();
  const holds = new Map<string, number>();

  /** Lets lapse what would have expired in Redis by now. */
  function age(state: UserAttempts, now: number) {
    if (state.lockedUntil !== undefined && state.lockedUntil !== 0 && state.lockedUntil <= now) {
      delete state.lockedUntil;
      state.failures = 0;
    }
    if (state.failedAt !== undefined && state.failedAt + FAILURES_TTL_MS <= now) {
      state.failures = 0;
      delete state.failedAt;
    }
    if (state.steppedAt !== undefined && state.steppedAt + STEP_TTL_MS <= now) {
      delete state.lastStep;
      delete state.steppedAt;
    }
  }

  const empty = (state: UserAttempts) => state.lockedUntil === undefined && state.failures === 0 && state.lastStep === undefined;

  function stateOf(userId: string, now: number): UserAttempts {
    const state = users.get(userId) ?? { failures: 0 };
    users.set(userId, state);
    age(state, now);
    return state;
  }

  /** A read leaves nothing behind for a user with nothing to hold. */
  function peek(userId: string, now: number): UserAttempts | undefined {
    const state = users.get(userId);
    if (!state) return undefined;
    age(state, now);
    if (empty(state)) users.delete(userId);
    return state;
  }

  const lockedResult = (state: UserAttempts, justNow = false): AttemptResult => ({
    outcome: 'locked',
    until: state.lockedUntil === 0 ? null : state.lockedUntil!,
    justNow,
  });

  function fail(state: UserAttempts, limits: AttemptLimits, outcome: 'wrong' | 'replayed', counted: boolean): AttemptResult {
    if (!counted) state.failures++;
    state.failedAt = limits.now;
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
        state.steppedAt = limits.now;
        state.failures = 0;
        return { outcome: 'passed' };
      }
      return fail(state, limits, 'replayed', false);
    },
    async reserve(userId, limits) {
      const state = stateOf(userId, limits.now);
      if (state.lockedUntil !== undefined) return lockedResult(state);
      state.failures++;
      state.failedAt = limits.now;
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
      const state = peek(userId, now);
      return state?.lockedUntil === undefined ? null : { until: state.lockedUntil === 0 ? null : state.lockedUntil };
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
    prune() {
      const now = clock.now();
      for (const userId of [...users.keys()]) peek(userId, now);
      for (const [name, until] of holds) if (until <= now) holds.delete(name);
    },
    entryCount() {
      return users.size + holds.size;
    },
  };
}
