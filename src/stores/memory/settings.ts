import type { SettingsStore, StoredSettings } from '../../domain/ports.ts';

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
