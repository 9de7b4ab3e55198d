import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMemoryAuditLog } from '../../src/stores/memory/audit.ts';
import { createMemoryRateLimiter } from '../../src/stores/memory/rate-limiter.ts';
import { createMongoAuditLog } from '../../src/stores/mongo/audit.ts';
import { createRedisRateLimiter } from '../../src/stores/redis/rate-limiter.ts';
import type { AuditLog, RateLimiter } from '../../src/domain/ports.ts';
import {
  memoryImplementation,
  mongoImplementation,
  redisClusterImplementation,
  redisImplementation,
  using,
  type Implementation,
} from './harness.ts';

const limiters: Implementation<RateLimiter>[] = [
  memoryImplementation(() => createMemoryRateLimiter()),
  redisImplementation((redis, keyPrefix) => createRedisRateLimiter({ redis, keyPrefix })),
  redisClusterImplementation((redis, keyPrefix) => createRedisRateLimiter({ redis, keyPrefix })),
];

const T0 = 1_800_000_000_000;

for (const impl of limiters) {
  describe(`RateLimiter contract: ${impl.name}`, { skip: impl.skip }, () => {
    it('allows the limit within a sliding window, then says when the oldest hit leaves it', () =>
      using(impl, async (limiter) => {
        for (let i = 0; i < 3; i++)
          assert.deepEqual(await limiter.hit('k', 3, 60_000, T0 + i * 10_000), { allowed: true, retryAfterMs: 0 });
        assert.deepEqual(await limiter.hit('k', 3, 60_000, T0 + 30_000), { allowed: false, retryAfterMs: 30_000 });
        assert.deepEqual(await limiter.hit('other', 3, 60_000, T0 + 30_000), { allowed: true, retryAfterMs: 0 }, 'keys are apart');
        assert.deepEqual(await limiter.hit('k', 3, 60_000, T0 + 59_999), { allowed: false, retryAfterMs: 1 });
        assert.deepEqual(await limiter.hit('k', 3, 60_000, T0 + 60_000), { allowed: true, retryAfterMs: 0 }, 'the first hit has left');
        assert.deepEqual(
          await limiter.hit('k', 3, 60_000, T0 + 60_001),
          { allowed: false, retryAfterMs: 9_999 },
          'the window slides, not resets',
        );
      }));

    it('counts a hit against several windows in turn, stopping at the first full one', () =>
      using(impl, async (limiter) => {
        const ip = { key: 'ip', limit: 3, windowMs: 60_000 };
        const account = { key: 'account', limit: 2, windowMs: 10_000 };
        assert.deepEqual(await limiter.hitInTurn([ip, account], T0), { allowed: true, retryAfterMs: 0, refusedBy: -1 });
        assert.deepEqual(await limiter.hitInTurn([ip, account], T0 + 1_000), { allowed: true, retryAfterMs: 0, refusedBy: -1 });
        assert.deepEqual(
          await limiter.hitInTurn([ip, account], T0 + 2_000),
          { allowed: false, retryAfterMs: 8_000, refusedBy: 1 },
          'the second window is full: its oldest hit leaves in 8 s',
        );
        assert.deepEqual(
          await limiter.hitInTurn([ip, account], T0 + 3_000),
          { allowed: false, retryAfterMs: 57_000, refusedBy: 0 },
          'the hit refused by the second window still counted in the first',
        );
        assert.deepEqual(
          await limiter.hit('account', 2, 10_000, T0 + 10_000),
          { allowed: true, retryAfterMs: 0 },
          'the hit the first window refused did not count in the second',
        );
      }));

    it('allows exactly the limit of 50 simultaneous hits against two windows', () =>
      using(impl, async (limiter) => {
        const windows = [
          { key: 'wide', limit: 30, windowMs: 60_000 },
          { key: 'narrow', limit: 10, windowMs: 60_000 },
        ];
        const results = await Promise.all(Array.from({ length: 50 }, () => limiter.hitInTurn(windows, T0)));
        assert.equal(results.filter((r) => r.allowed).length, 10);
        assert.equal(results.filter((r) => r.refusedBy === 1).length, 20, 'the narrow window refused until the wide one was full');
        assert.equal(results.filter((r) => r.refusedBy === 0).length, 20);
      }));

    it('allows exactly the limit of 50 simultaneous hits', () =>
      using(impl, async (limiter) => {
        const results = await Promise.all(Array.from({ length: 50 }, () => limiter.hit('k', 10, 60_000, T0)));
        assert.equal(results.filter((r) => r.allowed).length, 10);
      }));
  });
}

const audits: Implementation<AuditLog>[] = [
  memoryImplementation((clock) => createMemoryAuditLog({ clock, retentionDays: 90 })),
  mongoImplementation((connection) => createMongoAuditLog({ connection, retentionDays: 90 })),
];

describe('audit retention', () => {
  it('drops events older than the retention from the embedded log', async () => {
    const subject = await memoryImplementation((clock) => createMemoryAuditLog({ clock, retentionDays: 2 })).open();
    const { store: audit, clock } = subject;
    await audit.record({ at: new Date(clock.now()), type: 'user.created', outcome: 'success', userId: 'old' });
    clock.advance(2 * 86_400_000 + 1);
    await audit.record({ at: new Date(clock.now()), type: 'user.created', outcome: 'success', userId: 'new' });
    assert.deepEqual(
      (await audit.list({ limit: 10 })).events.map((e) => e.userId),
      ['new'],
    );
  });

  it("keeps a TTL index on the time of the Mongo log's events, set to the retention", { skip: audits[1]!.skip }, async () => {
    const { connectMongo } = await import('../../src/stores/mongo/connection.ts');
    const { freshMongoUri } = await import('../support/env.ts');
    const connection = await connectMongo({ uri: freshMongoUri(), serverSelectionTimeoutMs: 5000 });
    try {
      await createMongoAuditLog({ connection, retentionDays: 90 });
      const indexes = await connection.collection('audit').indexes();
      assert.equal(indexes.find((index) => index.name === 'at_retention')?.expireAfterSeconds, 90 * 86_400);
    } finally {
      await connection.dropDatabase();
      await connection.close();
    }
  });
});

