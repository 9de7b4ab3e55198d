import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createManualClock } from '../../src/domain/clock.ts';
import { realStoresSkip } from '../support/env.ts';
import { registeredUser } from '../support/mfa.ts';
import { relyingParty, signIn, UserAgent, type RelyingParty } from '../support/relying-party.ts';
import { newRealStores, registerClient, startTestServer, type TestServer } from '../support/server.ts';

describe('export and import between two instances', { skip: realStoresSkip }, () => {
  const clock = createManualClock(Date.now());
  const dataKey = randomBytes(32).toString('base64');
  let source: TestServer;
  let target: TestServer;
  let rp: RelyingParty;
  let clientSecret: string;

  before(async () => {
    source = await startTestServer({ real: { ...newRealStores(), dataKey }, clock });
    target = await startTestServer({ real: { ...newRealStores(), dataKey }, clock });
    const created = await registerClient(source, { client_id: 'wiki', redirect_uris: ['http://127.0.0.1:9/cb'], first_party: true, mfa_policy: 'required' });
    clientSecret = created.client_secret!;
    rp = await relyingParty(source.issuer, 'wiki', clientSecret, 'http://127.0.0.1:9/cb');
  });
  after(async () => {
    await source.close();
    await target.close();
  });

  const exported = async (server: TestServer) => (await (await server.adminFetch('/admin/api/export')).json()) as Record<string, any>;
  const importInto = (server: TestServer, data: unknown) => server.adminFetch('/admin/api/import', { method: 'POST', body: JSON.stringify(data) });

  it('moves users with their authenticator and the applications; the same app then signs in on the other', async () => {
    const { id, credentials, phone } = await registeredUser(source, rp, clock, 'tara');
    const data = await exported(source);
    assert.equal(data.format, 'twofold-export');
    assert.equal(data.users.length, 1);
    assert.match(data.users[0].mfa.device.sealedSecret, /^v1\./, 'the secret stays sealed');
    assert.deepEqual(data.clients.map((c: { clientId: string }) => c.clientId), ['wiki'], "twofold's own application stays home");

    const imported = await importInto(target, data);
    assert.equal(imported.status, 200);
    assert.deepEqual(await imported.json(), { usersCreated: 1, usersUpdated: 0, clientsCreated: 1, clientsUpdated: 0 });
    const again = await importInto(target, data);
    assert.deepEqual(await again.json(), { usersCreated: 0, usersUpdated: 1, clientsCreated: 0, clientsUpdated: 1 }, 'idempotent');

    // The imported application keeps its secret, and the user its authenticator app and id.
    const targetRp = await relyingParty(target.issuer, 'wiki', clientSecret, 'http://127.0.0.1:9/cb');
    const { seen, claims } = await signIn(new UserAgent(), targetRp, credentials, {}, phone.app);
    assert.deepEqual(seen, ['login', 'code'], 'the same authenticator app, no new registration');
    assert.equal(claims.sub, id, 'the same subject for the applications');
    const backup = await signIn(new UserAgent(), targetRp, credentials, { prompt: 'login' }, { code: () => phone.backupCodes[0]! });
    assert.deepEqual(backup.claims.amr, ['pwd', 'otp', 'mfa'], 'and its backup codes');
  });

  it('refuses a file sealed under a data key it does not have, and a changed file, writing nothing', async () => {
    const other = await startTestServer({ real: newRealStores(), clock });
    try {
      const data = await exported(source);
      const before = await exported(other);
      const foreign = await importInto(other, data);
      assert.equal(foreign.status, 400);
      assert.match(((await foreign.json()) as { message: string }).message, /sealed under data key \S+, which this instance does not have/);

      const tampered = structuredClone(data);
      const sealed = tampered.users[0].mfa.device.sealedSecret as string;
      tampered.users[0].mfa.device.sealedSecret = sealed.replace(/\.([\w-])([\w-]*)\.([\w-]+)$/, (_m: string, a: string, b: string, tag: string) => `.${a === 'A' ? 'B' : 'A'}${b}.${tag}`);
      const changed = await importInto(target, tampered);
      assert.equal(changed.status, 400);
      assert.match(((await changed.json()) as { message: string }).message, /changed after the export/);

      const bad = structuredClone(data);
      bad.users.push({ ...bad.users[0], username: 42 });
      assert.equal((await importInto(other, bad)).status, 400);
      assert.equal((await importInto(other, { format: 'something else' })).status, 400);
      assert.deepEqual((await exported(other)).users, before.users, 'nothing was written');
    } finally {
      await other.close();
    }
  });
});
