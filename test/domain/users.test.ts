import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createManualClock } from '../../src/domain/clock.ts';
import { createPasswordHasher, owaspMinimumCost, type PasswordHasher } from '../../src/domain/passwords.ts';
import { createUserService } from '../../src/domain/users.ts';
import { createMemoryUserStore } from '../../src/stores/memory/users.ts';

/** The real hasher, counting the argon2 verifications it runs. */
async function countingHasher() {
  const real = await createPasswordHasher(owaspMinimumCost);
  const counts = { verify: 0, dummy: 0 };
  const hasher: PasswordHasher = {
    hash: real.hash,
    verify: (hash, password) => (counts.verify++, real.verify(hash, password)),
    verifyDummy: (password) => (counts.dummy++, real.verifyDummy(password)),
  };
  return { hasher, counts };
}

describe('password sign-in', () => {
  it('hashes with argon2id at OWASP minimum cost or more', async () => {
    const { hasher } = await countingHasher();
    const hash = await hasher.hash('a passphrase');
    assert.match(hash, /^\$argon2id\$v=19\$m=19456,p=1,t=2\$/);
    assert.equal(await hasher.verify(hash, 'a passphrase'), true);
    assert.equal(await hasher.verify(hash, 'another'), false);
    assert.equal(await hasher.verify('not a hash', 'a passphrase'), false);
  });

  it('accepts the right password, in any case of the username', async () => {
    const { hasher } = await countingHasher();
    const service = createUserService({ users: createMemoryUserStore({ clock: createManualClock() }), hasher });
    const created = await service.create({ username: 'Quinn', password: 'quinn passphrase' });
    const result = await service.verifyPassword('quinn', 'quinn passphrase');
    assert.equal(result.ok, true);
    assert.equal(result.ok && result.user.id, created.id);
  });

  it('spends one argon2 verification on an unknown username, as on a known one', async () => {
    const { hasher, counts } = await countingHasher();
    const service = createUserService({ users: createMemoryUserStore({ clock: createManualClock() }), hasher });
    const rita = await service.create({ username: 'rita', password: 'rita passphrase' });

    assert.deepEqual(await service.verifyPassword('nobody', 'whatever'), { ok: false, reason: 'unknown_user' });
    assert.deepEqual(counts, { verify: 0, dummy: 1 });
    assert.deepEqual(await service.verifyPassword('rita', 'whatever'), { ok: false, reason: 'wrong_password', userId: rita.id });
    assert.deepEqual(counts, { verify: 1, dummy: 1 });
  });
});