for (const impl of audits) {
  describe(`AuditLog contract: ${impl.name}`, { skip: impl.skip }, () => {
    it('lists events newest first, by user and by type, up to the limit', () =>
      using(impl, async (audit) => {
        await audit.record({
          at: new Date(T0),
          type: 'mfa.passed',
          outcome: 'success',
          userId: 'u1',
          ip: '127.0.0.1',
          userAgent: 'ua',
          clientId: 'app',
          reason: 'totp',
        });
        await audit.record({ at: new Date(T0 + 1), type: 'mfa.refused', outcome: 'failure', userId: 'u2', reason: 'wrong' });
        await audit.record({ at: new Date(T0 + 2), type: 'mfa.unlocked', outcome: 'success', userId: 'u1', actor: 'admin' });
        const all = (await audit.list({ limit: 10 })).events;
        assert.deepEqual(
          all.map((e) => e.type),
          ['mfa.unlocked', 'mfa.refused', 'mfa.passed'],
        );
        assert.deepEqual(all[2], {
          at: new Date(T0),
          type: 'mfa.passed',
          outcome: 'success',
          userId: 'u1',
          ip: '127.0.0.1',
          userAgent: 'ua',
          clientId: 'app',
          reason: 'totp',
        });
        assert.deepEqual(
          (await audit.list({ userId: 'u1', limit: 10 })).events.map((e) => e.type),
          ['mfa.unlocked', 'mfa.passed'],
        );
        assert.deepEqual(
          (await audit.list({ type: 'mfa.refused', limit: 10 })).events.map((e) => e.userId),
          ['u2'],
        );
        assert.deepEqual(
          (await audit.list({ since: new Date(T0 + 1), limit: 10 })).events.map((e) => e.type),
          ['mfa.unlocked', 'mfa.refused'],
        );
        const first = await audit.list({ limit: 2 });
        assert.equal(first.events.length, 2);
        assert.ok(first.next, 'a cursor to the rest');
        const second = await audit.list({ limit: 2, cursor: first.next });
        assert.deepEqual(
          second.events.map((e) => e.type),
          ['mfa.passed'],
        );
        assert.equal(second.next, undefined);
        await assert.rejects(
          audit.list({ limit: 2, cursor: 'not a cursor' }),
          (err) => (err as { code?: string }).code === 'invalid_request',
        );
      }));

    it('writes several events of one call in their order, and none for an empty call', () =>
      using(impl, async (audit) => {
        await audit.record();
        await audit.record(
          { at: new Date(T0), type: 'mfa.passed', outcome: 'success', userId: 'u1', reason: 'totp' },
          { at: new Date(T0), type: 'signin.succeeded', outcome: 'success', userId: 'u1', factor: 'totp', clientId: 'app' },
        );
        const { events } = await audit.list({ userId: 'u1', limit: 10 });
        assert.deepEqual(
          events.map((e) => [e.type, e.factor ?? e.reason]),
          [
            ['signin.succeeded', 'totp'],
            ['mfa.passed', 'totp'],
          ],
          'newest (the later of the call) first',
        );
        assert.equal((await audit.list({ limit: 10 })).events.length, 2);
      }));

    it('filters by several users, by application (signed in to or changed) and by a time range, and keeps changes', () =>
      using(impl, async (audit) => {
        const changes = [{ field: 'enabled', from: 'true', to: 'false' }];
        await audit.record({
          at: new Date(T0),
          type: 'signin.succeeded',
          outcome: 'success',
          userId: 'u1',
          clientId: 'crm',
          factor: 'totp',
        });
        await audit.record({ at: new Date(T0 + 1000), type: 'client.updated', outcome: 'success', actor: 'admin', targetClientId: 'crm' });
        await audit.record({ at: new Date(T0 + 2000), type: 'signin.succeeded', outcome: 'success', userId: 'u2', clientId: 'wiki' });
        await audit.record({ at: new Date(T0 + 3000), type: 'settings.updated', outcome: 'success', actor: 'admin', changes });
        const types = async (query: Omit<Parameters<typeof audit.list>[0], 'limit'>) =>
          (await audit.list({ ...query, limit: 10 })).events.map((e) => `${e.type}:${e.userId ?? e.targetClientId ?? '-'}`);
        assert.deepEqual(await types({ clientId: 'crm' }), ['client.updated:crm', 'signin.succeeded:u1']);
        assert.deepEqual(await types({ userIds: ['u2', 'u3'] }), ['signin.succeeded:u2']);
        assert.deepEqual(await types({ userIds: [] }), [], 'no user matched: no events');
        assert.deepEqual(await types({ since: new Date(T0 + 1000), until: new Date(T0 + 3000) }), [
          'signin.succeeded:u2',
          'client.updated:crm',
        ]);
        const [settings] = (await audit.list({ type: 'settings.updated', limit: 1 })).events;
        assert.deepEqual(settings!.changes, changes);
        const [signin] = (await audit.list({ clientId: 'crm', type: 'signin.succeeded', limit: 1 })).events;
        assert.equal(signin!.factor, 'totp');
      }));
  });
}
