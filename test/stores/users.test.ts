import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAppError } from '../../src/domain/errors.ts';
import { createMemoryUserStore } from '../../src/stores/memory/users.ts';
import { createMongoUserStore } from '../../src/stores/mongo/users.ts';
import type { UserStore } from '../../src/stores/types.ts';
import { memoryImplementation, mongoImplementation, type Implementation } from './harness.ts';

const implementations: Implementation<UserStore>[] = [
  memoryImplementation((clock) => createMemoryUserStore({ clock })),
  mongoImplementation((connection, clock) => createMongoUserStore({ connection, clock })),
];

const hash = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA';

for (const impl of implementations) {
  describe(`UserStore contract: ${impl.name}`, { skip: impl.skip }, () => {
    async function withStore(fn: (store: UserStore, clock: { now(): number }) => Promise<void>) {
      const subject = await impl.open();
      try {
        await fn(subject.store, subject.clock);
      } finally {
        await subject.close();
      }
    }

    it('creates a user and finds it by id and by username in any case', () =>
      withStore(async (users, clock) => {
        const created = await users.create({ username: 'Alice', email: 'alice@example.com', name: 'Alice A', passwordHash: hash });
        assert.match(created.id, /^[0-9a-f-]{36}$/);
        assert.equal(created.disabled, false);
        assert.equal(created.createdAt.getTime(), clock.now());
        assert.deepEqual(await users.findById(created.id), created);
        assert.deepEqual(await users.findByUsername('alice'), created);
        assert.deepEqual(await users.findByUsername('ALICE'), created);
        assert.equal(await users.findByUsername('alic'), null);
        assert.equal(await users.findById('no-such-id'), null);
      }));

    it('leaves optional fields out rather than storing them empty', () =>
      withStore(async (users) => {
        const created = await users.create({ username: 'bob', passwordHash: hash });
        const found = await users.findById(created.id);
        assert.ok(found);
        assert.equal('email' in found, false);
        assert.equal('name' in found, false);
      }));

    it('refuses a username that differs from a taken one only in case', () =>
      withStore(async (users) => {
        await users.create({ username: 'carol', passwordHash: hash });
        await assert.rejects(users.create({ username: 'CAROL', passwordHash: hash }), (err) => isAppError(err, 'conflict'));
        assert.equal((await users.list({ limit: 10 })).length, 1);
      }));

    it('lists users by case-sensitive wildcard pattern, ordered, up to the limit', () =>
      withStore(async (users) => {
        for (const username of ['dave', 'Dan', 'daisy', 'eve', 'd.x']) await users.create({ username, passwordHash: hash });
        const names = async (pattern: string | undefined, limit = 10) =>
          (await users.list({ ...(pattern === undefined ? {} : { pattern }), limit })).map((u) => u.username);
        assert.deepEqual(await names(undefined), ['Dan', 'd.x', 'daisy', 'dave', 'eve']);
        assert.deepEqual(await names('da*'), ['daisy', 'dave']);
        assert.deepEqual(await names('D*'), ['Dan']);
        assert.deepEqual(await names('*e'), ['dave', 'eve']);
        assert.deepEqual(await names('d.*'), ['d.x'], 'a dot is literal, not any character');
        assert.deepEqual(await names('dave'), ['dave']);
        assert.deepEqual(await names('dav'), []);
        assert.deepEqual(await names('*', 2), ['Dan', 'd.x']);
      }));
  });
}
