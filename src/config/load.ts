import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { configSchema, type RawConfig } from './schema.ts';

export const packageRoot = fileURLToPath(new URL('../../', import.meta.url));

/** The environment variables twofold reads, and the option each one sets. */
const envKeys = {
  PORT: ['port'],
  HOST: ['host'],
  ISSUER: ['issuer'],
  LOG_LEVEL: ['logLevel'],
  MONGODB_URI: ['mongodb', 'uri'],
  REDIS_URL: ['redis', 'url'],
  ADMIN_TOKEN: ['adminToken'],
  DATA_KEY: ['dataKey'],
  COOKIE_KEYS: ['cookieKeys'],
  SMTP_URL: ['mail', 'smtpUrl'],
  MAIL_FROM: ['mail', 'from'],
} as const satisfies Record<string, readonly string[]>;

// Options whose values are secret (the SMTP URL may hold a password): never printed.
const secretKeys = new Set(['adminToken', 'dataKey', 'cookieKeys', 'mail.smtpUrl']);

export type RateLimitConfig = RawConfig['rateLimits'];

export type Config = Readonly<
  Omit<RawConfig, 'adminToken' | 'dataKey' | 'cookieKeys' | 'issuer'> & {
    issuer: string;
    mode: 'embedded' | 'production';
    adminToken: string;
    dataKeys: readonly Buffer[];
    cookieKeys: readonly string[];
    /** Secrets generated for this run because embedded mode was not given them. */
    generated: readonly ('adminToken' | 'dataKey' | 'cookieKeys')[];
  }
>;

/** A configuration problem: start-up stops with `message`, one line. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Tree = Record<string, unknown>;

function isTree(value: unknown): value is Tree {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function merge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [key, value] of Object.entries(over)) {
    out[key] = isTree(value) && isTree(out[key]) ? merge(out[key] as Tree, value) : value;
  }
  return out;
}

function readTree(path: string, label: string): Tree {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${label}="${path}" cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (err) {
    throw new ConfigError(`${label}="${path}" is not valid JSON or YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (parsed == null) return {};
  if (!isTree(parsed)) throw new ConfigError(`${label}="${path}" must hold an object of options`);
  return parsed;
}

function setPath(tree: Tree, path: readonly string[], value: unknown): void {
  let node = tree;
  for (const key of path.slice(0, -1)) {
    if (!isTree(node[key])) node[key] = {};
    node = node[key] as Tree;
  }
  node[path.at(-1)!] = value;
}

function getPath(tree: unknown, path: readonly PropertyKey[]): unknown {
  let node = tree;
  for (const key of path) {
    if (!isTree(node) && !Array.isArray(node)) return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

function describeValue(path: readonly PropertyKey[], value: unknown): string {
  if ((secretKeys.has(String(path[0])) || secretKeys.has(path.map(String).join('.'))) && typeof value === 'string')
    return `(hidden, ${value.length} characters)`;
  if (value === undefined) return '(missing)';
  return JSON.stringify(value);
}

/**
 * Reads config/default.yaml, then CONFIG_FILE, then the environment; validates the result
 * and returns it frozen. Throws ConfigError naming the key, the value and what is allowed.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  let tree = readTree(`${packageRoot}config/default.yaml`, 'default configuration');
  if (env.CONFIG_FILE) tree = merge(tree, readTree(env.CONFIG_FILE, 'CONFIG_FILE'));

  const fromEnv = new Map<string, string>();
  for (const [name, path] of Object.entries(envKeys)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    setPath(tree, path, value);
    fromEnv.set(path.join('.'), name);
  }

  const result = configSchema.safeParse(tree);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    // An unknown key is reported at its parent; name the key itself.
    const path = issue.code === 'unrecognized_keys' ? [...issue.path, issue.keys[0]!] : issue.path;
    const dotted = path.map(String).join('.');
    const where = fromEnv.get(dotted) ?? (env.CONFIG_FILE ? `${dotted || '(root)'} (in CONFIG_FILE)` : dotted);
    const allowed = issue.code === 'unrecognized_keys' ? 'not a known option' : issue.message;
    throw new ConfigError(`invalid configuration: ${where}=${describeValue(path, getPath(tree, path))}: ${allowed}`);
  }
  return finish(result.data);
}

function finish(raw: RawConfig): Config {
  const hasMongo = raw.mongodb.uri !== undefined;
  const hasRedis = raw.redis.url !== undefined || raw.redis.sentinels !== undefined || raw.redis.cluster !== undefined;
  const mode = hasMongo || hasRedis ? 'production' : 'embedded';
  if (mode === 'production') {
    const required = {
      MONGODB_URI: hasMongo,
      REDIS_URL: hasRedis,
      ADMIN_TOKEN: raw.adminToken,
      DATA_KEY: raw.dataKey,
      COOKIE_KEYS: raw.cookieKeys,
    };
    const missing = Object.entries(required)
      .filter(([, value]) => !value)
      .map(([name]) => name);
    if (missing.length > 0) {
      throw new ConfigError(
        `invalid configuration: production mode (MONGODB_URI or REDIS_URL set) needs ${Object.keys(required).join(', ')}; missing: ${missing.join(', ')}`,
      );
    }
  }

  const issuer = raw.issuer ?? `http://localhost:${raw.port}`;
  if (mode === 'production' && !raw.allowInsecureIssuer) {
    const { protocol, hostname } = new URL(issuer);
    if (protocol === 'http:' && !['localhost', '127.0.0.1', '[::1]'].includes(hostname)) {
      throw new ConfigError(
        `invalid configuration: ISSUER=${issuer}: production needs an https:// issuer (or localhost); set allowInsecureIssuer: true to run it anyway`,
      );
    }
  }

  const generated: ('adminToken' | 'dataKey' | 'cookieKeys')[] = [];
  const adminToken = raw.adminToken ?? (generated.push('adminToken'), randomBytes(32).toString('base64url'));
  const dataKey = raw.dataKey ?? (generated.push('dataKey'), randomBytes(32).toString('base64'));
  const cookieKeys = raw.cookieKeys ?? (generated.push('cookieKeys'), randomBytes(32).toString('base64url'));
  const { adminToken: _a, dataKey: _d, cookieKeys: _c, ...rest } = raw;

  return deepFreeze({
    ...rest,
    issuer,
    mode,
    adminToken,
    dataKeys: dataKey.split(',').map((key) => Buffer.from(key.trim(), 'base64')),
    cookieKeys: cookieKeys.split(',').map((key) => key.trim()),
    generated,
  });
}

function deepFreeze<T>(value: T): T {
  if (isTree(value) || Array.isArray(value)) {
    for (const child of Object.values(value)) if (!Buffer.isBuffer(child)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
