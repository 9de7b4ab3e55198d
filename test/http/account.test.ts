import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createManualClock } from '../../src/domain/clock.ts';
import { realStoresSkip } from '../support/env.ts';
import { Phone, registeredUser, removeAppPath, walkOwnPages } from '../support/mfa.ts';
import {
  backupCodesOnPage,
  follow,
  formAction,
  signIn,
  SignInRefused,
  UserAgent,
  type Page,
  type RelyingParty,
} from '../support/relying-party.ts';
import { newRealStores, patchSettings, patchUser, registerApplication, startTestServer, type TestServer } from '../support/server.ts';

const csrfOf = (page: Page) => /name="csrf" value="([^"]+)"/.exec(page.html)?.[1];

describe('the account page on Redis and MongoDB', { skip: realStoresSkip }, () => {
  // The ID token's auth_time is on the engine's own clock, so this one starts at the real time.
  const clock = createManualClock(Date.now());
  let server: TestServer;
  let rp: RelyingParty;
  let users = 0;

  before(async () => {
    server = await startTestServer({ real: newRealStores(), clock });
    rp = (
      await registerApplication(server, {
        client_id: 'app',
        redirect_uris: ['http://127.0.0.1:9/cb'],
        first_party: true,
        mfa_policy: 'required',
      })
    ).rp;
  });
  after(() => server.close());

  const registered = () => registeredUser(server, rp, clock, `acct${++users}`);

  /** Signs in to /account through twofold's own sign-in pages; returns the account page. */
  async function openAccount(agent: UserAgent, credentials: { username: string; password: string }, phone: Phone): Promise<Page> {
    const { page, seen } = await walkOwnPages(agent, `${server.issuer}/account/`, credentials, phone, (shown) =>
      shown.html.includes('data-testid="backup-codes-left"'),
    );
    assert.deepEqual(seen, ['login', 'code'], 'the account page asks for the password and the second factor');
    return page;
  }

  it('shows the apps and the backup codes left, and makes a new set that voids the old one', async () => {
    const { credentials, phone } = await registered();
    const agent = new UserAgent();
    const home = await openAccount(agent, credentials, phone);
    const minute = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
    // Without scripts the times read in UTC; each is a <time> the page's script shows in the viewer's zone.
    const device = /data-testid="device">(.*?) <a /s.exec(home.html)![1]!;
    assert.equal(
      device.replace(/<[^>]+>/g, ''),
      `Authenticator app, added ${minute(clock.now() - 30_000)} UTC, last used ${minute(clock.now())} UTC.`,
    );
    assert.match(device, /<time datetime="\d{4}-\d\d-\d\dT[\d:.]+Z" data-local>/);
    assert.match(home.html, /data-testid="backup-codes-left">10</);

    const confirm = await follow(agent, `${server.issuer}/account/backup-codes`, 'never:');
    assert.doesNotMatch(confirm.html, /name="code"/, 'a second factor of a moment ago needs no other code');
    const made = await agent.postForm(formAction(confirm, '/account/backup-codes'), { csrf: csrfOf(confirm)! });
    assert.equal(made.status, 200);
    const fresh = backupCodesOnPage(await made.text());
    assert.equal(fresh.length, 10);
    assert.equal(fresh.filter((code) => phone.backupCodes.includes(code)).length, 0);

    await assert.rejects(
      signIn(new UserAgent(), rp, credentials, {}, { code: () => phone.backupCodes[0]! }),
      (err) => err instanceof SignInRefused && err.page.status === 401,
      'an old code no longer works',
    );
    const { claims, seen } = await signIn(new UserAgent(), rp, credentials, {}, { code: () => fresh[0]! });
    assert.deepEqual(claims.amr, ['pwd', 'otp', 'mfa'], 'a new one does');
    assert.deepEqual(seen, ['login', 'code', 'backup-code-used'], 'and the person is told how many are left');
    const again = await follow(agent, `${server.issuer}/account/`, 'never:');
    assert.match(again.html, /data-testid="backup-codes-left">9</);
  });

  it('asks a code again before removing the only app when the last one is older than 5 minutes; the next sign-in registers anew', async () => {
    const { id, credentials, phone } = await registered();
    const agent = new UserAgent();
    const home = await openAccount(agent, credentials, phone);
    clock.advance(5 * 60_000 + 1_000);

    const confirm = await follow(agent, `${server.issuer}${removeAppPath(home)}`, 'never:');
    assert.match(confirm.html, /name="code"/, 'an old second factor: a code is asked');
    assert.match(confirm.html, /It is your only second factor/, 'the page says the next sign-in sets one up');
    const action = formAction(confirm, '/remove');
    const without = await agent.postForm(action, { csrf: csrfOf(confirm)! });
    assert.equal(without.status, 401);
    assert.equal((await server.stores.users.findById(id))?.mfa.apps?.length, 1, 'nothing removed');

    const deleted = await agent.postForm(action, { csrf: csrfOf(confirm)!, code: await phone.code() });
    assert.equal(deleted.status, 303);
    const signedOut = await follow(agent, new URL(deleted.headers.get('location')!, action), 'never:');
    assert.match(signedOut.html, /role="status"[^>]*>The authenticator app was removed, and you are signed out everywhere/);
    assert.equal((await server.stores.users.findById(id))?.mfa.apps, undefined);
    const next = await signIn(new UserAgent(), rp, credentials, {}, new Phone(clock).app);
    assert.deepEqual(next.seen, ['login', 'register', 'backup-codes']);
    const event = (await server.stores.audit.list({ userId: id, type: 'mfa.device_deleted', limit: 1 })).events[0];
    assert.equal(event?.actor, 'user');
  });

  it("refuses a form posted without its CSRF token, or with another session's, and changes nothing", async () => {
    const owner = await registered();
    const other = await registered();
    const agent = new UserAgent();
    const ownerHome = await openAccount(agent, owner.credentials, owner.phone);
    const otherAgent = new UserAgent();
    const otherHome = await openAccount(otherAgent, other.credentials, other.phone);
    const otherConfirm = await follow(otherAgent, `${server.issuer}${removeAppPath(otherHome)}`, 'never:');

    const action = new URL(removeAppPath(ownerHome), server.issuer);
    for (const fields of [{}, { csrf: '' }, { csrf: 'forged' }, { csrf: csrfOf(otherConfirm)! }] as Record<string, string>[]) {
      const refused = await agent.postForm(action, fields);
      assert.equal(refused.status, 403, JSON.stringify(fields));
    }
    const noSession = await new UserAgent().postForm(action, { csrf: csrfOf(otherConfirm)! });
    assert.equal(noSession.status, 403);
    assert.ok((await server.stores.users.findById(owner.id))?.mfa.apps?.length, 'the app is still there');
    assert.ok((await server.stores.users.findById(other.id))?.mfa.apps?.length);
  });

  it('always asks the second factor, whatever the switch, the default policy or an exemption say', async () => {
    const { id, credentials, phone } = await registered();
    await patchSettings(server, { enabled: false });
    await patchUser(server, id, { exempt: true });
    try {
      await openAccount(new UserAgent(), credentials, phone);
    } finally {
      await patchSettings(server, { enabled: true });
    }
  });

  it("keeps twofold's own application out of the admin API", async () => {
    const created = await server.adminFetch('/admin/api/clients', {
      method: 'POST',
      body: JSON.stringify({ client_id: 'twofold-console', redirect_uris: ['https://x.example/cb'] }),
    });
    assert.equal(created.status, 400);
    const changed = await server.adminFetch('/admin/api/clients/twofold-account', {
      method: 'PATCH',
      body: JSON.stringify({ mfa_policy: 'off' }),
    });
    assert.equal(changed.status, 403);
  });
});
