import type { SettingsStore, StoredLogo, StoredSettings } from '../../domain/ports.ts';

export function createMemorySettingsStore(): SettingsStore {
  let stored: StoredSettings = {};
  let logo: StoredLogo | null = null;
  return {
    async get() {
      return { ...stored };
    },
    async update(patch) {
      stored = { ...stored, ...patch };
      return { ...stored };
    },
    async getLogo() {
      return logo && { ...logo, bytes: Buffer.from(logo.bytes) };
    },
    async putLogo(next) {
      logo = { ...next, bytes: Buffer.from(next.bytes) };
    },
  };
}
