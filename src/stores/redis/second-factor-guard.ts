import type { AttemptResult, SecondFactorGuard } from '../../domain/ports.ts';
import { guardRedis, redisScript, type RedisClient } from './connection.ts';

// The last claimed step of a user outlives any window it could still fall in (at most
// skewSteps 10 + drift 2 steps from now: 6 minutes).
const STEP_TTL_SECONDS = 1800;
// Consecutive wrong codes are counted until a day passes without one.
const FAILURES_TTL_SECONDS = 86_400;

/**
 * One script for every attempt, so the lock check, the claim and the count are a single
 * atomic step on the server. KEYS: lock, failures, step. ARGV: mode, step, floor,
 * maxAttempts, lockoutSeconds, now (ms, the application's clock, so tests can move it).
 * The lock holds its end time (0: until an administrator unlocks) and expires with it.
 * Returns {outcome, number}: the failures so far, or the lock's end (-1: none).
 */
const ATTEMPT = `
local now = tonumber(ARGV[6])
local locked = redis.call('GET', KEYS[1])
if locked then
  local untilMs = tonumber(locked)
  if untilMs == 0 or untilMs > now then return {'locked', untilMs == 0 and -1 or untilMs} end
  redis.call('DEL', KEYS[1], KEYS[2])
end
local mode = ARGV[1]
if mode == 'peek' then return {'open', 0} end
local outcome = 'wrong'
if mode == 'step' then
  local step = tonumber(ARGV[2])
  local current = tonumber(redis.call('GET', KEYS[3]) or ARGV[3])
  if tonumber(ARGV[3]) > current then current = tonumber(ARGV[3]) end
  if step > current then
    redis.call('SET', KEYS[3], ARGV[2], 'EX', ${STEP_TTL_SECONDS})
    redis.call('DEL', KEYS[2])
    return {'passed', 0}
  end
  outcome = 'replayed'
elseif mode == 'settle-passed' then
  redis.call('DEL', KEYS[2])
  return {'passed', 0}
end
local failures
if mode == 'settle-failed' then
  failures = tonumber(redis.call('GET', KEYS[2]) or '1')
else
  failures = redis.call('INCR', KEYS[2])
  redis.call('EXPIRE', KEYS[2], ${FAILURES_TTL_SECONDS})
end
local maxAttempts = tonumber(ARGV[4])
if mode == 'reserve' then
  if failures > maxAttempts then mode = 'lock' else return {'reserved', failures} end
end
if failures >= maxAttempts then
  local seconds = tonumber(ARGV[5])
  redis.call('DEL', KEYS[2])
  if seconds == 0 then
    redis.call('SET', KEYS[1], '0')
    return {'locked-now', -1}
  end
  local untilMs = now + seconds * 1000
  redis.call('SET', KEYS[1], tostring(untilMs), 'PX', seconds * 1000)
  return {'locked-now', untilMs}
end
return {outcome, failures}
`;

export function createRedisSecondFactorGuard({ redis, keyPrefix }: { redis: RedisClient; keyPrefix: string }): SecondFactorGuard {
  const attempt = redisScript(redis, ATTEMPT, 3);
  const keys = (userId: string) => [
    `${keyPrefix}mfa-lock:${userId}`,
    `${keyPrefix}mfa-failures:${userId}`,
    `${keyPrefix}totp-step:${userId}`,
  ];

  async function run(
    userId: string,
    mode: string,
    step: number,
    floor: number,
    limits: { maxAttempts: number; lockoutSeconds: number; now: number },
  ) {
    const [outcome, value] = (await guardRedis(() =>
      attempt(
        ...keys(userId),
        mode,
        String(step),
        String(floor),
        String(limits.maxAttempts),
        String(limits.lockoutSeconds),
        String(limits.now),
      ),
    )) as [string, number];
    return { outcome, value };
  }

  function toResult({ outcome, value }: { outcome: string; value: number }): AttemptResult {
    switch (outcome) {
      case 'passed':
        return { outcome: 'passed' };
      case 'reserved':
        return { outcome: 'reserved' };
      case 'locked':
      case 'locked-now':
        return { outcome: 'locked', until: value === -1 ? null : value, justNow: outcome === 'locked-now' };
      case 'replayed':
        return { outcome: 'replayed', failures: value };
      default:
        return { outcome: 'wrong', failures: value };
    }
  }

  return {
    async attemptStep(userId, step, floor, limits) {
      return toResult(await run(userId, step === null ? 'wrong' : 'step', step ?? 0, floor, limits));
    },
    async reserve(userId, limits) {
      return toResult(await run(userId, 'reserve', 0, 0, limits));
    },
    async settle(userId, passed, limits) {
      return toResult(await run(userId, passed ? 'settle-passed' : 'settle-failed', 0, 0, limits));
    },
    async lockOf(userId, now) {
      const result = await run(userId, 'peek', 0, 0, { maxAttempts: 1, lockoutSeconds: 0, now });
      return result.outcome === 'locked' ? { until: result.value === -1 ? null : result.value } : null;
    },
    async unlock(userId) {
      const [lock, failures] = keys(userId);
      await guardRedis(() => redis.del(lock!, failures!));
    },
    async forget(userId) {
      await guardRedis(() => redis.del(...keys(userId)));
    },
    async acquire(name, ttlSeconds) {
      return (await guardRedis(() => redis.set(`${keyPrefix}hold:${name}`, '1', 'EX', ttlSeconds, 'NX'))) === 'OK';
    },
    async release(name) {
      await guardRedis(() => redis.del(`${keyPrefix}hold:${name}`));
    },
  };
}
