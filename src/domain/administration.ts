import type {
  AuditEvent,
  AuditLog,
  AuditQuery,
  AuditType,
  Mailer,
  SettingsStore,
  UserQuery,
  UserRecord,
  UserStore,
} from '../domain/ports.ts';
import { composeMail } from './mail-message.ts';
import { checkLogo, logoAddress } from './brand-logo.ts';
import type { Notifier } from './notifications.ts';
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
import { changedUserFields, mergePatch, pick, sameValue, settingsChanges } from './diff.ts';

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
/** An audit event with the names of the user and the application it is about, when they still exist. */
export type NamedAuditEvent = AuditEvent & { username?: string; applicationName?: string };

// A user search in the audit log finds events of at most this many users.
const AUDIT_USER_MATCHES = 500;

/** A search term as the user lists take it: `*` makes it a username pattern, else a text to find. */
export const userSearch = (term: string) => (term.includes('*') ? { pattern: term } : { contains: term });

export function createAdministration(deps: {
  users: UserStore;
  userService: UserService;
  clients: ClientService;
  samlApps: SamlAppService;
  samlKeys: SamlKeyManager;
  settings: SettingsService;
  logos: Pick<SettingsStore, 'getLogo' | 'putLogo'>;
  notifier: Pick<Notifier, 'emailChanged'>;
  mailer: Mailer;
  recovery: RecoveryService;
  secondFactor: SecondFactorService;
  oidc: SessionEnder;
  audit: AuditLog;
  clock: Clock;
  portability: DataPortability;
  keyRotation: KeyRotation;
}) {
  const now = () => new Date(deps.clock.now());

  /** The names of the users and applications a page of events holds, read once each. */
  async function namesOf(events: readonly AuditEvent[]) {
    const userIds = [...new Set(events.flatMap((event) => (event.userId ? [event.userId] : [])))];
    const appKeys = [
      ...new Set(
        events.flatMap((event) => {
          const id = event.targetClientId ?? event.clientId;
          return id ? [`${event.protocol ?? 'oidc'}:${id}`] : [];
        }),
      ),
    ];
    const [users, apps] = await Promise.all([
      Promise.all(userIds.map(async (id) => [id, (await deps.users.findById(id))?.username] as const)),
      Promise.all(
        appKeys.map(async (key) => {
          const [protocol, id] = [key.slice(0, key.indexOf(':')), key.slice(key.indexOf(':') + 1)];
          if (protocol === 'saml') return [key, (await deps.samlApps.find(id))?.name] as const;
          const client = await deps.clients.find(id);
          return [key, client?.metadata.client_name as string | undefined] as const;
        }),
      ),
    ]);
    const known = <T>(entries: readonly (readonly [string, T | undefined])[]) =>
      new Map(entries.filter((entry): entry is readonly [string, T] => entry[1] !== undefined));
    return { users: known(users), apps: known(apps) };
  }
  const record = (type: AuditType, by: Actor, extra: Partial<AuditEvent> = {}) =>
    deps.audit.record({ at: now(), type, outcome: 'success', ...by, ...extra });

  return {
    /** Security keys can be offered: the issuer can be a WebAuthn relying party (https, or localhost). */
    keysPossible: deps.secondFactor.keysOn,
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
       * user at once: whoever held them must sign in again. A change that changes nothing
       * writes no event; exempting and ending an exemption are events of their own.
       */
      async update(id: string, changes: UserChanges, by: Actor) {
        const before = await deps.users.findById(id);
        if (!before) return null;
        const changed = changedUserFields(before, changes);
        if (changed.length === 0) return before;
        const user = await deps.userService.update(id, pick(changes, changed), now());
        if (!user) return null;
        const ends = changed.includes('password') || (changed.includes('disabled') && changes.disabled === true);
        if (ends) await deps.oidc.endSessionsOf(id);
        if (changed.includes('exempt')) await record(changes.exempt ? 'user.exempted' : 'user.unexempted', by, { userId: id });
        const rest = changed.filter((field) => field !== 'exempt');
        if (rest.length) await record('user.updated', by, { userId: id, changed: rest, ...(ends ? { reason: SESSIONS_ENDED } : {}) });
        if (changed.includes('email'))
          await deps.notifier.emailChanged(before, { at: now(), type: 'user.updated', outcome: 'success', userId: id, ...by });
        return user;
      },

      delete: (id: string, by: Actor) => deps.recovery.deleteUser(id, by),
      resetMfa: (id: string, by: Actor) => deps.recovery.resetMfa(id, by),
      /** Removes one security key or passkey; every session of the user ends. Null: no such user or key. */
      removeKey: (id: string, keyId: string, by: Actor) => deps.recovery.removeKey(id, keyId, by),
      /** Removes one authenticator app; every session of the user ends. Null: no such user or app. */
      removeApp: (id: string, appId: string, by: Actor) => deps.recovery.removeApp(id, appId, by),
      /** Forgets one remembered browser, or all of them; false when there was none. */
      forgetBrowsers: (id: string, browserId: string | undefined, by: Actor) => deps.recovery.forgetBrowsers(id, browserId, by),
      endSessions: (id: string, by: Actor) => deps.recovery.endSessions(id, by),
      /** Lifts a lock; a user who is not locked is left as is, with no event. False: no such user. */
      async unlock(id: string, by: Actor) {
        const user = await deps.users.findById(id);
        if (!user) return false;
        if (!(await deps.secondFactor.lockOf(user))) return true;
        return deps.recovery.unlock(id, by);
      },
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
        const before = await deps.clients.find(clientId);
        if (!before) return null;
        const changed = Object.keys(patch)
          .filter((key) => !sameValue(before.metadata[key] ?? null, patch[key] ?? null))
          .sort();
        if (changed.length === 0) return before;
        const client = await deps.clients.update(clientId, patch);
        if (client) await record('client.updated', by, { targetClientId: clientId, changed, protocol: 'oidc' });
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
        const before = await deps.samlApps.find(id);
        if (!before) return null;
        const changed = (Object.keys(patch) as (keyof SamlAppPatch)[])
          .filter((key) => !sameValue((before as unknown as Record<string, unknown>)[key] ?? null, patch[key] ?? null))
          .sort();
        if (changed.length === 0) return before;
        const app = await deps.samlApps.update(id, patch);
        if (app) await record('client.updated', by, { targetClientId: id, changed, protocol: 'saml' });
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
      /**
       * Applies a JSON merge patch (RFC 7396) to the settings: nested objects merge, so
       * `{"brand":{"name":"Acme"}}` changes the name alone. `check` validates the whole
       * result before anything is written. The event lists each changed setting with its
       * value before and after; a patch that changes nothing writes nothing.
       */
      async update(patch: Record<string, unknown>, by: Actor, check: (merged: unknown, current: Settings) => Settings | Promise<Settings>) {
        const current = await deps.settings.get();
        const merged = await check(mergePatch(current, patch), current);
        const changes = settingsChanges(current, merged);
        if (changes.length === 0) return current;
        const top = [...new Set(changes.map((change) => change.field.split('.')[0]!))] as (keyof Settings)[];
        const settings = await deps.settings.update(Object.fromEntries(top.map((key) => [key, merged[key]])) as Partial<Settings>);
        await record('settings.updated', by, { changed: changes.map((change) => change.field), changes });
        return settings;
      },
      /** Stores an uploaded logo (checked by its content) and makes it the brand's logo. */
      async uploadLogo(bytes: Buffer, by: Actor, check: (merged: unknown, current: Settings) => Settings | Promise<Settings>) {
        const logo = checkLogo(bytes);
        await deps.logos.putLogo(logo);
        return this.update({ brand: { logoUrl: logoAddress(logo) } }, by, check);
      },
      logo: () => deps.logos.getLogo(),
    },

    mail: {
      /** Whether mail can go out (SMTP_URL, or the embedded terminal). */
      enabled: () => deps.mailer.enabled,
      /** Queues a test mail to an administrator's own verified address; false when there is none or mail is off. */
      async sendTest(admin: UserRecord): Promise<boolean> {
        if (!deps.mailer.enabled || !admin.email || !admin.emailVerified) return false;
        const settings = await deps.settings.get();
        deps.mailer.send(
          composeMail({
            kind: 'test',
            to: admin.email,
            userId: admin.id,
            organisation: settings.brand.name,
            subject: 'A test mail',
            greeting: `Hello ${admin.name ?? admin.username},`,
            paragraphs: ['This is a test mail from the console: mail from this sign-in service reaches you.'],
          }),
        );
        return true;
      },
    },

    audit: {
      /**
       * Audit events with the usernames and application names of the ids they hold (as they
       * are now: a deleted user's events keep the id alone). `users` is a search term as the
       * user list takes it: with `*` a case-sensitive username pattern, without one a text
       * found in the username, email or name.
       */
      async list(query: AuditQuery & { users?: string | undefined }): Promise<{ events: NamedAuditEvent[]; next?: string }> {
        const { users: term, ...rest } = query;
        const userIds =
          term === undefined
            ? undefined
            : (await deps.users.list({ ...userSearch(term), limit: AUDIT_USER_MATCHES })).users.map((u) => u.id);
        const page = await deps.audit.list({ ...rest, ...(userIds ? { userIds } : {}) });
        const names = await namesOf(page.events);
        return {
          events: page.events.map((event) => {
            const username = event.userId === undefined ? undefined : names.users.get(event.userId);
            const appId = event.targetClientId ?? event.clientId;
            const applicationName = appId === undefined ? undefined : names.apps.get(`${event.protocol ?? 'oidc'}:${appId}`);
            return { ...event, ...(username ? { username } : {}), ...(applicationName ? { applicationName } : {}) };
          }),
          ...(page.next ? { next: page.next } : {}),
        };
      },
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
