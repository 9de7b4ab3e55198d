import type { OidcAdapter, OidcPayload, OidcStateStore } from '../types.ts';
import { guardRedis, redisScript, type RedisClient } from './connection.ts';

/*
 * oidc-provider state in Redis, after the adapter interface of the engine's
 * example/my_adapter.js. Each instance is a hash {payload, consumed?} under
 * `<prefix>oidc:<Model>:<id>` with the TTL oidc-provider asks for. Indexes (all under the
 * same prefix, so one hash slot in a cluster):
 *   grant:<grantId>   a set of the keys issued under a grant, for revokeByGrantId
 *   uid:<uid>         Session id by its uid, for findByUid
 *   userCode:<code>   DeviceCode id by its user code, for findByUserCode
 *   account:<id>      the account's Session and Grant keys and grant indexes, to end
 *                     every session and token of an account (password change, deletion)
 * Every write is one Lua script, so an instance and its indexes change together.
 */

const UPSERT = `
-- An index that does not apply is named ARGV[4]: a key of the same hash slot that is
-- never written, so the script's keys stay in one slot in a Redis Cluster.
local key, grantKey, uidKey, userCodeKey, accountKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local payload, ttl = ARGV[1], tonumber(ARGV[2])
redis.call('DEL', key)
redis.call('HSET', key, 'payload', payload)
if ttl > 0 then redis.call('EXPIRE', key, ttl) end
local function index(k, add)
  if k == ARGV[4] then return end
  add(k)
  if ttl > 0 then
    -- An index lives as long as the longest-lived instance in it: a key just made (no
    -- expiry yet, TTL -1) takes this instance's, a shorter one is lengthened.
    local current = redis.call('TTL', k)
    if current < ttl then redis.call('EXPIRE', k, ttl) end
  else
    redis.call('PERSIST', k)
  end
end
index(grantKey, function(k) redis.call('SADD', k, key) end)
index(uidKey, function(k) redis.call('SET', k, ARGV[3]) end)
index(userCodeKey, function(k) redis.call('SET', k, ARGV[3]) end)
index(accountKey, function(k)
  redis.call('SADD', k, key)
  if grantKey ~= ARGV[4] then redis.call('SADD', k, grantKey) end
end)
return 1
`;

// Marks an instance consumed without creating it (and so without losing its TTL).
const CONSUME = `
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.call('HSET', KEYS[1], 'consumed', ARGV[1])
end
return 0
`;

// Deletes every member of the account index; a member that is a grant index is revoked.
const END_ACCOUNT = `
for _, member in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('TYPE', member).ok == 'set' then
    for _, k in ipairs(redis.call('SMEMBERS', member)) do redis.call('DEL', k) end
  end
  redis.call('DEL', member)
end
redis.call('DEL', KEYS[1])
return 1
`;

const REVOKE = `
local keys = redis.call('SMEMBERS', KEYS[1])
for _, k in ipairs(keys) do redis.call('DEL', k) end
redis.call('DEL', KEYS[1])
return #keys
`;

export function createRedisOidcStateStore({ redis, keyPrefix }: { redis: RedisClient; keyPrefix: string }): OidcStateStore {
  const modelKey = (model: string, id: string) => `${keyPrefix}oidc:${model}:${id}`;
  const grantKey = (grantId: string) => `${keyPrefix}oidc:grant:${grantId}`;
  const uidKey = (uid: string) => `${keyPrefix}oidc:uid:${uid}`;
  const userCodeKey = (code: string) => `${keyPrefix}oidc:userCode:${code}`;
  const accountKey = (accountId: string) => `${keyPrefix}oidc:account:${accountId}`;
  const none = `${keyPrefix}oidc:-`;
  // Only these models belong to an account's sign-ins; the others come and go with a grant.
  const accountModels = new Set(['Session', 'Grant', 'AccessToken', 'RefreshToken', 'AuthorizationCode']);
  const upsert = redisScript(redis, UPSERT, 5);
  const consume = redisScript(redis, CONSUME, 1);
  const endAccount = redisScript(redis, END_ACCOUNT, 1);
  const revoke = redisScript(redis, REVOKE, 1);

  async function read(key: string): Promise<OidcPayload | undefined> {
    const hash = await guardRedis(() => redis.hgetall(key));
    if (!hash.payload) return undefined;
    const payload = JSON.parse(hash.payload) as OidcPayload;
    if (hash.consumed) payload.consumed = Number(hash.consumed);
    return payload;
  }

  function adapterFor(model: string): OidcAdapter {
    return {
      async upsert(id, payload, expiresIn) {
        const ttl = expiresIn && expiresIn > 0 ? Math.ceil(expiresIn) : 0;
        await guardRedis(() =>
          upsert(
            modelKey(model, id),
            payload.grantId ? grantKey(payload.grantId) : none,
            model === 'Session' && payload.uid ? uidKey(payload.uid) : none,
            payload.userCode ? userCodeKey(payload.userCode) : none,
            accountModels.has(model) && typeof payload.accountId === 'string' ? accountKey(payload.accountId) : none,
            JSON.stringify(payload),
            String(ttl),
            id,
            none,
          ),
        );
      },
      find: (id) => read(modelKey(model, id)),
      async findByUid(uid) {
        const id = await guardRedis(() => redis.get(uidKey(uid)));
        return id ? read(modelKey(model, id)) : undefined;
      },
      async findByUserCode(userCode) {
        const id = await guardRedis(() => redis.get(userCodeKey(userCode)));
        return id ? read(modelKey(model, id)) : undefined;
      },
      async consume(id) {
        await guardRedis(() => consume(modelKey(model, id), String(Math.floor(Date.now() / 1000))));
      },
      async destroy(id) {
        await guardRedis(() => redis.del(modelKey(model, id)));
      },
      async revokeByGrantId(grantId) {
        await guardRedis(() => revoke(grantKey(grantId)));
      },
    };
  }

  return {
    adapterFor,
    async endSessionsOf(accountId) {
      await guardRedis(() => endAccount(accountKey(accountId)));
    },
    async ttlOf(model, id) {
      const ttl = await guardRedis(() => redis.ttl(modelKey(model, id)));
      return ttl >= 0 ? ttl : null;
    },
  };
}
