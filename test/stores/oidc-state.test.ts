import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMemoryOidcStateStore } from '../../src/stores/memory/oidc-state.ts';
import { createRedisOidcStateStore } from '../../src/stores/redis/oidc-state.ts';
import type { OidcStateStore } from '../../src/stores/types.ts';
import {
  memoryImplementation,
  redisClusterImplementation,
  redisImplementation,
  using,
  type Implementation,
  type Subject,
} from './harness.ts';

const implementations: Implementation<OidcStateStore>[] = [
  memoryImplementation((clock) => createMemoryOidcStateStore({ clock })),
  redisImplementation((redis, keyPrefix) => createRedisOidcStateStore({ redis, keyPrefix })),
  redisClusterImplementation((redis, keyPrefix) => createRedisOidcStateStore({ redis, keyPrefix })),
];

for (const impl of implementations) {
  describe(`oidc-provider adapter contract: ${impl.name}`, { skip: impl.skip }, () => {
    const withState = (fn: (subject: Subject<OidcStateStore>) => Promise<void>) => using(impl, (_store, subject) => fn(subject));

    it('finds what was upserted, per model, and replaces it on a second upsert', () =>
      withState(async ({ store }) => {
        const codes = store.adapterFor('AuthorizationCode');
        const tokens = store.adapterFor('AccessToken');
        await codes.upsert('x1', { kind: 'AuthorizationCode', accountId: 'a', scope: 'openid' }, 60);
        assert.deepEqual(await codes.find('x1'), { kind: 'AuthorizationCode', accountId: 'a', scope: 'openid' });
        assert.equal(await tokens.find('x1'), undefined, 'models do not share ids');
        await codes.upsert('x1', { kind: 'AuthorizationCode', accountId: 'b' }, 60);
        assert.deepEqual(await codes.find('x1'), { kind: 'AuthorizationCode', accountId: 'b' });
        assert.equal(await codes.find('missing'), undefined);
      }));

    it('keeps an instance for expiresIn seconds', () =>
      withState(async ({ store }) => {
        await store.adapterFor('Interaction').upsert('i1', { kind: 'Interaction' }, 600);
        const ttl = await store.ttlOf('Interaction', 'i1');
        assert.ok(ttl !== null && ttl <= 600 && ttl > 590, `ttl ${ttl}`);
        assert.equal(await store.ttlOf('Interaction', 'missing'), null);
      }));

    it('marks a consumed instance and keeps its expiry', () =>
      withState(async ({ store }) => {
        const codes = store.adapterFor('AuthorizationCode');
        await codes.upsert('c1', { kind: 'AuthorizationCode' }, 60);
        await codes.consume('c1');
        const found = await codes.find('c1');
        assert.ok(found?.consumed, 'consumed is set');
        const ttl = await store.ttlOf('AuthorizationCode', 'c1');
        assert.ok(ttl !== null && ttl <= 60 && ttl > 50);
        await codes.consume('never-stored');
        assert.equal(await codes.find('never-stored'), undefined, 'consuming nothing creates nothing');
      }));

    it('destroys an instance', () =>
      withState(async ({ store }) => {
        const sessions = store.adapterFor('Session');
        await sessions.upsert('s1', { kind: 'Session', uid: 'u1' }, 60);
        await sessions.destroy('s1');
        assert.equal(await sessions.find('s1'), undefined);
        assert.equal(await sessions.findByUid('u1'), undefined);
      }));

    it('finds a session by its uid and a device code by its user code', () =>
      withState(async ({ store }) => {
        await store.adapterFor('Session').upsert('s1', { kind: 'Session', uid: 'uid-1', accountId: 'a' }, 60);
        assert.deepEqual(await store.adapterFor('Session').findByUid('uid-1'), { kind: 'Session', uid: 'uid-1', accountId: 'a' });
        assert.equal(await store.adapterFor('Session').findByUid('uid-2'), undefined);
        await store.adapterFor('DeviceCode').upsert('d1', { kind: 'DeviceCode', userCode: 'ABCD-EFGH' }, 60);
        assert.equal((await store.adapterFor('DeviceCode').findByUserCode('ABCD-EFGH'))?.kind, 'DeviceCode');
        assert.equal(await store.adapterFor('DeviceCode').findByUserCode('WXYZ-WXYZ'), undefined);
      }));

    it('revokes every instance of a grant and nothing else', () =>
      withState(async ({ store }) => {
        const access = store.adapterFor('AccessToken');
        const refresh = store.adapterFor('RefreshToken');
        await access.upsert('a1', { kind: 'AccessToken', grantId: 'g1' }, 60);
        await refresh.upsert('r1', { kind: 'RefreshToken', grantId: 'g1' }, 3600);
        await access.upsert('a2', { kind: 'AccessToken', grantId: 'g2' }, 60);
        await access.revokeByGrantId('g1');
        assert.equal(await access.find('a1'), undefined);
        assert.equal(await refresh.find('r1'), undefined);
        assert.ok(await access.find('a2'));
      }));
  });
}

describe('memory adapter expiry', () => {
  it('forgets an instance once its expiresIn has passed on the clock', async () => {
    const subject = await memoryImplementation((clock) => createMemoryOidcStateStore({ clock })).open();
    const sessions = subject.store.adapterFor('Session');
    await sessions.upsert('s1', { kind: 'Session', uid: 'u1' }, 10);
    subject.clock.advance(9_999);
    assert.ok(await sessions.find('s1'));
    subject.clock.advance(1);
    assert.equal(await sessions.find('s1'), undefined);
    assert.equal(await sessions.findByUid('u1'), undefined);
  });
});
