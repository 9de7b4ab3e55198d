import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { SAML } from '@node-saml/node-saml';
import { createManualClock } from '../../src/domain/clock.ts';
import { realStoresSkip, samlSchemaClasspath, samlSchemaSkip } from '../support/env.ts';
import { UserAgent } from '../support/relying-party.ts';
import { generateSigningPair } from '../../src/saml/signing-keys.ts';
import { serviceProvider, walkToAnswer, Phone } from '../support/saml-sp.ts';
import { createUser, newRealStores, startTestServer, type TestServer } from '../support/server.ts';

const execFileAsync = promisify(execFile);

/**
 * Validates XML against the OASIS SAML 2.0 metadata schema (Java's validator, OpenSAML's
 * copy of the schema). Run without blocking: the servers under test share this process.
 */
async function schemaCheck(xml: string): Promise<string> {
  const file = join(mkdtempSync(join(tmpdir(), 'twofold-md-')), 'metadata.xml');
  writeFileSync(file, xml);
  const validator = new URL('../saml-schema/ValidateMetadata.java', import.meta.url).pathname;
  const run = await execFileAsync('java', ['-cp', samlSchemaClasspath!, validator, file]).catch(
    (err: { stdout?: string; stderr?: string }) => ({ stdout: err.stdout ?? '', stderr: err.stderr ?? '' }),
  );
  return `${run.stdout}${run.stderr}`.trim();
}

const certificatesIn = (metadata: string) => [...metadata.matchAll(/<ds:X509Certificate>([^<]+)</g)].map((m) => m[1]!);

