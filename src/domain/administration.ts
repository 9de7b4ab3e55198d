import type { AuditEvent, AuditLog, AuditType, UserQuery, UserRecord, UserStore } from '../domain/ports.ts';
import type { SamlKeyManager, SessionEnder } from './ports.ts';
import type { ClientRegistration, ClientService } from './clients.ts';
import type { Clock } from './clock.ts';
import type { SamlAppInput, SamlAppPatch, SamlAppService } from './saml-apps.ts';
import type { DataPortability } from './data-portability.ts';
import type { KeyRotation } from './key-rotation.ts';
import { SESSIONS_ENDED, type RecoveryService } from './recovery.ts';
import type { SecondFactorService } from './second-factor.ts';
import type { Settings, SettingsService } from './settings.ts';
import type { NewUserInput, UserChanges, UserService } from './users.ts';

/** Who made a change: `admin` for the admin token (the API, the CLI), with where from. */
export interface Actor {
  actor: string;
  ip?: string | undefined;
  userAgent?: string | undefined;
}

/**
 * The one administration service: the admin API (and through it the CLI) and the console
 * call it, never the stores. Every change goes through the audit log with its actor, so
 * no path changes a user, an application or a setting without an event.
 */
export function createAdministration(deps: {
  users: UserStore;
  userService: UserService;
  clients: ClientService;
  samlApps: SamlAppService;
  samlKeys: SamlKeyManager;
  settings: SettingsService;
  recovery: RecoveryService;
  secondFactor: SecondFactorService;
  oidc: SessionEnder;
  audit: AuditLog;
  clock: Clock;
  portability: DataPortability;
  keyRotation: KeyRotation;
}) {
  const now = () => new Date(deps.clock.now());
  const record = (type: AuditType, by: Actor, extra: Partial<AuditEvent> = {}) =>
    deps.audit.record({ at: now(), type, outcome: 'success', ...by, ...extra });

  return {
    users: {
      async create(input: NewUserInput, by: Actor) {
        const user = await deps.userService.create(input);
        await record('user.created', by, { userId: user.id });
        return user;
      },
      list: (query: UserQuery) => deps.users.list(query),
      get: (id: string) => deps.users.findById(id),
      lockOf: (user: UserRecord) => deps.secondFactor.lockOf(user),

      /**
       * Changes a user. A new password, or disabling, ends every session and token of the
       * user at once: whoever held them must sign in again.
       */
      async update(id: string, changes: UserChanges, by: Actor) {
        const user = await deps.userService.update(id, changes, now());
        if (!user) return null;
        const ends = changes.password !== undefined || changes.disabled === true;
        if (ends) await deps.oidc.endSessionsOf(id);
        await record('user.updated', by, { userId: id, changed: Object.keys(changes).sort(), ...(ends ? { reason: SESSIONS_ENDED } : {}) });
        return user;
      },

      delete: (id: string, by: Actor) => deps.recovery.deleteUser(id, by),
      resetMfa: (id: string, by: Actor) => deps.recovery.resetMfa(id, by),
      endSessions: (id: string, by: Actor) => deps.recovery.endSessions(id, by),
      unlock: (id: string, by: Actor) => deps.recovery.unlock(id, by),
    },

    clients: {
      async register(input: ClientRegistration, by: Actor) {
        const registered = await deps.clients.register(input);
        await record('client.created', by, { targetClientId: input.client_id, protocol: 'oidc' });
        return registered;
      },
      list: () => deps.clients.list(),
      get: (clientId: string) => deps.clients.find(clientId),
      async update(clientId: string, patch: Record<string, unknown>, by: Actor) {
        const client = await deps.clients.update(clientId, patch);
        if (client) await record('client.updated', by, { targetClientId: clientId, changed: Object.keys(patch).sort(), protocol: 'oidc' });
        return client;
      },
      async delete(clientId: string, by: Actor) {
        const deleted = await deps.clients.delete(clientId);
        if (deleted) await record('client.deleted', by, { targetClientId: clientId, protocol: 'oidc' });
        return deleted;
      },
      /** A new secret, shown once; the old one stops working at once. Null: no such confidential client. */
      async rotateSecret(clientId: string, by: Actor) {
        const secret = await deps.clients.rotateSecret(clientId);
        if (secret) await record('client.secret_rotated', by, { targetClientId: clientId, protocol: 'oidc' });
        return secret;
      },
    },

    /** SAML applications: the same audit events as OIDC ones, naming the protocol. */
    samlApps: {
      list: () => deps.samlApps.list(),
      get: (id: string) => deps.samlApps.find(id),
      async create(input: SamlAppInput, by: Actor) {
        const app = await deps.samlApps.create(input);
        await record('client.created', by, { targetClientId: app.id, protocol: 'saml' });
        return app;
      },
      async update(id: string, patch: SamlAppPatch, by: Actor) {
        const app = await deps.samlApps.update(id, patch);
        if (app) await record('client.updated', by, { targetClientId: id, changed: Object.keys(patch).sort(), protocol: 'saml' });
        return app;
      },
      async delete(id: string, by: Actor) {
        const deleted = await deps.samlApps.delete(id);
        if (deleted) await record('client.deleted', by, { targetClientId: id, protocol: 'saml' });
        return deleted;
      },
    },

    settings: {
      get: () => deps.settings.get(),
      async update(patch: Partial<Settings>, by: Actor) {
        const settings = await deps.settings.update(patch);
        await record('settings.updated', by, { changed: Object.keys(patch).sort() });
        return settings;
      },
    },

    audit: {
      list: (query: Parameters<AuditLog['list']>[0]) => deps.audit.list(query),
    },

    data: {
      export: (options: { clients: boolean }, by: Actor) => deps.portability.export(options, by),
      import: (input: unknown, by: Actor) => deps.portability.import(input, by),
    },

    keys: {
      rotate: (by: Actor) => deps.keyRotation.rotate(by),
    },

    /** The SAML signing certificate: a next one published first, then signing with it. */
    samlKeys: {
      get: () => deps.samlKeys.get(),
      async prepareNext(by: Actor) {
        const keys = await deps.samlKeys.prepareNext();
        await record('keys.rotated', by, { protocol: 'saml', reason: 'next_published' });
        return keys;
      },
      async rotate(by: Actor) {
        const keys = await deps.samlKeys.rotate();
        await record('keys.rotated', by, { protocol: 'saml', reason: 'next_in_use' });
        return keys;
      },
    },
  };
}

export type Administration = ReturnType<typeof createAdministration>;
