import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAppError } from '../../src/domain/errors.ts';
import { createMemoryUserStore } from '../../src/stores/memory/users.ts';
import { createMongoUserStore } from '../../src/stores/mongo/users.ts';
import { TOTP_APPS_MAX, WEBAUTHN_KEYS_MAX, type RememberedDevice, type UserStore, type WebAuthnKey } from '../../src/domain/ports.ts';
import { REMEMBERED_DEVICES_MAX } from '../../src/domain/remembered-devices.ts';
import { memoryImplementation, mongoImplementation, using, type Implementation } from './harness.ts';
import { createManualClock } from '../../src/domain/clock.ts';
import { connectMongo } from '../../src/stores/mongo/connection.ts';
import { freshMongoUri, realStoresSkip } from '../support/env.ts';

const implementations: Implementation<UserStore>[] = [
  memoryImplementation((clock) => createMemoryUserStore({ clock })),
  mongoImplementation((connection, clock) => createMongoUserStore({ connection, clock })),
];

const hash = '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA';

const webauthnKey = (id: string, change: Partial<WebAuthnKey> = {}): WebAuthnKey => ({
  id,
  publicKey: `public-key-of-${id}`,
  counter: 0,
  transports: ['usb'],
  deviceType: 'singleDevice',
  backedUp: false,
  name: `Key ${id}`,
  addedAt: new Date('2026-04-01T00:00:00Z'),
  ...change,
});

const browser = (id: string, day = 1): RememberedDevice => ({
  id,
  tokenHash: `hash-of-${id}`,
  browser: 'Firefox on Linux',
  clientId: 'crm',
  rememberedAt: new Date(`2026-04-${String(day).padStart(2, '0')}T00:00:00Z`),
  expiresAt: new Date(`2026-05-${String(day).padStart(2, '0')}T00:00:00Z`),
});

