import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { startTestServer, type TestServer } from '../support/server.ts';

interface Operation {
  method: string;
  path: string;
  parameters?: { name: string; in: 'path' | 'query' }[];
  requestBody?: { content: { 'application/json'?: { schema: { properties?: Record<string, unknown> } } } };
}

/**
 * A fuzz of the admin API driven by its own OpenAPI document: for every operation, bodies
 * built from the schema's field names with values of any JSON type, plain random JSON,
 * and random query and path values. No answer may be a 5xx, and a 4xx writes nothing (every
 * change writes an audit event, so the newest event must stay the same).
 */
describe('admin API fuzz from the OpenAPI document', () => {
  let server: TestServer;
  let operations: Operation[];
  before(async () => {
    server = await startTestServer();
    const document = (await (await server.adminFetch('/admin/api/openapi.json')).json()) as {
      paths: Record<string, Record<string, Omit<Operation, 'method' | 'path'>>>;
    };
    operations = Object.entries(document.paths).flatMap(([path, byMethod]) =>
      Object.entries(byMethod).map(([method, operation]) => ({ ...operation, method, path })),
    );
  });
  after(() => server.close());

  // The newest audit event: any write adds one.
  const auditLength = async () =>
    JSON.stringify(((await (await server.adminFetch('/admin/api/audit?limit=1')).json()) as { events: unknown[] }).events);

  it('never answers 5xx, and writes nothing when it answers 4xx', async () => {
    const value = fc.oneof(
      fc.jsonValue(),
      fc.constantFrom('__proto__', '*a*a*a*a*a*a*b', '\u0000', 'x'.repeat(300), '$where', '{"$ne":1}', -1, 1e308, 'twofold-account'),
    );
    let requests = 0;
    for (const operation of operations) {
      const fields = Object.keys(operation.requestBody?.content['application/json']?.schema.properties ?? {});
      const body = fc.oneof(
        fc.dictionary(fields.length ? fc.constantFrom(...fields, '__proto__', 'constructor', 'extra') : fc.string(), value, { maxKeys: 6 }),
        fc.jsonValue(),
      );
      const params = fc.dictionary(fc.constantFrom(...(operation.parameters ?? []).map((p) => p.name), 'x'), fc.string({ maxLength: 40 }), {
        maxKeys: 3,
      });
      await fc.assert(
        fc.asyncProperty(body, params, async (input, values) => {
          const path = operation.path.replace(/\{(\w+)\}/g, (_, name: string) => encodeURIComponent(values[name] ?? 'nobody') || 'x');
          const query = new URLSearchParams(Object.entries(values).filter(([name]) => !operation.path.includes(`{${name}}`))).toString();
          const written = await auditLength();
          const response = await server.adminFetch(`/admin/api${path}${query ? `?${query}` : ''}`, {
            method: operation.method.toUpperCase(),
            ...(operation.method === 'get' || operation.method === 'delete' ? {} : { body: JSON.stringify(input) }),
          });
          requests++;
          const text = await response.text();
          assert.ok(response.status < 500, `${operation.method} ${path}?${query} ${JSON.stringify(input)} → ${response.status} ${text}`);
          if (response.status >= 400) {
            assert.equal(typeof (JSON.parse(text) as { error: unknown }).error, 'string');
            assert.equal(await auditLength(), written, `${operation.method} ${path} answered ${response.status} yet wrote`);
          }
        }),
        { numRuns: 25, seed: 20261124 },
      );
    }
    assert.ok(requests >= operations.length * 25);
  });
});
