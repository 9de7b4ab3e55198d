import type { SettingsStore, StoredSettings } from '../types.ts';

export function createMemorySettingsStore(): SettingsStore {
  let stored: StoredSettings = {};
  return {
    async get() {
      return { ...stored };
    },
    async update(patch) {
      stored = { ...stored, ...patch };
      return { ...stored };
    },
  };
}
