import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
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
  const child = spawn(
    redisServerBin,
    ['--port', String(chosen), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: 'ignore' },
  );
  await waitForPort(chosen);
  return { url: `redis://127.0.0.1:${chosen}`, port: chosen, process: child, stop: stopper(child, dir) };
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
