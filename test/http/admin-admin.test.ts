import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { createManualClock } from '../../src/domain/clock.ts';
import { realStoresSkip } from '../support/env.ts';
import { Phone, wrongCode } from '../support/mfa.ts';
import { relyingParty, signIn, SignInRefused, UserAgent } from '../support/relying-party.ts';
import { createUser, newRealStores, registerApplication, registerClient, startTestServer, type TestServer } from '../support/server.ts';
import * as oidc from 'openid-client';

interface OpenApi {
  openapi: string;
  paths: Record<string, Record<string, { responses: Record<string, unknown>; requestBody?: unknown }>>;
}

describe('administration on Redis and MongoDB', { skip: realStoresSkip }, () => {
  const clock = createManualClock(Date.now());
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ real: newRealStores(), clock });
  });
  after(() => server.close());

  const call = async (method: string, path: string, body?: unknown) => {
    const response = await server.adminFetch(path, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    const text = await response.text();
    return { status: response.status, body: text ? (JSON.parse(text) as Record<string, any>) : undefined };
  };

  describe('the OpenAPI document', () => {
    it('is valid OpenAPI 3.1 and lists every route the admin router serves', async () => {
      const { status, body } = await call('GET', '/admin/api/openapi.json');
      assert.equal(status, 200);
      const document = body as unknown as OpenApi;
      assert.equal(document.openapi, '3.1.0');
      const result = await new Validator().validate(document as never);
      assert.equal(result.valid, true, JSON.stringify(result.errors));

      // Every method and path the router answers (but the document and the index) is documented.
      const { createAdminRouter } = await import('../../src/http/admin/router.ts');
      const router = createAdminRouter({
        adminToken: 'x'.repeat(32),
        administration: {} as never,
        bodyLimit: 1024,
        issuer: 'http://localhost',
        checkSettings: async () => {
          throw new Error('not called');
        },
      });
      const served = router.stack
        .filter((layer) => layer.methods.length > 0 && !/\/admin\/api(\/?|\/openapi\.json|\/docs(\/.*)?)$/.test(String(layer.path)))
        .flatMap((layer) =>
          layer.methods
            .filter((m) => m !== 'HEAD')
            .map(
              (m) =>
                `${m} ${String(layer.path)
                  .replace('/admin/api', '')
                  .replace(/:(\w+)/g, '{$1}')}`,
            ),
        );
      const documented = Object.entries(document.paths).flatMap(([path, operations]) =>
        Object.keys(operations).map((m) => `${m.toUpperCase()} ${path}`),
      );
      assert.deepEqual([...served].sort(), [...documented].sort());
      assert.ok(served.length >= 16);
    });

    it('is pointed at by GET /admin/api', async () => {
      const { status, body } = await call('GET', '/admin/api');
      assert.equal(status, 200);
      assert.equal(body!.openapi, `${server.issuer}/admin/api/openapi.json`);
      assert.ok((body!.endpoints as string[]).includes('POST /admin/api/users/:id/mfa/reset'));
    });
  });

  describe('users', () => {
    it('sets and removes email and name, and shows the last sign-in and attempt', async () => {
      const created = await call('POST', '/admin/api/users', { username: 'nora', password: 'nora passphrase', email: 'nora@example.com' });
      assert.equal(created.status, 201);
      assert.deepEqual([created.body!.lastLogin, created.body!.lastAttemptAt], [null, null]);
      const id = created.body!.id as string;
      const changed = await call('PATCH', `/admin/api/users/${id}`, { email: null, name: 'Nora N' });
      assert.equal(changed.status, 200);
      assert.equal('email' in changed.body!, false);
      assert.equal(changed.body!.name, 'Nora N');

      const rp = (await registerApplication(server, { client_id: 'nora-app', redirect_uris: ['http://127.0.0.1:9/cb'], first_party: true }))
        .rp;
      await assert.rejects(signIn(new UserAgent(), rp, { username: 'nora', password: 'wrong one' }));
      const attempted = await call('GET', `/admin/api/users/${id}`);
      assert.deepEqual(
        [attempted.body!.lastLogin, attempted.body!.lastAttemptAt],
        [null, new Date(clock.now()).toISOString()],
        'a wrong password is an attempt, not a sign-in',
      );
      clock.advance(60_000);
      await signIn(new UserAgent(), rp, { username: 'nora', password: 'nora passphrase' });
      const shown = await call('GET', `/admin/api/users/${id}`);
      assert.equal(shown.body!.lastLogin.ip, '127.0.0.1');
      assert.equal(shown.body!.lastLogin.at, new Date(clock.now()).toISOString());
      assert.equal(shown.body!.lastAttemptAt, new Date(clock.now()).toISOString());
    });

    it('shows the sign-in a second factor finished as the last sign-in, and a refused code as an attempt only', async () => {
      const credentials = { username: 'nadia', password: 'nadia passphrase' };
      const { id } = await createUser(server, credentials);
      const { rp } = await registerApplication(server, {
        client_id: 'nadia-app',
        redirect_uris: ['http://127.0.0.1:9/cb'],
        first_party: true,
        mfa_policy: 'required',
      });
      const phone = new Phone(clock);
      await signIn(new UserAgent(), rp, credentials, {}, phone.app);
      const registeredAt = new Date(clock.now()).toISOString();
      clock.advance(60_000);
      await assert.rejects(
        signIn(new UserAgent(), rp, credentials, {}, { code: async () => wrongCode(await phone.code()) }),
        SignInRefused,
      );
      const refused = (await call('GET', `/admin/api/users/${id}`)).body!;
      assert.equal(refused.lastLogin.at, registeredAt, 'a wrong code is no sign-in');
      assert.equal(refused.lastAttemptAt, new Date(clock.now()).toISOString(), 'its password was an attempt');
      clock.advance(60_000);
      await signIn(new UserAgent(), rp, credentials, {}, phone.app);
      const shown = (await call('GET', `/admin/api/users/${id}`)).body!;
      assert.deepEqual(
        [shown.lastLogin.at, shown.lastLogin.ip, shown.lastAttemptAt],
        [new Date(clock.now()).toISOString(), '127.0.0.1', new Date(clock.now()).toISOString()],
      );
      const events = (await call('GET', `/admin/api/audit?user=${id}&limit=3`)).body!.events as { type: string; factor?: string }[];
      assert.deepEqual(
        events.map((event) => [event.type, event.factor]),
        [
          ['signin.succeeded', 'totp'],
          ['mfa.passed', undefined],
          ['mfa.refused', undefined],
        ],
        'the code and the sign-in it finished are both in the audit log',
      );
    });

    it('ends every session and refresh token of a user whose password an administrator changes', async () => {
      const { id } = await createUser(server, { username: 'omid', password: 'omid passphrase' });
      const client = await registerClient(server, {
        client_id: 'omid-app',
        redirect_uris: ['http://127.0.0.1:9/cb'],
        grant_types: ['authorization_code', 'refresh_token'],
        first_party: true,
      });
      const rp = await relyingParty(server.issuer, 'omid-app', client.client_secret, 'http://127.0.0.1:9/cb');
      const agent = new UserAgent();
      const first = await signIn(
        agent,
        rp,
        { username: 'omid', password: 'omid passphrase' },
        { scope: 'openid offline_access', prompt: 'consent' },
      );
      assert.ok(first.tokens.refresh_token);
      assert.deepEqual((await signIn(agent, rp, null)).seen, [], 'single sign-on before the change');

      assert.equal((await call('PATCH', `/admin/api/users/${id}`, { password: 'a brand new passphrase' })).status, 200);
      await assert.rejects(oidc.refreshTokenGrant(rp.config, first.tokens.refresh_token!), 'the refresh token is revoked');
      await assert.rejects(signIn(agent, rp, null), 'the session is gone: the password is asked');
      await assert.rejects(
        signIn(new UserAgent(), rp, { username: 'omid', password: 'omid passphrase' }),
        (err) => err instanceof SignInRefused,
      );
      assert.deepEqual((await signIn(new UserAgent(), rp, { username: 'omid', password: 'a brand new passphrase' })).seen, ['login']);
      const events = (await call('GET', `/admin/api/audit?user=${id}&type=user.updated`)).body!.events as {
        actor: string;
        changed: string[];
      }[];
      assert.deepEqual(
        events.map((e) => [e.actor, e.changed]),
        [['admin', ['password']]],
        'the event names the field, never the value',
      );
    });

    it('pages through users with a cursor, and answers a hostile pattern against a long name at once', async () => {
      for (let i = 0; i < 5; i++) await createUser(server, { username: `page${i}`, password: 'a long passphrase' });
      const first = await call('GET', '/admin/api/users?q=page*&limit=2');
      assert.deepEqual(
        first.body!.users.map((u: { username: string }) => u.username),
        ['page0', 'page1'],
      );
      const second = await call('GET', `/admin/api/users?q=page*&limit=2&cursor=${first.body!.next}`);
      assert.deepEqual(
        second.body!.users.map((u: { username: string }) => u.username),
        ['page2', 'page3'],
      );

      await createUser(server, { username: `${'a'.repeat(127)}c`, password: 'a long passphrase' });
      const hostile = await call('GET', `/admin/api/users?q=${encodeURIComponent('*a*a*a*a*a*a*a*a*a*a*b')}`);
      assert.equal(hostile.status, 200);
      assert.deepEqual(hostile.body!.users, []);
      const literal = await call('GET', `/admin/api/users?q=${encodeURIComponent('(a+)+$')}`);
      assert.deepEqual([literal.status, literal.body!.users], [200, []]);
    });
  });

  describe('applications', () => {
    it('rotates a secret (the old one stops working) and deletes an application (its sign-ins stop)', async () => {
      const created = await registerClient(server, { client_id: 'rot', redirect_uris: ['http://127.0.0.1:9/cb'], first_party: true });
      const rotated = await call('POST', '/admin/api/clients/rot/secret');
      assert.equal(rotated.status, 200);
      assert.notEqual(rotated.body!.client_secret, created.client_secret);
      await createUser(server, { username: 'pia', password: 'pia passphrase' });
      const stale = await relyingParty(server.issuer, 'rot', created.client_secret, 'http://127.0.0.1:9/cb');
      await assert.rejects(signIn(new UserAgent(), stale, { username: 'pia', password: 'pia passphrase' }), 'the old secret is refused');
      const fresh = await relyingParty(server.issuer, 'rot', rotated.body!.client_secret, 'http://127.0.0.1:9/cb');
      assert.ok((await signIn(new UserAgent(), fresh, { username: 'pia', password: 'pia passphrase' })).tokens.id_token);

      assert.equal((await call('DELETE', '/admin/api/clients/rot')).status, 204);
      assert.equal((await call('GET', '/admin/api/clients/rot')).status, 404);
      await assert.rejects(
        signIn(new UserAgent(), fresh, { username: 'pia', password: 'pia passphrase' }),
        'a deleted application signs nobody in',
      );
      assert.equal((await call('DELETE', '/admin/api/clients/rot')).status, 404);
      assert.equal((await call('DELETE', '/admin/api/clients/twofold-account')).status, 403);
      const publicClient = await registerClient(server, {
        client_id: 'spa',
        redirect_uris: ['http://127.0.0.1:9/cb'],
        token_endpoint_auth_method: 'none',
      });
      assert.equal(publicClient.client_secret, undefined);
      assert.equal((await call('POST', '/admin/api/clients/spa/secret')).status, 404, 'a public client has no secret to rotate');
      const firstPage = await call('GET', '/admin/api/clients?limit=1');
      assert.equal(firstPage.body!.clients.length, 1);
      const nextPage = await call('GET', `/admin/api/clients?limit=1&cursor=${firstPage.body!.next}`);
      assert.ok(nextPage.body!.clients[0].client_id > firstPage.body!.clients[0].client_id, 'the next page goes on after the cursor');
      const events = (await call('GET', '/admin/api/audit?type=client.secret_rotated')).body!.events;
      assert.equal(events[0].targetClientId, 'rot');
    });
  });

  describe('the audit API', () => {
    it('lists events newest first, by user, type and time, a page at a time', async () => {
      const { id } = await createUser(server, { username: 'quin', password: 'quin passphrase' });
      for (const exempt of [true, false, true]) await call('PATCH', `/admin/api/users/${id}`, { exempt });
      const all = await call('GET', `/admin/api/audit?user=${id}`);
      assert.deepEqual(
        all.body!.events.map((e: { type: string }) => e.type),
        ['user.exempted', 'user.unexempted', 'user.exempted', 'user.created'],
      );
      const page = await call('GET', `/admin/api/audit?user=${id}&limit=3`);
      assert.equal(page.body!.events.length, 3);
      const rest = await call('GET', `/admin/api/audit?user=${id}&limit=3&cursor=${page.body!.next}`);
      assert.deepEqual(
        rest.body!.events.map((e: { type: string }) => e.type),
        ['user.created'],
      );
      const future = await call(
        'GET',
        `/admin/api/audit?user=${id}&since=${encodeURIComponent(new Date(clock.now() + 60_000).toISOString())}`,
      );
      assert.deepEqual(future.body!.events, []);
      assert.equal((await call('PATCH', '/admin/api/settings', { skewSteps: 2 })).status, 200);
      const settings = (await call('GET', '/admin/api/audit?type=settings.updated')).body!.events;
      assert.deepEqual(settings[0].changed, ['skewSteps']);
      assert.deepEqual(settings[0].changes, [{ field: 'skewSteps', from: '1', to: '2' }], 'the old and the new value');
      await call('PATCH', '/admin/api/settings', { skewSteps: 1 });
    });
  });

  describe('hostile input', () => {
    it('answers 4xx with a code and writes nothing', async () => {
      const before = (await call('GET', '/admin/api/audit?limit=500')).body!.events.length;
      const cases: [string, string, unknown, number][] = [
        ['POST', '/admin/api/users', JSON.parse('{"username":"x1","password":"a long passphrase","__proto__":{"admin":true}}'), 400],
        ['POST', '/admin/api/users', { username: 'x2', password: 'a long passphrase', constructor: { prototype: {} } }, 400],
        ['POST', '/admin/api/users', { username: { $ne: null }, password: 'a long passphrase' }, 400],
        ['POST', '/admin/api/users', { username: 'x3\u0000', password: 'a long passphrase' }, 400],
        ['PATCH', '/admin/api/settings', { skewSteps: '1' }, 400],
        ['PATCH', '/admin/api/users/nobody', { exempt: true }, 404],
        ['GET', '/admin/api/users?limit=501', undefined, 400],
        ['GET', '/admin/api/users?limit=-1', undefined, 400],
        ['GET', '/admin/api/users?q=a&q=b', undefined, 400],
        ['GET', '/admin/api/users?colour=blue', undefined, 400],
        ['GET', '/admin/api/audit?type=nonsense', undefined, 400],
        ['GET', '/admin/api/audit?cursor=zzz', undefined, 400],
        ['GET', '/admin/api/audit?since=yesterday', undefined, 400],
        ['POST', '/admin/api/clients', { client_id: 'x', redirect_uris: ['javascript:alert(1)'] }, 400],
        ['POST', '/admin/api/users/nobody/unlock', { now: true }, 400],
      ];
      for (const [method, path, body, status] of cases) {
        const response = await call(method, path, body);
        assert.equal(response.status, status, `${method} ${path} ${JSON.stringify(body)}`);
        assert.equal(typeof response.body!.error, 'string');
      }
      const huge = await server.adminFetch('/admin/api/users', {
        method: 'POST',
        body: JSON.stringify({ username: 'big', password: 'x'.repeat(200_000) }),
      });
      assert.equal(huge.status, 413);
      const after = (await call('GET', '/admin/api/audit?limit=500')).body!.events.length;
      assert.equal(after, before, 'no event: nothing was written');
      for (const username of ['x1', 'x2', 'big']) assert.deepEqual((await call('GET', `/admin/api/users?q=${username}`)).body!.users, []);
    });
  });
});
