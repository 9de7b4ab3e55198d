import { Schema, type Connection } from 'mongoose';
import type { SettingsStore, StoredLogo, StoredSettings } from '../../domain/ports.ts';
import { guard } from './connection.ts';

const GLOBAL = 'global';
// The uploaded logo's document, beside the settings' own.
const LOGO = 'logo';

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
    async getLogo() {
      const doc = (await guard(() => Settings.collection.findOne({ _id: LOGO } as never))) as {
        contentType: string;
        bytes: { buffer: Uint8Array };
        sha256: string;
      } | null;
      return doc ? { contentType: doc.contentType, bytes: Buffer.from(doc.bytes.buffer), sha256: doc.sha256 } : null;
    },
    async putLogo(logo: StoredLogo) {
      await guard(() =>
        Settings.collection.replaceOne(
          { _id: LOGO } as never,
          { contentType: logo.contentType, bytes: logo.bytes, sha256: logo.sha256 } as never,
          {
            upsert: true,
          },
        ),
      );
    },
  };
}
