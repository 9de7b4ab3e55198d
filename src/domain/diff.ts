import type { AuditChange } from './ports.ts';
import type { UserRecord } from './ports.ts';
import type { UserChanges } from './users.ts';

/** Whether two JSON-like values are the same (key order aside). */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a instanceof Date && b instanceof Date) return a.getTime() === b.getTime();
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((item, i) => sameValue(item, b[i]));
  }
  if (isObject(a) && isObject(b)) {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].every((key) => sameValue(a[key] ?? null, b[key] ?? null));
  }
  return false;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);

/**
 * JSON merge patch (RFC 7396): objects in the patch merge into the target's, `null`
 * removes a member, anything else replaces it. Neither input is changed.
 */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const result: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = mergePatch(result[key], value);
  }
  return result;
}

// Long texts (the registration message) are cut in the log: it records what changed, not a copy.
const AUDIT_VALUE_MAX = 200;
const asText = (value: unknown): string | null => {
  if (value === null || value === undefined) return null;
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.length > AUDIT_VALUE_MAX ? `${text.slice(0, AUDIT_VALUE_MAX - 1)}…` : text;
};

/** Each leaf setting that differs, as `brand.name: Acme → Example`, in the settings' order. */
export function settingsChanges(before: object, after: object, prefix = ''): AuditChange[] {
  const a = before as Record<string, unknown>;
  const b = after as Record<string, unknown>;
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  return keys.flatMap((key) => {
    const field = `${prefix}${key}`;
    if (isObject(a[key]) && isObject(b[key])) return settingsChanges(a[key], b[key], `${field}.`);
    return sameValue(a[key] ?? null, b[key] ?? null) ? [] : [{ field, from: asText(a[key]), to: asText(b[key]) }];
  });
}

/** The fields of a user change that change something; a new password always does. */
export function changedUserFields(user: UserRecord, changes: UserChanges): (keyof UserChanges)[] {
  const current: Record<keyof UserChanges, unknown> = {
    role: user.role ?? null,
    disabled: user.disabled,
    exempt: user.mfa.exempt,
    password: undefined,
    email: user.email ?? null,
    emailVerified: user.emailVerified === true,
    name: user.name ?? null,
  };
  return (Object.keys(changes) as (keyof UserChanges)[])
    .filter((key) => changes[key] !== undefined)
    .filter((key) => key === 'password' || !sameValue(current[key], changes[key] ?? null))
    .sort();
}

export function pick<T extends object, K extends keyof T>(value: T, keys: readonly K[]): Pick<T, K> {
  return Object.fromEntries(keys.map((key) => [key, value[key]])) as Pick<T, K>;
}
