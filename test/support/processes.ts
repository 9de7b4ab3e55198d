import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

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
  /** Stops the server and keeps its data, to start it again on the same port. */
  pause?(): Promise<void>;
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
export const ferretdbBin =
  process.env.TWOFOLD_FERRETDB_BIN ?? join(process.env.TWOFOLD_CACHE ?? join(homedir(), '.cache/twofold'), 'bin/ferretdb');
export const chromiumBin = process.env.TWOFOLD_CHROMIUM_BIN ?? '/usr/bin/chromium';

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

/** Starts FerretDB over SQLite in a temporary folder on a free loopback port. */
export async function startFerretDb(reuse?: { port: number; dir: string }): Promise<Service & { dir: string }> {
  if (!existsSync(ferretdbBin)) throw new Error(`ferretdb not found at ${ferretdbBin} (bash scripts/build-ferretdb.sh)`);
  const port = reuse?.port ?? (await freePort());
  const dir = reuse?.dir ?? mkdtempSync(join(tmpdir(), 'twofold-ferretdb-'));
  const child = spawn(
    ferretdbBin,
    [
      '--handler=sqlite',
      `--sqlite-url=file:${dir}/`,
      `--state-dir=${dir}`,
      `--listen-addr=127.0.0.1:${port}`,
      '--debug-addr=-',
      '--telemetry=disable',
      '--log-level=error',
    ],
    { stdio: 'ignore' },
  );
  await waitForPort(port);
  const stop = stopper(child, dir);
  return {
    url: `mongodb://127.0.0.1:${port}`,
    port,
    dir,
    process: child,
    // Stopped for an outage, it keeps its data folder, so it can come back with its data.
    stop: () => stop(),
    pause: () => stopProcess(child),
  } as Service & { dir: string };
}