for (const impl of implementations) {
  describe(`UserStore contract: ${impl.name}`, { skip: impl.skip }, () => {
    const withStore = (fn: (store: UserStore, clock: { now(): number }) => Promise<void>) =>
      using(impl, (store, subject) => fn(store, subject.clock));

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

    it('keeps the administrator role given at creation, and takes it away again', () =>
      withStore(async (users, clock) => {
        const admin = await users.create({ username: 'root', role: 'admin', passwordHash: hash });
        assert.equal(admin.role, 'admin');
        assert.equal((await users.findById(admin.id))?.role, 'admin');
        assert.equal((await users.findByUsername('ROOT'))?.role, 'admin');
        assert.equal('role' in (await users.create({ username: 'plain', passwordHash: hash })), false);
        await users.update(admin.id, { role: null }, new Date(clock.now()));
        assert.equal('role' in (await users.findById(admin.id))!, false);
      }));

    it('refuses a username that differs from a taken one only in case', () =>
      withStore(async (users) => {
        await users.create({ username: 'carol', passwordHash: hash });
        await assert.rejects(users.create({ username: 'CAROL', passwordHash: hash }), (err) => isAppError(err, 'conflict'));
        assert.equal((await users.list({ limit: 10 })).users.length, 1);
      }));

    it('lists users by case-sensitive wildcard pattern, ordered, up to the limit', () =>
      withStore(async (users) => {
        for (const username of ['dave', 'Dan', 'daisy', 'eve', 'd.x']) await users.create({ username, passwordHash: hash });
        const names = async (pattern: string | undefined, limit = 10) =>
          (await users.list({ ...(pattern === undefined ? {} : { pattern }), limit })).users.map((u) => u.username);
        assert.deepEqual(await names(undefined), ['Dan', 'd.x', 'daisy', 'dave', 'eve']);
        assert.deepEqual(await names('da*'), ['daisy', 'dave']);
        assert.deepEqual(await names('D*'), ['Dan']);
        assert.deepEqual(await names('*e'), ['dave', 'eve']);
        assert.deepEqual(await names('d.*'), ['d.x'], 'a dot is literal, not any character');
        assert.deepEqual(await names('dave'), ['dave']);
        assert.deepEqual(await names('dav'), []);
        assert.deepEqual(await names('*', 2), ['Dan', 'd.x']);
        assert.deepEqual(await names('*a*a*'), []);
        assert.deepEqual(await names('d*s*'), ['daisy']);
        assert.deepEqual(await names('[da]*'), [], 'brackets are literal too');
      }));

    it('finds users whose username, email or name contains a text, ignoring case, and lists the exempt ones', () =>
      withStore(async (users) => {
        await users.create({ username: 'jsmith', passwordHash: hash, email: 'Jo.Smith@example.com', name: 'Jo Smith' });
        await users.create({ username: 'pat', passwordHash: hash, name: 'Patricia SMITHERS' });
        await users.create({ username: 'Blacksmith', passwordHash: hash });
        const kim = await users.create({ username: 'kim', passwordHash: hash, email: 'kim@smith.example' });
        await users.create({ username: 'lee', passwordHash: hash, email: 'lee@example.com' });
        const names = async (query: { contains?: string; exempt?: boolean }) =>
          (await users.list({ ...query, limit: 10 })).users.map((u) => u.username);
        assert.deepEqual(await names({ contains: 'smith' }), ['Blacksmith', 'jsmith', 'kim', 'pat'], 'username, email and name');
        assert.deepEqual(await names({ contains: 'JO' }), ['jsmith']);
        assert.deepEqual(await names({ contains: '*' }), [], 'a star is only a star here');
        assert.deepEqual(await names({ exempt: true }), []);
        await users.update(kim.id, { exempt: true }, new Date());
        assert.deepEqual(await names({ exempt: true }), ['kim']);
        assert.deepEqual(await names({ exempt: true, contains: 'lee' }), []);
      }));

    it('pages through users with a cursor, each page after the last name of the one before', () =>
      withStore(async (users) => {
        for (let i = 0; i < 7; i++) await users.create({ username: `user${i}`, passwordHash: hash });
        await users.create({ username: 'other', passwordHash: hash });
        const first = await users.list({ pattern: 'user*', limit: 3 });
        assert.deepEqual(
          first.users.map((u) => u.username),
          ['user0', 'user1', 'user2'],
        );
        assert.equal(first.next, 'user2');
        const second = await users.list({ pattern: 'user*', limit: 3, after: first.next! });
        assert.deepEqual(
          second.users.map((u) => u.username),
          ['user3', 'user4', 'user5'],
        );
        const third = await users.list({ pattern: 'user*', limit: 3, after: second.next! });
        assert.deepEqual(
          third.users.map((u) => u.username),
          ['user6'],
        );
        assert.equal(third.next, undefined);
      }));

    it('keeps the last sign-in and the last attempt', () =>
      withStore(async (users) => {
        const created = await users.create({ username: 'lara', passwordHash: hash });
        const at = new Date('2026-05-01T10:00:00Z');
        await users.recordSignIn(created.id, { at, ip: '192.0.2.1', userAgent: 'Firefox', succeeded: true });
        const later = new Date('2026-05-02T10:00:00Z');
        await users.recordSignIn(created.id, { at: later, ip: '192.0.2.2', succeeded: false });
        const found = await users.findById(created.id);
        assert.deepEqual(found?.lastLogin, { at, ip: '192.0.2.1', userAgent: 'Firefox' });
        assert.deepEqual(found?.lastAttemptAt, later);
      }));

    it('records a sign-in attempt with the lookup by name that asks to, and only then', () =>
      withStore(async (users) => {
        const created = await users.create({ username: 'Lena', passwordHash: hash });
        assert.equal((await users.findByUsername('lena'))?.lastAttemptAt, undefined, 'a plain lookup records nothing');
        assert.equal((await users.findById(created.id))?.lastAttemptAt, undefined);
        const at = new Date('2026-05-03T10:00:00Z');
        const found = await users.findByUsername('LENA', at);
        assert.equal(found?.id, created.id);
        assert.deepEqual(found?.lastAttemptAt, at, 'the record returned has the attempt');
        assert.deepEqual((await users.findById(created.id))?.lastAttemptAt, at, 'and the attempt is stored');
        assert.equal(await users.findByUsername('nobody', at), null);
      }));

    it('changes the password hash, and sets and removes email and name', () =>
      withStore(async (users) => {
        const created = await users.create({ username: 'mia', email: 'mia@example.com', passwordHash: hash });
        const at = new Date('2026-05-01T10:00:00Z');
        const changed = await users.update(created.id, { passwordHash: `${hash}2`, email: null, name: 'Mia M' }, at);
        assert.equal(changed?.passwordHash, `${hash}2`);
        assert.equal('email' in changed!, false);
        assert.equal(changed?.name, 'Mia M');
        assert.deepEqual(await users.findById(created.id), changed);
      }));

    const APP = '00000000000000a1';
    const device = (lastStep: number, id = APP) => ({
      id,
      name: `App ${id.slice(-2)}`,
      sealedSecret: 'v1.kid.iv.ct.tag',
      registeredAt: new Date('2026-01-01T00:00:00Z'),
      lastStep,
      drift: 0,
    });

    it('starts a user with no second factor and not exempt', () =>
      withStore(async (users) => {
        const created = await users.create({ username: 'frank', passwordHash: hash });
        assert.deepEqual(created.mfa, { exempt: false });
        assert.deepEqual((await users.findById(created.id))?.mfa, { exempt: false });
      }));

    it('changes disabled and exempt, and answers null for an unknown user', () =>
      withStore(async (users) => {
        const created = await users.create({ username: 'gina', passwordHash: hash });
        const at = new Date('2026-03-01T00:00:00Z');
        const changed = await users.update(created.id, { disabled: true, exempt: true }, at);
        assert.equal(changed?.disabled, true);
        assert.equal(changed?.mfa.exempt, true);
        assert.deepEqual(changed?.updatedAt, at);
        assert.deepEqual(await users.findById(created.id), changed);
        const back = await users.update(created.id, { exempt: false }, at);
        assert.equal(back?.disabled, true, 'a key not in the patch stays');
        assert.equal(back?.mfa.exempt, false);
        assert.equal(await users.update('no-such-id', { disabled: true }, at), null);
      }));

    it('adds apps beside the first up to the most a user may have, renames and removes one, each on its own', () =>
      withStore(async (users) => {
        const user = await users.create({ username: 'hana-apps', passwordHash: hash });
        assert.equal(
          await users.addDevice(user.id, device(10, '00000000000000b1')),
          true,
          'an app added on the account page may be the first',
        );
        const more = ['00000000000000b2', '00000000000000b3', '00000000000000b4', '00000000000000b5', '00000000000000b6'];
        const added = await Promise.all(more.map((id) => users.addDevice(user.id, device(10, id))));
        assert.equal(added.filter(Boolean).length, TOTP_APPS_MAX - 1, 'no more than the most, even at the same moment');
        assert.equal((await users.findById(user.id))!.mfa.apps!.length, TOTP_APPS_MAX);
        assert.equal(await users.registerDevice(user.id, device(1)), false, 'a sign-in registers only the first');
        assert.equal(await users.renameDevice(user.id, '00000000000000b1', 'Work phone'), true);
        assert.equal(await users.renameDevice(user.id, '0000000000000000', 'Nobody'), false);
        const at = new Date('2026-04-02T00:00:00Z');
        // Each app's steps are its own: a step of one says nothing of another's.
        assert.equal(await users.acceptStep(user.id, '00000000000000b1', { step: 20, drift: 0, lastOffset: 0, at }), true);
        const second = (await users.findById(user.id))!.mfa.apps![1]!;
        assert.equal(await users.acceptStep(user.id, second.id, { step: 20, drift: 0, lastOffset: 0, at }), true);
        assert.equal(await users.acceptStep(user.id, second.id, { step: 20, drift: 0, lastOffset: 0, at }), false);
        assert.equal(await users.resealDevice(user.id, second.id, 'v1.kid.iv.ct.tag', 'v1.new.iv.ct.tag'), true);
        assert.equal(
          await users.resealDevice(user.id, second.id, 'v1.kid.iv.ct.tag', 'v1.other.iv.ct.tag'),
          false,
          'only from the old value',
        );
        const apps = (await users.findById(user.id))!.mfa.apps!;
        assert.deepEqual(
          apps.map((app) => [app.name, app.lastStep, app.sealedSecret]),
          [
            ['Work phone', 20, 'v1.kid.iv.ct.tag'],
            [second.name, 20, 'v1.new.iv.ct.tag'],
            ...apps.slice(2).map((app) => [app.name, 10, 'v1.kid.iv.ct.tag']),
          ],
        );
        const removals = await Promise.all(Array.from({ length: 20 }, () => users.removeDevice(user.id, '00000000000000b1')));
        assert.deepEqual(
          removals.filter((removed) => removed !== null).map((removed) => removed!.name),
          ['Work phone'],
          'one of 20 simultaneous removals, naming it',
        );
        assert.equal((await users.findById(user.id))!.mfa.apps!.length, TOTP_APPS_MAX - 1);
        assert.equal(
          await users.acceptStep(user.id, '00000000000000b1', { step: 30, drift: 0, lastOffset: 0, at }),
          false,
          'a removed app',
        );
      }));

    it('marks a registration pending, and registering the device clears the mark', () =>
      withStore(async (users) => {
        const created = await users.create({ username: 'hugo', passwordHash: hash });
        const at = new Date('2026-02-01T00:00:00Z');
        await users.markRegistrationPending(created.id, at);
        assert.deepEqual((await users.findById(created.id))?.mfa.pendingSince, at);
        assert.equal(await users.registerDevice(created.id, device(100)), true);
        const registered = await users.findById(created.id);
        assert.deepEqual(registered?.mfa.apps, [device(100)]);
        assert.equal(registered?.mfa.pendingSince, undefined);
        await users.markRegistrationPending(created.id, at);
        assert.equal((await users.findById(created.id))?.mfa.pendingSince, undefined, 'no pending mark over a device');
      }));

    it('registers one device only: a second registration is refused and changes nothing', () =>
      withStore(async (users) => {
        const created = await users.create({ username: 'iris', passwordHash: hash });
        assert.equal(await users.registerDevice(created.id, device(1)), true);
        assert.equal(await users.registerDevice(created.id, device(2)), false);
        assert.deepEqual((await users.findById(created.id))?.mfa.apps, [device(1)]);
        assert.equal(await users.registerDevice('no-such-id', device(1)), false);
      }));

    it('accepts a time step once, later steps after it, and an earlier one never', () =>
      withStore(async (users) => {
        const created = await users.create({ username: 'jack', passwordHash: hash });
        await users.registerDevice(created.id, device(100));
        const at = new Date('2026-04-01T00:00:00Z');
        assert.equal(await users.acceptStep(created.id, APP, { step: 101, drift: 1, lastOffset: 0, at }), true);
        assert.equal(await users.acceptStep(created.id, APP, { step: 101, drift: 1, lastOffset: 0, at }), false, 'the same step again');
        assert.equal(await users.acceptStep(created.id, APP, { step: 100, drift: 0, lastOffset: 0, at }), false, 'an earlier step');
        const after = (await users.findById(created.id))?.mfa.apps?.[0];
        assert.equal(after?.lastStep, 101);
        assert.equal(after?.drift, 1);
        assert.deepEqual(after?.lastUsedAt, at);
        assert.equal(await users.acceptStep(created.id, APP, { step: 102, drift: 0, lastOffset: 0, at }), true);
      }));

    it('records the sign-in a code finished in the same update, and only when the step is accepted', () =>
      withStore(async (users) => {
        const created = await users.create({ username: 'jill', passwordHash: hash });
        await users.registerDevice(created.id, device(100));
        const at = new Date('2026-04-01T00:00:00Z');
        const signedIn = { ip: '198.51.100.7', userAgent: 'Firefox' };
        assert.equal(await users.acceptStep(created.id, APP, { step: 101, drift: 0, lastOffset: 0, at, signedIn }), true);
        const after = await users.findById(created.id);
        assert.deepEqual(after?.lastLogin, { at, ip: '198.51.100.7', userAgent: 'Firefox' });
        assert.deepEqual(after?.lastAttemptAt, at);
        const later = new Date('2026-04-01T00:01:00Z');
        const replay = { step: 101, drift: 0, lastOffset: 0, at: later, signedIn: { ip: '203.0.113.9' } };
        assert.equal(await users.acceptStep(created.id, APP, replay), false);
        assert.deepEqual((await users.findById(created.id))?.lastLogin, after?.lastLogin, 'a replayed step records no sign-in');
        assert.equal(await users.acceptStep(created.id, APP, { step: 102, drift: 0, lastOffset: 0, at: later }), true);
        assert.deepEqual((await users.findById(created.id))?.lastLogin, after?.lastLogin, 'a code that finished no sign-in records none');
      }));

    it("accepts one time step once when 20 callers claim it at the same moment, and the winner's drift is kept", () =>
      withStore(async (users) => {
        const created = await users.create({ username: 'kate', passwordHash: hash });
        await users.registerDevice(created.id, device(100));
        const at = new Date('2026-04-01T00:00:00Z');
        for (const step of [101, 102, 103]) {
          const outcomes = await Promise.all(
            Array.from({ length: 20 }, (_, caller) =>
              users.acceptStep(created.id, APP, { step, drift: caller % 3, lastOffset: caller % 3, at }),
            ),
          );
          assert.equal(outcomes.filter(Boolean).length, 1, `exactly one of 20 simultaneous claims of step ${step} wins`);
          const stored = (await users.findById(created.id))?.mfa.apps?.[0];
          assert.equal(stored?.lastStep, step);
          assert.equal(stored?.drift, outcomes.indexOf(true) % 3, "the drift is the winner's");
        }
      }));

    it("registers one device when 20 registrations race, and keeps the winner's", () =>
      withStore(async (users) => {
        const created = await users.create({ username: 'kim', passwordHash: hash });
        const outcomes = await Promise.all(Array.from({ length: 20 }, (_, caller) => users.registerDevice(created.id, device(caller))));
        assert.equal(outcomes.filter(Boolean).length, 1, 'exactly one of 20 simultaneous registrations wins');
        assert.deepEqual((await users.findById(created.id))?.mfa.apps, [device(outcomes.indexOf(true))]);
      }));

    it('adds security keys and passkeys in order, each credential once per user, up to the most a user may have', () =>
      withStore(async (users) => {
        const ann = await users.create({ username: 'ann-keys', passwordHash: hash });
        const ben = await users.create({ username: 'ben-keys', passwordHash: hash });
        await users.markRegistrationPending(ann.id, new Date('2026-04-01T00:00:00Z'));
        assert.equal(await users.addWebAuthnKey(ann.id, webauthnKey('k1')), true);
        assert.equal(await users.addWebAuthnKey(ann.id, webauthnKey('k2', { deviceType: 'multiDevice', backedUp: true })), true);
        const stored = await users.findById(ann.id);
        assert.deepEqual(stored?.mfa.webauthn, [webauthnKey('k1'), webauthnKey('k2', { deviceType: 'multiDevice', backedUp: true })]);
        assert.equal(stored?.mfa.pendingSince, undefined, 'a registration clears the pending mark');
        assert.equal(await users.addWebAuthnKey(ann.id, webauthnKey('k1', { name: 'again' })), false, 'the same credential twice');
        assert.equal(await users.addWebAuthnKey('no-such-id', webauthnKey('k9')), false);
        for (let i = 3; i <= WEBAUTHN_KEYS_MAX; i++) assert.equal(await users.addWebAuthnKey(ann.id, webauthnKey(`k${i}`)), true);
        assert.equal(await users.addWebAuthnKey(ann.id, webauthnKey('one-too-many')), false);
        assert.equal((await users.findById(ann.id))?.mfa.webauthn?.length, WEBAUTHN_KEYS_MAX);
        assert.equal(await users.setBackupCodes(ben.id, { kid: 'k', hashes: [], createdAt: new Date() }), false);
        assert.equal(await users.setBackupCodes(ann.id, { kid: 'k', hashes: [], createdAt: new Date() }), true, 'a key is a factor');
      }));

    it('adds one of 20 simultaneous registrations of one credential to one user', () =>
      withStore(async (users) => {
        const user = await users.create({ username: 'racer', passwordHash: hash });
        const outcomes = await Promise.all(
          Array.from({ length: 20 }, (_, caller) => users.addWebAuthnKey(user.id, webauthnKey('contested', { name: `Key ${caller}` }))),
        );
        assert.equal(outcomes.filter(Boolean).length, 1);
        assert.deepEqual(
          (await users.findById(user.id))?.mfa.webauthn?.map((key) => key.name),
          [`Key ${outcomes.indexOf(true)}`],
        );
      }));

    it('renames one key, and no key of another user', () =>
      withStore(async (users) => {
        const user = await users.create({ username: 'emil-keys', passwordHash: hash });
        const other = await users.create({ username: 'finn-keys', passwordHash: hash });
        await users.addWebAuthnKey(user.id, webauthnKey('k1'));
        await users.addWebAuthnKey(user.id, webauthnKey('k2'));
        assert.equal(await users.renameWebAuthnKey(user.id, 'k2', 'Spare key'), true);
        assert.deepEqual(
          (await users.findById(user.id))?.mfa.webauthn?.map((key) => key.name),
          ['Key k1', 'Spare key'],
        );
        assert.equal(await users.renameWebAuthnKey(other.id, 'k1', 'Stolen'), false);
        assert.equal(await users.renameWebAuthnKey(user.id, 'gone', 'Nothing'), false);
      }));

    it('removes one key, once of 20 simultaneous removals, and leaves the others', () =>
      withStore(async (users) => {
        const user = await users.create({ username: 'dana-keys', passwordHash: hash });
        await users.addWebAuthnKey(user.id, webauthnKey('k1'));
        await users.addWebAuthnKey(user.id, webauthnKey('k2'));
        const removals = await Promise.all(Array.from({ length: 20 }, () => users.removeWebAuthnKey(user.id, 'k1')));
        assert.deepEqual(
          removals.filter((removed) => removed !== null),
          [webauthnKey('k1')],
          'one removal, naming the key',
        );
        assert.deepEqual((await users.findById(user.id))?.mfa.webauthn, [webauthnKey('k2')]);
        assert.equal(await users.removeWebAuthnKey(user.id, 'k1'), null);
        assert.equal(await users.removeWebAuthnKey('no-such-id', 'k2'), null);
      }));

    it("moves a credential's counter only from the value read, once of 20 simultaneous uses, and removes keys with a reset", () =>
      withStore(async (users) => {
        const user = await users.create({ username: 'cora-keys', passwordHash: hash });
        await users.addWebAuthnKey(user.id, webauthnKey('k1', { counter: 5 }));
        await users.addWebAuthnKey(user.id, webauthnKey('k2'));
        const at = new Date('2026-04-02T00:00:00Z');
        assert.equal(await users.useWebAuthnKey(user.id, 'k1', { from: 4, to: 6, at }), false, 'the counter read is stale');
        const outcomes = await Promise.all(
          Array.from({ length: 20 }, (_, caller) => users.useWebAuthnKey(user.id, 'k1', { from: 5, to: 6 + caller, at })),
        );
        assert.equal(outcomes.filter(Boolean).length, 1);
        const [k1, k2] = (await users.findById(user.id))!.mfa.webauthn!;
        assert.deepEqual([k1!.counter, k1!.lastUsedAt], [6 + outcomes.indexOf(true), at]);
        assert.deepEqual(k2, webauthnKey('k2'), 'the other key is untouched');
        assert.equal(await users.useWebAuthnKey(user.id, 'k2', { from: 0, to: 0, at }), true, 'a key without a counter');
        assert.equal(await users.useWebAuthnKey(user.id, 'gone', { from: 0, to: 1, at }), false);
        assert.equal(await users.resetMfa(user.id, at), true);
        assert.equal((await users.findById(user.id))?.mfa.webauthn, undefined);
        assert.equal(await users.useWebAuthnKey(user.id, 'k2', { from: 0, to: 0, at }), false, 'a reset key is gone');
      }));

    it('remembers browsers only of a user with a factor, keeps the newest when full, and forgets one or all', () =>
      withStore(async (users) => {
        const user = await users.create({ username: 'rhea-browsers', passwordHash: hash });
        assert.equal(await users.rememberDevice(user.id, browser('b0')), false, 'no second factor: nothing to spare');
        await users.addWebAuthnKey(user.id, webauthnKey('k1'));
        // 25 browsers at the same moment: none lost to another, and the oldest past the most kept.
        const added = await Promise.all(Array.from({ length: 25 }, (_, i) => users.rememberDevice(user.id, browser(`b${i + 1}`, 1))));
        assert.ok(added.every(Boolean));
        const kept = (await users.findById(user.id))!.mfa.remembered!;
        assert.equal(kept.length, REMEMBERED_DEVICES_MAX);
        assert.equal(new Set(kept.map((device) => device.id)).size, REMEMBERED_DEVICES_MAX);
        const at = new Date('2026-04-03T00:00:00Z');
        const last = kept.at(-1)!;
        await users.rememberedDeviceUsed(user.id, last.id, at);
        assert.deepEqual((await users.findById(user.id))!.mfa.remembered!.at(-1), { ...last, lastUsedAt: at });
        assert.deepEqual(await users.forgetDevices(user.id, 'nope'), []);
        const forgottenAtOnce = await Promise.all(Array.from({ length: 10 }, () => users.forgetDevices(user.id, last.id)));
        assert.deepEqual(
          forgottenAtOnce.filter((forgotten) => forgotten.length),
          [[{ ...last, lastUsedAt: at }]],
          'one of 10 simultaneous forgets names it',
        );
        const rest = await users.forgetDevices(user.id);
        assert.equal(rest.length, REMEMBERED_DEVICES_MAX - 1);
        assert.equal((await users.findById(user.id))!.mfa.remembered, undefined);
        assert.deepEqual(await users.forgetDevices(user.id), []);
      }));

    it('forgets remembered browsers with a new password, disabling, a reset and any change of factors', () =>
      withStore(async (users) => {
        const user = await users.create({ username: 'sol-browsers', passwordHash: hash });
        await users.addWebAuthnKey(user.id, webauthnKey('k1'));
        const at = new Date('2026-04-03T00:00:00Z');
        const remembered = async () => (await users.findById(user.id))!.mfa.remembered?.length ?? 0;
        const changes: [string, () => Promise<unknown>][] = [
          ['a new name', () => users.update(user.id, { name: 'Sol' }, at)],
          ['exempting', () => users.update(user.id, { exempt: true }, at)],
        ];
        for (const [what, change] of changes) {
          await users.rememberDevice(user.id, browser('keep'));
          await change();
          assert.equal(await remembered(), 1, `${what} keeps them`);
          await users.forgetDevices(user.id);
        }
        const forgetting: [string, () => Promise<unknown>][] = [
          ['a new password', () => users.update(user.id, { passwordHash: `${hash}x` }, at)],
          ['disabling', () => users.update(user.id, { disabled: true }, at)],
          ['another key', () => users.addWebAuthnKey(user.id, webauthnKey('k2'))],
          ['a key removed', () => users.removeWebAuthnKey(user.id, 'k2')],
          ['another app', () => users.addDevice(user.id, device(5, '00000000000000c1'))],
          ['an app removed', () => users.removeDevice(user.id, '00000000000000c1')],
          ['email codes', () => users.registerEmailFactor(user.id, at)],
          ['an authenticator app', () => users.registerDevice(user.id, device(1))],
          ['a reset', () => users.resetMfa(user.id, at)],
        ];
        for (const [what, change] of forgetting) {
          await users.addWebAuthnKey(user.id, webauthnKey('k1'));
          assert.equal(await users.rememberDevice(user.id, browser(what.replace(/\W/g, ''))), true);
          await change();
          assert.equal(await remembered(), 0, `${what} forgets them`);
        }
      }));

    it('accepts no step for a user without a device', () =>
      withStore(async (users) => {
        const created = await users.create({ username: 'liam', passwordHash: hash });
        assert.equal(await users.acceptStep(created.id, APP, { step: 1, drift: 0, lastOffset: 0, at: new Date() }), false);
      }));
  });
}

