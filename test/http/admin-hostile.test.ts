import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ADMIN_TOKEN, createUser, registerClient, startTestServer, type TestServer } from '../support/server.ts';

interface Operation {
  method: string;
  path: string;
  body: boolean;
  upload: boolean;
}

const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

/** Bodies no administrator's script sends: every endpoint that reads a body answers each with a 4xx. */
const hostileBodies: { name: string; contentType?: string; body: string; status?: number }[] = [
  { name: 'malformed JSON', body: '{"username": "a", ', status: 400 },
  {
    name: 'operator objects',
    body: '{"username":{"$ne":null},"password":{"$gt":""},"disabled":{"$ne":false},"client_id":{"$regex":".*"}}',
    status: 400,
  },
  { name: '__proto__ key', body: '{"__proto__":{"role":"admin","isAdmin":true}}', status: 400 },
  { name: 'constructor key', body: '{"constructor":{"prototype":{"role":"admin"}}}', status: 400 },
  { name: 'deeply nested arrays', body: nested(100_000) },
  { name: 'deeply nested objects', body: `${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}` },
  { name: 'NUL bytes', body: '{"username":"a\\u0000b","password":"pass\\u0000word","client_id":"x\\u0000"}', status: 400 },
  { name: 'a JSON string', body: '"just a string"', status: 400 },
  { name: 'a JSON array', body: '[{"username":"a"}]', status: 400 },
  { name: 'null', body: 'null', status: 400 },
  { name: 'form body', contentType: 'application/x-www-form-urlencoded', body: 'username=a&password=bbbbbbbb', status: 415 },
  { name: 'XML', contentType: 'text/xml', body: '<user><username>a</username></user>', status: 415 },
  { name: 'no content type', contentType: '', body: '{"username":"a"}', status: 415 },
  { name: 'UTF-16 JSON', contentType: 'application/json; charset=utf-16', body: '{"username":"a"}' },
];

/** Path and query values: each must come back as a 4xx, not as someone else's record. */
const hostileValues = [
  '%00',
  '..%2F..%2Fsettings',
  '%7B%22%24ne%22%3A1%7D',
  'x'.repeat(5000),
  '%E2%80%AEnimda',
  '*',
  '%0d%0aSet-Cookie:%20x=y',
  '__proto__',
  'constructor',
];
const hostileQueries = [
  'limit=1e999',
  'limit=-1',
  'limit=0x10',
  'limit=1&limit=2',
  'q=%00',
  'q[$ne]=x',
  'cursor=%00',
  `q=${'*a'.repeat(100)}`,
  'since=yesterday',
  'type[$gt]=',
  'user=%0d%0a',
  'x=1',
  '__proto__[x]=1',
  'limit=%201',
  'limit=1.0',
  'limit=501',
];

