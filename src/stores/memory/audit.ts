import type { Clock } from '../../domain/clock.ts';
import { AppError } from '../../domain/errors.ts';
import type { AuditEvent, AuditLog } from '../../domain/ports.ts';

// The embedded log keeps the newest events only, so a long-running demo stays bounded.
const KEEP = 10_000;

/** The embedded audit log: newest last in memory, each event numbered for the cursor. */
export function createMemoryAuditLog({ clock, retentionDays }: { clock: Clock; retentionDays: number }): AuditLog {
  const events: { seq: number; event: AuditEvent }[] = [];
  let seq = 0;
  return {
    retentionDays,
    async record(...recorded) {
      for (const event of recorded) events.push({ seq: ++seq, event: structuredClone(event) });
      const oldest = clock.now() - retentionDays * 86_400_000;
      while (events.length > KEEP || (events.length > 0 && events[0]!.event.at.getTime() < oldest)) events.shift();
    },
    async list({ userId, userIds, clientId, type, since, until, cursor, limit }) {
      const before = cursor === undefined ? Infinity : Number(cursor);
      if (cursor !== undefined && !/^\d+$/.test(cursor)) throw new AppError('invalid_request', 'cursor: not a cursor of this list');
      const found: { seq: number; event: AuditEvent }[] = [];
      for (let i = events.length - 1; i >= 0 && found.length <= limit; i--) {
        const entry = events[i]!;
        const { event } = entry;
        if (entry.seq >= before || (since && event.at < since) || (until && event.at >= until)) continue;
        if (userId !== undefined && event.userId !== userId) continue;
        if (userIds !== undefined && (event.userId === undefined || !userIds.includes(event.userId))) continue;
        if (clientId !== undefined && event.clientId !== clientId && event.targetClientId !== clientId) continue;
        if (type === undefined || event.type === type) found.push(entry);
      }
      const page = found.slice(0, limit);
      return {
        events: page.map((entry) => structuredClone(entry.event)),
        ...(found.length > limit ? { next: String(page.at(-1)!.seq) } : {}),
      };
    },
  };
}
