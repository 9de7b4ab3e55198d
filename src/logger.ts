import pino, { type Logger } from 'pino';

// Lines are gathered up to this many bytes before one write to standard output, and
// written at least this often: a busy node makes one write for many requests, a quiet one
// shows its lines within a quarter of a second.
const BUFFER_BYTES = 4096;
const FLUSH_MS = 250;

/**
 * Structured JSON logs. Nothing secret is logged on purpose; the redaction list is the net
 * under that rule for fields that could carry a credential if someone logged them.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'twofold' },
      redact: {
        paths: [
          'password',
          '*.password',
          'code',
          '*.code',
          'secret',
          '*.secret',
          'token',
          '*.token',
          'headers.authorization',
          'headers.cookie',
        ],
        censor: '[redacted]',
      },
    },
    destination ?? bufferedStdout(),
  );
}

/** Standard output, written asynchronously in batches (see BUFFER_BYTES). */
function bufferedStdout() {
  const stream = pino.destination({ fd: 1, sync: false, minLength: BUFFER_BYTES });
  setInterval(() => stream.flush(), FLUSH_MS).unref();
  return stream;
}

export type { Logger };