describe('hostile input against every admin API endpoint', () => {
  let server: TestServer;
  let operations: Operation[];
  let userId: string;
  before(async () => {
    server = await startTestServer();
    userId = (await createUser(server, { username: 'existing', password: 'a long passphrase' })).id;
    await registerClient(server, { client_id: 'app', redirect_uris: ['http://127.0.0.1:9/cb'] });
    const document = (await (await server.adminFetch('/admin/api/openapi.json')).json()) as {
      paths: Record<string, Record<string, { requestBody?: { content: Record<string, unknown> } }>>;
    };
    operations = Object.entries(document.paths).flatMap(([path, byMethod]) =>
      Object.entries(byMethod).map(([method, operation]) => ({
        method: method.toUpperCase(),
        path,
        body: Boolean(operation.requestBody),
        // An upload takes image bytes: every JSON or form body is the wrong media type.
        upload: operation.requestBody !== undefined && !('application/json' in operation.requestBody.content),
      })),
    );
  });
  after(() => server.close());

  // Everything an accepted write could change, read back; the audit log records every change.
  const snapshot = async () => {
    const parts = await Promise.all(
      [
        '/admin/api/users?limit=500',
        '/admin/api/clients?limit=500',
        '/admin/api/settings',
        '/admin/api/audit?limit=1',
        `/admin/api/users/${userId}`,
      ].map(async (path) => (await server.adminFetch(path)).text()),
    );
    return parts.join('\n');
  };

  const send = (method: string, path: string, body: string | undefined, contentType = 'application/json') =>
    fetch(`${server.issuer}/admin/api${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(contentType ? { 'content-type': contentType } : {}) },
      ...(body === undefined ? {} : { body }),
    });

  const concrete = (path: string, value = userId) => path.replace('{id}', value).replace('{client_id}', value === userId ? 'app' : value);

  it('answers every hostile body with a 4xx and writes nothing', async () => {
    const before = await snapshot();
    const withBody = operations.filter((operation) => operation.body);
    assert.ok(withBody.length >= 9, `${withBody.length} endpoints take a body`);
    for (const operation of withBody) {
      for (const { name, contentType, body, status } of [
        ...hostileBodies,
        {
          name: 'over 100 kB',
          body: JSON.stringify({ username: 'a', pad: 'x'.repeat(200 * 1024) }),
          // An import, and a SAML application's metadata, may be larger: read, then refused.
          status: operation.path === '/import' || (operation.path === '/saml/apps' && operation.method === 'POST') ? 400 : 413,
        },
      ]) {
        const response = await send(operation.method, concrete(operation.path), body, contentType);
        const text = await response.text();
        const where = `${operation.method} ${operation.path}, ${name}`;
        if (operation.upload) assert.ok([413, 415].includes(response.status), `${where}: ${response.status} ${text.slice(0, 200)}`);
        else if (status) assert.equal(response.status, status, `${where}: ${text.slice(0, 200)}`);
        else assert.ok(response.status >= 400 && response.status < 500, `${where}: ${response.status} ${text.slice(0, 200)}`);
        assert.equal(typeof (JSON.parse(text) as { error: unknown }).error, 'string', `${where}: an {error, message} body`);
      }
    }
    assert.equal(await snapshot(), before, 'nothing was written');
  });

  it('answers hostile path and query values with a 4xx and writes nothing', async () => {
    const before = await snapshot();
    for (const operation of operations) {
      const body = operation.body ? '{}' : undefined;
      if (operation.path.includes('{')) {
        for (const value of hostileValues) {
          const response = await send(operation.method, concrete(operation.path, value), body);
          assert.ok(
            response.status >= 400 && response.status < 500,
            `${operation.method} ${operation.path} with ${value.slice(0, 40)}: ${response.status}`,
          );
          assert.equal(response.headers.get('set-cookie'), null);
        }
      }
      for (const query of hostileQueries) {
        const response = await send(operation.method, `${concrete(operation.path)}?${query}`, body);
        const text = await response.text();
        assert.ok(response.status < 500, `${operation.method} ${operation.path}?${query}: ${response.status} ${text}`);
        // A list's own parameters are checked: a bad value is a 400, never a silent default.
        if (
          operation.method === 'GET' &&
          /^\/(users|clients|audit)$/.test(operation.path) &&
          /^(limit|x=|__proto__|q\[|type\[)/.test(query)
        ) {
          assert.equal(response.status, 400, `${operation.method} ${operation.path}?${query}: ${text}`);
        }
      }
    }
    assert.equal(await snapshot(), before, 'nothing was written');
  });

  it('refuses usernames that look like another and redirect URIs that inject headers, and keeps other scripts', async () => {
    for (const username of ['\u202Enimda', 'ad\u200Bmin', 'admin\u0000', 'a\r\nb', 'x'.repeat(129), '\uFEFFadmin', 'ad min']) {
      const response = await server.adminFetch('/admin/api/users', {
        method: 'POST',
        body: JSON.stringify({ username, password: 'a long passphrase' }),
      });
      assert.equal(response.status, 400, `${JSON.stringify(username)}: ${response.status}`);
    }
    for (const uri of [
      'http://127.0.0.1:9/cb\r\nSet-Cookie: x=y',
      'http://127.0.0.1:9/c\tb',
      'javascript:alert(1)',
      'http://127.0.0.1:9/cb#fragment',
    ]) {
      const created = await server.adminFetch('/admin/api/clients', {
        method: 'POST',
        body: JSON.stringify({ client_id: 'evil', redirect_uris: [uri] }),
      });
      assert.equal(created.status, 400, `register ${JSON.stringify(uri)}: ${created.status} ${await created.text()}`);
      const changed = await server.adminFetch('/admin/api/clients/app', {
        method: 'PATCH',
        body: JSON.stringify({ redirect_uris: [uri] }),
      });
      assert.equal(changed.status, 400, `change to ${JSON.stringify(uri)}: ${changed.status}`);
    }
    // The same through an import: every record is checked before any is written.
    const exported = (await (await server.adminFetch('/admin/api/export')).json()) as {
      clients: { clientId: string; metadata: { redirect_uris: string[] } }[];
    };
    const client = exported.clients.find((entry) => entry.clientId === 'app')!;
    client.metadata.redirect_uris = ['http://127.0.0.1:9/cb\r\nSet-Cookie: x=y'];
    const imported = await server.adminFetch('/admin/api/import', { method: 'POST', body: JSON.stringify(exported) });
    assert.match(`${imported.status} ${await imported.text()}`, /^400 .*redirect_uris/, 'the import is refused');
    // Any other address of the application too (logo_uri here).
    client.metadata.redirect_uris = ['http://127.0.0.1:9/cb'];
    (client.metadata as Record<string, unknown>).logo_uri = 'https://example.com/lo\tgo.png';
    const importedLogo = await server.adminFetch('/admin/api/import', { method: 'POST', body: JSON.stringify(exported) });
    assert.match(`${importedLogo.status} ${await importedLogo.text()}`, /^400 .*logo_uri/, 'the import is refused');
    const kept = (await (await server.adminFetch('/admin/api/clients/app')).json()) as { redirect_uris: string[]; logo_uri?: string };
    assert.deepEqual(kept.redirect_uris, ['http://127.0.0.1:9/cb']);
    assert.equal(kept.logo_uri, undefined);

    // Names in other scripts are names: they are kept exactly and found again.
    for (const username of ['José', 'Jose\u0301', '用户', 'مستخدم', 'क्षत्रिय\u200D']) {
      const created = await createUser(server, { username, password: 'a long passphrase' });
      assert.equal(created.username, username);
      const found = (await (await server.adminFetch(`/admin/api/users?q=${encodeURIComponent(username)}`)).json()) as {
        users: { username: string }[];
      };
      assert.deepEqual(
        found.users.map((user) => user.username),
        [username],
      );
    }
  });
});
