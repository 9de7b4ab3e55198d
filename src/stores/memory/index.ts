import { systemClock, type Clock } from '../../domain/clock.ts';
import { announcingClientStore, createChangeListeners } from '../changes.ts';
import type { ChangeTopic } from '../../domain/ports.ts';
import type { Stores } from '../types.ts';
import { createMemoryClientStore } from './clients.ts';
import { createMemorySamlAppStore } from './saml-apps.ts';
import { createMemoryKeyStore } from './keys.ts';
import { createMemoryOidcStateStore } from './oidc-state.ts';
import type { Prunable } from './prunable.ts';
import { createMemoryAuditLog } from './audit.ts';
import { createMemoryRateLimiter } from './rate-limiter.ts';
import { createMemorySecondFactorGuard } from './second-factor-guard.ts';
import { createMemorySettingsStore } from './settings.ts';
import { createMemoryUserStore } from './users.ts';

// How often expired sessions, tokens, counters and rate windows are swept away.
const PRUNE_EVERY_MS = 60_000;

export type MemoryStores = Stores & Prunable;

/** The embedded default: everything in this process, nothing persisted. */
export function createMemoryStores({
  clock = systemClock,
  auditRetentionDays = 90,
}: { clock?: Clock; auditRetentionDays?: number } = {}): MemoryStores {
  // One process: a change is told to this node's listeners, and that is everyone.
  const changes = createChangeListeners();
  const notifyChanged = async (topic: ChangeTopic) => changes.tell(topic);
  const oidc = createMemoryOidcStateStore({ clock });
  const guard = createMemorySecondFactorGuard({ clock });
  const rateLimiter = createMemoryRateLimiter({ clock });
  // Expired entries are dropped when read; the sweep drops those nobody reads again, as
  // Redis expires its keys.
  const prunable: Prunable[] = [oidc, guard, rateLimiter];
  const prune = () => prunable.forEach((store) => store.prune());
  const sweep = setInterval(prune, PRUNE_EVERY_MS);
  sweep.unref();
  return {
    kind: 'memory',
    users: createMemoryUserStore({ clock }),
    clients: announcingClientStore(createMemoryClientStore(), () => notifyChanged('clients')),
    samlApps: createMemorySamlAppStore(),
    settings: createMemorySettingsStore(),
    guard,
    rateLimiter,
    audit: createMemoryAuditLog({ clock, retentionDays: auditRetentionDays }),
    notifyChanged,
    onChanged: changes.onChanged,
    keys: createMemoryKeyStore(),
    oidc,
    health: async () => ({ mongodb: true, redis: true }),
    close: async () => clearInterval(sweep),
    prune,
    entryCount: () => prunable.reduce((sum, store) => sum + store.entryCount(), 0),
  };
}
