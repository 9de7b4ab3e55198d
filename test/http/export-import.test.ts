import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createManualClock } from '../../src/domain/clock.ts';
import { realStoresSkip } from '../support/env.ts';
import { registeredUser } from '../support/mfa.ts';
import { relyingParty, signIn, UserAgent, type RelyingParty } from '../support/relying-party.ts';
import { serviceProvider, walkToAnswer } from '../support/saml-sp.ts';
import { createUser, newRealStores, registerClient, startTestServer, type TestServer } from '../support/server.ts';

/** A security key as an export holds it. */
const securityKey = (id: string) => ({
  id,
  publicKey: 'pQECAyYgASFYIA',
  counter: 3,
  transports: ['usb', 'nfc'],
  deviceType: 'singleDevice',
  backedUp: false,
  name: `Key ${id}`,
  addedAt: '2026-11-01T10:00:00.000Z',
});

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
    const created = await registerClient(source, {
      client_id: 'wiki',
      redirect_uris: ['http://127.0.0.1:9/cb'],
      first_party: true,
      mfa_policy: 'required',
    });
    clientSecret = created.client_secret!;
    rp = await relyingParty(source.issuer, 'wiki', clientSecret, 'http://127.0.0.1:9/cb');
    const saml = await source.adminFetch('/admin/api/saml/apps', {
      method: 'POST',
      body: JSON.stringify({
        id: 'vpn',
        entity_id: 'https://vpn.example/sp',
        acs_urls: ['https://vpn.example/acs'],
        mfa_policy: 'required',
        idp_initiated: true,
      }),
    });
    assert.equal(saml.status, 201);
  });
  after(async () => {
    await source.close();
    await target.close();
  });

  const vpnApp = (data: Record<string, any>) => data.samlApps.find((app: { id: string }) => app.id === 'vpn');
  const exported = async (server: TestServer) => (await (await server.adminFetch('/admin/api/export')).json()) as Record<string, any>;
  const importInto = (server: TestServer, data: unknown) =>
    server.adminFetch('/admin/api/import', { method: 'POST', body: JSON.stringify(data) });

  it('moves users with their authenticator and the applications; the same app then signs in on the other', async () => {
    const { id, credentials, phone } = await registeredUser(source, rp, clock, 'tara');
    // A SAML application on the source knows Tara by her persistent NameID.
    const portal = await serviceProvider(source, 'portal', { register: { mfa_policy: 'required' } });
    const atSource = await walkToAnswer(new UserAgent(), await portal.saml.getAuthorizeUrlAsync('', undefined, {}), credentials, phone);
    const nameIdAtSource = (await portal.saml.validatePostResponseAsync({ SAMLResponse: portal.answerOn(atSource.page).SAMLResponse }))
      .profile!.nameID;
    clock.advance(30_000);
    await source.adminFetch(`/admin/api/users/${id}`, {
      method: 'PATCH',
      body: JSON.stringify({ email: 'tara@example.com', email_verified: true }),
    });
    const data = await exported(source);
    assert.equal(data.format, 'twofold-export');
    assert.deepEqual(
      [data.users[0].email, data.users[0].emailVerified],
      ['tara@example.com', true],
      'the email goes with whether it is verified',
    );
    assert.equal(data.users.length, 1);
    assert.match(data.users[0].mfa.apps[0].sealedSecret, /^v1\./, 'the secret stays sealed');
    assert.deepEqual(
      data.clients.map((c: { clientId: string }) => c.clientId),
      ['wiki'],
      "twofold's own application stays home",
    );

    const imported = await importInto(target, data);
    assert.equal(imported.status, 200);
    assert.deepEqual(
      data.samlApps.map((app: { id: string }) => app.id),
      ['portal', 'vpn'],
      'SAML applications go along',
    );
    assert.match(data.samlPairwise, /^v1\./, 'the secret of persistent NameIDs, sealed');
    assert.deepEqual(await imported.json(), {
      usersCreated: 1,
      usersUpdated: 0,
      clientsCreated: 1,
      clientsUpdated: 0,
      samlAppsCreated: 2,
      samlAppsUpdated: 0,
    });
    const again = await importInto(target, data);
    assert.deepEqual(
      await again.json(),
      { usersCreated: 0, usersUpdated: 1, clientsCreated: 0, clientsUpdated: 1, samlAppsCreated: 0, samlAppsUpdated: 2 },
      'idempotent',
    );
    const moved = (await (await target.adminFetch('/admin/api/saml/apps/vpn')).json()) as Record<string, unknown>;
    assert.deepEqual([moved.entity_id, moved.mfa_policy, moved.idp_initiated], ['https://vpn.example/sp', 'required', true]);

    // The imported application keeps its secret, and the user its authenticator app and id.
    const targetRp = await relyingParty(target.issuer, 'wiki', clientSecret, 'http://127.0.0.1:9/cb');
    const { seen, claims } = await signIn(new UserAgent(), targetRp, credentials, {}, phone.app);
    assert.deepEqual(seen, ['login', 'code'], 'the same authenticator app, no new registration');
    assert.equal(claims.sub, id, 'the same subject for the applications');
    const arrived = (await (await target.adminFetch(`/admin/api/users/${id}`)).json()) as { email: string; email_verified: boolean };
    assert.deepEqual([arrived.email, arrived.email_verified], ['tara@example.com', true]);
    const backup = await signIn(new UserAgent(), targetRp, credentials, { prompt: 'login' }, { code: () => phone.backupCodes[0]! });
    assert.deepEqual(backup.claims.amr, ['pwd', 'otp', 'mfa'], 'and its backup codes');

    // The SAML application, now pointed at the target, knows her by the same NameID.
    clock.advance(30_000);
    const portalAtTarget = await serviceProvider(target, 'portal', { register: false });
    const atTarget = await walkToAnswer(
      new UserAgent(),
      await portalAtTarget.saml.getAuthorizeUrlAsync('', undefined, {}),
      credentials,
      phone,
    );
    const { profile } = await portalAtTarget.saml.validatePostResponseAsync({
      SAMLResponse: portalAtTarget.answerOn(atTarget.page).SAMLResponse,
    });
    assert.equal(profile!.nameID, nameIdAtSource, 'the same persistent NameID');

    // An installation that made persistent NameIDs of its own keeps them: the import is refused, whole.
    const elsewhere = await startTestServer({ real: { ...newRealStores(), dataKey }, clock });
    try {
      const own = await serviceProvider(elsewhere, 'own', { register: { mfa_policy: 'off' } });
      await createUser(elsewhere, { username: 'local', password: 'a long passphrase' });
      await walkToAnswer(
        new UserAgent(),
        await own.saml.getAuthorizeUrlAsync('', undefined, {}),
        { username: 'local', password: 'a long passphrase' },
        phone,
      );
      const refused = await importInto(elsewhere, data);
      assert.equal(refused.status, 409);
      assert.match(((await refused.json()) as { message: string }).message, /persistent SAML NameIDs of its own/);
      assert.equal((await elsewhere.adminFetch('/admin/api/saml/apps/portal')).status, 404, 'nothing was written');
    } finally {
      await elsewhere.close();
    }
  });

  it("imports a file of an earlier version, whose users have one app: the app becomes the user's first, and signs in", async () => {
    const { id, credentials, phone } = await registeredUser(source, rp, clock, 'ugo');
    const data = await exported(source);
    const ugo = data.users.find((user: { id: string }) => user.id === id);
    const { id: _id, name: _name, ...device } = ugo.mfa.apps[0];
    delete ugo.mfa.apps;
    ugo.mfa.device = device;
    const imported = await importInto(target, { ...data, users: [ugo], clients: [], samlApps: [] });
    assert.equal(imported.status, 200);
    const apps = ((await (await target.adminFetch(`/admin/api/users/${id}`)).json()) as { mfa: { apps: { name: string }[] } }).mfa.apps;
    assert.deepEqual(
      apps.map((app) => app.name),
      ['Authenticator app'],
    );
    clock.advance(30_000);
    const targetRp = await relyingParty(target.issuer, 'wiki', clientSecret, 'http://127.0.0.1:9/cb');
    const { seen } = await signIn(new UserAgent(), targetRp, credentials, {}, phone.app);
    assert.deepEqual(seen, ['login', 'code']);
  });

  it("moves a user's security keys and passkeys as they are", async () => {
    const other = await startTestServer({ real: { ...newRealStores(), dataKey }, clock });
    try {
      const data = await exported(source);
      const keys = [
        securityKey('k1'),
        { ...securityKey('k2'), deviceType: 'multiDevice', backedUp: true, lastUsedAt: '2026-11-02T10:00:00.000Z' },
      ];
      data.users[0].mfa.webauthn = keys;
      assert.equal((await importInto(other, data)).status, 200);
      const moved = await exported(other);
      assert.deepEqual(moved.users[0].mfa.webauthn, keys);
    } finally {
      await other.close();
    }
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
      const sealed = tampered.users[0].mfa.apps[0].sealedSecret as string;
      tampered.users[0].mfa.apps[0].sealedSecret = sealed.replace(
        /\.([\w-])([\w-]*)\.([\w-]+)$/,
        (_m: string, a: string, b: string, tag: string) => `.${a === 'A' ? 'B' : 'A'}${b}.${tag}`,
      );
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

  it('checks the whole file before any write: duplicate ids, id format, and applications as the admin API checks them', async () => {
    const other = await startTestServer({ real: { ...newRealStores(), dataKey }, clock });
    try {
      const data = await exported(source);
      const before = await exported(other);
      const user = data.users[0];
      const client = data.clients[0];
      const cases: [string, Record<string, any>, RegExp][] = [
        [
          'two new users with one id',
          {
            ...data,
            users: [
              { ...user, username: 'new1', id: 'same-id' },
              { ...user, username: 'new2', id: 'same-id' },
            ],
          },
          /users\.1\.id: same-id is in the file twice/,
        ],
        [
          'an id that is a path',
          { ...data, users: [{ ...user, username: 'pathy', id: '../../x?y#z' }] },
          /users\.0\.id: 1 to 64 letters, digits, - or _/,
        ],
        [
          'a plain secret in the metadata',
          {
            ...data,
            clients: [
              { ...client, clientId: 'plain', metadata: { ...client.metadata, client_id: 'plain', client_secret: 'x'.repeat(40) } },
            ],
          },
          /clients\.0 \(plain\): unknown field: client_secret/,
        ],
        [
          'two SAML applications with one entity id',
          { ...data, samlApps: [vpnApp(data), { ...vpnApp(data), id: 'vpn-copy' }] },
          /samlApps\.1 \(vpn-copy\): entity id https:\/\/vpn\.example\/sp is in the file twice/,
        ],
        [
          'a security key listed twice',
          { ...data, users: [{ ...user, mfa: { ...user.mfa, webauthn: [securityKey('k1'), securityKey('k1')] } }] },
          /users\.0\.mfa\.webauthn: a security key is listed twice/,
        ],
        [
          'a security key whose counter is not a counter',
          { ...data, users: [{ ...user, mfa: { ...user.mfa, webauthn: [{ ...securityKey('k1'), counter: -1 }] } }] },
          /users\.0\.mfa\.webauthn\.0\.counter/,
        ],
        [
          'a SAML application whose ACS URL is a script',
          { ...data, samlApps: [{ ...vpnApp(data), acsUrls: ['javascript:alert(1)'] }] },
          /samlApps\.0\.acsUrls\.0: an http\(s\) URL/,
        ],
        [
          'the implicit grant',
          {
            ...data,
            clients: [
              {
                ...client,
                clientId: 'implicit',
                metadata: { ...client.metadata, client_id: 'implicit', grant_types: ['implicit'], response_types: ['id_token'] },
              },
            ],
          },
          /clients\.0 \(implicit\): grant_types/,
        ],
        [
          'a hybrid response type',
          {
            ...data,
            clients: [
              { ...client, clientId: 'hybrid', metadata: { ...client.metadata, client_id: 'hybrid', response_types: ['code id_token'] } },
            ],
          },
          /clients\.0 \(hybrid\): response_types/,
        ],
        [
          'a redirect URI with a line break',
          {
            ...data,
            clients: [
              {
                ...client,
                clientId: 'crlf',
                metadata: { ...client.metadata, client_id: 'crlf', redirect_uris: ['https://a.example/cb\r\nX: y'] },
              },
            ],
          },
          /clients\.0 \(crlf\): redirect_uris/,
        ],
        ['one application twice', { ...data, clients: [client, client] }, /clients\.1: wiki is in the file twice/],
        [
          'metadata naming another application',
          { ...data, clients: [{ ...client, metadata: { ...client.metadata, client_id: 'other' } }] },
          /names another client_id/,
        ],
      ];
      for (const [name, file, message] of cases) {
        const answer = await importInto(other, file);
        assert.equal(answer.status, 400, name);
        assert.match(((await answer.json()) as { message: string }).message, message, name);
      }
      const after = await exported(other);
      assert.deepEqual(after.users, before.users, 'no user was written');
      assert.deepEqual(after.clients, before.clients, 'no application was written');
      assert.deepEqual(after.samlApps, before.samlApps, 'no SAML application was written');
    } finally {
      await other.close();
    }
  });
});
