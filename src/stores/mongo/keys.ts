import { Schema, type Connection } from 'mongoose';
import type { KeyStore } from '../../domain/ports.ts';
import { guard, isDuplicateKey } from './connection.ts';

interface KeyDocument {
  _id: string;
  value: string;
  createdAt: Date;
}

const keySchema = new Schema<KeyDocument>(
  {
    _id: { type: String, required: true },
    value: { type: String, required: true },
    createdAt: { type: Date, required: true },
  },
  { collection: 'keys', versionKey: false },
);

export function createMongoKeyStore({ connection }: { connection: Connection }): KeyStore {
  const Keys = connection.model<KeyDocument>('Key', keySchema);
  const read = async (id: string) => (await guard(() => Keys.findById(id).lean<KeyDocument>().exec()))?.value;
  return {
    async list() {
      const docs = await guard(() => Keys.find().sort({ _id: 1 }).lean<KeyDocument[]>().exec());
      return docs.map((doc) => ({ id: doc._id, value: doc.value }));
    },
    async replace(id, old, value) {
      const result = await guard(() => Keys.collection.updateOne({ _id: id, value: old } as never, { $set: { value } }));
      return result.modifiedCount === 1;
    },
    async getOrCreate(id, create) {
      const existing = await read(id);
      if (existing !== undefined) return existing;
      const value = create();
      try {
        await guard(() => Keys.collection.insertOne({ _id: id, value, createdAt: new Date() } as never));
        return value;
      } catch (err) {
        // Another node stored its value first: use that one, so every node signs alike.
        if (!isDuplicateKey(err)) throw err;
        const winner = await read(id);
        if (winner === undefined) throw err;
        return winner;
      }
    },
  };
}
