import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { describe, it } from 'node:test';
import { packageRoot } from '../../src/config/load.ts';
import { unsupportedNode } from '../../src/node-version.ts';
import { freePort } from '../support/processes.ts';
import { follow, formAction, secretOnPage, UserAgent } from '../support/relying-party.ts';
import { authenticatorCode, decodeBase32 } from '../support/rfc6238.ts';
import { ADMIN_TOKEN, startTestServer } from '../support/server.ts';

function run(env: NodeJS.ProcessEnv): {
  child: ChildProcess;
  output: () => { stdout: string; stderr: string };
  exit: Promise<number | null>;
} {
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', 'src/main.ts'], {
    cwd: packageRoot,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => ({ stdout, stderr }), exit };
}

async function waitUntil(check: () => Promise<boolean>, what: string) {
  for (let i = 0; i < 300; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting until ${what}`);
}

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

describe('the twofold process', () => {
  it('stops at start-up with one line naming a bad value, and exit code 2', async () => {
    const { exit, output } = run({ PORT: 'abc' });
    assert.equal(await exit, 2);
    assert.equal(output().stderr.trim(), 'twofold: invalid configuration: PORT="abc": an integer from 1 to 65535');
  });

  it('refuses production mode without its secrets, naming each', async () => {
    const { exit, output } = run({ MONGODB_URI: 'mongodb://127.0.0.1:1/x', REDIS_URL: 'redis://127.0.0.1:1' });
    assert.equal(await exit, 2);
    assert.match(output().stderr.trim(), /^twofold: .*missing: ADMIN_TOKEN, DATA_KEY, COOKIE_KEYS$/);
  });

  it('on SIGTERM closes and exits 0', async () => {
    const port = await freePort();
    const server = run({ PORT: String(port), ADMIN_TOKEN, LOG_LEVEL: 'info' });
    try {
      await waitUntil(() => accepts(port), 'twofold listens');
      // The banner follows the listen; the pipe may deliver it a moment after the port accepts.
      await waitUntil(async () => /Admin API:/.test(server.output().stdout), 'the banner is printed');
      assert.match(server.output().stdout, /nothing is persisted/, 'the embedded mode warns');
      assert.match(server.output().stdout, /Demo user: +demo/);
      server.child.kill('SIGTERM');
      assert.equal(await server.exit, 0);
      assert.match(server.output().stdout, /"msg":"stopped"/);
    } finally {
      server.child.kill('SIGKILL');
    }
  });
});

describe('the embedded demo for a newcomer', () => {
  it('prints the console, the account page and both demo accounts, and the printed administrator signs in to the console', async () => {
    const port = await freePort();
    const server = run({ PORT: String(port), LOG_LEVEL: 'warn' });
    try {
      await waitUntil(async () => /Admin token:/.test(server.output().stdout), 'the banner is printed');
      const banner = server.output().stdout;
      const issuer = `http://localhost:${port}`;
      assert.match(banner, new RegExp(`Console: +${issuer}/admin/`));
      assert.match(banner, new RegExp(`Your account: +${issuer}/account/`));
      assert.match(banner, /Demo user: +demo \/ \S{8,}/);
      assert.match(banner, new RegExp(`Admin API: +${issuer}/admin/api +\\(documentation: ${issuer}/admin/api/docs\\)`));
      assert.match(banner, /CLI: +ADMIN_TOKEN=\S+ npx twofold users list/);
      const [, username, password] = /Demo administrator: +(\S+) \/ (\S+)/.exec(banner)!;

      // The console with the printed administrator: password, a new authenticator app, backup codes, in.
      const agent = new UserAgent();
      let page = await follow(agent, `${issuer}/admin/`, 'never:');
      const seen: string[] = [];
      while (!page.url.pathname.startsWith('/admin/users')) {
        assert.equal(page.status, 200, `${page.url.pathname}: ${page.html.slice(0, 300)}`);
        let posted: Response;
        if (page.html.includes('name="password"')) {
          seen.push('login');
          posted = await agent.postForm(formAction(page, '/login'), { username: username!, password: password! });
        } else if (secretOnPage(page.html)) {
          seen.push('register');
          const code = await authenticatorCode(decodeBase32(secretOnPage(page.html)!.replaceAll(' ', '')), Date.now() / 1000);
          posted = await agent.postForm(formAction(page, '/code'), { code });
        } else if (page.html.includes('data-testid="continue"')) {
          seen.push('backup-codes');
          posted = await agent.postForm(formAction(page, '/continue'), {});
        } else {
          throw new Error(`unexpected page ${page.url.pathname}: ${page.html.slice(0, 300)}`);
        }
        page = await follow(agent, new URL(posted.headers.get('location')!, page.url), 'never:');
      }
      assert.deepEqual(seen, ['login', 'register', 'backup-codes']);
      assert.match(page.html, new RegExp(`Sign out ${username}`));
      assert.match(page.html, /data-testid="user-row"/);
    } finally {
      server.child.kill('SIGKILL');
    }
  });
});

