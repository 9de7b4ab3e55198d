import type { KeyStore } from '../../domain/ports.ts';

export function createMemoryKeyStore(): KeyStore {
  const values = new Map<string, string>();
  return {
    async list() {
      return [...values].map(([id, value]) => ({ id, value }));
    },
    async replace(id, old, value) {
      if (values.get(id) !== old) return false;
      values.set(id, value);
      return true;
    },
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
