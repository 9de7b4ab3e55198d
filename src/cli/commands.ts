import { readFile, writeFile } from 'node:fs/promises';
import type { ParseArgsOptionsConfig } from 'node:util';
import { ApiError, type Api } from './api.ts';
import { record, table } from './format.ts';

export class UsageError extends Error {}

export interface Invocation {
  api: Api;
  positionals: string[];
  values: Record<string, string | boolean | string[] | undefined>;
  readStdin: () => Promise<string>;
}

export interface Command {
  /** `users add` */
  name: string;
  /** What follows the name, for the help. */
  args: string;
  summary: string;
  options?: ParseArgsOptionsConfig;
  /** How many positionals: [least, most]. */
  positionals: [number, number];
  run(invocation: Invocation): Promise<unknown>;
  /** The answer as a person reads it; JSON when absent. */
  text?(result: any): string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A user by id or by exact username (the API search is case-sensitive; names hold no `*`). */
async function userId(api: Api, who: string): Promise<string> {
  if (UUID.test(who)) return who;
  const { users } = (await api.call('GET', `/users?q=${encodeURIComponent(who)}&limit=1`)) as { users: { id: string; username: string }[] };
  const found = users.find((user) => user.username === who);
  if (!found) throw new ApiError(404, 'not_found', `no user named ${who}`);
  return found.id;
}

const userPath = async (api: Api, who: string) => `/users/${encodeURIComponent(await userId(api, who))}`;

async function password(invocation: Invocation): Promise<string> {
  if (invocation.values['password-stdin']) return (await invocation.readStdin()).replace(/\r?\n$/, '');
  if (typeof invocation.values.password === 'string') return invocation.values.password;
  throw new UsageError('give the password with --password-stdin (or --password, visible to other users of this machine)');
}

function confirmed(invocation: Invocation, what: string) {
  if (!invocation.values.yes) throw new UsageError(`${what}: add --yes to confirm`);
}

const passwordOptions: ParseArgsOptionsConfig = { password: { type: 'string' }, 'password-stdin': { type: 'boolean' } };
const userRows = (users: any[]) =>
  table(
    ['USERNAME', 'ID', 'MFA', 'EXEMPT', 'LOCKED UNTIL', 'LAST SIGN-IN', 'DISABLED'],
    users.map((u) => [
      u.username,
      u.id,
      u.mfa.status === 'registered' ? u.mfa.factors.join('+') : u.mfa.status,
      u.mfa.exempt,
      u.mfa.locked ? (u.mfa.lockedUntil ?? 'unlocked by admin') : '',
      u.lastLogin?.at,
      u.disabled,
    ]),
  );
const showUser = (user: any) => record(user);

/** `--factors totp,email` as `mfa_factors`; `all` removes the list (every factor switched on). */
export function factorsOption(value: unknown): string[] | null {
  if (value === 'all') return null;
  return String(value)
    .split(',')
    .map((factor) => factor.trim())
    .filter(Boolean);
}

function clientMetadata(values: Invocation['values']): Record<string, unknown> {
  const metadata: Record<string, unknown> = {};
  if (values['redirect-uri']) metadata.redirect_uris = values['redirect-uri'];
  if (values.name !== undefined) metadata.client_name = values.name;
  if (values.policy !== undefined) metadata.mfa_policy = values.policy;
  if (values['max-age'] !== undefined) {
    const seconds = Number(values['max-age']);
    if (!Number.isSafeInteger(seconds)) throw new UsageError('--max-age takes a number of seconds');
    metadata.mfa_max_age = seconds;
  }
  if (values.factors !== undefined) metadata.mfa_factors = factorsOption(values.factors);
  if (values['first-party']) metadata.first_party = true;
  if (values['not-first-party']) metadata.first_party = false;
  if (values.refresh) metadata.grant_types = ['authorization_code', 'refresh_token'];
  return metadata;
}

const clientOptions: ParseArgsOptionsConfig = {
  'redirect-uri': { type: 'string', multiple: true },
  name: { type: 'string' },
  policy: { type: 'string' },
  'max-age': { type: 'string' },
  factors: { type: 'string' },
  'first-party': { type: 'boolean' },
  'not-first-party': { type: 'boolean' },
  refresh: { type: 'boolean' },
};

/** A `key=value` setting; the value is JSON when it parses as JSON, else a string. */
/** `key=value` pairs as a merge patch: `brand.name=Acme` is `{"brand":{"name":"Acme"}}`; values are JSON when they parse. */
function settingsPatch(pairs: readonly string[]): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf('=');
    if (eq < 1) throw new UsageError(`settings set takes key=value pairs, not ${pair}`);
    const raw = pair.slice(eq + 1);
    let value: unknown = raw;
    try {
      value = JSON.parse(raw);
    } catch {
      // A plain word: the value as typed.
    }
    const path = pair.slice(0, eq).split('.');
    let target = patch;
    for (const key of path.slice(0, -1)) {
      if (typeof target[key] !== 'object' || target[key] === null) target[key] = {};
      target = target[key] as Record<string, unknown>;
    }
    target[path.at(-1)!] = value;
  }
  return patch;
}

