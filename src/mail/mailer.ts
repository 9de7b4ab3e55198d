import type { Config } from '../config/load.ts';
import type { AuditLog, Mailer, OutgoingMail } from '../domain/ports.ts';
import type { Logger } from '../logger.ts';
import { smtpDelivery, terminalDelivery } from './deliveries.ts';
import { createMailQueue, type MailOutcome } from './queue.ts';

/**
 * How this node sends mail: through SMTP_URL when it is set (any mode); printed to the
 * terminal and kept for /demo/mail in embedded mode without it; not at all in production
 * without it (the email features are off, and start-up says so once). Every mail's outcome
 * is a metric and an audit event (its kind and user, never its content); the log has the
 * kind, the outcome and the server's error, never the address or the content.
 */
export function createMailer(deps: {
  config: Config;
  log: Logger;
  audit: AuditLog;
  countMail: (kind: string, outcome: MailOutcome) => void;
  write?: (text: string) => void;
}) {
  const { config, log } = deps;
  const from = config.mail.from ?? `twofold@${new URL(config.issuer).hostname}`;
  const smtp = config.mail.smtpUrl ? smtpDelivery({ url: config.mail.smtpUrl, from, timeoutMs: config.mail.timeoutMs }) : undefined;
  const terminal =
    !smtp && config.mode === 'embedded' ? terminalDelivery({ write: deps.write ?? ((text) => process.stdout.write(text)) }) : undefined;
  const deliver = smtp?.deliver ?? terminal?.deliver;
  if (!deliver) log.warn('email is off: SMTP_URL is not set (no notifications, password reset or email codes)');

  const onOutcome = (mail: OutgoingMail, outcome: MailOutcome, error?: unknown) => {
    deps.countMail(mail.kind, outcome);
    const detail = error instanceof Error ? error.message.slice(0, 200) : undefined;
    if (outcome === 'sent') log.info({ event: 'mail.sent', kind: mail.kind }, 'mail sent');
    else log.warn({ event: `mail.${outcome}`, kind: mail.kind, detail }, 'mail not sent');
    if (outcome === 'retrying') return;
    deps.audit
      .record({
        at: new Date(),
        type: outcome === 'sent' ? 'mail.sent' : 'mail.failed',
        outcome: outcome === 'sent' ? 'success' : 'failure',
        reason: outcome === 'dropped' ? `${mail.kind} (queue full)` : mail.kind,
        ...(mail.userId ? { userId: mail.userId } : {}),
      })
      .catch((err: unknown) => log.warn({ err }, 'mail outcome not written to the audit log'));
  };

  const queue = deliver
    ? createMailQueue({
        deliver,
        sendPerSecond: config.mail.sendPerSecond,
        retries: config.mail.retries,
        retryBaseMs: config.mail.retryBaseMs,
        queueLimit: config.mail.queueLimit,
        onOutcome,
      })
    : undefined;

  const mailer: Mailer = {
    enabled: queue !== undefined,
    send: (mail) => queue?.send(mail),
  };
  return {
    mailer,
    from,
    /** Embedded mode's printed mails, newest first (for /demo/mail); undefined otherwise. */
    outbox: terminal ? () => terminal.list() : undefined,
    /** Resolves once no mail waits. */
    idle: () => queue?.idle() ?? Promise.resolve(),
    close() {
      queue?.close();
      smtp?.close();
    },
  };
}

export type MailService = ReturnType<typeof createMailer>;
