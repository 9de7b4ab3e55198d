import pino, { type Logger } from 'pino';

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
    destination ?? pino.destination({ fd: 1, sync: false }),
  );
}

export type { Logger };