const imageTypes: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
};

/** An event's details in a line: old → new values, changed fields, the factor, the reason. */
function auditDetails(e: any): string {
  const parts: string[] = [];
  if (e.changes?.length) parts.push(e.changes.map((c: any) => `${c.field}: ${c.from ?? '-'} -> ${c.to ?? '-'}`).join('; '));
  else if (e.changed?.length) parts.push(e.changed.join(','));
  if (e.factor) parts.push(e.factor);
  if (e.reason) parts.push(e.reason);
  return parts.join(' ');
}

export const commands: Command[] = [
  {
    name: 'users add',
    args: 'USERNAME',
    summary: 'create a user (--admin: one who may use the web console; --email-verified: you vouch for the address)',
    positionals: [1, 1],
    options: {
      ...passwordOptions,
      email: { type: 'string' },
      'email-verified': { type: 'boolean' },
      name: { type: 'string' },
      admin: { type: 'boolean' },
    },
    run: async (i) =>
      i.api.call('POST', '/users', {
        username: i.positionals[0],
        password: await password(i),
        ...(i.values.admin ? { role: 'admin' } : {}),
        ...(i.values.email ? { email: i.values.email, ...(i.values['email-verified'] ? { email_verified: true } : {}) } : {}),
        ...(i.values.name ? { name: i.values.name } : {}),
      }),
    text: showUser,
  },
  {
    name: 'users list',
    args: '[PATTERN]',
    summary:
      'list users: a word found in usernames, emails and names (any case), or a username pattern with * (case-sensitive); --exempt: only exempt users',
    positionals: [0, 1],
    options: { limit: { type: 'string' }, cursor: { type: 'string' }, exempt: { type: 'boolean' } },
    run: (i) => {
      const query = new URLSearchParams();
      if (i.positionals[0]) query.set('q', i.positionals[0]);
      if (i.values.exempt) query.set('exempt', 'true');
      if (i.values.limit) query.set('limit', String(i.values.limit));
      if (i.values.cursor) query.set('cursor', String(i.values.cursor));
      return i.api.call('GET', `/users?${query}`);
    },
    text: (page) => `${userRows(page.users)}${page.next ? `\n(more: --cursor ${page.next})` : ''}`,
  },
  {
    name: 'users show',
    args: 'USER',
    summary: 'one user, by username or id',
    positionals: [1, 1],
    run: async (i) => i.api.call('GET', await userPath(i.api, i.positionals[0]!)),
    text: showUser,
  },
  {
    name: 'users disable',
    args: 'USER',
    summary: 'disable a user (ends its sessions)',
    positionals: [1, 1],
    run: async (i) => i.api.call('PATCH', await userPath(i.api, i.positionals[0]!), { disabled: true }),
    text: showUser,
  },
  {
    name: 'users enable',
    args: 'USER',
    summary: 'enable a user',
    positionals: [1, 1],
    run: async (i) => i.api.call('PATCH', await userPath(i.api, i.positionals[0]!), { disabled: false }),
    text: showUser,
  },
  {
    name: 'users delete',
    args: 'USER --yes',
    summary: 'delete a user and its second factor',
    positionals: [1, 1],
    options: { yes: { type: 'boolean' } },
    run: async (i) => {
      confirmed(i, 'deleting a user');
      await i.api.call('DELETE', await userPath(i.api, i.positionals[0]!));
      return { deleted: i.positionals[0] };
    },
    text: (result) => `deleted ${result.deleted}`,
  },
  {
    name: 'users set-email',
    args: 'USER ADDRESS',
    summary: 'set the email (--verified: you vouch for it, mail may go to it at once; "-" removes it); the old address is told',
    positionals: [2, 2],
    options: { verified: { type: 'boolean' } },
    run: async (i) =>
      i.api.call(
        'PATCH',
        await userPath(i.api, i.positionals[0]!),
        i.positionals[1] === '-' ? { email: null } : { email: i.positionals[1], email_verified: i.values.verified === true },
      ),
    text: showUser,
  },
  {
    name: 'users set-password',
    args: 'USER',
    summary: "set a new password (ends the user's sessions)",
    positionals: [1, 1],
    options: passwordOptions,
    run: async (i) => i.api.call('PATCH', await userPath(i.api, i.positionals[0]!), { password: await password(i) }),
    text: (user) => `password changed for ${user.username}; its sessions have ended`,
  },
  {
    name: 'mfa reset',
    args: 'USER --yes',
    summary: 'remove the second factor (app, email codes, security keys) and backup codes; the next sign-in registers anew',
    positionals: [1, 1],
    options: { yes: { type: 'boolean' } },
    run: async (i) => {
      confirmed(i, 'resetting the second factor');
      return i.api.call('POST', `${await userPath(i.api, i.positionals[0]!)}/mfa/reset`);
    },
    text: showUser,
  },
  {
    name: 'mfa apps',
    args: 'USER',
    summary: "list the user's authenticator apps",
    positionals: [1, 1],
    run: async (i) => i.api.call('GET', await userPath(i.api, i.positionals[0]!)),
    text: (user) =>
      (user.mfa.apps as { id: string; name: string; registeredAt: string; lastUsedAt: string | null }[])
        .map((app) => `${app.id}  ${app.name}, added ${app.registeredAt}, last used ${app.lastUsedAt ?? 'never'}`)
        .join('\n') || 'no authenticator apps',
  },
  {
    name: 'mfa remove-app',
    args: 'USER APP-ID --yes',
    summary: "remove one authenticator app (ends the user's sessions)",
    positionals: [2, 2],
    options: { yes: { type: 'boolean' } },
    run: async (i) => {
      confirmed(i, 'removing the authenticator app');
      return i.api.call('DELETE', `${await userPath(i.api, i.positionals[0]!)}/mfa/apps/${encodeURIComponent(i.positionals[1]!)}`);
    },
    text: showUser,
  },
  {
    name: 'mfa keys',
    args: 'USER',
    summary: "list the user's security keys and passkeys",
    positionals: [1, 1],
    run: async (i) => i.api.call('GET', await userPath(i.api, i.positionals[0]!)),
    text: (user) =>
      (user.mfa.keys as { id: string; name: string; kind: string; addedAt: string; lastUsedAt: string | null }[])
        .map(
          (key) => `${key.id}  ${key.name} (${key.kind.replace('_', ' ')}), added ${key.addedAt}, last used ${key.lastUsedAt ?? 'never'}`,
        )
        .join('\n') || 'no security keys',
  },
  {
    name: 'mfa remove-key',
    args: 'USER KEY-ID --yes',
    summary: "remove one security key or passkey (ends the user's sessions)",
    positionals: [2, 2],
    options: { yes: { type: 'boolean' } },
    run: async (i) => {
      confirmed(i, 'removing the security key');
      return i.api.call('DELETE', `${await userPath(i.api, i.positionals[0]!)}/mfa/keys/${encodeURIComponent(i.positionals[1]!)}`);
    },
    text: showUser,
  },
  {
    name: 'mfa browsers',
    args: 'USER',
    summary: 'list the browsers the user chose not to be asked the second factor again on',
    positionals: [1, 1],
    run: async (i) => i.api.call('GET', await userPath(i.api, i.positionals[0]!)),
    text: (user) =>
      (user.mfa.rememberedBrowsers as { id: string; browser: string; application?: string; rememberedAt: string; expiresAt: string }[])
        .map(
          (browser) =>
            `${browser.id}  ${browser.browser}${browser.application ? ` at ${browser.application}` : ''}, remembered ${browser.rememberedAt}, until ${browser.expiresAt}`,
        )
        .join('\n') || 'no remembered browsers',
  },
  {
    name: 'mfa forget-browsers',
    args: 'USER [BROWSER-ID]',
    summary: 'forget one remembered browser, or all of them: each is asked for the second factor again',
    positionals: [1, 2],
    run: async (i) => {
      const [user, browser] = i.positionals;
      const path = `${await userPath(i.api, user!)}/mfa/remembered${browser === undefined ? '' : `/${encodeURIComponent(browser)}`}`;
      return i.api.call('DELETE', path);
    },
    text: (user) => `${user.username}: ${(user.mfa.rememberedBrowsers as unknown[]).length} remembered browsers left`,
  },
  {
    name: 'users end-sessions',
    args: 'USER',
    summary: 'end every session and refresh token of the user (the next sign-in asks for the password and the code)',
    positionals: [1, 1],
    run: async (i) => i.api.call('POST', `${await userPath(i.api, i.positionals[0]!)}/sessions/end`),
    text: () => 'every session of the user has ended',
  },
  {
    name: 'mfa unlock',
    args: 'USER',
    summary: 'lift a lock',
    positionals: [1, 1],
    run: async (i) => i.api.call('POST', `${await userPath(i.api, i.positionals[0]!)}/unlock`),
    text: showUser,
  },
  {
    name: 'mfa exempt',
    args: 'USER',
    summary: 'never ask this user for a second factor',
    positionals: [1, 1],
    run: async (i) => i.api.call('PATCH', await userPath(i.api, i.positionals[0]!), { exempt: true }),
    text: showUser,
  },
  {
    name: 'mfa unexempt',
    args: 'USER',
    summary: 'ask this user again as the policy says',
    positionals: [1, 1],
    run: async (i) => i.api.call('PATCH', await userPath(i.api, i.positionals[0]!), { exempt: false }),
    text: showUser,
  },
  {
    name: 'clients add',
    args: 'CLIENT_ID --redirect-uri URI',
    summary: 'register an application (its secret is shown once)',
    positionals: [1, 1],
    options: { ...clientOptions, public: { type: 'boolean' } },
    run: (i) =>
      i.api.call('POST', '/clients', {
        client_id: i.positionals[0],
        ...clientMetadata(i.values),
        ...(i.values.public ? { token_endpoint_auth_method: 'none' } : {}),
      }),
    text: record,
  },
  {
    name: 'clients list',
    args: '',
    summary: 'list applications',
    positionals: [0, 0],
    run: (i) => i.api.call('GET', '/clients'),
    text: (result) =>
      table(
        ['CLIENT_ID', 'NAME', 'MFA POLICY', 'FACTORS', 'FIRST PARTY', 'REDIRECT URIS'],
        result.clients.map((c: any) => [
          c.client_id,
          c.client_name,
          c.mfa_policy ?? '(default)',
          c.mfa_factors?.join('+') ?? '(all on)',
          c.first_party ?? false,
          c.redirect_uris.join(' '),
        ]),
      ),
  },
  {
    name: 'clients show',
    args: 'CLIENT_ID',
    summary: 'one application',
    positionals: [1, 1],
    run: (i) => i.api.call('GET', `/clients/${encodeURIComponent(i.positionals[0]!)}`),
    text: record,
  },
  {
    name: 'clients set',
    args: 'CLIENT_ID [options]',
    summary: 'change an application',
    positionals: [1, 1],
    options: clientOptions,
    run: (i) => {
      const patch = clientMetadata(i.values);
      if (Object.keys(patch).length === 0)
        throw new UsageError('nothing to change: give --policy, --name, --redirect-uri, --max-age, --factors, …');
      return i.api.call('PATCH', `/clients/${encodeURIComponent(i.positionals[0]!)}`, patch);
    },
    text: record,
  },
  {
    name: 'clients delete',
    args: 'CLIENT_ID --yes',
    summary: 'delete an application',
    positionals: [1, 1],
    options: { yes: { type: 'boolean' } },
    run: async (i) => {
      confirmed(i, 'deleting an application');
      await i.api.call('DELETE', `/clients/${encodeURIComponent(i.positionals[0]!)}`);
      return { deleted: i.positionals[0] };
    },
    text: (result) => `deleted ${result.deleted}`,
  },
  {
    name: 'clients rotate-secret',
    args: 'CLIENT_ID',
    summary: 'a new client secret, shown once; the old one stops working',
    positionals: [1, 1],
    run: (i) => i.api.call('POST', `/clients/${encodeURIComponent(i.positionals[0]!)}/secret`),
    text: record,
  },
  {
    name: 'settings get',
    args: '',
    summary: 'the second-factor settings',
    positionals: [0, 0],
    run: (i) => i.api.call('GET', '/settings'),
    text: record,
  },
  {
    name: 'settings set',
    args: 'KEY=VALUE…',
    summary: 'change settings, e.g. enabled=false maxAttempts=3 brand.name="Acme" (nested keys change alone)',
    positionals: [1, 20],
    run: (i) => i.api.call('PATCH', '/settings', settingsPatch(i.positionals)),
    text: record,
  },
  {
    name: 'settings logo',
    args: 'FILE',
    summary: 'upload the brand logo (PNG, JPEG, GIF or WebP, at most 256 kB)',
    positionals: [1, 1],
    run: async (i) => {
      const file = i.positionals[0]!;
      const type = imageTypes[file.toLowerCase().split('.').at(-1) ?? ''];
      if (!type) throw new UsageError('the logo is a .png, .jpg, .gif or .webp file');
      let bytes: Buffer;
      try {
        bytes = await readFile(file);
      } catch (err) {
        throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
      }
      return i.api.call('POST', '/settings/logo', { raw: bytes, type });
    },
    text: record,
  },
  {
    name: 'audit',
    args: '',
    summary: 'audit events, newest first: --user NAME, --search WORD or PATTERN*, --client ID, --type, --since and --until (ISO times)',
    positionals: [0, 0],
    options: {
      user: { type: 'string' },
      search: { type: 'string' },
      client: { type: 'string' },
      type: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      limit: { type: 'string' },
      cursor: { type: 'string' },
    },
    run: async (i) => {
      const query = new URLSearchParams();
      if (i.values.user) query.set('user', await userId(i.api, String(i.values.user)));
      if (i.values.search) query.set('username', String(i.values.search));
      for (const key of ['client', 'type', 'since', 'until', 'limit', 'cursor'] as const)
        if (i.values[key]) query.set(key, String(i.values[key]));
      return i.api.call('GET', `/audit?${query}`);
    },
    text: (page) =>
      `${table(
        ['AT', 'TYPE', 'OUTCOME', 'USER', 'APPLICATION', 'ACTOR', 'IP', 'DETAILS'],
        page.events.map((e: any) => [
          e.at,
          e.type,
          e.outcome,
          e.username ?? e.userId,
          e.applicationName ?? e.targetClientId ?? e.clientId,
          e.actor,
          e.ip,
          auditDetails(e),
        ]),
      )}${page.next ? `\n(more: --cursor ${page.next})` : ''}`,
  },
  {
    name: 'export',
    args: '[FILE]',
    summary: 'users with their second factor (secrets stay sealed) and applications, as JSON',
    positionals: [0, 1],
    options: { 'no-clients': { type: 'boolean' } },
    run: async (i) => {
      const data = await i.api.call('GET', `/export${i.values['no-clients'] ? '?clients=false' : ''}`);
      if (!i.positionals[0]) return data;
      await writeFile(i.positionals[0], `${JSON.stringify(data, null, 2)}\n`, { mode: 0o600 });
      return { file: i.positionals[0], users: data.users.length, clients: data.clients?.length ?? 0 };
    },
    text: (result) =>
      result.file ? `wrote ${result.users} users and ${result.clients} applications to ${result.file}` : JSON.stringify(result, null, 2),
  },
  {
    name: 'import',
    args: 'FILE',
    summary: 'import an export: users by username, applications by client_id (idempotent)',
    positionals: [1, 1],
    run: async (i) => {
      let data: unknown;
      try {
        data = JSON.parse(await readFile(i.positionals[0]!, 'utf8'));
      } catch (err) {
        throw new UsageError(`${i.positionals[0]}: not a readable JSON file (${(err as Error).message})`);
      }
      return i.api.call('POST', '/import', data);
    },
    text: (result) => record(result),
  },
  {
    name: 'keys rotate',
    args: '',
    summary: 're-seal every secret under the newest DATA_KEY (resumable)',
    positionals: [0, 0],
    run: (i) => i.api.call('POST', '/keys/rotate'),
    text: record,
  },
];
