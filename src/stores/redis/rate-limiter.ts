import { randomBytes } from 'node:crypto';
import type { RateLimiter } from '../../domain/ports.ts';
import { guardRedis, redisScript, type RedisClient } from './connection.ts';

/**
 * A sliding window per key: a sorted set of hit times (the application's clock, ms). One
 * script drops the hits that left the window, then counts and adds, atomically. The set
 * expires with its window. Returns {allowed, ms until the oldest hit leaves}.
 */
const HIT = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return {0, tonumber(oldest[2]) + window - now}
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
return {1, 0}
`;

export function createRedisRateLimiter({ redis, keyPrefix }: { redis: RedisClient; keyPrefix: string }): RateLimiter {
  const hitScript = redisScript(redis, HIT, 1);
  return {
    async hit(key, limit, windowMs, now) {
      // A member of its own per hit: two hits in the same millisecond both count.
      const member = `${now}:${randomBytes(6).toString('base64url')}`;
      const [allowed, retryAfterMs] = (await guardRedis(() =>
        hitScript(`${keyPrefix}rate:${key}`, String(now), String(windowMs), String(limit), member),
      )) as [number, number];
      return { allowed: allowed === 1, retryAfterMs: Math.max(0, retryAfterMs) };
    },
  };
}
