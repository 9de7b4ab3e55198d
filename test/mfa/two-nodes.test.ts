import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { packageRoot } from '../../src/config/load.ts';
import { systemClock } from '../../src/domain/clock.ts';
import { realStoresSkip } from '../support/env.ts';
import { Phone, wrongCode } from '../support/mfa.ts';
import { freePort } from '../support/processes.ts';
import {
  follow,
  formAction,
  relyingParty,
  signIn,
  SignInRefused,
  startAuthorization,
  UserAgent,
  type RelyingParty,
} from '../support/relying-party.ts';
import { ADMIN_TOKEN, newRealStores } from '../support/server.ts';

interface Node {
  url: string;
  child: ChildProcess;
}

async function startNode(env: NodeJS.ProcessEnv, port: number): Promise<Node> {
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', 'src/main.ts'], {
    cwd: packageRoot,
    env: { PATH: process.env.PATH, ...env, PORT: String(port) },
    stdio: 'ignore',
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    const ready = await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return { url, child };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`node on ${port} did not get ready`);
}

describe('two twofold processes sharing Redis and MongoDB', { skip: realStoresSkip }, () => {
  let a: Node;
  let b: Node;
  let rp: RelyingParty;
  const credentials = { username: 'nadia', password: 'nadia passphrase' };
  const admin = (node: Node, path: string, init: RequestInit = {}) =>
    fetch(`${node.url}${path}`, { ...init, headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' } });

  before(async () => {
    const stores = newRealStores();
    const dir = mkdtempSync(join(tmpdir(), 'twofold-nodes-'));
    const configFile = join(dir, 'twofold.yaml');
    writeFileSync(configFile, `redis:\n  keyPrefix: "${stores.keyPrefix}"\nlogLevel: warn\n`);
    const [portA, portB] = [await freePort(), await freePort()];
    // Both nodes are one issuer, as behind a load balancer.
    const env = {
      ISSUER: `http://localhost:${portA}`,
      MONGODB_URI: stores.mongoUri,
      REDIS_URL: stores.redisUrl,
      ADMIN_TOKEN,
      DATA_KEY: stores.dataKey,
      COOKIE_KEYS: stores.cookieKeys,
      CONFIG_FILE: configFile,
    };
    a = await startNode(env, portA);
    b = await startNode(env, portB);
    assert.equal((await admin(a, '/admin/api/users', { method: 'POST', body: JSON.stringify(credentials) })).status, 201);
    const client = await admin(a, '/admin/api/clients', {
      method: 'POST',
      body: JSON.stringify({ client_id: 'shared', redirect_uris: ['http://127.0.0.1:9/cb'], first_party: true, mfa_policy: 'required' }),
    });
    rp = await relyingParty(
      env.ISSUER,
      'shared',
      ((await client.json()) as { client_secret: string }).client_secret,
      'http://127.0.0.1:9/cb',
    );
  });
  after(() => {
    a?.child.kill('SIGTERM');
    b?.child.kill('SIGTERM');
  });

  const onNode = (node: Node) =>
    new UserAgent((url) => {
      const routed = new URL(url);
      if (routed.hostname === 'localhost') routed.host = new URL(node.url).host;
      return routed;
    });

  it('shares the lock and the wrong-code count, and a reset on A ends an open code page on B', async () => {
    const owner = { username: 'omar', password: 'omar passphrase' };
    const created = (await (await admin(a, '/admin/api/users', { method: 'POST', body: JSON.stringify(owner) })).json()) as { id: string };
    const phone = new Phone(systemClock);
    await signIn(onNode(a), rp, owner, {}, phone.app);

    // Wrong codes alternate between the nodes; the fifth, on either, locks on both.
    const pages = await Promise.all(
      [a, b, a, b, a].map(async (node) => {
        const agent = onNode(node);
        const login = await follow(agent, (await startAuthorization(rp)).url, rp.redirectUri);
        const posted = await agent.postForm(formAction(login, '/login'), owner);
        return { agent, page: await follow(agent, new URL(posted.headers.get('location')!, login.url), rp.redirectUri) };
      }),
    );
    const statuses: number[] = [];
    for (const { agent, page } of pages)
      statuses.push((await agent.postForm(formAction(page, '/code'), { code: wrongCode(await phone.code()) })).status);
    assert.deepEqual(statuses, [401, 401, 401, 401, 403]);
    const onB = await pages[1]!.agent.postForm(formAction(pages[1]!.page, '/code'), { code: await phone.code(1) });
    assert.equal(onB.status, 403, 'B refuses the right code while A locked the user');
    const viewOnB = (await (await admin(b, `/admin/api/users/${created.id}`)).json()) as { mfa: { locked: boolean } };
    assert.equal(viewOnB.mfa.locked, true);

    assert.equal((await admin(b, `/admin/api/users/${created.id}/unlock`, { method: 'POST', body: '{}' })).status, 200);
    const open = pages[1]!;
    assert.equal((await admin(a, `/admin/api/users/${created.id}/mfa/reset`, { method: 'POST', body: '{}' })).status, 200);
    const afterReset = await open.agent.postForm(formAction(open.page, '/code'), { code: await phone.code(1) });
    assert.equal(afterReset.status, 400, 'the code page open on B before the reset on A signs nobody in');
    const again = await signIn(onNode(b), rp, owner, {}, new Phone(systemClock).app);
    assert.deepEqual(again.seen, ['login', 'register', 'backup-codes'], 'the next sign-in, on B, registers anew');
  });

  it("registers on A, signs in on B, refuses the replay on B, and B sees A's settings change within 5 s", async () => {
    const phone = new Phone(systemClock);
    const registration = await signIn(onNode(a), rp, credentials, {}, phone.app);
    assert.deepEqual(registration.seen, ['login', 'register', 'backup-codes']);

    const code = await phone.code(1);
    const onB = await signIn(onNode(b), rp, credentials, {}, { code: () => code });
    assert.deepEqual(onB.seen, ['login', 'code']);
    assert.deepEqual(onB.claims.amr, ['pwd', 'otp', 'mfa']);

    await assert.rejects(
      signIn(onNode(b), rp, credentials, {}, { code: () => code }),
      (err) => err instanceof SignInRefused && err.page.status === 401,
      'the same code again, on the node that accepted it',
    );
    await assert.rejects(
      signIn(onNode(a), rp, credentials, {}, { code: () => code }),
      (err) => err instanceof SignInRefused && err.page.status === 401,
      'and on the other node',
    );

    await admin(b, '/admin/api/settings'); // B holds a copy of the settings now.
    const changed = Date.now();
    assert.equal((await admin(a, '/admin/api/settings', { method: 'PATCH', body: JSON.stringify({ enabled: false }) })).status, 200);
    let seenOnB = false;
    while (Date.now() - changed < 5_000) {
      const settings = (await (await admin(b, '/admin/api/settings')).json()) as { enabled: boolean };
      if (!settings.enabled) {
        seenOnB = true;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.ok(seenOnB, 'B applies the change within 5 seconds');
    const switchedOff = await signIn(onNode(b), rp, credentials);
    assert.deepEqual(switchedOff.seen, ['login'], 'B asks no second factor with the switch off');
  });

  it("refuses an application's old secret on B as soon as A rotates it, and a deleted application", async () => {
    const created = await admin(a, '/admin/api/clients', {
      method: 'POST',
      body: JSON.stringify({ client_id: 'rotating', redirect_uris: ['http://127.0.0.1:9/cb'] }),
    });
    const { client_secret: first } = (await created.json()) as { client_secret: string };
    // The token endpoint authenticates the application before it looks at the grant: a
    // right secret gets invalid_grant for a made-up code, a wrong one invalid_client.
    const authenticates = async (node: Node, secret: string) => {
      const response = await fetch(`${node.url}/token`, {
        method: 'POST',
        headers: {
          authorization: `Basic ${Buffer.from(`rotating:${secret}`).toString('base64')}`,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ grant_type: 'authorization_code', code: 'made-up', redirect_uri: 'http://127.0.0.1:9/cb' }),
      });
      const { error } = (await response.json()) as { error: string };
      assert.ok(['invalid_grant', 'invalid_client'].includes(error), error);
      return error === 'invalid_grant';
    };
    // Each node looks the application up several times, so each keeps a copy of it.
    for (let i = 0; i < 3; i++) assert.ok(await authenticates(b, first), 'B accepts the first secret');
    const rotated = await admin(a, '/admin/api/clients/rotating/secret', { method: 'POST', body: '{}' });
    const { client_secret: second } = (await rotated.json()) as { client_secret: string };
    assert.equal(await authenticates(b, first), false, 'B refuses the old secret right after the rotation on A');
    assert.ok(await authenticates(b, second), 'B accepts the new one');
    assert.ok(await authenticates(a, second));

    assert.equal((await admin(a, '/admin/api/clients/rotating', { method: 'DELETE' })).status, 204);
    assert.equal(await authenticates(b, second), false, 'B refuses a deleted application right after');
  });
});
