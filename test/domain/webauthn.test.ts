import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { UserRecord, WebAuthnKey } from '../../src/domain/ports.ts';
import { createWebAuthnCeremonies, relyingPartyOf } from '../../src/domain/webauthn.ts';
import { SoftwareKey } from '../support/authenticator.ts';

const rp = relyingPartyOf('https://id.example.com/')!;
const ceremonies = createWebAuthnCeremonies(rp);
const at = new Date('2026-12-01T00:00:00Z');

const user = (keys: WebAuthnKey[] = []): UserRecord => ({
  id: '7d0b1c1e-5c55-4d7b-9c3e-111111111111',
  username: 'wren',
  disabled: false,
  passwordHash: 'x',
  mfa: { exempt: false, ...(keys.length ? { webauthn: keys } : {}) },
  createdAt: at,
  updatedAt: at,
});

/** Registers a software key as the server would: its checked credential, named. */
async function registered(key: SoftwareKey, holder = user()): Promise<WebAuthnKey> {
  const options = await ceremonies.creationOptions(holder);
  const checked = await ceremonies.checkCreation(
    key.create({ challenge: options.challenge, origin: rp.origin, rpId: rp.id }),
    options.challenge,
  );
  assert.ok(checked.ok);
  return { ...checked.key, name: 'My key', addedAt: at };
}

describe('WebAuthn ceremonies', () => {
  it("bind credentials to the issuer's host and origin, ask for user verification and no attestation, and leave out keys held", async () => {
    assert.deepEqual(rp, { id: 'id.example.com', name: 'id.example.com', origin: 'https://id.example.com' });
    assert.deepEqual(relyingPartyOf('http://localhost:3000'), { id: 'localhost', name: 'localhost', origin: 'http://localhost:3000' });
    for (const none of ['http://id.example.com', 'https://192.0.2.10', 'http://127.0.0.1:3000', 'https://[2001:db8::1]'])
      assert.equal(relyingPartyOf(none), undefined, `no security keys at ${none}`);
    const held = await registered(new SoftwareKey());
    const options = await ceremonies.creationOptions(user([held]));
    assert.equal(options.rp.id, 'id.example.com');
    assert.equal(options.attestation, 'none');
    assert.equal(options.authenticatorSelection?.userVerification, 'preferred');
    assert.deepEqual(
      options.excludeCredentials?.map((c) => c.id),
      [held.id],
    );
    assert.match(options.challenge, /^[\w-]{43,}$/);
    assert.notEqual((await ceremonies.creationOptions(user())).challenge, options.challenge, 'a challenge of its own each time');
    const request = await ceremonies.requestOptions(user([held]));
    assert.deepEqual(
      request.allowCredentials?.map((c) => c.id),
      [held.id],
    );
  });

  it('register a key whose answer is to this challenge, at this origin, for this host; refuse any other', async () => {
    const key = new SoftwareKey(true);
    const holder = user();
    const { challenge } = await ceremonies.creationOptions(holder);
    const checked = await ceremonies.checkCreation(key.create({ challenge, origin: rp.origin, rpId: rp.id }), challenge);
    assert.ok(checked.ok);
    assert.equal(checked.key.id, key.id.toString('base64url'));
    assert.deepEqual(
      [checked.key.counter, checked.key.deviceType, checked.key.backedUp, checked.userVerified],
      [0, 'singleDevice', false, true],
    );
    const other = (await ceremonies.creationOptions(holder)).challenge;
    const wrong = [
      key.create({ challenge: other, origin: rp.origin, rpId: rp.id }),
      key.create({ challenge, origin: 'https://id.example.com.evil.test', rpId: rp.id }),
      key.create({ challenge, origin: rp.origin, rpId: 'evil.test' }),
    ];
    for (const answer of wrong) assert.deepEqual(await ceremonies.checkCreation(answer, challenge), { ok: false, reason: 'invalid' });
    assert.deepEqual(await ceremonies.checkCreation({ id: 'x' }, challenge), { ok: false, reason: 'malformed' });
    assert.deepEqual(await ceremonies.checkCreation('not even an object', challenge), { ok: false, reason: 'malformed' });
  });

  it("accept a signature of the user's key with a counter that moved on; refuse another challenge, origin, key or a counter that went back", async () => {
    const key = new SoftwareKey();
    const stored = await registered(key);
    const holder = user([stored]);
    const { challenge } = await ceremonies.requestOptions(holder);
    const passed = await ceremonies.checkAssertion(key.get({ challenge, origin: rp.origin, rpId: rp.id }), challenge, holder);
    assert.ok(passed.ok);
    assert.deepEqual([passed.counter, passed.userVerified, passed.key.id], [1, false, stored.id]);

    const after = user([{ ...stored, counter: passed.counter }]);
    const other = (await ceremonies.requestOptions(after)).challenge;
    const refused = async (answer: unknown, reason: string, holderNow = after) =>
      assert.equal((await ceremonies.checkAssertion(answer, challenge, holderNow)).ok === false && reason, reason);
    assert.equal(
      (
        (await ceremonies.checkAssertion(key.get({ challenge: other, origin: rp.origin, rpId: rp.id }), challenge, after)) as {
          reason: string;
        }
      ).reason,
      'invalid',
    );
    assert.equal(
      (
        (await ceremonies.checkAssertion(key.get({ challenge, origin: 'https://evil.test', rpId: rp.id }), challenge, after)) as {
          reason: string;
        }
      ).reason,
      'invalid',
    );
    const stranger = new SoftwareKey();
    await registered(stranger);
    assert.equal(
      (
        (await ceremonies.checkAssertion(stranger.get({ challenge, origin: rp.origin, rpId: rp.id }), challenge, after)) as {
          reason: string;
        }
      ).reason,
      'unknown_key',
      "a key of somebody else's",
    );
    await refused({ id: stored.id }, 'malformed');

    // A copy of the key signs with the counter it had: the signature is right, the counter is not.
    key.counter = 0;
    const cloned = await ceremonies.checkAssertion(key.get({ challenge, origin: rp.origin, rpId: rp.id }), challenge, after);
    assert.deepEqual([cloned.ok, !cloned.ok && cloned.reason], [false, 'cloned']);
    // A key that keeps no counter (0 every time) is not taken for a clone.
    const counterless = new SoftwareKey();
    const kept = await registered(counterless);
    counterless.counter = -1;
    const zero = await ceremonies.checkAssertion(counterless.get({ challenge, origin: rp.origin, rpId: rp.id }), challenge, user([kept]));
    assert.deepEqual([zero.ok, zero.ok && zero.counter], [true, 0]);
  });
});
