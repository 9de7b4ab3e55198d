import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAppError } from '../../src/domain/errors.ts';
import { createMemoryClientStore } from '../../src/stores/memory/clients.ts';
import { createMemoryKeyStore } from '../../src/stores/memory/keys.ts';
import { createMongoClientStore } from '../../src/stores/mongo/clients.ts';
import { createMongoKeyStore } from '../../src/stores/mongo/keys.ts';
import { createMemorySettingsStore } from '../../src/stores/memory/settings.ts';
import { createMongoSettingsStore } from '../../src/stores/mongo/settings.ts';
import type { ClientStore, KeyStore, SettingsStore } from '../../src/domain/ports.ts';
import { memoryImplementation, mongoImplementation, using, type Implementation } from './harness.ts';

const clientImplementations: Implementation<ClientStore>[] = [
  memoryImplementation(() => createMemoryClientStore()),
  mongoImplementation((connection) => createMongoClientStore({ connection })),
];

const keyImplementations: Implementation<KeyStore>[] = [
  memoryImplementation(() => createMemoryKeyStore()),
  mongoImplementation((connection) => createMongoKeyStore({ connection })),
];

for (const impl of clientImplementations) {
  describe(`ClientStore contract: ${impl.name}`, { skip: impl.skip }, () => {
    const record = (clientId: string) => ({
      clientId,
      metadata: { client_id: clientId, redirect_uris: ['https://rp.example/cb'], first_party: true, grant_types: ['authorization_code'] },
      sealedSecret: 'v1.kid.iv.ct.tag',
      createdAt: new Date('2026-01-02T03:04:05Z'),
    });

    it('stores a client and returns it as it was given', () =>
      using(impl, async (clients) => {
        await clients.create(record('app-1'));
        assert.deepEqual(await clients.find('app-1'), record('app-1'));
        assert.equal(await clients.find('app-2'), null);
      }));

    it('refuses a second client with the same client_id and keeps the first', () =>
      using(impl, async (clients) => {
        await clients.create(record('app-1'));
        const other = { ...record('app-1'), metadata: { client_id: 'app-1', redirect_uris: ['https://evil.example/cb'] } };
        await assert.rejects(clients.create(other), (err) => isAppError(err, 'conflict'));
        assert.deepEqual(await clients.find('app-1'), record('app-1'));
      }));

    it('replaces the metadata of a client, and of no other', () =>
      using(impl, async (clients) => {
        await clients.create(record('app-1'));
        const metadata = { client_id: 'app-1', redirect_uris: ['https://rp.example/new'], mfa_policy: 'required' };
        assert.equal(await clients.updateMetadata('app-1', metadata), true);
        assert.deepEqual((await clients.find('app-1'))?.metadata, metadata);
        assert.equal((await clients.find('app-1'))?.sealedSecret, record('app-1').sealedSecret, 'the secret stays');
        assert.equal(await clients.updateMetadata('app-2', metadata), false);
        assert.equal(await clients.find('app-2'), null);
      }));

    it('lists clients ordered by client_id; a public client has no secret', () =>
      using(impl, async (clients) => {
        const { sealedSecret: _s, ...publicClient } = record('b-public');
        await clients.create(record('c-app'));
        await clients.create(publicClient);
        const listed = await clients.list();
        assert.deepEqual(
          listed.map((c) => c.clientId),
          ['b-public', 'c-app'],
        );
        assert.equal('sealedSecret' in listed[0]!, false);
      }));
  });
}

for (const impl of keyImplementations) {
  describe(`KeyStore contract: ${impl.name}`, { skip: impl.skip }, () => {
    it('creates a value once and returns the stored one afterwards', () =>
      using(impl, async (keys) => {
        let calls = 0;
        const first = await keys.getOrCreate('signing', () => `value-${++calls}`);
        const second = await keys.getOrCreate('signing', () => `value-${++calls}`);
        assert.equal(first, 'value-1');
        assert.equal(second, 'value-1');
        assert.equal(calls, 1);
      }));

    it('agrees on one value when several callers create at once', () =>
      using(impl, async (keys) => {
        let n = 0;
        const values = await Promise.all(Array.from({ length: 5 }, () => keys.getOrCreate('race', () => `v${++n}`)));
        assert.equal(new Set(values).size, 1);
      }));
  });
}

const settingsImplementations: Implementation<SettingsStore>[] = [
  memoryImplementation(() => createMemorySettingsStore()),
  mongoImplementation((connection) => createMongoSettingsStore({ connection })),
];

for (const impl of settingsImplementations) {
  describe(`SettingsStore contract: ${impl.name}`, { skip: impl.skip }, () => {
    it('starts empty, sets the given keys, and keeps the others', () =>
      using(impl, async (settings) => {
        assert.deepEqual(await settings.get(), {});
        assert.deepEqual(await settings.update({ enabled: false, skewSteps: 2 }), { enabled: false, skewSteps: 2 });
        assert.deepEqual(await settings.update({ issuerLabel: 'Acme' }), { enabled: false, skewSteps: 2, issuerLabel: 'Acme' });
        assert.deepEqual(await settings.get(), { enabled: false, skewSteps: 2, issuerLabel: 'Acme' });
      }));
  });
}
