import type { KeyStore } from '../types.ts';

export function createMemoryKeyStore(): KeyStore {
  const values = new Map<string, string>();
  return {
    async getOrCreate(id, create) {
      let value = values.get(id);
      if (value === undefined) {
        value = create();
        values.set(id, value);
      }
      return value;
    },
  };
}
