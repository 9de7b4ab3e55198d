import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { packageRoot } from '../src/config/load.ts';
import { freePort } from '../test/support/processes.ts';
import { ADMIN_TOKEN, type RealStores } from '../test/support/server.ts';

export interface ServerProcess {
  issuer: string;
  adminFetch(path: string, init?: RequestInit): Promise<Response>;
  /** The node's own figures from /metrics: CPU seconds, resident and heap bytes. */
  usage(): Promise<{ cpuSeconds: number; rssBytes: number; heapUsedBytes: number }>;
  /** The node's own request-time histogram for one route: cumulative counts by upper bound (seconds). */
  requestTimes(method: string, route: string): Promise<Map<number, number>>;
  /** Store calls so far, by store, and how many of them took longer than `seconds` (a bucket bound). */
  slowStoreCalls(seconds: number): Promise<Map<string, { calls: number; slow: number }>>;
  /** The node's process id (its threads' CPU is read from /proc). */
  pid: number;
  /** Bytes the node has written to its log (standard output) so far. */
  logBytes(): number;
  /**
   * Runs `work` with the node's main thread profiled (bench/profile-probe.ts) when
   * BENCH_CPU_PROF names a directory: the profile is written there as <label>.cpuprofile.
   */
  profiled<T>(label: string, work: () => Promise<T>): Promise<T>;
  /** Memory after a full garbage collection in the node (bench/memory-probe.ts). */
  memoryAfterGc(): Promise<NodeJS.MemoryUsage>;
  stop(): Promise<void>;
}

/**
 * twofold as it runs in production: `src/main.ts` in a process of its own, so the
 * benchmark's client (in this process) does not share its event loop and the node's CPU
 * and memory can be read apart from the client's. The rate limits are raised: every
 * simulated person comes from 127.0.0.1.
 */
export async function startServerProcess(real: RealStores | undefined): Promise<ServerProcess> {
  const port = await freePort();
  const issuer = `http://localhost:${port}`;
  const configFile = join(mkdtempSync(join(tmpdir(), 'twofold-bench-')), 'config.yaml');
  writeFileSync(
    configFile,
    'rateLimits:\n  perAccount: { limit: 100000, windowSeconds: 60 }\n  perIp: { limit: 1000000, windowSeconds: 60 }\n',
  );
  // BENCH_CPU_PROF=dir: the node writes a CPU profile of each measured phase there.
  const profileDir = process.env.BENCH_CPU_PROF;
  const profile = profileDir ? ['--import', './bench/profile-probe.ts'] : [];
  const memoryFile = join(dirname(configFile), 'memory.json');
  const probe = ['--expose-gc', '--import', './bench/memory-probe.ts'];
  const child = spawn(process.execPath, [...profile, ...probe, '--disable-warning=ExperimentalWarning', 'src/main.ts'], {
    cwd: packageRoot,
    env: {
      PATH: process.env.PATH,
      // glibc's allocator settings (MALLOC_ARENA_MAX, MALLOC_MMAP_THRESHOLD_), when given.
      ...Object.fromEntries(Object.entries(process.env).filter(([name]) => name.startsWith('MALLOC_'))),
      PORT: String(port),
      ISSUER: issuer,
      ADMIN_TOKEN,
      // As in production: one line per request. BENCH_LOG_LEVEL=warn measures without them.
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
      CONFIG_FILE: configFile,
      BENCH_MEMORY_FILE: memoryFile,
      ...(profileDir ? { BENCH_CPU_PROF: profileDir } : {}),
      ...(real ? { MONGODB_URI: real.mongoUri, REDIS_URL: real.redisUrl, DATA_KEY: real.dataKey, COOKIE_KEYS: real.cookieKeys } : {}),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let logBytes = 0;
  child.stdout!.on('data', (chunk: Buffer) => (logBytes += chunk.length));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let i = 0; ; i++) {
    const ready = await fetch(`${issuer}/readyz`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) break;
    if (i > 300 || child.exitCode !== null) throw new Error('twofold did not start');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  const gauge = (text: string, name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return {
    issuer,
    pid: child.pid!,
    logBytes: () => logBytes,
    adminFetch: (path, init = {}) =>
      fetch(`${issuer}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', ...init.headers },
      }),
    async usage() {
      const text = await (await fetch(`${issuer}/metrics`)).text();
      return {
        cpuSeconds: gauge(text, 'process_cpu_seconds_total'),
        rssBytes: gauge(text, 'process_resident_memory_bytes'),
        heapUsedBytes: gauge(text, 'nodejs_heap_size_used_bytes'),
      };
    },
    async requestTimes(method, route) {
      const text = await (await fetch(`${issuer}/metrics`)).text();
      const counts = new Map<number, number>();
      const pattern = /^twofold_http_request_duration_seconds_bucket\{(.*)\} (\S+)$/gm;
      for (const [, labels, count] of text.matchAll(pattern)) {
        if (!labels!.includes(`method="${method}"`) || !labels!.includes(`route="${route}"`)) continue;
        const le = /le="([^"]+)"/.exec(labels!)![1]!;
        const bound = le === '+Inf' ? Infinity : Number(le);
        counts.set(bound, (counts.get(bound) ?? 0) + Number(count));
      }
      return counts;
    },
    async slowStoreCalls(seconds) {
      const text = await (await fetch(`${issuer}/metrics`)).text();
      const byStore = new Map<string, { calls: number; slow: number }>();
      for (const [, labels, count] of text.matchAll(/^twofold_store_operation_duration_seconds_bucket\{(.*)\} (\S+)$/gm)) {
        const store = /store="([^"]+)"/.exec(labels!)![1]!.replace(/^oidc_.*/, 'redis (engine)');
        const entry = byStore.get(store) ?? { calls: 0, slow: 0 };
        if (labels!.includes('le="+Inf"')) entry.calls += Number(count);
        if (labels!.includes(`le="${seconds}"`)) entry.slow -= Number(count);
        byStore.set(store, entry);
      }
      for (const entry of byStore.values()) entry.slow += entry.calls;
      return byStore;
    },
    async profiled(label, work) {
      if (!profileDir) return work();
      const file = label.replace(/[^a-z0-9]+/gi, '-').toLowerCase();
      writeFileSync(join(profileDir, 'label'), file);
      child.kill('SIGWINCH');
      await new Promise((resolve) => setTimeout(resolve, 200));
      try {
        return await work();
      } finally {
        const done = join(profileDir, `${file}.done`);
        rmSync(done, { force: true });
        child.kill('SIGWINCH');
        for (let i = 0; i < 200 && !existsSync(done); i++) await new Promise((resolve) => setTimeout(resolve, 50));
        rmSync(done, { force: true });
      }
    },
    async memoryAfterGc() {
      rmSync(memoryFile, { force: true });
      child.kill('SIGUSR2');
      for (let i = 0; i < 200 && !existsSync(memoryFile); i++) await new Promise((resolve) => setTimeout(resolve, 50));
      await new Promise((resolve) => setTimeout(resolve, 50));
      return JSON.parse(readFileSync(memoryFile, 'utf8')) as NodeJS.MemoryUsage;
    },
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
