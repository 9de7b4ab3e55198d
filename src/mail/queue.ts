import type { OutgoingMail } from '../domain/ports.ts';

export type MailOutcome = 'sent' | 'retrying' | 'failed' | 'dropped';

interface Waiting {
  mail: OutgoingMail;
  attempt: number;
  /** Not before this time (epoch ms): a retry waits. */
  notBefore: number;
}

/**
 * The mail queue of one node: mails wait in memory and go out one at a time, at most
 * `sendPerSecond`, each tried `retries` more times after a failure with a doubling wait.
 * `send` returns at once, so the page that asked never waits for the mail server; past
 * `queueLimit` waiting mails a new one is dropped (and counted). Mails still waiting when
 * the node stops are lost: they are notices, and the audit log says which were sent.
 */
export function createMailQueue(deps: {
  deliver: (mail: OutgoingMail) => Promise<void>;
  sendPerSecond: number;
  retries: number;
  retryBaseMs: number;
  queueLimit: number;
  onOutcome: (mail: OutgoingMail, outcome: MailOutcome, error?: unknown) => void;
}) {
  const waiting: Waiting[] = [];
  const gapMs = 1000 / deps.sendPerSecond;
  let pumping = false;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let idle: (() => void)[] = [];

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
      timer.unref();
    });

  async function pump() {
    if (pumping) return;
    pumping = true;
    try {
      while (!closed && waiting.length > 0) {
        const now = Date.now();
        const next = waiting.reduce((soonest, item) => (item.notBefore < soonest.notBefore ? item : soonest));
        if (next.notBefore > now) {
          await sleep(next.notBefore - now);
          continue;
        }
        waiting.splice(waiting.indexOf(next), 1);
        const started = Date.now();
        try {
          await deps.deliver(next.mail);
          deps.onOutcome(next.mail, 'sent');
        } catch (err) {
          if (next.attempt < deps.retries) {
            deps.onOutcome(next.mail, 'retrying', err);
            waiting.push({ mail: next.mail, attempt: next.attempt + 1, notBefore: Date.now() + deps.retryBaseMs * 2 ** next.attempt });
          } else {
            deps.onOutcome(next.mail, 'failed', err);
          }
        }
        const spent = Date.now() - started;
        if (spent < gapMs) await sleep(gapMs - spent);
      }
    } finally {
      pumping = false;
      if (waiting.length === 0) {
        for (const resolve of idle) resolve();
        idle = [];
      }
    }
  }

  return {
    send(mail: OutgoingMail) {
      if (closed) return;
      if (waiting.length >= deps.queueLimit) return deps.onOutcome(mail, 'dropped');
      waiting.push({ mail, attempt: 0, notBefore: 0 });
      void pump();
    },
    /** How many mails wait (for the metrics). */
    size: () => waiting.length,
    /** Resolves when no mail waits (tests, and a graceful stop that may wait). */
    idle: () => (waiting.length === 0 && !pumping ? Promise.resolve() : new Promise<void>((resolve) => idle.push(resolve))),
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
    },
  };
}

export type MailQueue = ReturnType<typeof createMailQueue>;
