import mongoose, { type Connection } from 'mongoose';
import { AppError, storeUnavailable } from '../../domain/errors.ts';

export interface MongoOptions {
  uri: string;
  serverSelectionTimeoutMs: number;
  /** How long one operation may wait for MongoDB's answer (a server that hangs): then 503. */
  operationTimeoutMs?: number;
}

/**
 * Opens a connection and retries until MongoDB answers: a node cannot serve without its
 * signing keys, and it comes up by itself once the database is there.
 */
export async function connectMongo(
  options: MongoOptions,
  onRetry: (attempt: number, reason: string) => void = () => {},
): Promise<Connection> {
  for (let attempt = 1; ; attempt++) {
    const connection = mongoose.createConnection(options.uri, {
      // Fail fast instead of queueing while disconnected: a request gets 503, not a hang.
      bufferCommands: false,
      autoIndex: false,
      autoCreate: false,
      serverSelectionTimeoutMS: options.serverSelectionTimeoutMs,
      ...(options.operationTimeoutMs ? { socketTimeoutMS: options.operationTimeoutMs, connectTimeoutMS: options.operationTimeoutMs } : {}),
    });
    try {
      await connection.asPromise();
      return connection;
    } catch (err) {
      await connection.close().catch(() => {});
      onRetry(attempt, (err as Error).message);
      await new Promise((resolve) => setTimeout(resolve, Math.min(500 * attempt, 5000)));
    }
  }
}

const unavailableErrors = new Set([
  'MongoServerSelectionError',
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoNotConnectedError',
  'MongoTopologyClosedError',
  'MongoPoolClearedError',
]);

/** Runs a store operation; an unreachable server becomes AppError `store_unavailable`. */
export async function guard<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (err) {
    if (err instanceof AppError) throw err;
    const name = (err as Error)?.name ?? '';
    if (unavailableErrors.has(name) || /before initial connection|connection .* closed/i.test((err as Error)?.message ?? '')) {
      throw storeUnavailable('mongodb', err);
    }
    throw err;
  }
}

export function isDuplicateKey(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 11000;
}

export async function pingMongo(connection: Connection): Promise<boolean> {
  try {
    await connection.db!.admin().ping();
    return true;
  } catch {
    return false;
  }
}
