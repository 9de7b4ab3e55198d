import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAppError } from '../../src/domain/errors.ts';
import type { SamlAppRecord, SamlAppStore } from '../../src/domain/ports.ts';
import { createMemorySamlAppStore } from '../../src/stores/memory/saml-apps.ts';
import { createMongoSamlAppStore } from '../../src/stores/mongo/saml-apps.ts';
import { memoryImplementation, mongoImplementation, using, type Implementation } from './harness.ts';

const implementations: Implementation<SamlAppStore>[] = [
  memoryImplementation(() => createMemorySamlAppStore()),
  mongoImplementation((connection) => createMongoSamlAppStore({ connection })),
];

const app = (id: string, entityId = `https://${id}.example/sp`): SamlAppRecord => ({
  id,
  name: `App ${id}`,
  entityId,
  acsUrls: [`https://${id}.example/acs`],
  nameIdFormat: 'persistent',
  wantAuthnRequestsSigned: false,
  idpInitiated: false,
  createdAt: new Date('2026-01-02T03:04:05Z'),
  updatedAt: new Date('2026-01-02T03:04:05Z'),
});

for (const impl of implementations) {
  describe(`SamlAppStore contract: ${impl.name}`, { skip: impl.skip }, () => {
    it('stores an application and finds it by id and by entity id, as it was given', () =>
      using(impl, async (apps) => {
        const full: SamlAppRecord = {
          ...app('wiki'),
          certificate: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----',
          sloUrl: 'https://wiki.example/slo',
          mfaPolicy: 'required',
          mfaMaxAge: 3600,
          attributes: [{ field: 'email', name: 'mail', nameFormat: 'basic' }],
          wantAuthnRequestsSigned: true,
          idpInitiated: true,
        };
        await apps.create(full);
        assert.deepEqual(await apps.find('wiki'), full);
        assert.deepEqual(await apps.findByEntityId('https://wiki.example/sp'), full);
        assert.equal(await apps.find('vpn'), null);
        assert.equal(await apps.findByEntityId('https://vpn.example/sp'), null);
      }));

    it('refuses a second application with the same id or the same entity id, and keeps the first', () =>
      using(impl, async (apps) => {
        await apps.create(app('wiki'));
        await assert.rejects(apps.create({ ...app('wiki', 'https://other.example/sp') }), (err) => isAppError(err, 'conflict'));
        await assert.rejects(apps.create(app('copy', 'https://wiki.example/sp')), (err) => isAppError(err, 'conflict'));
        assert.deepEqual(await apps.list(), [app('wiki')]);
      }));

    it('replaces an application, refuses an entity id that is another one’s, and reports a missing one', () =>
      using(impl, async (apps) => {
        await apps.create(app('wiki'));
        await apps.create(app('vpn'));
        const changed = { ...app('wiki'), name: 'Wiki', acsUrls: ['https://wiki.example/acs2'], mfaPolicy: 'off' as const };
        assert.equal(await apps.replace(changed), true);
        assert.deepEqual(await apps.find('wiki'), changed);
        await assert.rejects(apps.replace({ ...changed, entityId: 'https://vpn.example/sp' }), (err) => isAppError(err, 'conflict'));
        assert.deepEqual(await apps.find('wiki'), changed);
        assert.equal(await apps.replace(app('nobody')), false);
        assert.equal(await apps.find('nobody'), null);
      }));

    it('lists by id and deletes one application only', () =>
      using(impl, async (apps) => {
        await apps.create(app('b'));
        await apps.create(app('a'));
        await apps.create(app('c'));
        assert.deepEqual(
          (await apps.list()).map((found) => found.id),
          ['a', 'b', 'c'],
        );
        assert.equal(await apps.delete('b'), true);
        assert.equal(await apps.delete('b'), false);
        assert.deepEqual(
          (await apps.list()).map((found) => found.id),
          ['a', 'c'],
        );
        assert.equal(await apps.findByEntityId('https://b.example/sp'), null);
      }));
  });
}