describe('the address it listens on', () => {
  it('listens only on the address HOST names', async () => {
    const port = await freePort();
    // Two loopback addresses (Linux answers all of 127.0.0.0/8): it must take the one named alone.
    const server = run({ PORT: String(port), HOST: '127.0.0.2', ADMIN_TOKEN, LOG_LEVEL: 'warn' });
    const reaches = (host: string) =>
      new Promise<boolean>((resolve) => {
        const socket = connect(port, host);
        socket.once('connect', () => (socket.destroy(), resolve(true)));
        socket.once('error', () => resolve(false));
      });
    try {
      await waitUntil(() => reaches('127.0.0.2'), 'twofold listens on 127.0.0.2');
      assert.equal(await reaches('127.0.0.1'), false, 'not on 127.0.0.1');
    } finally {
      server.child.kill('SIGKILL');
    }
  });
});

describe('graceful shutdown', () => {
  it('stops accepting, finishes the request in flight, then resolves', async () => {
    const server = await startTestServer();
    const port = Number(new URL(server.issuer).port);
    const inFlight = new Promise<void>((resolve) => server.server.once('request', () => resolve()));
    const body = JSON.stringify({ username: 'late-arrival', password: 'a long passphrase' });
    let finish!: () => void;
    const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/admin/api/users',
          headers: {
            authorization: `Bearer ${ADMIN_TOKEN}`,
            'content-type': 'application/json',
            'content-length': Buffer.byteLength(body),
          },
        },
        (res) => {
          let text = '';
          res.on('data', (chunk) => (text += chunk));
          res.on('end', () => resolve({ status: res.statusCode!, body: text }));
        },
      );
      req.on('error', reject);
      req.write(body.slice(0, 10));
      finish = () => req.end(body.slice(10));
    });
    await inFlight;
    let closed = false;
    const closing = server.close().then(() => (closed = true));
    await waitUntil(async () => !(await accepts(port)), 'new connections are refused');
    assert.equal(closed, false, 'close waits for the request in flight');
    finish();
    const answered = await response;
    assert.equal(answered.status, 201, answered.body);
    assert.equal(JSON.parse(answered.body).username, 'late-arrival');
    await closing;
  });
});

describe('the Node.js it runs on', () => {
  it('names the Node.js it needs, for versions before it', () => {
    assert.match(
      unsupportedNode('20.20.2')!,
      /^twofold needs Node\.js 22 or later, and this is Node\.js 20\.20\.2\. Start it with `npm start`/,
    );
    assert.ok(unsupportedNode('18.0.0'));
    assert.equal(unsupportedNode('22.0.0'), undefined);
    assert.equal(unsupportedNode('24.1.0'), undefined);
    assert.equal(unsupportedNode(process.versions.node), undefined, 'the tests run on a supported one');
  });

  it('exits at once with that line, and no crash, when the built server is started on an older Node', async () => {
    // The machines' own Node (older than the project's) runs the build, as `node dist/main.js` would.
    const older = ['/usr/bin/node', '/usr/local/bin/node'].find(
      (path) => existsSync(path) && Number(execFileSync(path, ['-p', 'process.versions.node.split(".")[0]']).toString()) < 22,
    );
    if (!older) {
      assert.equal(Number(process.versions.node.split('.')[0]) >= 22, true, 'no older Node here: only the check above applies');
      return;
    }
    execFileSync(process.execPath, ['scripts/build-if-needed.ts'], { cwd: packageRoot, stdio: 'ignore' });
    const result = spawnSync(older, ['dist/main.js'], {
      cwd: packageRoot,
      env: { PATH: process.env.PATH },
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(result.signal, null, 'no crash');
    assert.equal(result.status, 1);
    assert.equal(result.stdout, '');
    assert.match(
      result.stderr,
      /^twofold needs Node\.js 22 or later, and this is Node\.js \d+\.\d+\.\d+\. Start it with `npm start`, which runs it on the Node\.js 22 that `npm install` brings, or install Node\.js 22\.\n$/,
    );
  });
});
