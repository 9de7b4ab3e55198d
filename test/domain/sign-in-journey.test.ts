import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { createManualClock } from '../../src/domain/clock.ts';
import { createDataKeyring } from '../../src/domain/data-key.ts';
import { createPasswordHasher, owaspMinimumCost } from '../../src/domain/passwords.ts';
import { createEmailCodes } from '../../src/domain/email-codes.ts';
import { createSecondFactorService } from '../../src/domain/second-factor.ts';
import { createSettingsService } from '../../src/domain/settings.ts';
import { createSignInJourney, type Journey } from '../../src/domain/sign-in-journey.ts';
import { createUserService } from '../../src/domain/users.ts';
import { createMfaState } from '../../src/oidc/mfa-state.ts';
import { createMemoryStores } from '../../src/stores/memory/index.ts';
import { authenticatorCode } from '../support/rfc6238.ts';

/** The journey on the embedded stores, with a clock the test moves. */
async function journeyWorld() {
  const clock = createManualClock(Date.parse('2026-12-02T10:00:00Z'));
  const stores = createMemoryStores({ clock });
  const keyring = createDataKeyring([randomBytes(32)]);
  const settings = createSettingsService({ store: stores.settings, clock, notify: async () => {}, onChanged: () => {} });
  const secondFactor = createSecondFactorService({
    users: stores.users,
    guard: stores.guard,
    keyring,
    clock,
    settings,
    audit: stores.audit,
  });
  const userService = createUserService({ users: stores.users, hasher: await createPasswordHasher(owaspMinimumCost) });
  const state = createMfaState(stores.oidc, 3600).signIn;
  const journey = createSignInJourney({
    users: stores.users,
    userService,
    secondFactor,
    settings,
    state,
    rateLimiter: stores.rateLimiter,
    rateLimits: { perIp: { limit: 1000, windowSeconds: 60 }, perAccount: { limit: 1000, windowSeconds: 60 } },
    audit: stores.audit,
    keyring,
    clock,
    // Mail off: email codes are tested over SMTP in test/mail/email-codes.test.ts.
    emailCodes: createEmailCodes({ mailer: { enabled: false, send: () => {} }, settings, keyring, rateLimiter: stores.rateLimiter, clock }),
    mailOn: false,
    keysOn: false,
  });
  const user = await userService.create({ username: 'ada', password: 'a long passphrase' });
  const signIn = (id: string, overrides: Partial<Journey> = {}): Journey => ({
    id,
    expiresIn: 600,
    appName: 'Wiki',
    app: { mfaPolicy: 'required' },
    request: { stepUp: false, forced: false },
    sessionMethods: async () => ({}),
    ...overrides,
  });
  return { clock, journey, user, signIn, source: { ip: '192.0.2.1' } };
}

