import { Schema, type Connection } from 'mongoose';
import { AppError } from '../../domain/errors.ts';
import type { ClientRecord, ClientStore } from '../../domain/ports.ts';
import { guard, isDuplicateKey } from './connection.ts';

interface ClientDocument {
  _id: string;
  metadata: Record<string, unknown>;
  sealedSecret?: string;
  createdAt: Date;
}

const clientSchema = new Schema<ClientDocument>(
  {
    _id: { type: String, required: true },
    metadata: { type: Schema.Types.Mixed, required: true },
    sealedSecret: { type: String },
    createdAt: { type: Date, required: true },
  },
  { collection: 'clients', versionKey: false, minimize: false },
);

function toRecord(doc: ClientDocument): ClientRecord {
  return {
    clientId: doc._id,
    metadata: doc.metadata,
    ...(doc.sealedSecret ? { sealedSecret: doc.sealedSecret } : {}),
    createdAt: doc.createdAt,
  };
}

export async function createMongoClientStore({ connection }: { connection: Connection }): Promise<ClientStore> {
  const Clients = connection.model<ClientDocument>('Client', clientSchema);
  return {
    async create(client) {
      const doc: ClientDocument = {
        _id: client.clientId,
        metadata: client.metadata,
        ...(client.sealedSecret ? { sealedSecret: client.sealedSecret } : {}),
        createdAt: client.createdAt,
      };
      try {
        await guard(() => Clients.collection.insertOne(doc as never));
      } catch (err) {
        if (isDuplicateKey(err)) throw new AppError('conflict', 'client_id is taken');
        throw err;
      }
    },
    async find(clientId) {
      const doc = await guard(() => Clients.findById(clientId).lean<ClientDocument>().exec());
      return doc ? toRecord(doc) : null;
    },
    async updateMetadata(clientId, metadata) {
      const result = await guard(() => Clients.collection.updateOne({ _id: clientId } as never, { $set: { metadata } }));
      return result.matchedCount === 1;
    },
    async setSecret(clientId, sealedSecret) {
      const result = await guard(() => Clients.collection.updateOne({ _id: clientId } as never, { $set: { sealedSecret } }));
      return result.matchedCount === 1;
    },
    async importClient(client) {
      const doc = {
        metadata: client.metadata,
        createdAt: client.createdAt,
        ...(client.sealedSecret ? { sealedSecret: client.sealedSecret } : {}),
      };
      const result = await guard(() =>
        Clients.collection.updateOne(
          { _id: client.clientId } as never,
          client.sealedSecret ? { $set: doc } : { $set: doc, $unset: { sealedSecret: '' } },
          { upsert: true },
        ),
      );
      return result.upsertedCount === 1 ? 'created' : 'updated';
    },
    async resealSecret(clientId, old, sealed) {
      const result = await guard(() =>
        Clients.collection.updateOne({ _id: clientId, sealedSecret: old } as never, { $set: { sealedSecret: sealed } }),
      );
      return result.modifiedCount === 1;
    },
    async delete(clientId) {
      const result = await guard(() => Clients.collection.deleteOne({ _id: clientId } as never));
      return result.deletedCount === 1;
    },
    async list() {
      const docs = await guard(() => Clients.find().sort({ _id: 1 }).lean<ClientDocument[]>().exec());
      return docs.map(toRecord);
    },
  };
}
