import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createManualClock } from '../../src/domain/clock.ts';
import { TOTP_APPS_MAX } from '../../src/domain/ports.ts';
import { realStoresSkip } from '../support/env.ts';
import { registeredUser, walkOwnPages, type Phone } from '../support/mfa.ts';
import {
  follow,
  formAction,
  secretOnPage,
  signIn,
  startAuthorization,
  UserAgent,
  type Page,
  type RelyingParty,
} from '../support/relying-party.ts';
import { authenticatorCode, decodeBase32 } from '../support/rfc6238.ts';
import { createUser, newRealStores, requiredApplication, startTestServer, type TestServer } from '../support/server.ts';

const fieldOf = (page: Page, name: string) => new RegExp(`name="${name}" value="([^"]*)"`).exec(page.html)?.[1];

interface AppView {
  id: string;
  name: string;
  registeredAt: string;
  lastUsedAt: string | null;
}

/**
 * Several authenticator apps per user, on Redis and the MongoDB test server: added on the
 * account page after a fresh second factor, named, each signing in with its own codes,
 * renamed, and removed by the user or an administrator (seen from another node).
 */
describe('several authenticator apps per user', { skip: realStoresSkip }, () => {
  const clock = createManualClock(Date.now());
  const real = newRealStores();
  let server: TestServer;
  let rp: RelyingParty;
  let people = 0;
  before(async () => {
    server = await startTestServer({ real, clock });
    rp = await requiredApplication(server, 'wiki');
  });
  after(() => server.close());

  const appsOf = async (id: string) =>
    ((await (await server.adminFetch(`/admin/api/users/${id}`)).json()) as { mfa: { apps: AppView[] } }).mfa.apps;

  const codeOf = (secret: string, offset = 0) => authenticatorCode(decodeBase32(secret), clock.now() / 1000 + offset * 30);

  async function openAccount(agent: UserAgent, credentials: { username: string; password: string }, phone: Phone) {
    return (await walkOwnPages(agent, `${server.issuer}/account/`, credentials, phone, (page) => page.html.includes('<h1>Your account')))
      .page;
  }

  /** The add-an-app page: its form's fields and the new secret it shows. */
  async function addPage(agent: UserAgent) {
    const page = await follow(agent, `${server.issuer}/account/apps/add`, 'never:');
    assert.match(page.html, /<h1>Add an authenticator app/);
    return {
      page,
      csrf: fieldOf(page, 'csrf')!,
      enrollment: fieldOf(page, 'enrollment')!,
      secret: secretOnPage(page.html)!.replaceAll(' ', ''),
    };
  }

  const post = (agent: UserAgent, fields: Record<string, string>) => agent.postForm(new URL('/account/apps/add', server.issuer), fields);

  it('adds a second app after a fresh second factor, named; each app signs in with its own codes, and an enrollment adds one app', async () => {
    const { id, credentials, phone } = await registeredUser(server, rp, clock, `ann${++people}`);
    const agent = new UserAgent();
    await openAccount(agent, credentials, phone);
    clock.advance(5 * 60_000 + 1_000);
    const { page, csrf, enrollment, secret } = await addPage(agent);
    assert.match(page.html, /name="code"/, 'an old second factor: a code of an app the user has is asked too');

    const without = await post(agent, { csrf, enrollment, newCode: await codeOf(secret), name: 'Tablet' });
    assert.equal(without.status, 401, 'no code of the app the user has');
    const wrongNew = await post(agent, { csrf, enrollment, newCode: '000000', name: 'Tablet', code: await phone.code() });
    assert.equal(wrongNew.status, 401);
    assert.match(await wrongNew.text(), /not the new app’s current code/);
    assert.equal((await appsOf(id)).length, 1, 'nothing added');

    const added = await post(agent, { csrf, enrollment, newCode: await codeOf(secret), name: '  Tablet  ' });
    assert.equal(added.status, 303, 'the code typed a moment ago counts as fresh now');
    const apps = await appsOf(id);
    assert.deepEqual(
      apps.map((app) => app.name),
      ['Authenticator app', 'Tablet'],
    );
    // The same enrollment again, with a later code: no third app.
    clock.advance(30_000);
    const again = await post(agent, { csrf, enrollment, newCode: await codeOf(secret), name: 'Copy' });
    assert.equal(again.status, 200);
    assert.match(await again.text(), /added already/);
    assert.equal((await appsOf(id)).length, 2);

    // Either app signs in; each with its own codes.
    clock.advance(30_000);
    const byTablet = await signIn(new UserAgent(), rp, credentials, {}, { code: () => codeOf(secret) });
    assert.deepEqual(byTablet.claims.amr, ['pwd', 'otp', 'mfa']);
    clock.advance(30_000);
    const byPhone = await signIn(new UserAgent(), rp, credentials, {}, phone.app);
    assert.deepEqual(byPhone.claims.amr, ['pwd', 'otp', 'mfa']);
    const used = await appsOf(id);
    assert.ok(
      used.every((app) => app.lastUsedAt !== null),
      'each app says when it was last used',
    );
    const registered = (
      (await (await server.adminFetch(`/admin/api/audit?user=${id}&type=mfa.registered`)).json()) as {
        events: { factor: string }[];
      }
    ).events;
    assert.equal(registered.length, 2, 'each app added is audited');
  });

  it('names the first app as the registration page was told, and "Authenticator app" when it was told nothing', async () => {
    for (const [name, expected] of [
      ['  My   phone ', 'My phone'],
      ['', 'Authenticator app'],
    ]) {
      const credentials = { username: `eve${++people}`, password: 'a long passphrase' };
      const { id } = await createUser(server, credentials);
      const agent = new UserAgent();
      const start = await startAuthorization(rp);
      const login = await follow(agent, start.url, rp.redirectUri);
      const posted = await agent.postForm(formAction(login, '/login'), credentials);
      const register = await follow(agent, new URL(posted.headers.get('location')!, login.url), rp.redirectUri);
      const secret = secretOnPage(register.html)!.replaceAll(' ', '');
      const registered = await agent.postForm(formAction(register, '/code'), { code: await codeOf(secret), name: name! });
      assert.equal(registered.status, 303);
      assert.deepEqual(
        (await appsOf(id)).map((app) => app.name),
        [expected],
      );
    }
  });

  it('refuses a made-up or changed enrollment, and a form without its token, adding nothing', async () => {
    const { id, credentials, phone } = await registeredUser(server, rp, clock, `bo${++people}`);
    const agent = new UserAgent();
    await openAccount(agent, credentials, phone);
    const { csrf, enrollment, secret } = await addPage(agent);
    const changed = enrollment.slice(0, -2) + (enrollment.endsWith('A') ? 'BB' : 'AA');
    for (const fields of [
      { csrf, enrollment: changed, newCode: await codeOf(secret) },
      { csrf, enrollment: 'v1.x.y.z.w', newCode: await codeOf(secret) },
      { csrf: 'forged', enrollment, newCode: await codeOf(secret) },
    ]) {
      const refused = await post(agent, fields);
      assert.equal(refused.status, 403, JSON.stringify(fields).slice(0, 60));
    }
    assert.equal((await appsOf(id)).length, 1);
  });

  it('renames an app (audited) and stops offering more past the most a user may have', async () => {
    const { id, credentials, phone } = await registeredUser(server, rp, clock, `cy${++people}`);
    const agent = new UserAgent();
    const home = await openAccount(agent, credentials, phone);
    const [first] = await appsOf(id);
    const renamed = await agent.postForm(new URL(`/account/apps/${first!.id}/rename`, server.issuer), {
      csrf: fieldOf(home, 'csrf')!,
      name: 'Work phone',
    });
    assert.equal(renamed.status, 303);
    const events = (
      (await (await server.adminFetch(`/admin/api/audit?user=${id}&type=mfa.app_renamed`)).json()) as {
        events: { changes: unknown }[];
      }
    ).events;
    assert.deepEqual(events[0]!.changes, [{ field: 'name', from: 'Authenticator app', to: 'Work phone' }]);

    for (let n = 1; n < TOTP_APPS_MAX; n++) {
      clock.advance(30_000);
      const { csrf, enrollment, secret } = await addPage(agent);
      assert.equal((await post(agent, { csrf, enrollment, newCode: await codeOf(secret), name: `App ${n}` })).status, 303);
    }
    assert.equal((await appsOf(id)).length, TOTP_APPS_MAX);
    const full = await follow(agent, `${server.issuer}/account/`, 'never:');
    assert.doesNotMatch(full.html, /data-testid="add-app"/);
    const refused = await agent.request(`${server.issuer}/account/apps/add`);
    assert.equal(refused.status, 302, 'no add page past the most');
  });

  it("lets an administrator remove one app: that app's codes stop, the other's go on, and the user's sessions end on every node", async () => {
    const { id, credentials, phone } = await registeredUser(server, rp, clock, `di${++people}`);
    const agent = new UserAgent();
    await openAccount(agent, credentials, phone);
    const { csrf, enrollment, secret } = await addPage(agent);
    assert.equal((await post(agent, { csrf, enrollment, newCode: await codeOf(secret), name: 'Tablet' })).status, 303);
    const [phoneApp, tablet] = await appsOf(id);
    clock.advance(30_000);
    const session = new UserAgent();
    await signIn(session, rp, credentials, {}, phone.app);

    assert.equal((await server.adminFetch(`/admin/api/users/${id}/mfa/apps/0000000000000000`, { method: 'DELETE' })).status, 404);
    const removed = await server.adminFetch(`/admin/api/users/${id}/mfa/apps/${phoneApp!.id}`, { method: 'DELETE' });
    assert.equal(removed.status, 200);
    assert.deepEqual(
      ((await removed.json()) as { mfa: { apps: AppView[] } }).mfa.apps.map((app) => app.id),
      [tablet!.id],
    );
    const audit = (
      (await (await server.adminFetch(`/admin/api/audit?user=${id}&type=mfa.device_deleted`)).json()) as {
        events: { actor: string; changed: string[]; reason: string }[];
      }
    ).events;
    assert.deepEqual(
      audit.map((event) => [event.actor, event.changed, event.reason]),
      [['admin', ['Authenticator app'], 'sessions_ended']],
    );

    const nodeB = await startTestServer({ clock, real, issuer: server.issuer });
    try {
      const viaB = UserAgent.via(server.issuer, nodeB.url);
      viaB.cookies = session.cookies.map((cookie) => ({ ...cookie }));
      const login = await follow(viaB, (await startAuthorization(rp)).url, rp.redirectUri);
      assert.match(login.html, /name="password"/, 'signed out by the removal, on the other node too');
      clock.advance(30_000);
      await assert.rejects(signIn(new UserAgent(viaB.route), rp, credentials, {}, phone.app), 'the removed app signs in no more');
      clock.advance(30_000);
      const byTablet = await signIn(new UserAgent(viaB.route), rp, credentials, {}, { code: () => codeOf(secret) });
      assert.deepEqual(byTablet.seen, ['login', 'code']);
    } finally {
      await nodeB.close();
    }
  });
});
