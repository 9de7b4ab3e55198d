import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { packageRoot } from '../../src/config/load.ts';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/server.ts';

// The smallest PNG: one transparent pixel.
const PNG_1PX = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The `twofold` command as a person runs it: bin/twofold.js in a process of its own. */
function twofold(args: string[], options: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(packageRoot, 'bin/twofold.js'), ...args], {
      env: { PATH: process.env.PATH, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

describe('the twofold command against a running server', () => {
  let server: TestServer;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    server = await startTestServer();
    env = { TWOFOLD_URL: server.issuer, ADMIN_TOKEN };
  });
  after(() => server.close());

  it('manages users and their second factor, with --json for scripts and tables for people', async () => {
    const added = await twofold(['users', 'add', 'una', '--password-stdin', '--email', 'una@example.com', '--json'], {
      env,
      input: 'una passphrase\n',
    });
    assert.equal(added.code, 0, added.stderr);
    const user = JSON.parse(added.stdout) as { id: string; username: string; email: string };
    assert.deepEqual([user.username, user.email], ['una', 'una@example.com']);

    const listed = await twofold(['users', 'list', 'u*'], { env });
    assert.equal(listed.code, 0);
    const [header, row] = listed.stdout.trim().split('\n');
    assert.match(header!, /^USERNAME\s+ID\s+MFA\s+EXEMPT/);
    assert.match(row!, new RegExp(`^una\\s+${user.id}\\s+none\\s+false`));

    for (const args of [
      ['mfa', 'exempt', 'una'],
      ['users', 'disable', user.id],
      ['mfa', 'unlock', 'una'],
    ]) {
      const result = await twofold([...args, '--json'], { env });
      assert.equal(result.code, 0, `${args.join(' ')}: ${result.stderr}`);
    }
    const shown = JSON.parse((await twofold(['users', 'show', 'una', '--json'], { env })).stdout) as {
      disabled: boolean;
      mfa: { exempt: boolean };
    };
    assert.deepEqual([shown.disabled, shown.mfa.exempt], [true, true]);
    const text = await twofold(['users', 'show', 'una'], { env });
    assert.match(text.stdout, /^mfa\.exempt:\s+true$/m);

    const reset = await twofold(['mfa', 'reset', 'una'], { env });
    assert.equal(reset.code, 2, 'a reset asks for --yes');
    assert.match(reset.stderr, /--yes/);
    assert.equal((await twofold(['mfa', 'reset', 'una', '--yes'], { env })).code, 0);
    assert.equal((await twofold(['users', 'set-password', 'una', '--password-stdin'], { env, input: 'a new passphrase' })).code, 0);
    const ended = await twofold(['users', 'end-sessions', 'una'], { env });
    assert.equal(ended.code, 0, ended.stderr);
    assert.match(ended.stdout, /every session of the user has ended/);
    const audit = JSON.parse((await twofold(['audit', '--user', 'una', '--json'], { env })).stdout) as {
      events: { type: string; actor: string }[];
    };
    assert.deepEqual(audit.events.map((e) => e.type).slice(0, 3), ['user.sessions_ended', 'user.updated', 'mfa.reset']);
    assert.ok(audit.events.every((e) => e.actor === 'admin'));
    assert.equal((await twofold(['users', 'delete', 'una', '--yes'], { env })).code, 0);
  });

  it("lists a user's security keys and removes one, asking for --yes", async () => {
    assert.equal((await twofold(['users', 'add', 'kira', '--password-stdin'], { env, input: 'kira passphrase\n' })).code, 0);
    const data = (await (await server.adminFetch('/admin/api/export')).json()) as {
      users: { username: string; mfa: Record<string, unknown> }[];
    };
    const kira = data.users.find((user) => user.username === 'kira')!;
    const key = (id: string, name: string) => ({
      id,
      publicKey: 'pQECAyYgASFYIA',
      counter: 0,
      deviceType: id === 'k2' ? 'multiDevice' : 'singleDevice',
      backedUp: id === 'k2',
      name,
      addedAt: '2026-11-01T10:00:00.000Z',
    });
    kira.mfa.webauthn = [key('k1', 'Blue key'), key('k2', 'Phone passkey')];
    assert.equal(
      (await server.adminFetch('/admin/api/import', { method: 'POST', body: JSON.stringify({ ...data, users: [kira] }) })).status,
      200,
    );

    const listed = await twofold(['mfa', 'keys', 'kira'], { env });
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(listed.stdout.trim().split('\n'), [
      'k1  Blue key (security key), added 2026-11-01T10:00:00.000Z, last used never',
      'k2  Phone passkey (passkey), added 2026-11-01T10:00:00.000Z, last used never',
    ]);
    const unconfirmed = await twofold(['mfa', 'remove-key', 'kira', 'k1'], { env });
    assert.equal(unconfirmed.code, 2, 'a removal asks for --yes');
    const removed = await twofold(['mfa', 'remove-key', 'kira', 'k1', '--yes', '--json'], { env });
    assert.equal(removed.code, 0, removed.stderr);
    assert.deepEqual(
      (JSON.parse(removed.stdout) as { mfa: { keys: { id: string }[] } }).mfa.keys.map((k) => k.id),
      ['k2'],
    );
    const again = await twofold(['mfa', 'remove-key', 'kira', 'k1', '--yes'], { env });
    assert.equal(again.code, 1, 'no such key any more');
    assert.match(again.stderr, /no such security key/);

    // Remembered browsers: listed, one forgotten, then the rest.
    const browser = (id: string, name: string) => ({
      id,
      tokenHash: `hash-${id}`,
      browser: name,
      clientId: 'wiki',
      rememberedAt: new Date('2026-11-02T10:00:00Z'),
      expiresAt: new Date('2026-11-09T10:00:00Z'),
    });
    const kiraId = (await server.stores.users.findByUsername('kira'))!.id;
    await server.stores.users.rememberDevice(kiraId, browser('00000000000000b1', 'Firefox on Linux'));
    await server.stores.users.rememberDevice(kiraId, browser('00000000000000b2', 'Safari on iPhone'));
    const browsers = await twofold(['mfa', 'browsers', 'kira'], { env });
    assert.deepEqual(browsers.stdout.trim().split('\n'), [
      '00000000000000b1  Firefox on Linux at wiki, remembered 2026-11-02T10:00:00.000Z, until 2026-11-09T10:00:00.000Z',
      '00000000000000b2  Safari on iPhone at wiki, remembered 2026-11-02T10:00:00.000Z, until 2026-11-09T10:00:00.000Z',
    ]);
    const one = await twofold(['mfa', 'forget-browsers', 'kira', '00000000000000b1'], { env });
    assert.equal(one.stdout.trim(), 'kira: 1 remembered browsers left');
    const unknown = await twofold(['mfa', 'forget-browsers', 'kira', '00000000000000b1'], { env });
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no such remembered browser/);
    const all = await twofold(['mfa', 'forget-browsers', 'kira'], { env });
    assert.equal(all.stdout.trim(), 'kira: 0 remembered browsers left');
    assert.equal((await twofold(['mfa', 'browsers', 'kira'], { env })).stdout.trim(), 'no remembered browsers');

    // Authenticator apps: listed, and one removed.
    await server.stores.users.registerDevice(kiraId, {
      id: '00000000000000a1',
      name: 'Work phone',
      sealedSecret: 'v1.kid.iv.ct.tag',
      registeredAt: new Date('2026-11-03T10:00:00Z'),
      lastStep: 1,
      drift: 0,
    });
    const apps = await twofold(['mfa', 'apps', 'kira'], { env });
    assert.equal(apps.stdout.trim(), '00000000000000a1  Work phone, added 2026-11-03T10:00:00.000Z, last used never');
    assert.equal((await twofold(['mfa', 'remove-app', 'kira', '00000000000000a1'], { env })).code, 2, 'a removal asks for --yes');
    const removedApp = await twofold(['mfa', 'remove-app', 'kira', '00000000000000a1', '--yes', '--json'], { env });
    assert.equal(removedApp.code, 0, removedApp.stderr);
    assert.deepEqual((JSON.parse(removedApp.stdout) as { mfa: { apps: unknown[] } }).mfa.apps, []);
    assert.equal((await twofold(['mfa', 'apps', 'kira'], { env })).stdout.trim(), 'no authenticator apps');
  });

  it('manages applications and settings, and exports to a file that imports back', async () => {
    const added = await twofold(
      ['clients', 'add', 'wiki', '--redirect-uri', 'https://wiki.example/cb', '--policy', 'required', '--first-party', '--json'],
      { env },
    );
    assert.equal(added.code, 0, added.stderr);
    const client = JSON.parse(added.stdout) as { client_secret: string; mfa_policy: string };
    assert.equal(client.mfa_policy, 'required');
    assert.ok(client.client_secret.length >= 32, 'the secret is shown once');
    const rotated = JSON.parse((await twofold(['clients', 'rotate-secret', 'wiki', '--json'], { env })).stdout) as {
      client_secret: string;
    };
    assert.notEqual(rotated.client_secret, client.client_secret);
    assert.equal((await twofold(['clients', 'set', 'wiki', '--policy', 'if_enrolled'], { env })).code, 0);
    assert.match(
      (await twofold(['clients', 'list'], { env })).stdout,
      /^wiki\s+-\s+if_enrolled\s+\(all on\)\s+true\s+https:\/\/wiki\.example\/cb$/m,
    );
    // The factors an application accepts: the authenticator app only, then every one again.
    assert.equal((await twofold(['clients', 'set', 'wiki', '--factors', 'totp'], { env })).code, 0);
    assert.match((await twofold(['clients', 'list'], { env })).stdout, /^wiki\s+-\s+if_enrolled\s+totp\s+true\s/m);
    const refused = await twofold(['clients', 'set', 'wiki', '--factors', 'sms'], { env });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /mfa_factors/);
    assert.equal((await twofold(['clients', 'set', 'wiki', '--factors', 'all'], { env })).code, 0);
    assert.match((await twofold(['clients', 'list'], { env })).stdout, /^wiki\s+-\s+if_enrolled\s+\(all on\)\s/m);

    const set = await twofold(
      ['settings', 'set', 'maxAttempts=3', 'issuerLabel=Acme SSO', 'backupCodes={"enabled":true,"count":8}', '--json'],
      { env },
    );
    assert.equal(set.code, 0, set.stderr);
    assert.deepEqual(JSON.parse(set.stdout).backupCodes, { enabled: true, count: 8 });
    assert.match((await twofold(['settings', 'get'], { env })).stdout, /^issuerLabel:\s+Acme SSO$/m);

    await twofold(['users', 'add', 'vera', '--password-stdin'], { env, input: 'vera passphrase' });
    const file = join(mkdtempSync(join(tmpdir(), 'twofold-cli-')), 'export.json');
    const exported = await twofold(['export', file], { env });
    assert.equal(exported.code, 0, exported.stderr);
    assert.match(exported.stdout, /^wrote \d+ users and 1 applications to /);
    assert.equal(JSON.parse(readFileSync(file, 'utf8')).format, 'twofold-export');
    const imported = JSON.parse((await twofold(['import', file, '--json'], { env })).stdout) as {
      usersUpdated: number;
      clientsUpdated: number;
    };
    assert.deepEqual([imported.usersUpdated > 0, imported.clientsUpdated], [true, 1]);
  });

  it('registers a SAML application from its metadata file, changes, lists and deletes it, and rotates the SAML key', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'twofold-cli-saml-'));
    const metadataFile = join(dir, 'sp.xml');
    writeFileSync(
      metadataFile,
      '<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://wiki.example/saml"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">' +
        '<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://wiki.example/saml/acs" index="0"/></md:SPSSODescriptor></md:EntityDescriptor>',
    );
    const added = await twofold(
      ['saml-apps', 'add', 'wiki-saml', '--metadata', metadataFile, '--name', 'Wiki', '--policy', 'required', '--json'],
      { env },
    );
    assert.equal(added.code, 0, added.stderr);
    const app = JSON.parse(added.stdout) as { entity_id: string; acs_urls: string[]; idp_metadata_url: string };
    assert.deepEqual([app.entity_id, app.acs_urls], ['https://wiki.example/saml', ['https://wiki.example/saml/acs']]);
    assert.equal(app.idp_metadata_url, `${server.issuer}/saml/metadata`);
    assert.equal(
      (await twofold(['saml-apps', 'set', 'wiki-saml', '--idp-initiated', '--name-id-format', 'emailAddress'], { env })).code,
      0,
    );
    assert.match(
      (await twofold(['saml-apps', 'list'], { env })).stdout,
      /^wiki-saml\s+Wiki\s+https:\/\/wiki\.example\/saml\s+required\s+emailAddress\s+false\s+true$/m,
    );
    const byFields = await twofold(
      ['saml-apps', 'add', 'vpn', '--entity-id', 'https://vpn.example', '--acs-url', 'https://vpn.example/acs'],
      { env },
    );
    assert.equal(byFields.code, 0, byFields.stderr);
    assert.equal((await twofold(['saml-apps', 'add', 'nothing'], { env })).code, 2, 'neither metadata nor fields');
    assert.equal((await twofold(['saml-apps', 'delete', 'vpn'], { env })).code, 2, 'asks for --yes');
    assert.equal((await twofold(['saml-apps', 'delete', 'vpn', '--yes'], { env })).code, 0);
    assert.equal((await twofold(['saml-apps', 'show', 'vpn'], { env })).code, 1);

    const next = await twofold(['saml-keys', 'next'], { env });
    assert.match(next.stdout, /^next certificate \(published, not yet signing\): SHA-256 [0-9A-F:]{95}$/m);
    assert.equal((await twofold(['saml-keys', 'rotate', '--yes'], { env })).code, 0);
    assert.match((await twofold(['saml-keys', 'show'], { env })).stdout, /^next certificate: none$/m);
  });

  it('follows PORT when TWOFOLD_URL is unset, changes one nested setting, uploads a logo, and shows the audit log with names and old and new values', async () => {
    const local = { ADMIN_TOKEN, PORT: new URL(server.issuer).port };
    const added = await twofold(['users', 'add', 'demetra', '--password-stdin', '--name', 'Demetra Quill'], {
      env: local,
      input: 'demetra passphrase',
    });
    assert.equal(added.code, 0, `the API is found on PORT: ${added.stderr}`);

    const before = JSON.parse((await twofold(['settings', 'get', '--json'], { env: local })).stdout) as {
      brand: { logoUrl: string | null };
    };
    const named = await twofold(['settings', 'set', 'brand.name=Quill & Co', '--json'], { env: local });
    assert.equal(named.code, 0, named.stderr);
    assert.deepEqual(JSON.parse(named.stdout).brand, { name: 'Quill & Co', logoUrl: before.brand.logoUrl }, 'the logo is kept');

    const dir = mkdtempSync(join(tmpdir(), 'twofold-logo-'));
    const png = join(dir, 'logo.png');
    writeFileSync(png, PNG_1PX);
    const uploaded = await twofold(['settings', 'logo', png, '--json'], { env: local });
    assert.equal(uploaded.code, 0, uploaded.stderr);
    const logoUrl = JSON.parse(uploaded.stdout).brand.logoUrl as string;
    assert.match(logoUrl, /^\/brand\/logo\?v=[0-9a-f]{16}$/);
    const served = await fetch(new URL(logoUrl, server.issuer));
    assert.equal(served.headers.get('content-type'), 'image/png');
    assert.deepEqual(Buffer.from(await served.arrayBuffer()), PNG_1PX);
    const notImage = join(dir, 'logo.gif');
    writeFileSync(notImage, '<svg xmlns="http://www.w3.org/2000/svg"/>');
    const refused = await twofold(['settings', 'logo', notImage], { env: local });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /a PNG, JPEG, GIF or WebP image/);

    const audit = await twofold(['audit', '--search', 'dem*', '--type', 'user.created'], { env: local });
    assert.equal(audit.code, 0, audit.stderr);
    assert.match(audit.stdout, /^\S+\s+user\.created\s+success\s+demetra\s/m, 'the username, not only the id');
    const settings = await twofold(['audit', '--type', 'settings.updated', '--limit', '2'], { env: local });
    assert.match(settings.stdout, /brand\.name: \S+ -> Quill & Co/);
    assert.match(settings.stdout, /brand\.logoUrl: .* -> \/brand\/logo\?v=/);
    await twofold(['settings', 'set', 'brand.name=twofold', 'brand.logoUrl=null'], { env: local });
  });

  it("exits 1 with the API's message when it refuses, and 2 on bad usage", async () => {
    await twofold(['users', 'add', 'walt', '--password-stdin'], { env, input: 'walt passphrase' });
    const taken = await twofold(['users', 'add', 'WALT', '--password-stdin'], { env, input: 'walt passphrase' });
    assert.equal(taken.code, 1);
    assert.match(taken.stderr, /username is taken \(conflict\)/);
    const missing = await twofold(['users', 'show', 'nobody', '--json'], { env });
    assert.equal(missing.code, 1);
    assert.deepEqual(JSON.parse(missing.stderr), { error: 'not_found', message: 'no user named nobody' });
    const wrongToken = await twofold(['users', 'list', '--token', 'x'.repeat(40)], { env });
    assert.equal(wrongToken.code, 1);
    assert.match(wrongToken.stderr, /admin token/);
    const unreachable = await twofold(['settings', 'get', '--url', 'http://127.0.0.1:9'], { env });
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /cannot reach/);

    for (const args of [
      ['users', 'frobnicate'],
      ['users', 'add'],
      ['users', 'list', '--colour', 'blue'],
      ['settings', 'set', 'novalue'],
      ['clients', 'set', 'wiki'],
    ]) {
      const result = await twofold(args, { env });
      assert.equal(result.code, 2, `${args.join(' ')} → ${result.code}: ${result.stderr}`);
    }
    assert.equal((await twofold(['users', 'list'], { env: { TWOFOLD_URL: server.issuer } })).code, 2, 'no token');
  });

  it('has --help for the whole and for every command', async () => {
    const all = await twofold(['--help'], { env });
    assert.equal(all.code, 0);
    const names = [...all.stdout.matchAll(/^ {2}((?:[a-z-]+ ?)+?) (?=[A-Z[]|\s{2})/gm)].map((m) => m[1]!.trim());
    assert.ok(names.length >= 23, names.join(', '));
    for (const name of names) {
      const help = await twofold([...name.split(' '), '--help'], { env });
      assert.equal(help.code, 0, name);
      assert.match(help.stdout, new RegExp(`^usage: twofold ${name}`), name);
    }
  });
});
