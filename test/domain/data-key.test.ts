import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { createDataKeyring, keyIdOf } from '../../src/domain/data-key.ts';
import { isAppError } from '../../src/domain/errors.ts';

describe('data key sealing', () => {
  const oldKey = randomBytes(32);
  const newKey = randomBytes(32);

  it('opens what it sealed, and the sealed text shows neither the value nor the key', () => {
    const keyring = createDataKeyring([newKey]);
    const sealed = keyring.seal('JBSWY3DPEHPK3PXP', 'totp-secret');
    assert.equal(keyring.open(sealed, 'totp-secret'), 'JBSWY3DPEHPK3PXP');
    assert.equal(sealed.includes('JBSWY3DPEHPK3PXP'), false);
    assert.equal(sealed.split('.')[1], keyIdOf(newKey), 'names the key that sealed it');
    assert.notEqual(keyring.seal('same', 'p'), keyring.seal('same', 'p'), 'a fresh IV every time');
  });

  it('rotates: values sealed under an old key open once it is listed after the new one', () => {
    const sealedOld = createDataKeyring([oldKey]).seal('client secret', 'client-secret');
    const rotated = createDataKeyring([newKey, oldKey]);
    assert.equal(rotated.open(sealedOld, 'client-secret'), 'client secret');
    assert.equal(rotated.seal('x', 'p').split('.')[1], keyIdOf(newKey), 'the first key seals');
    assert.throws(
      () => createDataKeyring([newKey]).open(sealedOld, 'client-secret'),
      (err) => isAppError(err, 'internal'),
    );
  });

  it('refuses a value sealed for another purpose, or altered in any part', () => {
    const keyring = createDataKeyring([newKey]);
    const sealed = keyring.seal('secret', 'client-secret');
    assert.throws(
      () => keyring.open(sealed, 'oidc-signing-keys'),
      (err) => isAppError(err, 'internal'),
    );
    const parts = sealed.split('.');
    for (const index of [2, 3, 4]) {
      const altered = [...parts];
      const bytes = Buffer.from(altered[index]!, 'base64url');
      bytes[0] = bytes[0]! ^ 1;
      altered[index] = bytes.toString('base64url');
      assert.throws(
        () => keyring.open(altered.join('.'), 'client-secret'),
        (err) => isAppError(err, 'internal'),
        `part ${index}`,
      );
    }
    assert.throws(
      () => keyring.open('not sealed', 'client-secret'),
      (err) => isAppError(err, 'internal'),
    );
  });

  it('refuses keys that are not 32 bytes', () => {
    assert.throws(() => createDataKeyring([randomBytes(16)]));
    assert.throws(() => createDataKeyring([]));
  });
});
