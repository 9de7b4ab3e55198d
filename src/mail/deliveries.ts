import nodemailer from 'nodemailer';
import type { OutgoingMail } from '../domain/ports.ts';

/**
 * Delivery through an SMTP server, by nodemailer: STARTTLS when the server offers it on
 * smtp://, TLS from the start on smtps://, certificates checked. Nothing in a mail may
 * reach the file system or fetch a URL (nodemailer's file and URL access are off), and a
 * server that does not answer within `timeoutMs` fails the attempt (the queue retries).
 */
export function smtpDelivery(options: { url: string; from: string; timeoutMs: number }) {
  const url = new URL(options.url);
  const transport = nodemailer.createTransport({
    host: url.hostname,
    port: Number(url.port || (url.protocol === 'smtps:' ? 465 : 587)),
    secure: url.protocol === 'smtps:',
    ...(url.username ? { auth: { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) } } : {}),
    disableFileAccess: true,
    disableUrlAccess: true,
    connectionTimeout: options.timeoutMs,
    greetingTimeout: options.timeoutMs,
    socketTimeout: options.timeoutMs,
  });
  return {
    deliver: async (mail: OutgoingMail) => {
      await transport.sendMail({ from: options.from, to: mail.to, subject: mail.subject, text: mail.text, html: mail.html });
    },
    close: () => transport.close(),
  };
}

/**
 * Embedded mode without a mail server: each mail is printed to the terminal, and the
 * newest ones are kept for the demo's mail page (/demo/mail). Like the embedded stores, it
 * lives in the process and is lost when it stops.
 */
export function terminalDelivery(options: { write: (text: string) => void; keep?: number }) {
  const keep = options.keep ?? 20;
  const kept: (OutgoingMail & { at: Date })[] = [];
  return {
    deliver: async (mail: OutgoingMail) => {
      options.write(`\n  ---- mail to ${mail.to}: ${mail.subject}\n${mail.text.replace(/^/gm, '  | ')}\n  ----\n`);
      kept.unshift({ ...mail, at: new Date() });
      kept.length = Math.min(kept.length, keep);
    },
    /** The newest mails first. */
    list: () => kept.map((mail) => ({ ...mail })),
  };
}
