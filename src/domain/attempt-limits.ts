import { createHash } from 'node:crypto';
import type { RateLimiter } from './ports.ts';

export interface AttemptLimits {
  perIp: { limit: number; windowSeconds: number };
  perAccount: { limit: number; windowSeconds: number };
}

/**
 * Counts one attempt against the client address, then against the account name (known or
 * not, kept only as a hash, any case): the wait until another is allowed, or 0, and which
 * limit said so. `kind` keeps the counts of different actions apart (sign-in, reset).
 */
export async function countAttempt(
  limiter: RateLimiter,
  limits: AttemptLimits,
  attempt: { kind: string; username: string; ip: string | undefined; now: number },
): Promise<{ waitMs: number; per: 'per_ip' | 'per_account' }> {
  const { perIp, perAccount } = limits;
  const account = createHash('sha256').update(attempt.username.toLowerCase()).digest('base64url');
  const counted = await limiter.hitInTurn(
    [
      { key: `${attempt.kind}ip:${attempt.ip ?? 'unknown'}`, limit: perIp.limit, windowMs: perIp.windowSeconds * 1000 },
      { key: `${attempt.kind}account:${account}`, limit: perAccount.limit, windowMs: perAccount.windowSeconds * 1000 },
    ],
    attempt.now,
  );
  return { waitMs: counted.retryAfterMs, per: counted.refusedBy === 0 ? 'per_ip' : 'per_account' };
}
