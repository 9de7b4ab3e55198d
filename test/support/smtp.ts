import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** A mail as the receiving server parsed it. */
export interface ReceivedMail {
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
  headers: ParsedMail['headers'];
}

/**
 * A real SMTP server (the Nodemailer project's smtp-server) on a free port of this machine,
 * keeping each mail it receives, parsed. `refuse` makes it answer every mail with a
 * temporary failure (a server that is down for mail), `delayMs` makes it slow to accept.
 */
export async function startSmtpServer() {
  const mails: ReceivedMail[] = [];
  const state = { refuse: false, delayMs: 0, attempts: 0 };
  const waiters: { ready: () => boolean; resolve: () => void }[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    async onData(stream, session, callback) {
      state.attempts++;
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      if (state.delayMs) await new Promise((resolve) => setTimeout(resolve, state.delayMs));
      if (state.refuse) return callback(Object.assign(new Error('try again later'), { responseCode: 451 }));
      const parsed = await simpleParser(Buffer.concat(chunks));
      mails.push({
        from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
        to: session.envelope.rcptTo.map((r) => r.address),
        subject: parsed.subject ?? '',
        text: parsed.text ?? '',
        html: typeof parsed.html === 'string' ? parsed.html : '',
        headers: parsed.headers,
      });
      for (const waiter of waiters.filter((w) => w.ready())) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
      callback();
    },
  });
  const until = (ready: () => boolean, missing: () => string, timeoutMs: number) =>
    ready()
      ? Promise.resolve()
      : new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(missing())), timeoutMs);
          waiters.push({ ready, resolve: () => (clearTimeout(timer), resolve()) });
        });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    state,
    /** Resolves once `count` mails have arrived in all (fails after `timeoutMs`). */
    received(count: number, timeoutMs = 20_000) {
      return until(
        () => mails.length >= count,
        () => `${mails.length} of ${count} mails arrived`,
        timeoutMs,
      );
    },
    /** The `nth` (1 = first) mail that `match` accepts, once it has arrived (fails after `timeoutMs`). */
    async arrival(match: (mail: ReceivedMail) => boolean, nth = 1, timeoutMs = 20_000): Promise<ReceivedMail> {
      const matching = () => mails.filter(match);
      await until(
        () => matching().length >= nth,
        () => `${matching().length} of ${nth} matching mails arrived`,
        timeoutMs,
      );
      return matching()[nth - 1]!;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
