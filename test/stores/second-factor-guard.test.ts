import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMemorySecondFactorGuard } from '../../src/stores/memory/second-factor-guard.ts';
import { createRedisSecondFactorGuard } from '../../src/stores/redis/second-factor-guard.ts';
import type { AttemptLimits, SecondFactorGuard } from '../../src/domain/ports.ts';
import {
  memoryImplementation,
  redisClusterImplementation,
  redisImplementation,
  using,
  type Implementation,
  type Subject,
} from './harness.ts';

const implementations: Implementation<SecondFactorGuard>[] = [
  memoryImplementation((clock) => createMemorySecondFactorGuard({ clock })),
  redisImplementation((redis, keyPrefix) => createRedisSecondFactorGuard({ redis, keyPrefix })),
  redisClusterImplementation((redis, keyPrefix) => createRedisSecondFactorGuard({ redis, keyPrefix })),
];

const T0 = 1_800_000_000_000;
const limits = (overrides: Partial<AttemptLimits> = {}): AttemptLimits => ({ maxAttempts: 5, lockoutSeconds: 900, now: T0, ...overrides });

for (const impl of implementations) {
  describe(`SecondFactorGuard contract: ${impl.name}`, { skip: impl.skip }, () => {
    const withGuard = (fn: (subject: Subject<SecondFactorGuard>) => Promise<void>) => using(impl, (_store, subject) => fn(subject));

    it('claims a step once, then only later ones, and never one at or below the floor', () =>
      withGuard(async ({ store }) => {
        assert.deepEqual(await store.attemptStep('u1', 101, 100, limits()), { outcome: 'passed' });
        assert.deepEqual(await store.attemptStep('u1', 101, 100, limits()), { outcome: 'replayed', failures: 1 });
        assert.deepEqual(
          await store.attemptStep('u1', 100, 90, limits()),
          { outcome: 'replayed', failures: 2 },
          'an earlier step, whatever the floor',
        );
        assert.deepEqual(await store.attemptStep('u1', 102, 100, limits()), { outcome: 'passed' }, 'and a pass resets the count');
        assert.deepEqual(await store.attemptStep('u2', 101, 100, limits()), { outcome: 'passed' }, 'users are apart');
        assert.deepEqual(await store.attemptStep('u3', 100, 100, limits()), { outcome: 'replayed', failures: 1 });
        assert.deepEqual(await store.attemptStep('u3', 60, 70, limits()), { outcome: 'replayed', failures: 2 });
      }));

    it('locks at the fifth consecutive wrong code, and refuses a right one while locked', () =>
      withGuard(async ({ store }) => {
        for (let failures = 1; failures < 5; failures++) {
          assert.deepEqual(await store.attemptStep('u1', null, 0, limits()), { outcome: 'wrong', failures });
        }
        assert.deepEqual(await store.attemptStep('u1', null, 0, limits()), { outcome: 'locked', until: T0 + 900_000, justNow: true });
        const whileLocked = await store.attemptStep('u1', 500, 0, limits({ now: T0 + 899_999 }));
        assert.equal(whileLocked.outcome, 'locked', 'a right code is refused while locked');
        assert.deepEqual(await store.lockOf('u1', T0 + 1), { until: T0 + 900_000 });
        // At the lock's end the user may try again, from a count of zero.
        assert.equal(await store.lockOf('u1', T0 + 900_000), null);
        assert.deepEqual(await store.attemptStep('u1', null, 0, limits({ now: T0 + 900_000 })), { outcome: 'wrong', failures: 1 });
        assert.deepEqual(
          await store.attemptStep('u1', 500, 0, limits({ now: T0 + 900_001 })),
          { outcome: 'passed' },
          'the right code after the lock',
        );
      }));

    it('resets the count on a success: only consecutive wrong codes lock', () =>
      withGuard(async ({ store }) => {
        for (let round = 0; round < 3; round++) {
          for (let i = 0; i < 4; i++) assert.equal((await store.attemptStep('u1', null, 0, limits())).outcome, 'wrong');
          assert.equal((await store.attemptStep('u1', 100 + round, 0, limits())).outcome, 'passed');
        }
      }));

    it('keeps a lock of lockoutSeconds 0 until it is unlocked', () =>
      withGuard(async ({ store }) => {
        const forever = limits({ maxAttempts: 1, lockoutSeconds: 0 });
        assert.deepEqual(await store.attemptStep('u1', null, 0, forever), { outcome: 'locked', until: null, justNow: true });
        assert.deepEqual(await store.lockOf('u1', T0 + 90 * 86_400_000), { until: null });
        await store.unlock('u1');
        assert.equal(await store.lockOf('u1', T0), null);
        assert.deepEqual(
          await store.attemptStep('u1', null, 0, limits()),
          { outcome: 'wrong', failures: 1 },
          'unlocking clears the count too',
        );
      }));

    it('lets 5 of 50 simultaneous wrong codes be counted and locks the rest out', () =>
      withGuard(async ({ store }) => {
        const results = await Promise.all(Array.from({ length: 50 }, () => store.attemptStep('u1', null, 0, limits())));
        assert.equal(results.filter((r) => r.outcome === 'wrong').length, 4);
        assert.equal(results.filter((r) => r.outcome === 'locked' && r.justNow).length, 1, 'the fifth locks');
        assert.equal(results.filter((r) => r.outcome === 'locked').length, 46);
      }));

    it('lets exactly one of 20 simultaneous claims of a step through', () =>
      withGuard(async ({ store }) => {
        const results = await Promise.all(
          Array.from({ length: 20 }, () => store.attemptStep('u1', 500, 100, limits({ maxAttempts: 100 }))),
        );
        assert.equal(results.filter((r) => r.outcome === 'passed').length, 1);
        assert.equal(results.filter((r) => r.outcome === 'replayed').length, 19);
      }));

    it('reserves at most maxAttempts checks at once and settles them', () =>
      withGuard(async ({ store }) => {
        const reserved = await Promise.all(Array.from({ length: 20 }, () => store.reserve('u1', limits())));
        assert.equal(reserved.filter((r) => r.outcome === 'reserved').length, 5, 'five checks may run');
        assert.equal(reserved.filter((r) => r.outcome === 'locked').length, 15, 'the rest are refused as locked');
        assert.equal((await store.settle('u1', true, limits())).outcome, 'locked', 'the lock stands');

        assert.equal((await store.reserve('u2', limits())).outcome, 'reserved');
        assert.deepEqual(await store.settle('u2', false, limits()), { outcome: 'wrong', failures: 1 });
        assert.equal((await store.reserve('u2', limits())).outcome, 'reserved');
        assert.deepEqual(await store.settle('u2', true, limits()), { outcome: 'passed' });
        assert.deepEqual(await store.attemptStep('u2', null, 0, limits()), { outcome: 'wrong', failures: 1 }, 'the pass reset the count');
      }));

    it('forgets a user: lock, count and claimed steps', () =>
      withGuard(async ({ store }) => {
        assert.equal((await store.attemptStep('u1', 900, 0, limits())).outcome, 'passed');
        for (let i = 0; i < 5; i++) await store.attemptStep('u1', null, 0, limits());
        assert.notEqual(await store.lockOf('u1', T0), null);
        await store.forget('u1');
        assert.equal(await store.lockOf('u1', T0), null);
        assert.deepEqual(await store.attemptStep('u1', 800, 0, limits()), { outcome: 'passed' }, 'an earlier step than the forgotten one');
      }));

    it('holds a name for one holder at a time until released', () =>
      withGuard(async ({ store }) => {
        const results = await Promise.all(Array.from({ length: 10 }, () => store.acquire('register:u1', 30)));
        assert.equal(results.filter(Boolean).length, 1);
        assert.equal(await store.acquire('register:u2', 30), true, 'names are apart');
        await store.release('register:u1');
        assert.equal(await store.acquire('register:u1', 30), true);
      }));
  });
}

describe('memory second-factor guard', () => {
  it('lets a hold lapse after its time on the clock', async () => {
    const subject = await memoryImplementation((clock) => createMemorySecondFactorGuard({ clock })).open();
    assert.equal(await subject.store.acquire('x', 30), true);
    subject.clock.advance(29_999);
    assert.equal(await subject.store.acquire('x', 30), false);
    subject.clock.advance(1);
    assert.equal(await subject.store.acquire('x', 30), true);
  });
});
