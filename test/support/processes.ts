import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function waitForPort(port: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
}

export interface Service {
  url: string;
  port: number;
  process: ChildProcess;
  /** Stops the server and removes its data. */
  stop(): Promise<void>;
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
}

function stopper(child: ChildProcess, dir: string): () => Promise<void> {
  return async () => {
    await stopProcess(child);
    rmSync(dir, { recursive: true, force: true });
  };
}

export const redisServerBin = process.env.TWOFOLD_REDIS_SERVER_BIN ?? '/usr/bin/redis-server';
export const chromiumBin = process.env.TWOFOLD_CHROMIUM_BIN ?? '/usr/bin/chromium';
/** The tests' MongoDB-wire server, built by scripts/build-mongo-server.sh. */
export const mongoServerDir = fileURLToPath(new URL('../mongo-server/', import.meta.url));
export const mongoServerJar = join(mongoServerDir, 'target/twofold-test-mongo-server-1.jar');

/** Starts a throw-away redis-server on a free loopback port (optionally a given one). */
export async function startRedis(port?: number): Promise<Service> {
  if (!existsSync(redisServerBin)) throw new Error(`redis-server not found at ${redisServerBin}`);
  const chosen = port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'twofold-redis-'));
  const child = spawn(redisServerBin, ['--port', String(chosen), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
    stdio: 'ignore',
  });
  await waitForPort(chosen);
  return { url: `redis://127.0.0.1:${chosen}`, port: chosen, process: child, stop: stopper(child, dir) };
}

/**
 * A local Redis Cluster of three masters (no replicas) on free loopback ports, joined by
 * redis-cli. Returns the seed nodes and a stop that ends all three.
 */
export async function startRedisCluster(): Promise<{ nodes: { host: string; port: number }[]; stop(): Promise<void> }> {
  const ports = [await freePort(), await freePort(), await freePort()];
  const dirs: string[] = [];
  const children = ports.map((port) => {
    const dir = mkdtempSync(join(tmpdir(), 'twofold-cluster-'));
    dirs.push(dir);
    return spawn(
      redisServerBin,
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--cluster-enabled',
        'yes',
        '--cluster-config-file',
        join(dir, 'nodes.conf'),
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
      ],
      { stdio: 'ignore' },
    );
  });
  // The nodes must not keep a test file's process alive; they end with it (below).
  for (const child of children) child.unref();
  const stop = async () => {
    // Waiting for their exit must hold the process open again.
    for (const child of children) child.ref();
    await Promise.all(children.map((child) => stopProcess(child)));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  };
  // Whoever started it may not stop it: the nodes end with this process in any case.
  process.once('exit', () => {
    for (const child of children) child.kill('SIGKILL');
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });
  try {
    for (const port of ports) await waitForPort(port);
    const create = spawnSync(
      'redis-cli',
      ['--cluster', 'create', ...ports.map((p) => `127.0.0.1:${p}`), '--cluster-replicas', '0', '--cluster-yes'],
      { encoding: 'utf8' },
    );
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stderr || create.stdout}`);
    for (let i = 0; i < 100; i++) {
      const info = spawnSync('redis-cli', ['-p', String(ports[0]), 'cluster', 'info'], { encoding: 'utf8' });
      if (/cluster_state:ok/.test(info.stdout)) return { nodes: ports.map((port) => ({ host: '127.0.0.1', port })), stop };
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error('the cluster did not become ready');
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * A Redis master, one replica and three sentinels watching them as `mymaster`, on free
 * loopback ports. `killMaster` ends the master at once, for a failover.
 */
export async function startRedisSentinel() {
  const [masterPort, replicaPort] = [await freePort(), await freePort()];
  const sentinelPorts = [await freePort(), await freePort(), await freePort()];
  const dir = mkdtempSync(join(tmpdir(), 'twofold-sentinel-'));
  const server = (port: number, extra: string[]) =>
    spawn(redisServerBin, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...extra], {
      stdio: 'ignore',
    });
  const master = server(masterPort, []);
  const replica = server(replicaPort, ['--replicaof', '127.0.0.1', String(masterPort)]);
  const sentinels = sentinelPorts.map((port, i) => {
    const file = join(dir, `sentinel-${i}.conf`);
    writeFileSync(
      file,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor mymaster 127.0.0.1 ${masterPort} 2`,
        'sentinel down-after-milliseconds mymaster 1000',
        'sentinel failover-timeout mymaster 5000',
      ].join('\n'),
    );
    return spawn(redisServerBin, [file, '--sentinel'], { stdio: 'ignore' });
  });
  const children = [master, replica, ...sentinels];
  for (const child of children) child.unref();
  process.once('exit', () => {
    for (const child of children) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });
  for (const port of [masterPort, replicaPort, ...sentinelPorts]) await waitForPort(port);
  return {
    sentinels: sentinelPorts.map((port) => ({ host: '127.0.0.1', port })),
    sentinelName: 'mymaster',
    killMaster: () => master.kill('SIGKILL'),
    async stop() {
      for (const child of children) child.ref();
      await Promise.all(children.map((child) => stopProcess(child)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Starts the MongoDB-wire test server (mongo-java-server's memory backend, which applies
 * each single-document update atomically as MongoDB does) on a free loopback port, or on
 * a given one. Its data lives in memory: a stopped server comes back empty.
 */
export async function startMongoServer(port?: number): Promise<Service> {
  if (!existsSync(mongoServerJar)) throw new Error(`${mongoServerJar} is not built (bash scripts/build-mongo-server.sh)`);
  const chosen = port ?? (await freePort());
  const classpath = [mongoServerJar, join(mongoServerDir, 'target/lib/*')].join(delimiter);
  const child = spawn('java', ['-XX:+UseSerialGC', '-cp', classpath, 'twofold.test.MongoServerLauncher', String(chosen)], {
    stdio: 'ignore',
  });
  await waitForPort(chosen, 30_000);
  return { url: `mongodb://127.0.0.1:${chosen}`, port: chosen, process: child, stop: () => stopProcess(child) };
}
