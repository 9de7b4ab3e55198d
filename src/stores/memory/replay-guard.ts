import type { Clock } from '../../domain/clock.ts';
import type { ReplayGuard } from '../types.ts';

export function createMemoryReplayGuard({ clock }: { clock: Clock }): ReplayGuard {
  const lastSteps = new Map<string, number>();
  const holds = new Map<string, number>();
  return {
    async claimStep(userId, step, floor) {
      const current = Math.max(lastSteps.get(userId) ?? floor, floor);
      if (step <= current) return false;
      lastSteps.set(userId, step);
      return true;
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
