import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createManualClock } from '../../src/domain/clock.ts';
import { connectMongo } from '../../src/stores/mongo/connection.ts';
import { connectRedis, createRedis } from '../../src/stores/redis/connection.ts';
import { realStoresSkip } from '../support/env.ts';
import { Phone, registeredUser, wrongCode } from '../support/mfa.ts';
import {
  follow,
  formAction,
  secretOnPage,
  signIn,
  SignInRefused,
  startAuthorization,
  UserAgent,
  type Page,
  type RelyingParty,
} from '../support/relying-party.ts';
import {
  createUser,
  newRealStores,
  patchSettings,
  type RealStores,
  registerApplication,
  startTestServer,
  type TestServer,
} from '../support/server.ts';

const MFA_AMR = ['pwd', 'otp', 'mfa'];

interface UserView {
  mfa: { status: string; locked: boolean; lockedUntil: string | null; backupCodesLeft: number; lastUsedAt: string | null };
}

describe('recovery and brute-force defence on Redis and MongoDB', { skip: realStoresSkip }, () => {
  const clock = createManualClock(Date.UTC(2026, 10, 24, 12, 0, 0));
  let stores: RealStores;
  let server: TestServer;
  let rp: RelyingParty;
  let rpOff: RelyingParty;
  let users = 0;

  before(async () => {
    stores = newRealStores();
    server = await startTestServer({ real: stores, clock });
    for (const [id, policy] of [
      ['app', 'required'],
      ['relaxed', 'off'],
    ] as const) {
      const redirect = `http://127.0.0.1:9/${id}/cb`;
      const party = (await registerApplication(server, { client_id: id, redirect_uris: [redirect], first_party: true, mfa_policy: policy }))
        .rp;
      if (id === 'app') rp = party;
      else rpOff = party;
    }
  });
  after(() => server.close());

  const registered = () => registeredUser(server, rp, clock, `person${++users}`);

  const view = async (id: string) => (await (await server.adminFetch(`/admin/api/users/${id}`)).json()) as UserView;

  /** A sign-in stopped at the code page, to post codes to it. */
  async function codePage(
    credentials: { username: string; password: string },
    agent = new UserAgent(),
  ): Promise<{ agent: UserAgent; page: Page }> {
    const login = await follow(agent, (await startAuthorization(rp)).url, rp.redirectUri);
    const posted = await agent.postForm(formAction(login, '/login'), credentials);
    assert.equal(posted.status, 303);
    const page = await follow(agent, new URL(posted.headers.get('location')!, login.url), rp.redirectUri);
    assert.match(page.html, /autocomplete="one-time-code"/);
    return { agent, page };
  }

  describe('backup codes', () => {
    it('shows ten codes once after registering, each signing in once, in any case and with or without the dash', async () => {
      const { id, credentials, phone } = await registered();
      assert.equal(phone.backupCodes.length, 10);
      for (const code of phone.backupCodes) assert.match(code, /^[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}$/);
      assert.equal(new Set(phone.backupCodes).size, 10);
      assert.equal((await view(id)).mfa.backupCodesLeft, 10);

      const [first, second, third] = phone.backupCodes as [string, string, string];
      let left = 10;
      for (const typed of [first.toUpperCase(), ` ${second.replace('-', '')} `, third.replace('-', ' - ')]) {
        const told: string[] = [];
        const { claims, seen } = await signIn(new UserAgent(), rp, credentials, {}, { code: () => typed }, (kind, page) => {
          if (kind === 'backup-code-used') told.push(/data-testid="backup-codes-left"[^>]*>(\d+)</.exec(page.html)![1]!);
        });
        assert.deepEqual(seen, ['login', 'code', 'backup-code-used'], 'told how many are left before going on');
        assert.deepEqual(told, [String(--left)]);
        assert.deepEqual(claims.amr, MFA_AMR, 'a backup code is a one-time password');
      }
      assert.equal((await view(id)).mfa.backupCodesLeft, 7);
      await assert.rejects(
        signIn(new UserAgent(), rp, credentials, {}, { code: () => first }),
        (err) => err instanceof SignInRefused && err.page.status === 401,
        'a used backup code is refused',
      );
      const events = (await server.stores.audit.list({ userId: id, type: 'mfa.backup_code_used', limit: 10 })).events;
      assert.equal(events.length, 3);
    });

    it('sends the user to make new backup codes once three or fewer are left', async () => {
      const { credentials, phone } = await registered();
      const pages: { left: string; renew: boolean }[] = [];
      for (const code of phone.backupCodes.slice(0, 7)) {
        await signIn(new UserAgent(), rp, credentials, {}, { code: () => code }, (kind, page) => {
          if (kind !== 'backup-code-used') return;
          const left = /data-testid="backup-codes-left"[^>]*>(\d+)</.exec(page.html)![1]!;
          pages.push({ left, renew: /make a new set of backup codes/.test(page.html) && page.html.includes('href="/account/"') });
        });
      }
      assert.deepEqual(
        pages.map((p) => `${p.left}${p.renew ? ' renew' : ''}`),
        ['9', '8', '7', '6', '5', '4', '3 renew'],
      );
    });

    it('lets exactly one of 20 simultaneous uses of one backup code through', async () => {
      const { id, credentials, phone } = await registered();
      const pages = await Promise.all(Array.from({ length: 20 }, () => codePage(credentials)));
      const code = phone.backupCodes[0]!;
      const answers = await Promise.all(pages.map(({ agent, page }) => agent.postForm(formAction(page, '/code'), { code })));
      assert.equal(answers.filter((r) => r.status === 303).length, 1);
      assert.equal((await view(id)).mfa.backupCodesLeft, 9);
    });

    it('are stored as keyed hashes: no code, secret or password in the user document, the audit collection or the log', async () => {
      const { id, credentials, phone } = await registered();
      await signIn(new UserAgent(), rp, credentials, {}, { code: () => phone.backupCodes[1]! });
      const connection = await connectMongo({ uri: stores.mongoUri, serverSelectionTimeoutMs: 5000 });
      try {
        const stored = JSON.stringify(await connection.collection('users').findOne({ _id: id as never }));
        const audit = JSON.stringify(await connection.collection('audit').find({ userId: id }).toArray());
        assert.ok(audit.includes('mfa.registered') && audit.includes('mfa.backup_code_used'), 'the events are there');
        const { base32Encode } = await import('../../src/domain/totp.ts');
        const secret = Buffer.from(phone.secret!);
        const needles = [
          ...phone.backupCodes,
          ...phone.backupCodes.map((c) => c.replace('-', '')),
          base32Encode(secret),
          secret.toString('base64'),
          credentials.password,
        ];
        for (const needle of needles) {
          assert.equal(stored.includes(needle), false, `the user document holds ${needle}`);
          assert.equal(audit.includes(needle), false, `the audit log holds ${needle}`);
          assert.equal(server.logs.join('').includes(needle), false, `the log holds ${needle}`);
        }
      } finally {
        await connection.close();
      }
    });

    it('are not given when switched off', async () => {
      await patchSettings(server, { backupCodes: { enabled: false, count: 10 } });
      try {
        const credentials = { username: `person${++users}`, password: 'a long passphrase' };
        const { id } = await createUser(server, credentials);
        const { seen } = await signIn(new UserAgent(), rp, credentials, {}, new Phone(clock).app);
        assert.deepEqual(seen, ['login', 'register', 'registered'], 'the page that says the app was added, without codes');
        assert.equal((await view(id)).mfa.backupCodesLeft, 0);
      } finally {
        await patchSettings(server, { backupCodes: { enabled: true, count: 10 } });
      }
    });
  });

  describe('lockout', () => {
    it('locks after maxAttempts wrong codes, refuses the right code while locked, and unlocks by itself', async () => {
      const { id, credentials, phone } = await registered();
      const { agent, page } = await codePage(credentials);
      const action = formAction(page, '/code');
      for (let i = 1; i < 5; i++) {
        const wrong = await agent.postForm(action, { code: wrongCode(await phone.code()) });
        assert.equal(wrong.status, 401, `wrong code ${i}`);
      }
      const fifth = await agent.postForm(action, { code: wrongCode(await phone.code()) });
      assert.equal(fifth.status, 403);
      const lockedPage = await fifth.text();
      assert.match(lockedPage, /locked until 12:1\d UTC \(in 15 minutes\)/);
      const locked = await view(id);
      assert.equal(locked.mfa.locked, true);
      assert.equal(locked.mfa.lockedUntil, new Date(clock.now() + 900_000).toISOString());

      const right = await agent.postForm(action, { code: await phone.code() });
      assert.equal(right.status, 403, 'the right code is refused while locked');
      const backup = await agent.postForm(action, { code: phone.backupCodes[0]! });
      assert.equal(backup.status, 403, 'and so is a backup code');
      assert.equal((await view(id)).mfa.backupCodesLeft, 10, 'which stays unused');
      await assert.rejects(
        signIn(new UserAgent(), rp, credentials, {}, phone.app),
        (err) => err instanceof SignInRefused || /403/.test(String(err)),
      );

      clock.advance(900_000);
      assert.equal((await view(id)).mfa.locked, false);
      const { claims } = await signIn(new UserAgent(), rp, credentials, {}, phone.app);
      assert.deepEqual(claims.amr, MFA_AMR, 'signs in once the lock has passed');
      const types = (await server.stores.audit.list({ userId: id, limit: 50 })).events.map((e) => e.type);
      assert.ok(types.includes('mfa.locked'));
    });

    it('lets no more than maxAttempts of 150 simultaneous guesses be checked, and refuses the right code after them', async () => {
      const { id, credentials, phone } = await registered();
      const { agent, page } = await codePage(credentials);
      const action = formAction(page, '/code');
      const right = await phone.code();
      const guesses = Array.from({ length: 150 }, (_, i) => String((Number(right) + 1 + i * 6151) % 1_000_000).padStart(6, '0'));
      const statuses = await Promise.all(guesses.map((code) => agent.postForm(action, { code }).then((r) => r.status)));
      // Each is refused and shown its page again; a page drawn after the lock says so.
      assert.equal(statuses.filter((s) => [200, 401, 403].includes(s)).length, 150);
      assert.equal((await agent.postForm(action, { code: right })).status, 403, 'the right code after them is refused');
      const refused = (await server.stores.audit.list({ userId: id, type: 'mfa.refused', limit: 200 })).events;
      assert.equal(refused.filter((e) => e.reason === 'wrong').length, 4, 'four guesses were checked and found wrong');
      assert.equal(
        refused.filter((e) => e.reason === 'locked').length,
        147,
        'the fifth locked; the rest and the right code were refused unchecked',
      );
      assert.equal((await server.stores.audit.list({ userId: id, type: 'mfa.locked', limit: 10 })).events.length, 1);
    });

    it('counts wrong codes of every shape, and wrong codes on the registration page, never answering 500', async () => {
      const credentials = { username: `person${++users}`, password: 'a long passphrase' };
      const { id } = await createUser(server, credentials);
      const agent = new UserAgent();
      const login = await follow(agent, (await startAuthorization(rp)).url, rp.redirectUri);
      const posted = await agent.postForm(formAction(login, '/login'), credentials);
      const registration = await follow(agent, new URL(posted.headers.get('location')!, login.url), rp.redirectUri);
      assert.ok(secretOnPage(registration.html));
      const statuses: number[] = [];
      for (const code of ['12345', 'abcdefghij', '١٢٣٤٥٦', 'x'.repeat(64)]) {
        statuses.push((await agent.postForm(formAction(registration, '/code'), { code })).status);
      }
      assert.deepEqual(statuses, [401, 401, 401, 401]);
      const fifth = await agent.postForm(formAction(registration, '/code'), { code: '000000' });
      assert.equal(fifth.status, 403, 'the fifth wrong code on the registration page locks');
      assert.equal((await view(id)).mfa.locked, true);
      const tooLong = await agent.postForm(formAction(registration, '/code'), { code: 'x'.repeat(65) });
      assert.ok(tooLong.status >= 400 && tooLong.status < 500);
      const empty = await agent.postForm(formAction(registration, '/code'), { code: '' });
      assert.equal(empty.status, 403);
      assert.match(await empty.text(), /locked until/);
    });

    it('holds when Redis loses the lock: the user document keeps it, and fails closed', async () => {
      const { id, credentials, phone } = await registered();
      const { agent, page } = await codePage(credentials);
      for (let i = 0; i < 5; i++) await agent.postForm(formAction(page, '/code'), { code: wrongCode(await phone.code()) });
      assert.equal((await view(id)).mfa.locked, true);
      const redis = createRedis({ url: stores.redisUrl, commandTimeoutMs: 5000 });
      try {
        assert.ok(await connectRedis(redis, 5000));
        const lost = await redis.keys(`${stores.keyPrefix}mfa-*:${id}`);
        assert.ok(lost.length > 0, 'the guard held the lock');
        await redis.del(...lost);
      } finally {
        redis.disconnect();
      }
      assert.equal((await view(id)).mfa.locked, true, 'still locked, from the user document');
      await assert.rejects(
        signIn(new UserAgent(), rp, credentials, {}, phone.app),
        /stopped at \/interaction\/\S+ with 403/,
        'the right code is refused',
      );
      assert.equal((await server.adminFetch(`/admin/api/users/${id}/unlock`, { method: 'POST' })).status, 200);
      assert.deepEqual((await signIn(new UserAgent(), rp, credentials, {}, phone.app)).claims.amr, MFA_AMR);
    });

    it('is lifted by an administrator, and a locked user with lockoutSeconds 0 waits for one', async () => {
      await patchSettings(server, { maxAttempts: 2, lockoutSeconds: 0 });
      try {
        const { id, credentials, phone } = await registered();
        const { agent, page } = await codePage(credentials);
        await agent.postForm(formAction(page, '/code'), { code: wrongCode(await phone.code()) });
        const locked = await agent.postForm(formAction(page, '/code'), { code: wrongCode(await phone.code()) });
        assert.equal(locked.status, 403);
        assert.match(await locked.text(), /until an administrator unlocks it/);
        clock.advance(86_400_000);
        assert.deepEqual([(await view(id)).mfa.locked, (await view(id)).mfa.lockedUntil], [true, null]);

        const unlocked = await server.adminFetch(`/admin/api/users/${id}/unlock`, { method: 'POST', headers: { 'content-type': '' } });
        assert.equal(unlocked.status, 200);
        assert.equal(((await unlocked.json()) as UserView).mfa.locked, false);
        const { claims } = await signIn(new UserAgent(), rp, credentials, {}, phone.app);
        assert.deepEqual(claims.amr, MFA_AMR);
        const unlockEvent = (await server.stores.audit.list({ userId: id, type: 'mfa.unlocked', limit: 1 })).events[0];
        assert.equal(unlockEvent?.actor, 'admin');
      } finally {
        await patchSettings(server, { maxAttempts: 5, lockoutSeconds: 900 });
      }
    });
  });

  describe('administrator reset and deletion', () => {
    it('makes an open code page fail and the next sign-in register anew', async () => {
      const { id, credentials, phone } = await registered();
      const { agent, page } = await codePage(credentials);
      const reset = await server.adminFetch(`/admin/api/users/${id}/mfa/reset`, { method: 'POST', body: '{}' });
      assert.equal(reset.status, 200);
      const after = (await reset.json()) as UserView;
      assert.deepEqual([after.mfa.status, after.mfa.backupCodesLeft], ['none', 0]);

      const late = await agent.postForm(formAction(page, '/code'), { code: await phone.code() });
      assert.equal(late.status, 400, 'the open code page no longer signs in');
      assert.match(await late.text(), /Sign-in expired/);
      const next = await signIn(new UserAgent(), rp, credentials, {}, new Phone(clock).app);
      assert.deepEqual(next.seen, ['login', 'register', 'backup-codes']);
    });

    it('answers 200 and changes nothing for a user without a device, and 404 for unknown ids', async () => {
      const { id } = await createUser(server, { username: `person${++users}`, password: 'a long passphrase' });
      const before = await view(id);
      assert.equal(
        (await server.adminFetch(`/admin/api/users/${id}/mfa/reset`, { method: 'POST', headers: { 'content-type': '' } })).status,
        200,
      );
      assert.deepEqual((await view(id)).mfa, before.mfa);
      for (const [method, path] of [
        ['POST', '/admin/api/users/no-such-id/mfa/reset'],
        ['POST', '/admin/api/users/no-such-id/unlock'],
        ['DELETE', '/admin/api/users/no-such-id'],
      ] as const) {
        const response = await server.adminFetch(path, { method, headers: { 'content-type': '' } });
        assert.equal(response.status, 404, `${method} ${path}`);
        assert.equal(((await response.json()) as { error: string }).error, 'not_found');
      }
      const withBody = await server.adminFetch(`/admin/api/users/${id}/unlock`, { method: 'POST', body: JSON.stringify({ now: true }) });
      assert.equal(withBody.status, 400);
    });

    it('deletes a user, who can then no longer sign in', async () => {
      const { id, credentials, phone } = await registered();
      assert.equal((await server.adminFetch(`/admin/api/users/${id}`, { method: 'DELETE' })).status, 204);
      assert.equal((await server.adminFetch(`/admin/api/users/${id}`)).status, 404);
      await assert.rejects(
        signIn(new UserAgent(), rp, credentials, {}, phone.app),
        (err) => err instanceof SignInRefused && err.page.status === 401,
      );
    });
  });

  describe('forced re-authentication', () => {
    it("asks the code again for prompt=login and an elapsed max_age, and keeps other applications' sessions", async () => {
      const { credentials, phone } = await registered();
      const agent = new UserAgent();
      await signIn(agent, rp, credentials, {}, phone.app);
      clock.advance(30_000);
      const forced = await signIn(agent, rp, credentials, { prompt: 'login' }, phone.app);
      assert.deepEqual(forced.seen, ['login', 'code'], 'prompt=login asks the password and the code');
      assert.deepEqual(forced.claims.amr, MFA_AMR);
      clock.advance(30_000);
      // The engine measures max_age on its own clock: 0 has always elapsed.
      const aged = await signIn(agent, rp, credentials, { max_age: '0' }, phone.app);
      assert.deepEqual(aged.seen, ['login', 'code'], 'an elapsed max_age asks both again');
      const relaxed = await signIn(agent, rpOff, credentials, { prompt: 'login' });
      assert.deepEqual(relaxed.seen, ['login'], 'an application without the second factor asks only the password');
      assert.deepEqual(relaxed.claims.amr, MFA_AMR, 'and the session keeps its second factor');
    });
  });

  describe('two registrations of one user in two tabs', () => {
    it('tells the later tab that an app was registered a moment ago and asks for its code', async () => {
      const credentials = { username: `person${++users}`, password: 'a long passphrase' };
      await createUser(server, credentials);
      const tab = async () => {
        const agent = new UserAgent();
        const login = await follow(agent, (await startAuthorization(rp)).url, rp.redirectUri);
        const posted = await agent.postForm(formAction(login, '/login'), credentials);
        return { agent, page: await follow(agent, new URL(posted.headers.get('location')!, login.url), rp.redirectUri) };
      };
      const [one, two] = [await tab(), await tab()];
      const [phoneOne, phoneTwo] = [new Phone(clock), new Phone(clock)];
      const first = await one.agent.postForm(formAction(one.page, '/code'), {
        code: await phoneOne.app.register(secretOnPage(one.page.html)!),
      });
      assert.equal(first.status, 303);
      const second = await two.agent.postForm(formAction(two.page, '/code'), {
        code: await phoneTwo.app.register(secretOnPage(two.page.html)!),
      });
      assert.equal(second.status, 409);
      const told = await second.text();
      assert.match(told, /registered for your account a moment ago/);
      assert.equal(secretOnPage(told), undefined, 'no new key to scan');
      clock.advance(30_000);
      const answered = await two.agent.postForm(formAction(two.page, '/code'), { code: await phoneOne.code() });
      assert.equal(answered.status, 303, 'the code of the app registered first signs the second tab in');
    });
  });
});

