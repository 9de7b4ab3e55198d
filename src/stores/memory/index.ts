import { systemClock, type Clock } from '../../domain/clock.ts';
import type { Stores } from '../types.ts';
import { createMemoryClientStore } from './clients.ts';
import { createMemoryKeyStore } from './keys.ts';
import { createMemoryOidcStateStore } from './oidc-state.ts';
import { createMemoryAuditLog } from './audit.ts';
import { createMemoryRateLimiter } from './rate-limiter.ts';
import { createMemorySecondFactorGuard } from './second-factor-guard.ts';
import { createMemorySettingsStore } from './settings.ts';
import { createMemoryUserStore } from './users.ts';

/** The embedded default: everything in this process, nothing persisted. */
export function createMemoryStores({ clock = systemClock, auditRetentionDays = 90 }: { clock?: Clock; auditRetentionDays?: number } = {}): Stores {
  const settingsListeners: (() => void)[] = [];
  return {
    kind: 'memory',
    users: createMemoryUserStore({ clock }),
    clients: createMemoryClientStore(),
    settings: createMemorySettingsStore(),
    guard: createMemorySecondFactorGuard({ clock }),
    rateLimiter: createMemoryRateLimiter(),
    audit: createMemoryAuditLog({ clock, retentionDays: auditRetentionDays }),
    notifySettingsChanged: async () => {
      for (const listener of settingsListeners) listener();
    },
    onSettingsChanged: (listener) => void settingsListeners.push(listener),
    keys: createMemoryKeyStore(),
    oidc: createMemoryOidcStateStore({ clock }),
    health: async () => ({ mongodb: true, redis: true }),
    close: async () => {},
  };
}
