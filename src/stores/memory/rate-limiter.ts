import { systemClock, type Clock } from '../../domain/clock.ts';
import type { RateLimiter } from '../../domain/ports.ts';
import type { Prunable } from './prunable.ts';

// Past this many keys, keys whose hits all left their window are swept away at once.
const SWEEP_ABOVE_KEYS = 10_000;

/** The embedded sliding windows: hit times per key, dropped once they leave the window. */
export function createMemoryRateLimiter({ clock = systemClock }: { clock?: Clock } = {}): RateLimiter & Prunable {
  const hits = new Map<string, { times: number[]; windowMs: number }>();
  const sweep = (now: number) => {
    for (const [key, entry] of hits) if (entry.times.every((at) => at <= now - entry.windowMs)) hits.delete(key);
  };
  return {
    async hit(key, limit, windowMs, now) {
      if (hits.size > SWEEP_ABOVE_KEYS) sweep(now);
      const recent = (hits.get(key)?.times ?? []).filter((at) => at > now - windowMs);
      hits.set(key, { times: recent, windowMs });
      if (recent.length >= limit) return { allowed: false, retryAfterMs: recent[0]! + windowMs - now };
      recent.push(now);
      return { allowed: true, retryAfterMs: 0 };
    },
    prune: () => sweep(clock.now()),
    entryCount: () => hits.size,
  };
}
