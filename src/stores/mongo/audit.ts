import { Schema, type Connection } from 'mongoose';
import type { AuditEvent, AuditLog } from '../types.ts';
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
  },
  { collection: 'audit', versionKey: false, strict: 'throw' },
);
auditSchema.index({ userId: 1, at: -1 });
auditSchema.index({ at: -1 });

const fields = ['userId', 'clientId', 'ip', 'userAgent', 'actor', 'reason'] as const;

/** The audit log in MongoDB's `audit` collection: one insert per event. */
export async function createMongoAuditLog({ connection }: { connection: Connection }): Promise<AuditLog> {
  const Audit = connection.model<AuditDocument>('Audit', auditSchema);
  await guard(() => Audit.createIndexes());
  return {
    async record(event) {
      const doc: Record<string, unknown> = { at: event.at, type: event.type, outcome: event.outcome };
      for (const field of fields) if (event[field] !== undefined) doc[field] = event[field];
      await guard(() => Audit.collection.insertOne(doc as never));
    },
    async list({ userId, type, limit }) {
      const filter = { ...(userId === undefined ? {} : { userId }), ...(type === undefined ? {} : { type }) };
      const docs = await guard(() => Audit.find(filter).sort({ at: -1, _id: -1 }).limit(limit).lean<(AuditDocument & { _id: unknown })[]>().exec());
      return docs.map(({ _id, ...event }) => event);
    },
  };
}
