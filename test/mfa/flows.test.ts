import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createManualClock } from '../../src/domain/clock.ts';
import { realStoresSkip } from '../support/env.ts';
import { Phone, wrongCode } from '../support/mfa.ts';
import {
  follow,
  formAction,
  secretOnPage,
  signIn,
  SignInRefused,
  startAuthorization,
  UserAgent,
  type RelyingParty,
} from '../support/relying-party.ts';
import {
  createUser,
  newRealStores,
  patchSettings,
  patchUser,
  registerApplication,
  startTestServer,
  type TestServer,
} from '../support/server.ts';

const MFA_AMR = ['pwd', 'otp', 'mfa'];
const ACR_MFA = 'urn:twofold:acr:mfa';

describe('the second factor on Redis and MongoDB', { skip: realStoresSkip }, () => {
  const clock = createManualClock(Date.now());
  let server: TestServer;
  const rps: Record<string, RelyingParty> = {};
  let users = 0;

  before(async () => {
    server = await startTestServer({ real: newRealStores(), clock });
    const clients: [string, Record<string, unknown>][] = [
      ['required-a', { mfa_policy: 'required' }],
      ['required-b', { mfa_policy: 'required' }],
      ['off', { mfa_policy: 'off' }],
      ['enrolled', { mfa_policy: 'if_enrolled' }],
      ['short', { mfa_policy: 'required', mfa_max_age: 300 }],
      ['default', {}],
    ];
    for (const [id, metadata] of clients) {
      const redirect = `http://127.0.0.1:9/${id}/cb`;
      rps[id] = (await registerApplication(server, { client_id: id, redirect_uris: [redirect], first_party: true, ...metadata })).rp;
    }
  });
  after(() => server.close());

  /** A new user of its own for each test, so no test sees another's device or steps. */
  async function newUser() {
    const credentials = { username: `user${++users}`, password: 'a long passphrase' };
    const { id } = await createUser(server, credentials);
    return { id, credentials, phone: new Phone(clock) };
  }

  async function registered() {
    const user = await newUser();
    await signIn(new UserAgent(), rps['required-a']!, user.credentials, {}, user.phone.app);
    clock.advance(30_000);
    return user;
  }

  const adminView = async (id: string) =>
    (await (await server.adminFetch(`/admin/api/users/${id}`)).json()) as {
      mfa: { status: string; exempt: boolean; registeredAt?: string };
    };

  it('registers the authenticator during sign-in and issues an MFA ID token', async () => {
    const { id, credentials, phone } = await newUser();
    assert.equal((await adminView(id)).mfa.status, 'none');
    const { seen, claims } = await signIn(new UserAgent(), rps['required-a']!, credentials, {}, phone.app);
    assert.deepEqual(seen, ['login', 'register', 'backup-codes']);
    assert.deepEqual(claims.amr, MFA_AMR);
    assert.equal(claims.acr, ACR_MFA);
    const view = await adminView(id);
    assert.equal(view.mfa.status, 'registered');
    assert.equal(view.mfa.registeredAt, new Date(clock.now()).toISOString());
  });

  it('shows the same page, the same secret and an alert after a wrong code; the right code then registers', async () => {
    const { id, credentials, phone } = await newUser();
    const agent = new UserAgent();
    const rp = rps['required-a']!;
    const login = await follow(agent, (await startAuthorization(rp)).url, rp.redirectUri);
    const afterPassword = await agent.postForm(formAction(login, '/login'), credentials);
    assert.equal(afterPassword.status, 303);
    const registration = await follow(agent, new URL(afterPassword.headers.get('location')!, login.url), rp.redirectUri);
    const secret = secretOnPage(registration.html)!;
    assert.match(secret, /^([A-Z2-7]{4} ){7}[A-Z2-7]{4}$/, '160 bits in groups of four');
    assert.equal((await adminView(id)).mfa.status, 'pending', 'a registration page was shown');

    phone.app.register(secret);
    const wrong = await agent.postForm(formAction(registration, '/code'), { code: wrongCode(await phone.code()) });
    assert.equal(wrong.status, 401);
    const again = await wrong.text();
    assert.equal(secretOnPage(again), secret, 'the same secret');
    assert.match(again, /role="alert"/);
    assert.equal((await adminView(id)).mfa.status, 'pending');

    const right = await agent.postForm(formAction(registration, '/code'), { code: ` ${(await phone.code()).replace(/(\d{3})/, '$1-')} ` });
    assert.equal(right.status, 303, 'spaces and dashes are ignored');
    assert.equal((await adminView(id)).mfa.status, 'registered');
  });

  it('gives an abandoned registration a new secret next time and stores nothing', async () => {
    const { id, credentials } = await newUser();
    const rp = rps['required-a']!;
    const secrets: string[] = [];
    for (let i = 0; i < 2; i++) {
      const agent = new UserAgent();
      const login = await follow(agent, (await startAuthorization(rp)).url, rp.redirectUri);
      const response = await agent.postForm(formAction(login, '/login'), credentials);
      const page = await follow(agent, new URL(response.headers.get('location')!, login.url), rp.redirectUri);
      secrets.push(secretOnPage(page.html)!);
    }
    assert.notEqual(secrets[0], secrets[1]);
    assert.equal((await adminView(id)).mfa.status, 'pending');
  });

  it('refuses the registration code replayed in a new session, and takes the next one', async () => {
    const { credentials, phone } = await newUser();
    let registrationCode = '';
    await signIn(
      new UserAgent(),
      rps['required-a']!,
      credentials,
      {},
      {
        register: async (secret) => (registrationCode = await phone.app.register(secret)),
      },
    );
    await assert.rejects(
      signIn(new UserAgent(), rps['required-a']!, credentials, {}, { code: () => registrationCode }),
      (err) => err instanceof SignInRefused && err.page.status === 401 && /role="alert"/.test(err.page.html),
    );
    clock.advance(30_000);
    const { seen, claims } = await signIn(new UserAgent(), rps['required-a']!, credentials, {}, phone.app);
    assert.deepEqual(seen, ['login', 'code']);
    assert.deepEqual(claims.amr, MFA_AMR);
  });

  it('lets exactly one of 20 simultaneous submissions of one code through', async () => {
    const { credentials, phone } = await registered();
    const agent = new UserAgent();
    const rp = rps['required-a']!;
    const login = await follow(agent, (await startAuthorization(rp)).url, rp.redirectUri);
    const response = await agent.postForm(formAction(login, '/login'), credentials);
    const codePage = await follow(agent, new URL(response.headers.get('location')!, login.url), rp.redirectUri);
    const code = await phone.code();
    const statuses = await Promise.all(
      Array.from({ length: 20 }, () => agent.postForm(formAction(codePage, '/code'), { code }).then((r) => r.status)),
    );
    assert.equal(statuses.filter((s) => s === 303).length, 1, `statuses: ${statuses.join(',')}`);
    // The others are refused and shown their page again: as a wrong code (401), as a
    // finished sign-in once the winner has finished it (400), since a replayed code counts
    // as a wrong one by the lock the fifth of them sets (403), or plainly (200) when
    // another of these simultaneous answers of the same browser showed the outcome first.
    assert.equal(statuses.filter((s) => [200, 400, 401, 403].includes(s)).length, 19, `statuses: ${statuses.join(',')}`);
  });

  it('asks once per session across required applications, and not at all for an off one', async () => {
    const { credentials, phone } = await registered();
    const agent = new UserAgent();
    const first = await signIn(agent, rps['required-a']!, credentials, {}, phone.app);
    assert.deepEqual(first.seen, ['login', 'code']);
    const second = await signIn(agent, rps['required-b']!, null);
    assert.deepEqual(second.seen, [], 'single sign-on, no second code');
    assert.deepEqual(second.claims.amr, MFA_AMR);

    const offOnly = await signIn(new UserAgent(), rps['off']!, credentials);
    assert.deepEqual(offOnly.seen, ['login']);
    assert.deepEqual(offOnly.claims.amr, ['pwd']);
    assert.equal(offOnly.claims.acr, 'urn:twofold:acr:password');
  });

  it('follows the default policy for an application that sets none', async () => {
    const { credentials, phone } = await registered();
    assert.deepEqual((await signIn(new UserAgent(), rps['default']!, credentials)).seen, ['login'], 'default is off');
    await patchSettings(server, { defaultPolicy: 'required' });
    try {
      const { seen } = await signIn(new UserAgent(), rps['default']!, credentials, {}, phone.app);
      assert.deepEqual(seen, ['login', 'code']);
    } finally {
      await patchSettings(server, { defaultPolicy: 'off' });
    }
  });

  it('asks for the second factor when an off application steps up through acr_values or claims', async () => {
    const { credentials, phone } = await registered();
    const agent = new UserAgent();
    assert.deepEqual((await signIn(agent, rps['off']!, credentials)).seen, ['login']);
    const stepUp = await signIn(agent, rps['off']!, null, { acr_values: ACR_MFA }, phone.app);
    assert.deepEqual(stepUp.seen, ['code'], 'the password is not asked again');
    assert.equal(stepUp.claims.acr, ACR_MFA);

    clock.advance(30_000);
    const viaClaims = new UserAgent();
    await signIn(viaClaims, rps['off']!, credentials);
    const claims = JSON.stringify({ id_token: { acr: { essential: true, value: ACR_MFA } } });
    const stepped = await signIn(viaClaims, rps['off']!, null, { claims }, phone.app);
    assert.deepEqual(stepped.seen, ['code']);
    assert.equal(stepped.claims.acr, ACR_MFA);
  });

  it("asks again once the application's mfa_max_age has passed", async () => {
    const { credentials, phone } = await registered();
    const agent = new UserAgent();
    assert.deepEqual((await signIn(agent, rps['short']!, credentials, {}, phone.app)).seen, ['login', 'code']);
    clock.advance(300_000);
    assert.deepEqual((await signIn(agent, rps['short']!, null)).seen, [], 'at 300 s it still holds');
    clock.advance(1_000);
    const again = await signIn(agent, rps['short']!, null, {}, phone.app);
    assert.deepEqual(again.seen, ['code']);
    assert.deepEqual(again.claims.amr, MFA_AMR);
    assert.deepEqual((await signIn(agent, rps['required-a']!, null)).seen, [], 'another application without a max age is not asked');
  });

  it('keeps the second factor through a later password-only login (no downgrade)', async () => {
    const { credentials, phone } = await registered();
    const agent = new UserAgent();
    await signIn(agent, rps['required-a']!, credentials, {}, phone.app);
    const relogin = await signIn(agent, rps['off']!, credentials, { prompt: 'login' });
    assert.deepEqual(relogin.seen, ['login']);
    assert.deepEqual(relogin.claims.amr, MFA_AMR, 'the session still carries the second factor');
    assert.equal(relogin.claims.acr, ACR_MFA);
    const maxAge = await signIn(agent, rps['off']!, credentials, { max_age: '0' });
    assert.deepEqual(maxAge.seen, ['login']);
    assert.equal(maxAge.claims.acr, ACR_MFA);
    const sso = await signIn(agent, rps['required-b']!, null);
    assert.deepEqual(sso.seen, []);
    assert.equal(sso.claims.acr, ACR_MFA);
  });

  it('asks if_enrolled users with a device, and lets the others through', async () => {
    const fresh = await newUser();
    assert.deepEqual((await signIn(new UserAgent(), rps['enrolled']!, fresh.credentials)).seen, ['login']);
    const enrolled = await registered();
    assert.deepEqual((await signIn(new UserAgent(), rps['enrolled']!, enrolled.credentials, {}, enrolled.phone.app)).seen, [
      'login',
      'code',
    ]);
  });

  it('asks nobody while the master switch is off, and the old device again once it is on', async () => {
    const { credentials, phone } = await registered();
    await patchSettings(server, { enabled: false });
    try {
      const off = await signIn(new UserAgent(), rps['required-a']!, credentials);
      assert.deepEqual(off.seen, ['login']);
      assert.deepEqual(off.claims.amr, ['pwd']);
    } finally {
      await patchSettings(server, { enabled: true });
    }
    const on = await signIn(new UserAgent(), rps['required-a']!, credentials, {}, phone.app);
    assert.deepEqual(on.seen, ['login', 'code'], 'the registration was kept');
  });

  it('never asks an exempt user, and lets a disabled user not sign in', async () => {
    const { id, credentials } = await registered();
    assert.equal((await patchUser(server, id, { exempt: true })).mfa.exempt, true);
    assert.deepEqual((await signIn(new UserAgent(), rps['required-a']!, credentials)).seen, ['login']);
    await patchUser(server, id, { exempt: false, disabled: true });
    await assert.rejects(
      signIn(new UserAgent(), rps['off']!, credentials),
      (err) => err instanceof SignInRefused && err.page.status === 401 && /This account is disabled/.test(err.page.html),
    );
  });

  it('stops a session whose user was disabled after signing in', async () => {
    const { id, credentials, phone } = await registered();
    const agent = new UserAgent();
    await signIn(agent, rps['required-a']!, credentials, {}, phone.app);
    await patchUser(server, id, { disabled: true });
    const rp = rps['required-b']!;
    const page = await follow(agent, (await startAuthorization(rp)).url, rp.redirectUri);
    assert.equal(page.url.href.startsWith(rp.redirectUri), false, 'no code for a disabled user');
    assert.match(page.html, /name="password"/, 'disabling ended the session: the password is asked');
    const refused = await agent.postForm(formAction(page, '/login'), credentials);
    assert.equal(refused.status, 401);
    assert.match(await refused.text(), /role="alert"[^>]*>This account is disabled/);
  });

  it('never yields a code when the code page is skipped', async () => {
    const { credentials } = await registered();
    const agent = new UserAgent();
    const rp = rps['required-a']!;
    const start = await startAuthorization(rp);
    const login = await follow(agent, start.url, rp.redirectUri);
    const response = await agent.postForm(formAction(login, '/login'), credentials);
    const codePage = await follow(agent, new URL(response.headers.get('location')!, login.url), rp.redirectUri);
    assert.match(codePage.html, /autocomplete="one-time-code"/);
    const uid = /\/interaction\/([^/]+)\/code/.exec(codePage.html)![1]!;

    // Straight to the engine's resume endpoint of this sign-in: the login is not resolved.
    const resumed = await follow(agent, new URL(`/auth/${uid}`, server.issuer), rp.redirectUri);
    assert.equal(resumed.url.href.startsWith(rp.redirectUri), false, `resume gave ${resumed.url.href}`);
    // A later step of the interaction, posted directly.
    const confirm = await agent.postForm(new URL(`/interaction/${uid}/confirm`, server.issuer), {});
    assert.equal(confirm.status, 400);
    // The authorization request again, with the same cookies.
    const restarted = await follow(agent, (await startAuthorization(rp)).url, rp.redirectUri);
    assert.equal(restarted.url.href.startsWith(rp.redirectUri), false);
    assert.match(restarted.html, /name="password"/, 'it starts over at the password');
    // prompt=none cannot skip it either.
    const silent = await follow(agent, (await startAuthorization(rp, { prompt: 'none' })).url, rp.redirectUri);
    assert.equal(silent.url.searchParams.get('error'), 'login_required');
    assert.equal(silent.url.searchParams.get('code'), null);
  });

  it('answers a code of any length or alphabet with a 4xx page, never a 500', async () => {
    // Each counts as a wrong code: allow them all before the lockout (tested on its own).
    await patchSettings(server, { maxAttempts: 10 });
    after(() => patchSettings(server, { maxAttempts: 5 }));
    const { credentials } = await registered();
    const agent = new UserAgent();
    const rp = rps['required-a']!;
    const login = await follow(agent, (await startAuthorization(rp)).url, rp.redirectUri);
    const response = await agent.postForm(formAction(login, '/login'), credentials);
    const codePage = await follow(agent, new URL(response.headers.get('location')!, login.url), rp.redirectUri);
    for (const code of ['', '1', '12345', '1234567', 'abcdef', '١٢٣٤٥٦', '<script>', 'x'.repeat(64), '123456'.repeat(3)]) {
      const answer = await agent.postForm(formAction(codePage, '/code'), { code });
      assert.ok(answer.status >= 400 && answer.status < 500, `${JSON.stringify(code)} → ${answer.status}`);
      assert.match(await answer.text(), /role="alert"/);
    }
    const tooLong = await agent.postForm(formAction(codePage, '/code'), { code: '1'.repeat(65) });
    assert.equal(tooLong.status, 400);
    const extra = await agent.postForm(formAction(codePage, '/code'), { code: '123456', admin: '1' });
    assert.equal(extra.status, 400);
  });

  it('writes neither secrets nor codes to the log', async () => {
    const { credentials, phone } = await newUser();
    const codes: string[] = [];
    const app = {
      register: async (secret: string) => {
        const code = await phone.app.register(secret);
        codes.push(code);
        return code;
      },
      code: async () => {
        const code = await phone.code();
        codes.push(code);
        return code;
      },
    };
    await signIn(new UserAgent(), rps['required-a']!, credentials, {}, app);
    clock.advance(30_000);
    await signIn(new UserAgent(), rps['required-a']!, credentials, {}, app);
    const log = server.logs.join('');
    assert.ok(
      log.includes('"event":"mfa.register","outcome":"registered"') && log.includes('"event":"mfa.verify","outcome":"passed"'),
      'the events are logged',
    );
    const secret = Buffer.from(phone.secret!);
    const { base32Encode } = await import('../../src/domain/totp.ts');
    for (const needle of [base32Encode(secret), secret.toString('base64'), secret.toString('hex'), credentials.password]) {
      assert.equal(log.includes(needle), false, 'a secret in the log');
    }
    for (const code of codes) assert.doesNotMatch(log, new RegExp(`(?<!\\d)${code}(?!\\d)`), 'a code in the log');
  });
});
