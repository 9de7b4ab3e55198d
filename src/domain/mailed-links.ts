import { createHash, randomBytes } from 'node:crypto';
import type { Clock } from './clock.ts';

/** How long a mailed link works. */
export const LINK_SECONDS = 15 * 60;
/** A link's token: 32 random bytes, base64url (43 characters). */
export const LINK_TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** What a mailed link stands for: the account, until when, and for an email change the new address. */
export interface LinkRecord {
  accountId: string;
  expiresAt: number;
  email?: string | undefined;
}

/** Where mailed links' tokens wait (by their hash), and the once-only claim on each. */
export interface LinkTokenStore {
  put(tokenHash: string, record: LinkRecord, ttlSeconds: number): Promise<void>;
  get(tokenHash: string): Promise<LinkRecord | undefined>;
  /** True for the first caller only, on any node. */
  claim(tokenHash: string, ttlSeconds: number): Promise<boolean>;
  drop(tokenHash: string): Promise<void>;
}

export type LinkRefusal = 'malformed' | 'unknown_or_used' | 'expired';
export type LinkCheck = { ok: true; record: LinkRecord } | { ok: false; reason: LinkRefusal };

const hashOf = (token: string) => createHash('sha256').update(token).digest('base64url');
// Kept a while past their end, so a late use is told "expired" rather than "unknown".
const KEEP_SECONDS = LINK_SECONDS + 3600;

/**
 * Links sent by mail that do one thing once (choose a password, confirm an address): a
 * random token, stored only as its hash, valid 15 minutes on the domain's clock, used once
 * however many requests race for it, on any node.
 */
export function createMailedLinks(store: LinkTokenStore, clock: Clock) {
  async function check(token: string): Promise<LinkCheck> {
    if (!LINK_TOKEN_PATTERN.test(token)) return { ok: false, reason: 'malformed' };
    const record = await store.get(hashOf(token));
    if (!record) return { ok: false, reason: 'unknown_or_used' };
    if (record.expiresAt <= clock.now()) return { ok: false, reason: 'expired' };
    return { ok: true, record };
  }
  return {
    /** A new link's token for `record` (without its expiry, which is set here). */
    async issue(record: Omit<LinkRecord, 'expiresAt'>): Promise<string> {
      const token = randomBytes(32).toString('base64url');
      await store.put(hashOf(token), { ...record, expiresAt: clock.now() + LINK_SECONDS * 1000 }, KEEP_SECONDS);
      return token;
    },
    /** Whether the link is good now, without using it up. */
    check,
    /** Uses the link up: good for the first caller only. */
    async use(token: string): Promise<LinkCheck> {
      const checked = await check(token);
      if (!checked.ok) return checked;
      const hash = hashOf(token);
      if (!(await store.claim(hash, KEEP_SECONDS))) return { ok: false, reason: 'unknown_or_used' };
      await store.drop(hash);
      return checked;
    },
  };
}
