import type { AuditEvent, AuditLog } from '../types.ts';

// The embedded log keeps the newest events only, so a long-running demo stays bounded.
const KEEP = 10_000;

export function createMemoryAuditLog(): AuditLog {
  const events: AuditEvent[] = [];
  return {
    async record(event) {
      events.push(structuredClone(event));
      if (events.length > KEEP) events.splice(0, events.length - KEEP);
    },
    async list({ userId, type, limit }) {
      const found: AuditEvent[] = [];
      for (let i = events.length - 1; i >= 0 && found.length < limit; i--) {
        const event = events[i]!;
        if ((userId === undefined || event.userId === userId) && (type === undefined || event.type === type)) found.push(structuredClone(event));
      }
      return found;
    },
  };
}
