import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { createManualClock } from '../../src/domain/clock.ts';
import { createDataKeyring } from '../../src/domain/data-key.ts';
import { createClientAdapter } from '../../src/oidc/client-adapter.ts';
import { createMemoryClientStore } from '../../src/stores/memory/clients.ts';
import { createChangeListeners } from '../../src/stores/changes.ts';

/**
 * The engine's view of an application, kept a few seconds per node and handed to every
 * request as one object (no copy per request): no request can change what another sees.
 */
describe('the applications the engine reads', () => {
  async function world() {
    const clients = createMemoryClientStore();
    const keyring = createDataKeyring([randomBytes(32)]);
    const changes = createChangeListeners();
    const clock = createManualClock();
    await clients.create({
      clientId: 'app',
      metadata: { redirect_uris: ['https://app.example/cb'], client_name: 'App', mfa_factors: ['totp'] },
      createdAt: new Date(clock.now()),
    });
    return {
      clients,
      changes,
      clock,
      adapter: createClientAdapter(clients, keyring, { clock, onChanged: (listener) => changes.onChanged('clients', listener) }),
    };
  }

  it('two overlapping requests get the application as stored, and neither can change it for the other', async () => {
    const { adapter } = await world();
    const [first, second] = await Promise.all([adapter.find('app'), adapter.find('app')]);
    assert.deepEqual(first!.redirect_uris, ['https://app.example/cb']);
    assert.throws(() => ((first!.redirect_uris as string[])[0] = 'https://evil.example/cb'), TypeError);
    assert.throws(() => (first!.client_name = 'Changed'), TypeError);
    assert.throws(() => (first!.mfa_factors as string[]).push('email'), TypeError);
    assert.deepEqual(second!.redirect_uris, ['https://app.example/cb']);
    const later = await adapter.find('app');
    assert.deepEqual([later!.client_name, later!.redirect_uris, later!.mfa_factors], ['App', ['https://app.example/cb'], ['totp']]);
  });

  it('a change announced is read at once; an unknown application is not kept', async () => {
    const { adapter, clients, changes } = await world();
    await adapter.find('app');
    await clients.updateMetadata('app', { redirect_uris: ['https://app.example/new'], client_name: 'Renamed' });
    changes.tell('clients');
    assert.equal((await adapter.find('app'))!.client_name, 'Renamed');
    assert.equal(await adapter.find('nobody'), undefined);
  });
});
