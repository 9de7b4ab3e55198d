import { Schema, type Connection } from 'mongoose';
import type { SettingsStore, StoredSettings } from '../../domain/ports.ts';
import { guard } from './connection.ts';

const GLOBAL = 'global';

interface SettingsDocument extends StoredSettings {
  _id: string;
}

const settingsSchema = new Schema<SettingsDocument>(
  { _id: { type: String, required: true } },
  { collection: 'settings', versionKey: false, strict: false },
);

function strip(doc: SettingsDocument | null): StoredSettings {
  if (!doc) return {};
  const { _id, ...settings } = doc;
  return settings;
}

/** One document holds every setting an administrator changed. */
export function createMongoSettingsStore({ connection }: { connection: Connection }): SettingsStore {
  const Settings = connection.model<SettingsDocument>('Settings', settingsSchema);
  return {
    async get() {
      return strip((await guard(() => Settings.collection.findOne({ _id: GLOBAL } as never))) as SettingsDocument | null);
    },
    async update(patch) {
      const doc = await guard(() =>
        Settings.collection.findOneAndUpdate({ _id: GLOBAL } as never, { $set: patch }, { upsert: true, returnDocument: 'after' }),
      );
      return strip(doc as unknown as SettingsDocument | null);
    },
  };
}
