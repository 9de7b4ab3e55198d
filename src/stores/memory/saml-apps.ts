import { AppError } from '../../domain/errors.ts';
import type { SamlAppRecord, SamlAppStore } from '../../domain/ports.ts';

export function createMemorySamlAppStore(): SamlAppStore {
  const apps = new Map<string, SamlAppRecord>();
  const entityTaken = (entityId: string, exceptId?: string) =>
    [...apps.values()].some((app) => app.entityId === entityId && app.id !== exceptId);
  return {
    async create(app) {
      if (apps.has(app.id)) throw new AppError('conflict', 'id is taken');
      if (entityTaken(app.entityId)) throw new AppError('conflict', 'entity_id is registered already');
      apps.set(app.id, structuredClone(app));
    },
    async find(id) {
      const app = apps.get(id);
      return app ? structuredClone(app) : null;
    },
    async findByEntityId(entityId) {
      const app = [...apps.values()].find((candidate) => candidate.entityId === entityId);
      return app ? structuredClone(app) : null;
    },
    async replace(app) {
      if (!apps.has(app.id)) return false;
      if (entityTaken(app.entityId, app.id)) throw new AppError('conflict', 'entity_id is registered already');
      apps.set(app.id, structuredClone(app));
      return true;
    },
    async delete(id) {
      return apps.delete(id);
    },
    async list() {
      return [...apps.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map((app) => structuredClone(app));
    },
  };
}