describe('first-factor rate limits', { skip: realStoresSkip }, () => {
  const clock = createManualClock(Date.UTC(2026, 10, 24, 12, 0, 0));
  let server: TestServer;
  let rp: RelyingParty;
  const credentials = { username: 'victor', password: 'victor passphrase' };

  before(async () => {
    server = await startTestServer({
      real: newRealStores(),
      clock,
      trustProxy: true,
      rateLimits: { perAccount: { limit: 10, windowSeconds: 60 }, perIp: { limit: 20, windowSeconds: 60 } },
    });
    await createUser(server, credentials);
    rp = (await registerApplication(server, { client_id: 'app', redirect_uris: ['http://127.0.0.1:9/cb'], first_party: true })).rp;
  });
  after(() => server.close());

  /** One password attempt from `ip` (the proxy in front says so). */
  async function attempt(ip: string, fields: { username: string; password: string }) {
    const agent = new UserAgent();
    const login = await follow(agent, (await startAuthorization(rp)).url, rp.redirectUri);
    const response = await agent.postForm(formAction(login, '/login'), fields, { 'x-forwarded-for': ip });
    return { status: response.status, retryAfter: response.headers.get('retry-after'), html: await response.text() };
  }

  it('stops guesses spread over many addresses at the per-account limit, without hinting at the password', async () => {
    for (let i = 0; i < 10; i++) assert.equal((await attempt(`198.51.100.${i}`, { ...credentials, password: `guess ${i}` })).status, 401);
    const wrong = await attempt('198.51.100.77', { ...credentials, password: 'guess 77' });
    const right = await attempt('198.51.100.78', credentials);
    assert.deepEqual([wrong.status, right.status], [429, 429]);
    assert.equal(right.retryAfter, '60');
    assert.match(right.html, /Too many sign-in attempts\. Try again at 12:01 UTC/);
    const strip = (html: string) => html.replaceAll(/\/interaction\/[\w-]+/g, '');
    assert.equal(strip(wrong.html), strip(right.html), 'the right password gets the very same page');
    assert.equal((await attempt('198.51.100.79', { username: 'VICTOR', password: 'x' })).status, 429, 'in any case of the name');

    clock.advance(60_000);
    const later = await signIn(new UserAgent(), rp, credentials);
    assert.deepEqual(later.seen, ['login'], 'the right password works once the window has passed');
    const events = (await server.stores.audit.list({ type: 'rate_limited', limit: 10 })).events;
    assert.ok(events.some((e) => e.reason === 'per_account' && e.ip === '198.51.100.78'));
  });

  it('limits one address trying many accounts', async () => {
    clock.advance(60_000);
    const statuses: number[] = [];
    for (let i = 0; i < 21; i++) statuses.push((await attempt('203.0.113.9', { username: `nobody${i}`, password: 'x' })).status);
    assert.deepEqual(statuses.slice(0, 20), Array(20).fill(401));
    assert.equal(statuses[20], 429);
    assert.equal((await attempt('203.0.113.10', { username: 'nobody0', password: 'x' })).status, 401, 'another address is not held up');
  });

  it('reads the address the trusted proxy saw, not one the client forged in X-Forwarded-For', async () => {
    clock.advance(60_000);
    // One trusted hop: the proxy appends the address it saw to whatever the client sent.
    const real = '192.0.2.44';
    const statuses = await Promise.all(
      Array.from({ length: 150 }, (_, i) =>
        attempt(`10.${i >> 8}.${i & 255}.1, ${real}`, { username: `forger${i}`, password: 'x' }).then((r) => r.status),
      ),
    );
    assert.equal(statuses.filter((status) => status === 401).length, 20, 'the per-IP limit counts them as one address');
    assert.equal(statuses.filter((status) => status === 429).length, 130);
    const events = (await server.stores.audit.list({ type: 'rate_limited', limit: 200 })).events.filter(
      (e) => e.at.getTime() >= clock.now(),
    );
    assert.ok(events.length >= 130);
    assert.deepEqual([...new Set(events.map((e) => e.ip))], [real], 'the audit records the real address only');
    const refused = (await server.stores.audit.list({ type: 'password.refused', limit: 200 })).events.filter(
      (e) => e.at.getTime() >= clock.now(),
    );
    assert.deepEqual([...new Set(refused.map((e) => e.ip))], [real]);
  });
});
