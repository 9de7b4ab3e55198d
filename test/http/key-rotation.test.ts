import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { packageRoot } from '../../src/config/load.ts';
import { keyIdOf, sealedKeyId } from '../../src/domain/data-key.ts';
import { createManualClock } from '../../src/domain/clock.ts';
import { realStoresSkip } from '../support/env.ts';
import { registeredUser } from '../support/mfa.ts';
import { relyingParty, signIn, UserAgent } from '../support/relying-party.ts';
import { serviceProvider, walkToAnswer } from '../support/saml-sp.ts';
import { ADMIN_TOKEN, newRealStores, registerClient, startTestServer, type TestServer } from '../support/server.ts';

const run = promisify(execFile);

describe('data key rotation', { skip: realStoresSkip }, () => {
  const servers: TestServer[] = [];
  after(() => Promise.all(servers.map((server) => server.close())));

  it('re-seals every secret under the new key while sign-ins go on, started from the CLI in another process', async () => {
    const clock = createManualClock(Date.now());
    const [oldKey, newKey] = [randomBytes(32).toString('base64'), randomBytes(32).toString('base64')];
    const stores = newRealStores();
    const before = await startTestServer({ real: { ...stores, dataKey: oldKey }, clock });
    servers.push(before);
    const created = await registerClient(before, {
      client_id: 'app',
      redirect_uris: ['http://127.0.0.1:9/cb'],
      first_party: true,
      mfa_policy: 'required',
    });
    const rpBefore = await relyingParty(before.issuer, 'app', created.client_secret, 'http://127.0.0.1:9/cb');
    const people: Awaited<ReturnType<typeof registeredUser>>[] = [];
    for (let i = 0; i < 30; i++) people.push(await registeredUser(before, rpBefore, clock, `rot${i}`));
    // A SAML application: the SAML signing key and the secret of persistent NameIDs are made.
    // Started at twofold (IdP-initiated): the request's time, on the tests' clock, plays no part.
    const sp = await serviceProvider(before, 'rotated-saml', {
      register: { mfa_policy: 'off', idp_initiated: true },
      saml: { validateInResponseTo: 'never' as never },
    });
    const samlSignIn = async (application: typeof sp, server: TestServer) => {
      const url = `${server.issuer}/saml/start/rotated-saml`;
      const { page } = await walkToAnswer(new UserAgent(), url, people[0]!.credentials, people[0]!.phone);
      return (await application.saml.validatePostResponseAsync({ SAMLResponse: application.answerOn(page).SAMLResponse })).profile!.nameID;
    };
    const nameIdBefore = await samlSignIn(sp, before);
    const metadataBefore = await (await fetch(`${before.issuer}/saml/metadata`)).text();

    // Every node now lists the new key first and the old one after it.
    const during = await startTestServer({ real: { ...stores, dataKey: `${newKey},${oldKey}` }, clock });
    servers.push(during);
    const rp = await relyingParty(during.issuer, 'app', created.client_secret, 'http://127.0.0.1:9/cb');
    const cli = run(process.execPath, [
      join(packageRoot, 'src/cli/main.ts'),
      'keys',
      'rotate',
      '--json',
      '--url',
      during.issuer,
      '--token',
      ADMIN_TOKEN,
    ]);
    const signIns = (async () => {
      const amrs = [];
      for (const person of people) amrs.push((await signIn(new UserAgent(), rp, person.credentials, {}, person.phone.app)).claims.amr);
      return amrs;
    })();
    const [{ stdout }, amrs] = await Promise.all([cli, signIns]);
    assert.ok(
      amrs.every((amr) => JSON.stringify(amr) === '["pwd","otp","mfa"]'),
      'every sign-in during the rotation passed',
    );
    const result = JSON.parse(stdout) as { keyId: string; resealed: { users: number; clients: number; keys: number } };
    assert.equal(result.keyId, keyIdOf(Buffer.from(newKey, 'base64')));
    // The keys: the OIDC signing keys, the SAML signing key and the secret of persistent NameIDs.
    assert.deepEqual([result.resealed.users, result.resealed.clients, result.resealed.keys], [30, 1, 3]);

    const exported = (await (await during.adminFetch('/admin/api/export')).json()) as {
      users: { mfa: { apps: { sealedSecret: string }[] } }[];
      clients: { sealedSecret: string }[];
    };
    for (const user of exported.users) assert.equal(sealedKeyId(user.mfa.apps[0]!.sealedSecret), result.keyId);
    const again = await run(process.execPath, [
      join(packageRoot, 'src/cli/main.ts'),
      'keys',
      'rotate',
      '--json',
      '--url',
      during.issuer,
      '--token',
      ADMIN_TOKEN,
    ]);
    assert.deepEqual(
      JSON.parse(again.stdout).resealed,
      { users: 0, clients: 0, keys: 0, skipped: 0 },
      'a second run has nothing left to do',
    );

    // A node with the new key alone starts (the signing keys were re-sealed) and signs people in.
    const after = await startTestServer({ real: { ...stores, dataKey: newKey }, clock });
    servers.push(after);
    clock.advance(30_000);
    const rpAfter = await relyingParty(after.issuer, 'app', created.client_secret, 'http://127.0.0.1:9/cb');
    const { claims } = await signIn(new UserAgent(), rpAfter, people[0]!.credentials, {}, people[0]!.phone.app);
    assert.deepEqual(claims.amr, ['pwd', 'otp', 'mfa']);
    // The SAML key and the NameIDs are the same after the rotation.
    assert.equal(await (await fetch(`${after.url}/saml/metadata`)).text(), metadataBefore.replaceAll(before.issuer, after.issuer));
    const spAfter = await serviceProvider(after, 'rotated-saml', { register: false, saml: { validateInResponseTo: 'never' as never } });
    assert.equal(await samlSignIn(spAfter, after), nameIdBefore);
  });
});