describe('UserStore on MongoDB: users stored with one app', { skip: realStoresSkip }, () => {
  it("keeps each one's app as the first of its apps, once, when stores start at the same moment", async () => {
    const connection = await connectMongo({ uri: freshMongoUri(), serverSelectionTimeoutMs: 5000 });
    try {
      const clock = createManualClock();
      const legacy = { sealedSecret: 'v1.kid.iv.ct.tag', registeredAt: new Date('2025-01-01T00:00:00Z'), lastStep: 7, drift: 1 };
      const now = new Date('2026-01-01T00:00:00Z');
      await connection.collection('users').insertMany([
        {
          _id: 'u1',
          username: 'old',
          usernameLower: 'old',
          disabled: false,
          passwordHash: hash,
          mfa: { exempt: false, device: legacy },
          createdAt: now,
          updatedAt: now,
        },
        {
          _id: 'u2',
          username: 'new',
          usernameLower: 'new',
          disabled: false,
          passwordHash: hash,
          mfa: { exempt: false },
          createdAt: now,
          updatedAt: now,
        },
      ] as never);
      const [store] = await Promise.all([1, 2, 3].map(() => createMongoUserStore({ connection, clock })));
      const apps = (await store!.findById('u1'))!.mfa.apps!;
      assert.equal(apps.length, 1);
      assert.match(apps[0]!.id, /^[0-9a-f]{16}$/);
      assert.deepEqual({ ...apps[0], id: 'x' }, { id: 'x', name: 'Authenticator app', ...legacy });
      assert.equal('device' in (await store!.findById('u1'))!.mfa, false);
      assert.deepEqual((await store!.findById('u2'))!.mfa, { exempt: false });
      assert.equal(
        await store!.acceptStep('u1', apps[0]!.id, { step: 8, drift: 0, lastOffset: 0, at: now }),
        true,
        'its codes go on working',
      );
    } finally {
      await connection.dropDatabase().catch(() => {});
      await connection.close();
    }
  });
});
