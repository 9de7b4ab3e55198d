import { randomBytes } from 'node:crypto';
import type { RateLimiter } from '../../domain/ports.ts';
import { guardRedis, redisScript, type RedisClient } from './connection.ts';

/**
 * Sliding windows: a sorted set of hit times per key (the application's clock, ms). For
 * each key in turn, one script drops the hits that left its window, then counts and adds,
 * atomically; the first full window refuses (the windows before it keep their hit), and
 * the keys after it are left as they are.
 * Each set expires with its window. Returns {allowed, ms until the oldest hit of the
 * refusing window leaves it, its index (from 0) or -1}. ARGV: now, member, then window
 * and limit per key.
 */
const HIT_IN_TURN = `
local now = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local window = tonumber(ARGV[1 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= tonumber(ARGV[2 + 2 * i]) then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    return {0, tonumber(oldest[2]) + window - now, i - 1}
  end
  redis.call('ZADD', key, now, ARGV[2])
  redis.call('PEXPIRE', key, window)
end
return {1, 0, -1}
`;

export function createRedisRateLimiter({ redis, keyPrefix }: { redis: RedisClient; keyPrefix: string }): RateLimiter {
  // The key count is the script's first argument: one script for any number of windows.
  const hitScript = redisScript(redis, HIT_IN_TURN);
  const limiter: RateLimiter = {
    async hit(key, limit, windowMs, now) {
      const { allowed, retryAfterMs } = await limiter.hitInTurn([{ key, limit, windowMs }], now);
      return { allowed, retryAfterMs };
    },
    async hitInTurn(windows, now) {
      // A member of its own per hit: two hits in the same millisecond both count.
      const member = `${now}:${randomBytes(6).toString('base64url')}`;
      const [allowed, retryAfterMs, refusedBy] = (await guardRedis(() =>
        hitScript(
          windows.length,
          ...windows.map(({ key }) => `${keyPrefix}rate:${key}`),
          String(now),
          member,
          ...windows.flatMap(({ limit, windowMs }) => [String(windowMs), String(limit)]),
        ),
      )) as [number, number, number];
      return { allowed: allowed === 1, retryAfterMs: Math.max(0, retryAfterMs), refusedBy };
    },
  };
  return limiter;
}
