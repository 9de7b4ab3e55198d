import { readdirSync, readFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import type { Service } from '../test/support/processes.ts';

/**
 * What the node asks of its stores, counted from outside the node: each store is reached
 * through a loopback proxy here that counts the bytes each way (and, for MongoDB, reads
 * the command name of every OP_MSG the node sends); Redis counts its own commands
 * (INFO commandstats); the CPU of Redis and of the MongoDB test server is read from
 * /proc. The proxy costs this process's CPU, not the node's or the stores'.
 */
export interface StoreFigures {
  /** Operations by command name. Redis: its commands; MongoDB: the driver's commands. */
  operations: Map<string, number>;
  bytesWritten: number;
  bytesRead: number;
  cpuMs: number;
}

export interface StoreMeter {
  redisUrl: string;
  mongoUri: (database: string) => string;
  read(): Promise<{ redis: StoreFigures; mongo: StoreFigures }>;
  stop(): Promise<void>;
}

const TICK_MS = 10; // USER_HZ is 100 on Linux
/** The driver's periodic server monitoring, not work of any request. */
const MONITORING = new Set(['hello', 'ismaster', 'isMaster']);

/** A /proc stat line's name and its user + system CPU time, in milliseconds. */
function parseStat(stat: string): { name: string; cpuMs: number } {
  const end = stat.lastIndexOf(')');
  const fields = stat.slice(end + 2).split(' ');
  return { name: stat.slice(stat.indexOf('(') + 1, end), cpuMs: (Number(fields[11]) + Number(fields[12])) * TICK_MS };
}

/** CPU time of a process (all its threads), in milliseconds. */
export const processCpuMs = (pid: number): number => parseStat(readFileSync(`/proc/${pid}/stat`, 'utf8')).cpuMs;

/**
 * CPU time of a node process by kind of thread: the main thread (JavaScript), libuv's
 * pool (argon2 hashes run there, and nothing else a sign-in sends there is heavy), and
 * the rest (the garbage collector's and V8's helper threads).
 */
export function nodeThreadCpuMs(pid: number): { main: number; pool: number; other: number } {
  const out = { main: 0, pool: 0, other: 0 };
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended
    }
    const { name, cpuMs: ms } = parseStat(stat);
    if (Number(tid) === pid) out.main += ms;
    else if (name === 'libuv-worker') out.pool += ms;
    else out.other += ms;
  }
  return out;
}

interface Counted {
  written: number;
  read: number;
}

type Proxy = Server & { port: number; sockets: Set<Socket> };

function proxy(targetPort: number, counted: Counted, onClientData?: (socket: Socket) => (chunk: Buffer) => void): Promise<Proxy> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    sockets.add(client).add(upstream);
    const inspect = onClientData?.(client);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.on('data', (chunk) => {
      counted.written += chunk.length;
      inspect?.(chunk);
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      counted.read += chunk.length;
      client.write(chunk);
    });
    const close = () => (client.destroy(), upstream.destroy(), sockets.delete(client), sockets.delete(upstream));
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve(Object.assign(server, { port: (server.address() as { port: number }).port, sockets }))),
  );
}

/**
 * Reads the command name of each MongoDB OP_MSG (opcode 2013) on one connection: the
 * first key of the body section's document. Messages may span chunks.
 */
function mongoCommands(operations: Map<string, number>, onCommand?: (name: string, collection: string) => void) {
  return () => {
    let pending: Buffer = Buffer.alloc(0);
    return (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= 4) {
        const length = pending.readInt32LE(0);
        if (pending.length < length) break;
        const message = pending.subarray(0, length);
        pending = pending.subarray(length);
        let name = `opcode ${message.readInt32LE(12)}`;
        if (message.readInt32LE(12) === 2013 && message[20] === 0) {
          const end = message.indexOf(0, 26);
          name = message.toString('latin1', 26, end);
          // The command's value is its collection when it is a string (BSON type 2).
          const collection = message[25] === 2 ? message.toString('utf8', end + 5, end + 4 + message.readInt32LE(end + 1)) : '';
          if (!MONITORING.has(name)) onCommand?.(name, collection);
        }
        if (!MONITORING.has(name)) operations.set(name, (operations.get(name) ?? 0) + 1);
      }
    };
  };
}

async function redisCommands(redis: Redis): Promise<Map<string, number>> {
  const text = await redis.info('commandstats');
  const out = new Map<string, number>();
  for (const [, name, calls] of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (name === 'info' || name === 'config|resetstat' || name === 'config') continue;
    out.set(name!, Number(calls));
  }
  return out;
}

export async function meterStores(
  redis: Service,
  mongo: Service,
  onMongoCommand?: (name: string, collection: string) => void,
): Promise<StoreMeter> {
  const redisBytes: Counted = { written: 0, read: 0 };
  const mongoBytes: Counted = { written: 0, read: 0 };
  const mongoOps = new Map<string, number>();
  const redisProxy = await proxy(redis.port, redisBytes);
  const mongoProxy = await proxy(mongo.port, mongoBytes, mongoCommands(mongoOps, onMongoCommand));
  const inspector = new Redis(redis.url, { lazyConnect: false });
  return {
    redisUrl: `redis://127.0.0.1:${redisProxy.port}`,
    mongoUri: (database) => `mongodb://127.0.0.1:${mongoProxy.port}/${database}`,
    async read() {
      return {
        redis: {
          operations: await redisCommands(inspector),
          bytesWritten: redisBytes.written,
          bytesRead: redisBytes.read,
          cpuMs: processCpuMs(redis.process.pid!),
        },
        mongo: {
          operations: new Map(mongoOps),
          bytesWritten: mongoBytes.written,
          bytesRead: mongoBytes.read,
          cpuMs: processCpuMs(mongo.process.pid!),
        },
      };
    },
    async stop() {
      inspector.disconnect();
      await Promise.all(
        [redisProxy, mongoProxy].map(
          (server) =>
            new Promise((resolve) => {
              for (const socket of server.sockets) socket.destroy();
              server.close(resolve);
            }),
        ),
      );
    },
  };
}

/** The difference of two readings, per operation (`count` operations between them). */
export function perOperation(before: StoreFigures, after: StoreFigures, count: number) {
  const operations = new Map<string, number>();
  for (const [name, calls] of after.operations) {
    const delta = calls - (before.operations.get(name) ?? 0);
    if (delta > 0) operations.set(name, delta / count);
  }
  const total = [...operations.values()].reduce((sum, n) => sum + n, 0);
  return {
    operations,
    total,
    bytesWritten: (after.bytesWritten - before.bytesWritten) / count,
    bytesRead: (after.bytesRead - before.bytesRead) / count,
    cpuMs: (after.cpuMs - before.cpuMs) / count,
  };
}

/** "get 3, set 2.5, …", largest first. */
export function operationWords(operations: Map<string, number>): string {
  return [...operations]
    .sort((a, b) => b[1] - a[1])
    .map(([name, n]) => `${name} ${Number.isInteger(n) ? n : n.toFixed(1)}`)
    .join(', ');
}
