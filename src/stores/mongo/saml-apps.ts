import { Schema, type Connection } from 'mongoose';
import { AppError } from '../../domain/errors.ts';
import type { SamlAppRecord, SamlAppStore } from '../../domain/ports.ts';
import { guard, isDuplicateKey } from './connection.ts';

type SamlAppDocument = Omit<SamlAppRecord, 'id'> & { _id: string };

const samlAppSchema = new Schema<SamlAppDocument>(
  {
    _id: { type: String, required: true },
    entityId: { type: String, required: true },
  },
  { collection: 'saml_apps', versionKey: false, minimize: false, strict: false },
);
// One application per entity id: a request's issuer names exactly one.
samlAppSchema.index({ entityId: 1 }, { unique: true });

function toRecord(doc: SamlAppDocument): SamlAppRecord {
  const { _id, ...rest } = doc;
  return { id: _id, ...rest };
}

function toDocument(app: SamlAppRecord): SamlAppDocument {
  const { id, ...rest } = app;
  // Optional fields left unset are not stored (undefined is not a BSON value).
  return { _id: id, ...(Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== undefined)) as Omit<SamlAppRecord, 'id'>) };
}

const conflict = (err: unknown) => {
  if (isDuplicateKey(err)) throw new AppError('conflict', 'id or entity_id is registered already');
  throw err;
};

export async function createMongoSamlAppStore({ connection }: { connection: Connection }): Promise<SamlAppStore> {
  const Apps = connection.model<SamlAppDocument>('SamlApp', samlAppSchema);
  await guard(() => Apps.createIndexes());
  return {
    async create(app) {
      await guard(() => Apps.collection.insertOne(toDocument(app) as never)).catch(conflict);
    },
    async find(id) {
      const doc = await guard(() => Apps.findById(id).lean<SamlAppDocument>().exec());
      return doc ? toRecord(doc) : null;
    },
    async findByEntityId(entityId) {
      const doc = await guard(() => Apps.findOne({ entityId }).lean<SamlAppDocument>().exec());
      return doc ? toRecord(doc) : null;
    },
    async replace(app) {
      const result = await guard(() => Apps.collection.replaceOne({ _id: app.id } as never, toDocument(app) as never)).catch(conflict);
      return result.matchedCount === 1;
    },
    async delete(id) {
      const result = await guard(() => Apps.collection.deleteOne({ _id: id } as never));
      return result.deletedCount === 1;
    },
    async list() {
      const docs = await guard(() => Apps.find().sort({ _id: 1 }).lean<SamlAppDocument[]>().exec());
      return docs.map(toRecord);
    },
  };
}
