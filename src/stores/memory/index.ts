import { systemClock, type Clock } from '../../domain/clock.ts';
import type { Stores } from '../types.ts';
import { createMemoryClientStore } from './clients.ts';
import { createMemoryKeyStore } from './keys.ts';
import { createMemoryOidcStateStore } from './oidc-state.ts';
import { createMemoryUserStore } from './users.ts';

/** The embedded default: everything in this process, nothing persisted. */
export function createMemoryStores({ clock = systemClock }: { clock?: Clock } = {}): Stores {
  return {
    kind: 'memory',
    users: createMemoryUserStore({ clock }),
    clients: createMemoryClientStore(),
    keys: createMemoryKeyStore(),
    oidc: createMemoryOidcStateStore({ clock }),
    health: async () => ({ mongodb: true, redis: true }),
    close: async () => {},
  };
}
