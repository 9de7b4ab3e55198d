import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { createManualClock } from '../../src/domain/clock.ts';
import { realStoresSkip } from '../support/env.ts';
import { registeredUser } from '../support/mfa.ts';
import { signIn, UserAgent, type RelyingParty } from '../support/relying-party.ts';
import { createUser, newRealStores, registerApplication, startTestServer, type TestServer } from '../support/server.ts';

type Operation = { tags?: string[]; summary?: string };
type Event = {
  type: string;
  userId?: string;
  username?: string;
  clientId?: string;
  targetClientId?: string;
  applicationName?: string;
  factor?: string;
  changes?: { field: string; from: string | null; to: string | null }[];
};

/** What an administrator reads and searches through the API: the document, the users, the audit log, the settings. */
describe('the admin API for an administrator, on Redis and MongoDB', { skip: realStoresSkip }, () => {
  const clock = createManualClock(Date.now());
  let server: TestServer;
  let rp: RelyingParty;
  before(async () => {
    server = await startTestServer({ real: newRealStores(), clock });
    rp = (
      await registerApplication(server, {
        client_id: 'wiki',
        client_name: 'Team wiki',
        redirect_uris: ['http://127.0.0.1:9/cb'],
        first_party: true,
        mfa_policy: 'required',
      })
    ).rp;
  });
  after(() => server.close());

  const json = async (path: string, init: RequestInit = {}) => {
    const response = await server.adminFetch(path, init);
    return { status: response.status, body: (await response.json()) as any };
  };
  const events = async (query: string) => (await json(`/admin/api/audit?${query}`)).body.events as Event[];

  it('publishes its OpenAPI document without the token: valid, every operation tagged and summarised', async () => {
    const response = await fetch(`${server.issuer}/admin/api/openapi.json`);
    assert.equal(response.status, 200, 'no token needed');
    const document = (await response.json()) as { paths: Record<string, Record<string, Operation>>; tags: { name: string }[] };
    const result = await new Validator().validate(document as never);
    assert.equal(result.valid, true, JSON.stringify(result.errors));
    assert.deepEqual(
      document.tags.map((tag) => tag.name),
      ['users', 'applications', 'settings', 'audit', 'data'],
    );
    const operations = Object.entries(document.paths).flatMap(([path, byMethod]) =>
      Object.entries(byMethod).map(([method, operation]) => ({ where: `${method} ${path}`, ...operation })),
    );
    for (const operation of operations) {
      assert.equal(operation.tags?.length, 1, `${operation.where} has a tag`);
      assert.ok(
        document.tags.some((tag) => tag.name === operation.tags![0]),
        `${operation.where}: a known tag`,
      );
      assert.ok(operation.summary && operation.summary.length > 5, `${operation.where} has a summary`);
    }
    assert.ok(operations.some((o) => o.where === 'post /settings/logo' && o.tags![0] === 'settings'));
    // The API itself still needs the token.
    assert.equal((await fetch(`${server.issuer}/admin/api/users`)).status, 401);
    // The documentation page: its policy lets it fetch from its own origin, nothing else.
    const docs = await fetch(`${server.issuer}/admin/api/docs`);
    assert.equal(docs.status, 200);
    assert.match(docs.headers.get('content-security-policy')!, /^default-src 'none'; script-src 'self'; .*connect-src 'self'$/);
    assert.match(await docs.text(), /src="\/admin\/api\/docs\/swagger-ui-bundle\.js"/);
    const bundle = await fetch(`${server.issuer}/admin/api/docs/swagger-ui-bundle.js`);
    assert.equal(bundle.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.ok((await bundle.arrayBuffer()).byteLength > 100_000);
  });

  it('changes one nested setting with a merge patch, and records exactly what changed, old and new', async () => {
    const before = (await json('/admin/api/settings')).body;
    const patched = await json('/admin/api/settings', { method: 'PATCH', body: JSON.stringify({ brand: { name: 'Acme' } }) });
    assert.equal(patched.status, 200);
    assert.deepEqual(patched.body, { ...before, brand: { ...before.brand, name: 'Acme' } }, 'the name alone changed');
    const [event] = await events('type=settings.updated&limit=1');
    assert.deepEqual(event!.changes, [{ field: 'brand.name', from: before.brand.name, to: 'Acme' }]);
    const again = (await events('type=settings.updated')).length;
    await json('/admin/api/settings', { method: 'PATCH', body: JSON.stringify({ brand: { name: 'Acme' } }) });
    assert.equal((await events('type=settings.updated')).length, again, 'a change of nothing writes no event');
    const nested = await json('/admin/api/settings', { method: 'PATCH', body: JSON.stringify({ backupCodes: { count: 6 } }) });
    assert.deepEqual(nested.body.backupCodes, { ...before.backupCodes, count: 6 });
    await json('/admin/api/settings', { method: 'PATCH', body: JSON.stringify({ brand: before.brand, backupCodes: before.backupCodes }) });
  });

  it('applies merge patches of different settings sent at the same moment, each once', async () => {
    const before = (await json('/admin/api/settings')).body;
    const patches = [{ maxAttempts: 4 }, { skewSteps: 3 }, { registrationMessage: 'Ask IT.' }, { backupCodes: { count: 7 } }];
    const answers = await Promise.all(
      patches.map((patch) => json('/admin/api/settings', { method: 'PATCH', body: JSON.stringify(patch) })),
    );
    assert.deepEqual(
      answers.map((a) => a.status),
      [200, 200, 200, 200],
    );
    const after = (await json('/admin/api/settings')).body;
    assert.deepEqual(
      [after.maxAttempts, after.skewSteps, after.registrationMessage, after.backupCodes],
      [4, 3, 'Ask IT.', { ...before.backupCodes, count: 7 }],
    );
    const changed = (await events('type=settings.updated&limit=4')).flatMap((e) => e.changes!.map((c) => c.field)).sort();
    assert.deepEqual(
      changed,
      ['backupCodes.count', 'maxAttempts', 'registrationMessage', 'skewSteps'],
      'one event each, with its own change',
    );
    await json('/admin/api/settings', { method: 'PATCH', body: JSON.stringify(before) });
  });

  it('finds users by a word in the username, email or name ignoring case, or by a case-sensitive pattern with *', async () => {
    await createUser(server, { username: 'jsmith', password: 'a long passphrase', email: 'Jo.Smith@example.com' });
    await createUser(server, { username: 'pat', password: 'a long passphrase', name: 'Pat SMITHERS' });
    await createUser(server, { username: 'Smithy', password: 'a long passphrase' });
    const names = async (query: string) =>
      ((await json(`/admin/api/users?${query}`)).body.users as { username: string }[]).map((u) => u.username);
    assert.deepEqual(await names('q=smith'), ['Smithy', 'jsmith', 'pat']);
    assert.deepEqual(await names('q=Smith*'), ['Smithy'], 'with *: the username, case-sensitive');
    assert.deepEqual(await names('q=smith*'), []);
    assert.deepEqual(await names('q=jsmith'), ['jsmith']);
    const pat = (await json('/admin/api/users?q=pat')).body.users[0];
    await json(`/admin/api/users/${pat.id}`, { method: 'PATCH', body: JSON.stringify({ exempt: true }) });
    assert.deepEqual(await names('exempt=true'), ['pat']);
    await json(`/admin/api/users/${pat.id}`, { method: 'PATCH', body: JSON.stringify({ exempt: false }) });
    assert.deepEqual(
      (await events(`user=${pat.id}`)).map((e) => e.type),
      ['user.unexempted', 'user.exempted', 'user.created'],
    );
  });

  it('answers audit questions: who signed in where with which factor, by name pattern, application and time', async () => {
    const from = new Date(clock.now()).toISOString();
    const demi = await registeredUser(server, rp, clock, 'demi');
    const other = await registeredUser(server, rp, clock, 'zed');
    // Demi signs in again with a backup code.
    const { seen } = await signIn(new UserAgent(), rp, demi.credentials, { prompt: 'login' }, { code: () => demi.phone.backupCodes[0]! });
    assert.deepEqual(seen, ['login', 'code', 'backup-code-used']);

    const signIns = await events('type=signin.succeeded&username=dem*');
    assert.deepEqual(
      signIns.map((e) => [e.username, e.clientId, e.applicationName, e.factor]),
      [
        ['demi', 'wiki', 'Team wiki', 'backup_code'],
        ['demi', 'wiki', 'Team wiki', 'totp'],
      ],
      'the name beside the id, the application, the factor',
    );
    assert.ok(
      signIns.every((e) => e.userId === demi.id),
      'ids kept for machines',
    );
    assert.deepEqual(
      (await events('type=signin.succeeded&username=ZED')).map((e) => e.userId),
      [other.id],
      'a word: any case',
    );
    assert.deepEqual(await events('type=signin.succeeded&username=Dem*'), [], 'a pattern: case-sensitive');

    // Changing the application: its events name it, found by its id.
    await json('/admin/api/clients/wiki', { method: 'PATCH', body: JSON.stringify({ mfa_max_age: 3600 }) });
    const wiki = await events('client=wiki&limit=100');
    assert.equal(wiki[0]!.type, 'client.updated');
    assert.equal(wiki[0]!.applicationName, 'Team wiki');
    assert.ok(wiki.some((e) => e.type === 'signin.succeeded'));
    assert.ok(wiki.every((e) => e.clientId === 'wiki' || e.targetClientId === 'wiki'));

    // A time range.
    clock.advance(3_600_000);
    const later = new Date(clock.now()).toISOString();
    await registeredUser(server, rp, clock, 'demetrius');
    const range = (query: string) => events(`type=signin.succeeded&username=dem*&${query}`);
    assert.deepEqual(
      (await range(`since=${encodeURIComponent(later)}`)).map((e) => e.username),
      ['demetrius'],
    );
    assert.deepEqual(
      (await range(`since=${encodeURIComponent(from)}&until=${encodeURIComponent(later)}`)).map((e) => e.username),
      ['demi', 'demi'],
    );
  });

  it('writes no event when unlocking a user who is not locked', async () => {
    const { id } = await createUser(server, { username: 'unlocked', password: 'a long passphrase' });
    const before = (await events(`user=${id}`)).length;
    assert.equal((await server.adminFetch(`/admin/api/users/${id}/unlock`, { method: 'POST' })).status, 200);
    assert.equal((await events(`user=${id}`)).length, before);
  });
});
