import type { ReplayGuard } from '../types.ts';
import { guardRedis, type RedisClient } from './connection.ts';

// The last claimed step per user outlives any window it could still fall in: at most
// 2·10 steps from now (skew 10 plus a drift bounded by it) is 10 minutes.
const STEP_TTL_SECONDS = 1800;

const CLAIM = `
local current = tonumber(redis.call('GET', KEYS[1]) or ARGV[2])
local floor = tonumber(ARGV[2])
if floor > current then current = floor end
if tonumber(ARGV[1]) <= current then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[3])
return 1
`;

export function createRedisReplayGuard({ redis, keyPrefix }: { redis: RedisClient; keyPrefix: string }): ReplayGuard {
  return {
    async claimStep(userId, step, floor) {
      const claimed = await guardRedis(() =>
        redis.eval(CLAIM, 1, `${keyPrefix}totp-step:${userId}`, String(step), String(floor), String(STEP_TTL_SECONDS)),
      );
      return claimed === 1;
    },
    async acquire(name, ttlSeconds) {
      return (await guardRedis(() => redis.set(`${keyPrefix}hold:${name}`, '1', 'EX', ttlSeconds, 'NX'))) === 'OK';
    },
    async release(name) {
      await guardRedis(() => redis.del(`${keyPrefix}hold:${name}`));
    },
  };
}
