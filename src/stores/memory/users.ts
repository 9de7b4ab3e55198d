import { randomUUID } from 'node:crypto';
import { AppError } from '../../domain/errors.ts';
import type { Clock } from '../../domain/clock.ts';
import { usernamePatternSource } from '../../domain/username-pattern.ts';
import type { UserRecord, UserStore } from '../types.ts';

export function createMemoryUserStore({ clock }: { clock: Clock }): UserStore {
  const byId = new Map<string, UserRecord>();
  const idByLowerName = new Map<string, string>();
  const copy = (user: UserRecord | undefined) => (user ? structuredClone(user) : null);

  return {
    async create(input) {
      const lower = input.username.toLowerCase();
      if (idByLowerName.has(lower)) throw new AppError('conflict', 'username is taken');
      const now = new Date(clock.now());
      const user: UserRecord = { ...input, id: randomUUID(), disabled: false, createdAt: now, updatedAt: now };
      for (const key of ['email', 'name'] as const) if (user[key] === undefined) delete user[key];
      byId.set(user.id, user);
      idByLowerName.set(lower, user.id);
      return structuredClone(user);
    },
    async findById(id) {
      return copy(byId.get(id));
    },
    async findByUsername(username) {
      const id = idByLowerName.get(username.toLowerCase());
      return id ? copy(byId.get(id)) : null;
    },
    async list({ pattern, limit }) {
      const matcher = pattern === undefined ? null : new RegExp(usernamePatternSource(pattern));
      return [...byId.values()]
        .filter((user) => !matcher || matcher.test(user.username))
        .sort((a, b) => (a.username < b.username ? -1 : a.username > b.username ? 1 : 0))
        .slice(0, limit)
        .map((user) => structuredClone(user));
    },
  };
}
