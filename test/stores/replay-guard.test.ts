import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMemoryReplayGuard } from '../../src/stores/memory/replay-guard.ts';
import { createRedisReplayGuard } from '../../src/stores/redis/replay-guard.ts';
import type { ReplayGuard } from '../../src/stores/types.ts';
import { memoryImplementation, redisImplementation, using, type Implementation, type Subject } from './harness.ts';

const implementations: Implementation<ReplayGuard>[] = [
  memoryImplementation((clock) => createMemoryReplayGuard({ clock })),
  redisImplementation((redis, keyPrefix) => createRedisReplayGuard({ redis, keyPrefix })),
];

for (const impl of implementations) {
  describe(`ReplayGuard contract: ${impl.name}`, { skip: impl.skip }, () => {
    const withGuard = (fn: (subject: Subject<ReplayGuard>) => Promise<void>) => using(impl, (_store, subject) => fn(subject));

    it('claims a step once, then only later ones', () =>
      withGuard(async ({ store }) => {
        assert.equal(await store.claimStep('u1', 101, 100), true);
        assert.equal(await store.claimStep('u1', 101, 100), false);
        assert.equal(await store.claimStep('u1', 100, 90), false, 'an earlier step, whatever the floor');
        assert.equal(await store.claimStep('u1', 102, 100), true);
        assert.equal(await store.claimStep('u2', 101, 100), true, 'users are apart');
      }));

    it('never claims a step at or below the floor', () =>
      withGuard(async ({ store }) => {
        assert.equal(await store.claimStep('u1', 100, 100), false);
        assert.equal(await store.claimStep('u1', 99, 100), false);
        assert.equal(await store.claimStep('u1', 50, 10), true);
        assert.equal(await store.claimStep('u1', 60, 70), false, 'a floor above the claimed step still counts');
      }));

    it('lets exactly one of 20 simultaneous claims of a step through', () =>
      withGuard(async ({ store }) => {
        const results = await Promise.all(Array.from({ length: 20 }, () => store.claimStep('u1', 500, 100)));
        assert.equal(results.filter(Boolean).length, 1);
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

describe('memory replay guard', () => {
  it('lets a hold lapse after its time on the clock', async () => {
    const subject = await memoryImplementation((clock) => createMemoryReplayGuard({ clock })).open();
    assert.equal(await subject.store.acquire('x', 30), true);
    subject.clock.advance(29_999);
    assert.equal(await subject.store.acquire('x', 30), false);
    subject.clock.advance(1);
    assert.equal(await subject.store.acquire('x', 30), true);
  });
});
