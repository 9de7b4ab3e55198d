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
  // Synchronous: no other hit runs between the count and the add.
  const hit = (key: string, limit: number, windowMs: number, now: number) => {
    if (hits.size > SWEEP_ABOVE_KEYS) sweep(now);
    const recent = (hits.get(key)?.times ?? []).filter((at) => at > now - windowMs);
    hits.set(key, { times: recent, windowMs });
    if (recent.length >= limit) return { allowed: false, retryAfterMs: recent[0]! + windowMs - now };
    recent.push(now);
    return { allowed: true, retryAfterMs: 0 };
  };
  return {
    hit: async (key, limit, windowMs, now) => hit(key, limit, windowMs, now),
    async hitInTurn(windows, now) {
      for (const [index, { key, limit, windowMs }] of windows.entries()) {
        const result = hit(key, limit, windowMs, now);
        if (!result.allowed) return { ...result, refusedBy: index };
      }
      return { allowed: true, retryAfterMs: 0, refusedBy: -1 };
    },
    prune: () => sweep(clock.now()),
    entryCount: () => hits.size,
  };
}