describe('the sign-in journey', () => {
  it('after the password, asks for a registration; the code registers, the backup codes follow, and it finishes with both methods', async () => {
    const { clock, journey, user, signIn, source } = await journeyWorld();
    const first = signIn('one');
    const password = await journey.password(first, 'ada', 'a long passphrase', source);
    assert.deepEqual(password, { kind: 'second_factor', accountId: user.id });
    assert.equal(await journey.awaitsSecondFactor(signIn('one')), true);
    const page = await journey.factorPage(first);
    assert.equal(page.kind, 'register');
    const again = await journey.factorPage(first);
    assert.deepEqual(again.kind === 'register' && again.secret, page.kind === 'register' && page.secret, 'one secret per sign-in');
    const secret = page.kind === 'register' ? page.secret : Buffer.alloc(0);
    const code = await authenticatorCode(new Uint8Array(secret), clock.now() / 1000);
    const registered = await journey.code(first, code, source);
    assert.equal(registered.kind, 'page');
    const codes = await journey.factorPage(first);
    assert.equal(codes.kind, 'backup_codes');
    assert.equal(codes.kind === 'backup_codes' && codes.codes.length, 10);
    const finished = await journey.proceed(first, source);
    const now = Math.floor(clock.now() / 1000);
    assert.deepEqual(finished, { kind: 'finished', accountId: user.id, methods: { pwd: now, totp: now }, login: true });
    assert.equal(await journey.awaitsSecondFactor(signIn('one')), false, 'nothing of the sign-in is left');
    await assert.rejects(journey.factorPage(first), { code: 'sign_in_expired' });
  });

  it('finishes after the password alone where nothing is wanted, and carries a session second factor unless a new sign-in is forced', async () => {
    const { clock, journey, user, signIn, source } = await journeyWorld();
    const off = await journey.password(signIn('off', { app: { mfaPolicy: 'off' } }), 'ada', 'a long passphrase', source);
    assert.deepEqual(off, { kind: 'finished', accountId: user.id, methods: { pwd: Math.floor(clock.now() / 1000) }, login: true });
    // A session whose second factor is recent covers a required application (single sign-on)…
    const recent = async () => ({ totp: Math.floor(clock.now() / 1000) - 60 });
    const covered = await journey.password(signIn('sso', { sessionMethods: recent }), 'ada', 'a long passphrase', source);
    assert.equal(covered.kind, 'finished');
    assert.deepEqual(
      covered.kind === 'finished' && Object.keys(covered.methods),
      ['pwd'],
      'the password alone is what this step presented',
    );
    // …but not a forced new sign-in, nor an application whose mfa_max_age it is past.
    const forced = await journey.password(
      signIn('forced', { sessionMethods: recent, request: { stepUp: false, forced: true } }),
      'ada',
      'a long passphrase',
      source,
    );
    assert.equal(forced.kind, 'second_factor');
    const old = await journey.password(
      signIn('old', { sessionMethods: recent, app: { mfaPolicy: 'required', mfaMaxAge: 30 } }),
      'ada',
      'a long passphrase',
      source,
    );
    assert.equal(old.kind, 'second_factor');
  });

  it('refuses a wrong password and an unknown user alike to the page, and a wrong code without finishing', async () => {
    const { journey, signIn, source } = await journeyWorld();
    const wrong = await journey.password(signIn('w'), 'ada', 'not it', source);
    const unknown = await journey.password(signIn('u'), 'nobody', 'not it', source);
    assert.deepEqual([wrong.kind, unknown.kind], ['refused', 'refused']);
    await journey.password(signIn('c'), 'ada', 'a long passphrase', source);
    assert.deepEqual(await journey.code(signIn('c'), '', source), { kind: 'retry', reason: 'empty' });
    const page = await journey.factorPage(signIn('c'));
    assert.equal(page.kind, 'register');
    const bad = await journey.code(signIn('c'), '000000', source);
    assert.equal(bad.kind, 'retry');
    assert.equal(await journey.awaitsSecondFactor(signIn('c')), true, 'still waiting for the second factor');
  });

  it('asks only for the code in a session that has the password (step-up), and finishes without a new login', async () => {
    const { clock, journey, user, signIn, source } = await journeyWorld();
    const setup = signIn('setup');
    await journey.password(setup, 'ada', 'a long passphrase', source);
    const page = await journey.factorPage(setup);
    const secret = new Uint8Array(page.kind === 'register' ? page.secret : Buffer.alloc(0));
    await journey.code(setup, await authenticatorCode(secret, clock.now() / 1000), source);
    await journey.proceed(setup, source);
    clock.advance(30_000);
    const stepUp = signIn('step-up', { sessionAccountId: user.id, request: { stepUp: true, forced: false } });
    assert.equal((await journey.factorPage(stepUp)).kind, 'code');
    const finished = await journey.code(stepUp, await authenticatorCode(secret, clock.now() / 1000), source);
    assert.equal(finished.kind, 'finished');
    assert.deepEqual(finished.kind === 'finished' && [finished.login, Object.keys(finished.methods)], [false, ['totp']]);
  });
});