describe('SAML metadata, signing keys and the admin API (on MongoDB and Redis)', { skip: realStoresSkip }, () => {
  const clock = createManualClock(Date.now());
  let a: TestServer;
  let b: TestServer;
  before(async () => {
    const real = newRealStores();
    a = await startTestServer({ real, clock });
    b = await startTestServer({ real, clock, issuer: a.issuer });
  });
  after(async () => {
    await b?.close();
    await a?.close();
  });

  it('publishes metadata that validates against the SAML metadata schema, the same on every node', { skip: samlSchemaSkip }, async () => {
    const response = await fetch(`${a.issuer}/saml/metadata`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type')!, /^application\/samlmetadata\+xml/);
    const metadata = await response.text();
    assert.equal(await schemaCheck(metadata), 'valid');
    assert.ok(metadata.includes(`entityID="${a.issuer}/saml/metadata"`));
    for (const binding of ['HTTP-Redirect', 'HTTP-POST']) {
      assert.ok(
        metadata.includes(`SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:${binding}" Location="${a.issuer}/saml/sso"`),
      );
      assert.ok(
        metadata.includes(`SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:${binding}" Location="${a.issuer}/saml/slo"`),
      );
    }
    assert.ok(metadata.includes('urn:oasis:names:tc:SAML:2.0:nameid-format:persistent'));
    assert.equal(await (await fetch(`${b.url}/saml/metadata`)).text(), metadata, 'node B signs with the same key');
    // The schema check itself refuses what is not metadata.
    assert.match(await schemaCheck(metadata.replace(/<md:SingleSignOnService[^>]*\/>/g, '')), /^invalid/);
  });

  it('registers, lists, changes and deletes SAML applications, from metadata and from fields, with clear 4xx for bad input', async () => {
    const sp = await serviceProvider(a, 'hr', { register: { mfa_policy: 'if_enrolled', name: 'HR' }, signRequests: true });
    const shown = (await (await a.adminFetch('/admin/api/saml/apps/hr')).json()) as Record<string, unknown>;
    assert.equal(shown.entity_id, sp.entityId);
    assert.deepEqual(shown.acs_urls, [sp.acsUrl]);
    assert.equal(shown.slo_url, sp.sloUrl);
    assert.equal(shown.name_id_format, 'persistent');
    assert.equal(shown.mfa_policy, 'if_enrolled');
    assert.equal(shown.idp_metadata_url, `${a.issuer}/saml/metadata`);
    assert.match(String(shown.certificate), /BEGIN CERTIFICATE/);

    const fields = {
      id: 'expenses',
      entity_id: 'https://expenses.example/sp',
      acs_urls: ['https://expenses.example/acs'],
      name_id_format: 'emailAddress',
    };
    const created = await a.adminFetch('/admin/api/saml/apps', { method: 'POST', body: JSON.stringify(fields) });
    assert.equal(created.status, 201);
    const duplicate = await a.adminFetch('/admin/api/saml/apps', { method: 'POST', body: JSON.stringify({ ...fields, id: 'expenses-2' }) });
    assert.equal(duplicate.status, 409, 'one application per entity id');
    const list = (await (await b.adminFetch('/admin/api/saml/apps')).json()) as { apps: { id: string }[] };
    assert.deepEqual(
      list.apps.map((app) => app.id).filter((id) => id === 'hr' || id === 'expenses'),
      ['expenses', 'hr'],
    );

    const patched = await a.adminFetch('/admin/api/saml/apps/expenses', {
      method: 'PATCH',
      body: JSON.stringify({ mfa_policy: 'required', idp_initiated: true, name: 'Expenses' }),
    });
    assert.equal(patched.status, 200);
    const view = (await patched.json()) as Record<string, unknown>;
    assert.equal(view.idp_initiated_url, `${a.issuer}/saml/start/expenses`);
    assert.equal(view.name, 'Expenses');

    const bad: [string, string, unknown][] = [
      ['POST', '/admin/api/saml/apps', { id: 'x' }],
      ['POST', '/admin/api/saml/apps', { ...fields, id: 'y', acs_urls: ['javascript:alert(1)'] }],
      ['POST', '/admin/api/saml/apps', { ...fields, id: 'twofold-saml' }],
      ['POST', '/admin/api/saml/apps', { id: 'z', metadata_xml: '<!DOCTYPE x [<!ENTITY e "e">]><x>&e;</x>' }],
      [
        'POST',
        '/admin/api/saml/apps',
        { id: 'z', metadata_xml: '<md:EntitiesDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"/>' },
      ],
      ['POST', '/admin/api/saml/apps', { ...fields, id: 'w', entity_id: 'https://w.example', want_authn_requests_signed: true }],
      ['POST', '/admin/api/saml/apps', { ...fields, id: 'v', entity_id: 'https://v.example', certificate: 'not a certificate' }],
      ['PATCH', '/admin/api/saml/apps/expenses', { surprise: true }],
      ['PATCH', '/admin/api/saml/apps/expenses', {}],
    ];
    for (const [method, path, body] of bad) {
      const response = await a.adminFetch(path, { method, body: JSON.stringify(body) });
      assert.equal(response.status, 400, `${method} ${path} ${JSON.stringify(body).slice(0, 80)}: ${response.status}`);
      assert.ok(((await response.json()) as { message: string }).message);
    }
    assert.equal((await a.adminFetch('/admin/api/saml/apps/w')).status, 404, 'nothing half-written');
    assert.equal((await a.adminFetch('/admin/api/saml/apps/nobody', { method: 'DELETE' })).status, 404);
    assert.equal((await a.adminFetch('/admin/api/saml/apps/expenses', { method: 'DELETE' })).status, 204);
    assert.equal((await b.adminFetch('/admin/api/saml/apps/expenses')).status, 404);

    const audit = (await (await a.adminFetch('/admin/api/audit?type=client.created')).json()) as {
      events: { targetClientId?: string; protocol?: string }[];
    };
    assert.ok(audit.events.some((event) => event.targetClientId === 'hr' && event.protocol === 'saml'));
    const openapi = (await (await a.adminFetch('/admin/api/openapi.json')).json()) as { paths: Record<string, unknown> };
    for (const path of ['/saml/apps', '/saml/apps/{id}', '/saml/keys', '/saml/keys/next', '/saml/keys/rotate']) {
      assert.ok(
        Object.keys(openapi.paths).some((documented) => documented.endsWith(path)),
        `${path} is documented`,
      );
    }
  });

  it('publishes a next certificate before it signs, then rotates: applications that fetched it go on, on every node', async () => {
    const sp = await serviceProvider(a, 'payroll', { register: { mfa_policy: 'off' } });
    const credentials = { username: 'rotator', password: 'a long passphrase' };
    await createUser(a, credentials);
    const before = certificatesIn(await (await fetch(`${a.issuer}/saml/metadata`)).text());
    assert.equal(before.length, 1);

    const next = (await (await a.adminFetch('/admin/api/saml/keys/next', { method: 'POST' })).json()) as { next: { certificate: string } };
    clock.advance(6_000);
    const published = certificatesIn(await (await fetch(`${b.url}/saml/metadata`)).text());
    assert.equal(published.length, 2, 'node B publishes the next certificate too');
    assert.equal(published[0], before[0], 'the current one still signs');

    // The application trusts both certificates (it refetched the metadata), then the rotation.
    const both = new SAML({ ...sp.saml.options, idpCert: [sp.saml.options.idpCert as string, next.next.certificate] } as never);
    const rotated = await a.adminFetch('/admin/api/saml/keys/rotate', { method: 'POST' });
    assert.equal(rotated.status, 200);
    clock.advance(6_000);
    const after = certificatesIn(await (await fetch(`${b.url}/saml/metadata`)).text());
    assert.deepEqual(after, [published[1]], 'the old certificate leaves the metadata');

    const agent = new UserAgent();
    const { page } = await walkToAnswer(agent, await both.getAuthorizeUrlAsync('', undefined, {}), credentials, new Phone(clock));
    const { profile } = await both.validatePostResponseAsync({ SAMLResponse: sp.answerOn(page).SAMLResponse });
    assert.ok(profile, 'signed with the new key, checked by an application that has it');
    // An application that still has only the old certificate refuses answers signed with the new key.
    const again = await walkToAnswer(agent, await sp.saml.getAuthorizeUrlAsync('', undefined, {}), null, new Phone(clock));
    await assert.rejects(sp.saml.validatePostResponseAsync({ SAMLResponse: sp.answerOn(again.page).SAMLResponse }), /signature/i);
    assert.equal((await a.adminFetch('/admin/api/saml/keys/rotate', { method: 'POST' })).status, 409, 'no next key to rotate to');
  });
});

describe('SAML signing keys given by the operator', () => {
  it("signs with the key and certificate of the files, publishes the next certificate, and refuses a key that is not the certificate's", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'twofold-saml-keys-'));
    const current = generateSigningPair('id.example.com', Date.now());
    const next = generateSigningPair('id.example.com', Date.now());
    const other = generateSigningPair('other.example.com', Date.now());
    const file = (name: string, content: string) => {
      writeFileSync(join(dir, name), content);
      return join(dir, name);
    };
    const saml = {
      keyFile: file('saml.key', current.keyPem),
      certificateFile: file('saml.crt', current.certPem),
      nextCertificateFile: file('next.crt', next.certPem),
      entityId: 'https://id.example.com/saml',
    };
    const server = await startTestServer({ saml });
    try {
      const metadata = await (await fetch(`${server.issuer}/saml/metadata`)).text();
      assert.ok(metadata.includes('entityID="https://id.example.com/saml"'));
      const body = (pem: string) => pem.replace(/-----[A-Z ]+-----|\s/g, '');
      assert.deepEqual(certificatesIn(metadata), [body(current.certPem), body(next.certPem)]);
      const sp = await serviceProvider(server, 'files', {
        register: { mfa_policy: 'off' },
        saml: { idpIssuer: 'https://id.example.com/saml' },
      });
      await createUser(server, { username: 'filer', password: 'a long passphrase' });
      const { page } = await walkToAnswer(
        new UserAgent(),
        await sp.saml.getAuthorizeUrlAsync('', undefined, {}),
        { username: 'filer', password: 'a long passphrase' },
        new Phone(createManualClock(Date.now())),
      );
      const { profile } = await sp.saml.validatePostResponseAsync({ SAMLResponse: sp.answerOn(page).SAMLResponse });
      assert.ok(profile, 'signed with the key of the files');
      assert.equal((await server.adminFetch('/admin/api/saml/keys/next', { method: 'POST' })).status, 409, 'rotated by changing the files');
    } finally {
      await server.close();
    }
    await assert.rejects(
      startTestServer({ saml: { ...saml, keyFile: file('other.key', other.keyPem) } }),
      /saml\.keyFile and saml\.certificateFile: the certificate is not for this key/,
    );
  });
});
