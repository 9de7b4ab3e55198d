import { Schema, Types, type Connection } from 'mongoose';
import { AppError } from '../../domain/errors.ts';
import type { AuditEvent, AuditLog } from '../../domain/ports.ts';
import { guard } from './connection.ts';

type AuditDocument = AuditEvent;

const auditSchema = new Schema<AuditDocument>(
  {
    at: { type: Date, required: true },
    type: { type: String, required: true },
    outcome: { type: String, required: true },
    userId: String,
    clientId: String,
    ip: String,
    userAgent: String,
    actor: String,
    reason: String,
    changed: [String],
    changes: [{ _id: false, field: String, from: String, to: String }],
    factor: String,
    targetClientId: String,
    protocol: String,
  },
  { collection: 'audit', versionKey: false, strict: 'throw' },
);
auditSchema.index({ userId: 1, _id: -1 });
auditSchema.index({ clientId: 1, _id: -1 });
auditSchema.index({ targetClientId: 1, _id: -1 });

const fields = [
  'userId',
  'clientId',
  'ip',
  'userAgent',
  'actor',
  'reason',
  'changed',
  'changes',
  'factor',
  'targetClientId',
  'protocol',
] as const;

/**
 * The audit log in MongoDB's `audit` collection: one insert per call, newest first by
 * `_id` (the cursor), and a TTL index on `at` that drops events past the retention.
 */
export async function createMongoAuditLog({
  connection,
  retentionDays,
}: {
  connection: Connection;
  retentionDays: number;
}): Promise<AuditLog> {
  const Audit = connection.model<AuditDocument>('Audit', auditSchema);
  await guard(() => Audit.createIndexes());
  const expireAfterSeconds = retentionDays * 86_400;
  await guard(async () => {
    try {
      await Audit.collection.createIndex({ at: 1 }, { expireAfterSeconds, name: 'at_retention' });
    } catch {
      // The retention changed since the index was made: change the index in place.
      await connection.db!.command({ collMod: 'audit', index: { name: 'at_retention', expireAfterSeconds } });
    }
  });
  return {
    retentionDays,
    async record(...events) {
      const docs = events.map((event) => {
        const doc: Record<string, unknown> = { at: event.at, type: event.type, outcome: event.outcome };
        for (const field of fields) if (event[field] !== undefined) doc[field] = event[field];
        return doc;
      });
      if (docs.length === 1) await guard(() => Audit.collection.insertOne(docs[0] as never));
      else if (docs.length > 1) await guard(() => Audit.collection.insertMany(docs as never[]));
    },
    async list({ userId, userIds, clientId, type, since, until, cursor, limit }) {
      if (cursor !== undefined && !Types.ObjectId.isValid(cursor))
        throw new AppError('invalid_request', 'cursor: not a cursor of this list');
      const at = { ...(since === undefined ? {} : { $gte: since }), ...(until === undefined ? {} : { $lt: until }) };
      const users = userIds === undefined ? undefined : userId === undefined ? [...userIds] : userIds.filter((id) => id === userId);
      const filter = {
        ...(users !== undefined ? { userId: { $in: users } } : userId === undefined ? {} : { userId }),
        ...(clientId === undefined ? {} : { $or: [{ clientId }, { targetClientId: clientId }] }),
        ...(type === undefined ? {} : { type }),
        ...(Object.keys(at).length ? { at } : {}),
        ...(cursor === undefined ? {} : { _id: { $lt: new Types.ObjectId(cursor) } }),
      };
      const docs = await guard(() =>
        Audit.find(filter)
          .sort({ _id: -1 })
          .limit(limit + 1)
          .lean<(AuditDocument & { _id: Types.ObjectId })[]>()
          .exec(),
      );
      const page = docs.slice(0, limit);
      return {
        events: page.map(({ _id, ...event }) => event),
        ...(docs.length > limit ? { next: page.at(-1)!._id.toHexString() } : {}),
      };
    },
  };
}
