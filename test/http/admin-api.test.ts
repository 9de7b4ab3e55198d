import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ADMIN_TOKEN, startTestServer, type TestServer } from '../support/server.ts';

describe('admin API: users and clients', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server.close());

  const post = (path: string, body: unknown) => server.adminFetch(path, { method: 'POST', body: JSON.stringify(body) });
  const expectError = async (response: Response, status: number, code: string, message?: RegExp) => {
    assert.equal(response.status, status);
    const body = (await response.json()) as { error: string; message: string };
    assert.equal(body.error, code);
    assert.equal(typeof body.message, 'string');
    if (message) assert.match(body.message, message);
  };

  describe('authentication', () => {
    it('answers 401 without a token, with a wrong one, and with a malformed header', async () => {
      for (const authorization of [undefined, 'Bearer wrong-token', `Basic ${ADMIN_TOKEN}`, `Bearer ${ADMIN_TOKEN}x`, 'Bearer']) {
        const response = await fetch(`${server.issuer}/admin/api/users`, { headers: authorization ? { authorization } : {} });
        assert.equal(response.status, 401, String(authorization));
        assert.match(response.headers.get('www-authenticate') ?? '', /^Bearer/);
        assert.equal(((await response.json()) as { error: string }).error, 'unauthorized');
      }
    });

    it('checks the token before reading any input', async () => {
      const response = await fetch(`${server.issuer}/admin/api/users`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{not json',
      });
      assert.equal(response.status, 401);
    });
  });

  describe('users', () => {
    it('creates a user and shows it without any password material', async () => {
      const response = await post('/admin/api/users', {
        username: 'Grace',
        password: 'a long passphrase',
        email: 'grace@example.com',
        name: 'Grace H',
      });
      assert.equal(response.status, 201);
      const user = (await response.json()) as Record<string, unknown>;
      assert.equal(user.username, 'Grace');
      assert.equal(user.email, 'grace@example.com');
      assert.equal(user.disabled, false);
      assert.equal(JSON.stringify(user).includes('argon2'), false);
      assert.equal('password' in user || 'passwordHash' in user, false);

      const fetched = await server.adminFetch(`/admin/api/users/${user.id as string}`);
      assert.equal(fetched.status, 200);
      assert.deepEqual(await fetched.json(), user);
    });

    it('answers 409 for a username taken in another case', async () => {
      assert.equal((await post('/admin/api/users', { username: 'henry', password: 'a long passphrase' })).status, 201);
      await expectError(await post('/admin/api/users', { username: 'HENRY', password: 'another passphrase' }), 409, 'conflict');
    });

    it('rejects unknown fields, bad values and operator objects with 400 and stores nothing', async () => {
      const cases: [unknown, RegExp][] = [
        [{ username: 'ivy', password: 'a long passphrase', admin: true }, /unknown field: admin/],
        [{ username: 'ivy', password: 'short' }, /^password:/],
        [{ username: 'ivy van', password: 'a long passphrase' }, /^username:/],
        [{ username: 'iv*', password: 'a long passphrase' }, /^username:/],
        [{ username: { $ne: 'x' }, password: 'a long passphrase' }, /^username:/],
        [{ username: 'ivy', password: 'a long passphrase', email: 'not-an-email' }, /^email:/],
        [{ password: 'a long passphrase' }, /^username:/],
        [[], /./],
      ];
      for (const [body, message] of cases) {
        await expectError(await post('/admin/api/users', body), 400, 'invalid_request', message);
      }
      const listed = (await (await server.adminFetch('/admin/api/users?q=iv*')).json()) as { users: unknown[] };
      assert.deepEqual(listed.users, []);
    });

    it('answers 400 for broken JSON, 415 for another media type and 413 past 100 kB', async () => {
      await expectError(
        await server.adminFetch('/admin/api/users', { method: 'POST', body: '{"username": ' }),
        400,
        'invalid_request',
        /JSON/,
      );
      await expectError(
        await server.adminFetch('/admin/api/users', {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: 'username=a&password=b',
        }),
        415,
        'unsupported_media_type',
      );
      const big = JSON.stringify({ username: 'big', password: 'x'.repeat(101 * 1024) });
      await expectError(await server.adminFetch('/admin/api/users', { method: 'POST', body: big }), 413, 'payload_too_large');
    });

    it('lists users by a case-sensitive wildcard pattern and limit', async () => {
      for (const username of ['kim', 'kate', 'Karl']) await post('/admin/api/users', { username, password: 'a long passphrase' });
      const names = async (query: string) =>
        ((await (await server.adminFetch(`/admin/api/users${query}`)).json()) as { users: { username: string }[] }).users.map(
          (u) => u.username,
        );
      assert.deepEqual(await names('?q=k*'), ['kate', 'kim']);
      assert.deepEqual(await names('?q=K*'), ['Karl']);
      assert.deepEqual(await names('?q=k*&limit=1'), ['kate']);
      await expectError(await server.adminFetch('/admin/api/users?limit=0'), 400, 'invalid_request', /^limit:/);
      await expectError(await server.adminFetch('/admin/api/users?limit=abc'), 400, 'invalid_request', /^limit:/);
      await expectError(await server.adminFetch('/admin/api/users?sort=name'), 400, 'invalid_request', /unknown field: sort/);
    });

    it('answers 404 for an unknown user id and for an unknown endpoint', async () => {
      await expectError(await server.adminFetch('/admin/api/users/00000000-0000-0000-0000-000000000000'), 404, 'not_found');
      await expectError(await server.adminFetch('/admin/api/nothing-here'), 404, 'not_found');
    });
  });

  describe('clients', () => {
    it('registers a confidential client, shows a generated secret once and never again', async () => {
      const response = await post('/admin/api/clients', {
        client_id: 'wiki',
        client_name: 'Wiki',
        redirect_uris: ['https://wiki.example.com/callback'],
        first_party: true,
      });
      assert.equal(response.status, 201);
      const created = (await response.json()) as Record<string, unknown>;
      assert.equal(created.client_id, 'wiki');
      assert.equal(created.first_party, true);
      assert.equal(typeof created.client_secret, 'string');
      assert.ok((created.client_secret as string).length >= 43);

      const fetched = (await (await server.adminFetch('/admin/api/clients/wiki')).json()) as Record<string, unknown>;
      assert.equal(fetched.client_secret, undefined);
      assert.equal(fetched.has_client_secret, true);
      const listed = (await (await server.adminFetch('/admin/api/clients')).json()) as { clients: Record<string, unknown>[] };
      assert.ok(listed.clients.some((c) => c.client_id === 'wiki'));
      assert.equal(JSON.stringify(listed).includes(created.client_secret as string), false);
    });

    it('registers a public client without a secret', async () => {
      const response = await post('/admin/api/clients', {
        client_id: 'spa',
        redirect_uris: ['https://spa.example.com/cb'],
        token_endpoint_auth_method: 'none',
      });
      assert.equal(response.status, 201);
      const created = (await response.json()) as Record<string, unknown>;
      assert.equal(created.client_secret, undefined);
      assert.equal(created.has_client_secret, false);
    });

    it('answers 409 for a taken client_id and 400 for invalid metadata', async () => {
      await post('/admin/api/clients', { client_id: 'dup', redirect_uris: ['https://dup.example.com/cb'] });
      await expectError(
        await post('/admin/api/clients', { client_id: 'dup', redirect_uris: ['https://dup.example.com/cb'] }),
        409,
        'conflict',
      );
      await expectError(await post('/admin/api/clients', { client_id: 'x', redirect_uris: [] }), 400, 'invalid_request', /redirect_uris/);
      await expectError(
        await post('/admin/api/clients', { client_id: 'x', redirect_uris: ['not a url'] }),
        400,
        'invalid_request',
        /redirect_uris/,
      );
      await expectError(
        await post('/admin/api/clients', { client_id: 'x', redirect_uris: ['https://x.example.com/cb'], jwks_uri: 'https://x' }),
        400,
        'invalid_request',
        /unknown field: jwks_uri/,
      );
      await expectError(
        await post('/admin/api/clients', { client_id: 'x', redirect_uris: ['https://x.example.com/cb'], first_party: 'yes' }),
        400,
        'invalid_request',
        /^first_party:/,
      );
      // Caught by the engine's own checks: a web client may not redirect to a custom scheme.
      await expectError(
        await post('/admin/api/clients', { client_id: 'x', redirect_uris: ['com.example.app:/cb'], application_type: 'web' }),
        400,
        'invalid_request',
      );
      await expectError(await server.adminFetch('/admin/api/clients/x'), 404, 'not_found');
    });
  });

  describe('settings', () => {
    const patch = (body: unknown) => server.adminFetch('/admin/api/settings', { method: 'PATCH', body: JSON.stringify(body) });

    it('shows the defaults, changes some keys and keeps the others', async () => {
      const initial = await (await server.adminFetch('/admin/api/settings')).json();
      assert.deepEqual(initial, {
        enabled: true,
        defaultPolicy: 'off',
        skewSteps: 1,
        maxAttempts: 5,
        lockoutSeconds: 900,
        backupCodes: { enabled: true, count: 10 },
        issuerLabel: 'twofold',
        registrationMessage: '',
        brand: { name: 'twofold', logoUrl: null },
        notifications: { enabled: true },
        factors: { totp: { enabled: true }, email: { enabled: false }, webauthn: { enabled: true } },
        passkeySignIn: { enabled: false },
      });
      const response = await patch({
        skewSteps: 10,
        issuerLabel: 'Acme SSO',
        registrationMessage: 'Ask IT for help.',
        maxAttempts: 3,
        lockoutSeconds: 0,
        backupCodes: { enabled: false, count: 12 },
        brand: { name: 'Acme', logoUrl: 'https://cdn.acme.example/logo.png' },
      });
      assert.equal(response.status, 200);
      assert.deepEqual(await response.json(), {
        enabled: true,
        defaultPolicy: 'off',
        skewSteps: 10,
        maxAttempts: 3,
        lockoutSeconds: 0,
        backupCodes: { enabled: false, count: 12 },
        issuerLabel: 'Acme SSO',
        registrationMessage: 'Ask IT for help.',
        brand: { name: 'Acme', logoUrl: 'https://cdn.acme.example/logo.png' },
        notifications: { enabled: true },
        factors: { totp: { enabled: true }, email: { enabled: false }, webauthn: { enabled: true } },
        passkeySignIn: { enabled: false },
      });
      assert.equal(((await (await server.adminFetch('/admin/api/settings')).json()) as { skewSteps: number }).skewSteps, 10);
      await patch({
        skewSteps: 1,
        maxAttempts: 5,
        lockoutSeconds: 900,
        backupCodes: { enabled: true, count: 10 },
        brand: { name: 'twofold', logoUrl: null },
      });
    });

    it('refuses bad values and unknown keys with 400 and changes nothing', async () => {
      const before = await (await server.adminFetch('/admin/api/settings')).json();
      const cases: [unknown, RegExp][] = [
        [{ skewSteps: 11 }, /^skewSteps: an integer from 0 to 10/],
        [{ skewSteps: -1 }, /^skewSteps:/],
        [{ skewSteps: 1.5 }, /^skewSteps:/],
        [{ enabled: 'yes' }, /^enabled:/],
        [{ defaultPolicy: 'sometimes' }, /^defaultPolicy:/],
        [{ issuerLabel: 'Acme:SSO' }, /^issuerLabel:/],
        [{ issuerLabel: '' }, /^issuerLabel:/],
        [{ registrationMessage: 'x'.repeat(2001) }, /^registrationMessage:/],
        [{ maxAttempts: 0 }, /^maxAttempts: an integer from 1 to 10/],
        [{ maxAttempts: 11 }, /^maxAttempts:/],
        [{ lockoutSeconds: -1 }, /^lockoutSeconds:/],
        [{ lockoutSeconds: 7_776_001 }, /^lockoutSeconds:/],
        [{ backupCodes: { count: null } }, /^backupCodes\.count:/],
        [{ backupCodes: { enabled: true, count: 0 } }, /^backupCodes\.count: an integer from 1 to 20/],
        [{ backupCodes: { enabled: true, count: 21 } }, /^backupCodes\.count:/],
        [{ backupCodes: { enabled: 'yes', count: 10 } }, /^backupCodes\.enabled:/],
        [{ backupCodes: { enabled: true, count: 10, shown: 1 } }, /unknown field/],
        [{ lockout: 5 }, /unknown field: lockout/],
        [{ brand: { name: '', logoUrl: null } }, /^brand\.name:/],
        [{ brand: { name: 'Acme', logoUrl: 'http://acme.example/logo.png' } }, /^brand\.logoUrl: an https:\/\/ address/],
        [{ brand: { name: 'Acme', logoUrl: 'javascript:alert(1)' } }, /^brand\.logoUrl:/],
        [{ brand: { name: 'Acme', logoUrl: '//evil.example/x.png' } }, /^brand\.logoUrl:/],
        [{ brand: { logoUrl: '/static/missing.png' } }, /^brand\.logoUrl: no image is served at \/static\/missing\.png/],
        [{ brand: { logoUrl: '/assets/twofold.css' } }, /^brand\.logoUrl: no image/],
        [{ brand: { logoUrl: 'https://logo.example/a\u0007.png' } }, /^brand\.logoUrl: no control characters/],
        [{ brand: { name: 'Ac\u0007me' } }, /^brand\.name:/],
        [{ enabled: null }, /^enabled:/],
        [{}, /nothing to change/],
        [{ skewSteps: 2, colour: 'blue' }, /unknown field: colour/],
      ];
      for (const [body, message] of cases) await expectError(await patch(body), 400, 'invalid_request', message);
      assert.deepEqual(await (await server.adminFetch('/admin/api/settings')).json(), before);
    });
  });

  describe('second-factor administration', () => {
    it('exempts and disables a user, and shows the second factor status', async () => {
      const created = (await (await post('/admin/api/users', { username: 'mona', password: 'a long passphrase' })).json()) as {
        id: string;
        mfa: unknown;
      };
      const idle = {
        factors: [],
        locked: false,
        lockedUntil: null,
        lastUsedAt: null,
        backupCodesLeft: 0,
        apps: [],
        keys: [],
        rememberedBrowsers: [],
      };
      assert.deepEqual(created.mfa, { status: 'none', exempt: false, ...idle });
      const changed = await server.adminFetch(`/admin/api/users/${created.id}`, {
        method: 'PATCH',
        body: JSON.stringify({ exempt: true }),
      });
      assert.equal(changed.status, 200);
      assert.deepEqual(((await changed.json()) as { mfa: unknown }).mfa, { status: 'none', exempt: true, ...idle });
      const disabled = await server.adminFetch(`/admin/api/users/${created.id}`, {
        method: 'PATCH',
        body: JSON.stringify({ disabled: true }),
      });
      assert.equal(((await disabled.json()) as { disabled: boolean }).disabled, true);
      for (const [body, message] of [
        [{ exempt: 'yes' }, /^exempt:/],
        [{ password: 'short' }, /^password: at least 8 characters/],
        [{ email: 'not an address' }, /^email:/],
        [{ role: 'root' }, /^role: admin or user/],
        [{ colour: 'blue' }, /unknown field: colour/],
        [{}, /nothing to change/],
      ] as const) {
        await expectError(
          await server.adminFetch(`/admin/api/users/${created.id}`, { method: 'PATCH', body: JSON.stringify(body) }),
          400,
          'invalid_request',
          message,
        );
      }
      await expectError(
        await server.adminFetch('/admin/api/users/00000000-0000-0000-0000-000000000000', {
          method: 'PATCH',
          body: JSON.stringify({ exempt: true }),
        }),
        404,
        'not_found',
      );
    });

    it('takes mfa_policy and mfa_max_age at registration and changes them with PATCH', async () => {
      const created = await post('/admin/api/clients', {
        client_id: 'crm',
        redirect_uris: ['https://crm.example.com/cb'],
        mfa_policy: 'required',
        mfa_max_age: 3600,
      });
      assert.equal(created.status, 201);
      const body = (await created.json()) as Record<string, unknown>;
      assert.equal(body.mfa_policy, 'required');
      assert.equal(body.mfa_max_age, 3600);

      const patchClient = (patch: unknown) => server.adminFetch('/admin/api/clients/crm', { method: 'PATCH', body: JSON.stringify(patch) });
      const changed = await patchClient({ mfa_policy: 'if_enrolled', mfa_max_age: null, client_name: 'CRM' });
      assert.equal(changed.status, 200);
      const after = (await changed.json()) as Record<string, unknown>;
      assert.equal(after.mfa_policy, 'if_enrolled');
      assert.equal('mfa_max_age' in after, false, 'null removes it');
      assert.equal(after.client_name, 'CRM');
      assert.deepEqual(await (await server.adminFetch('/admin/api/clients/crm')).json(), after);

      for (const [patch, message] of [
        [{ mfa_policy: 'always' }, /^mfa_policy:/],
        [{ mfa_max_age: -1 }, /^mfa_max_age:/],
        [{ mfa_max_age: '60' }, /^mfa_max_age:/],
        [{ client_id: 'other' }, /unknown field: client_id/],
        [{ redirect_uris: ['com.example.app:/cb'], application_type: 'web' }, /./],
        [{}, /nothing to change/],
      ] as const) {
        await expectError(await patchClient(patch), 400, 'invalid_request', message);
      }
      assert.deepEqual(await (await server.adminFetch('/admin/api/clients/crm')).json(), after, 'a refused change changes nothing');
      await expectError(
        await server.adminFetch('/admin/api/clients/nope', { method: 'PATCH', body: JSON.stringify({ mfa_policy: 'off' }) }),
        404,
        'not_found',
      );
      await expectError(
        await post('/admin/api/clients', { client_id: 'crm2', redirect_uris: ['https://crm.example.com/cb'], mfa_policy: 'maybe' }),
        400,
        'invalid_request',
        /^mfa_policy:/,
      );
    });
  });
});
