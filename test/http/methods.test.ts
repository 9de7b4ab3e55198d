import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../support/server.ts';

/** Sends any method (fetch refuses TRACE), with the body it answered. */
function send(url: string, method: string): Promise<{ status: number; allow: string | undefined; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers: { accept: 'text/html' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, allow: res.headers.allow, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

// One address under every prefix twofold mounts, the engine's included.
const paths = [
  '/',
  '/healthz',
  '/readyz',
  '/metrics',
  '/assets/twofold.css',
  '/account/',
  '/account/logout',
  '/interaction/x/login',
  '/interaction/x',
  '/admin/',
  '/admin/users',
  '/admin/sign-out',
  '/admin/api/users',
  '/admin/api/openapi.json',
  '/demo/',
  '/auth',
  '/token',
  '/me',
  '/jwks',
  '/session/end',
  '/.well-known/openid-configuration',
  '/no/such/page',
];

describe('methods that no address takes', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ demo: true });
  });
  after(() => server.close());

  it('answers TRACE, PROPFIND and other unknown methods with 501 or 405, never 500, and logs no error', async () => {
    for (const path of paths) {
      for (const method of ['TRACE', 'PROPFIND', 'MKCOL', 'LOCK']) {
        const answer = await send(`${server.url}${path}`, method);
        assert.ok([405, 501].includes(answer.status), `${method} ${path}: ${answer.status}`);
        if (answer.status === 405) assert.ok(answer.allow, `${method} ${path}: 405 names what is allowed`);
      }
    }
    assert.equal(server.logs.filter((line) => JSON.parse(line).level >= 50).length, 0, 'no error-level log line');
  });

  it('answers a known method an address does not take with 405 and Allow', async () => {
    for (const [method, path] of [
      ['PUT', '/account/'],
      ['DELETE', '/interaction/x/login'],
      ['PATCH', '/admin/users'],
      ['PUT', '/'],
    ]) {
      const answer = await send(`${server.url}${path}`, method!);
      assert.equal(answer.status, 405, `${method} ${path}`);
      assert.ok(answer.allow, `${method} ${path}: Allow`);
    }
  });
});
