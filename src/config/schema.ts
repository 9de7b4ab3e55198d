import { z } from 'zod';

/**
 * Every option twofold reads, after config/default.yaml, CONFIG_FILE and the environment
 * are merged. Each option is documented in config/default.yaml, next to its default.
 */
const port = z.coerce
  .number({ message: 'an integer from 1 to 65535' })
  .int({ message: 'an integer from 1 to 65535' })
  .min(1, { message: 'an integer from 1 to 65535' })
  .max(65535, { message: 'an integer from 1 to 65535' });

const httpUrl = z.string().refine((value) => /^https?:\/\/[^/?#]+(\/[^?#]*)?$/.test(value) && !value.endsWith('/') && URL.canParse(value), {
  message: 'an http(s) URL without query, fragment or trailing slash',
});

const positiveInt = (what: string, min = 1, max = Number.MAX_SAFE_INTEGER) =>
  z.coerce
    .number({ message: `${what}: an integer from ${min} to ${max}` })
    .int({ message: `${what}: an integer from ${min} to ${max}` })
    .min(min, { message: `${what}: an integer from ${min} to ${max}` })
    .max(max, { message: `${what}: an integer from ${min} to ${max}` });

const hostPort = z.strictObject({ host: z.string().min(1), port });

const booleanLike = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')], {
  message: 'true or false',
});

/**
 * How many proxies stand in front of twofold: `false` (or 0) none, `true` one, or a count.
 * The client address is the one the nearest trusted proxy saw: the rightmost entries of
 * X-Forwarded-For that the trusted proxies wrote, never one the client wrote itself.
 */
const proxyHops = z
  .union([z.boolean(), z.number(), z.string()], { message: 'true, false, or a number of proxies from 0 to 10' })
  .transform((value, ctx) => {
    const hops =
      value === true || value === 'true'
        ? 1
        : value === false || value === 'false'
          ? 0
          : typeof value === 'number'
            ? value
            : /^\d+$/.test(value)
              ? Number(value)
              : NaN;
    if (!Number.isInteger(hops) || hops < 0 || hops > 10) {
      ctx.addIssue({ code: 'custom', message: 'true, false, or a number of proxies from 0 to 10' });
      return z.NEVER;
    }
    return hops;
  });

export const configSchema = z.strictObject({
  port,
  host: z
    .string()
    .regex(/^[0-9A-Za-z.:\-%]{1,255}$/, { message: 'an address or host name to listen on (0.0.0.0, ::, 127.0.0.1, …)' })
    .optional(),
  issuer: httpUrl.optional(),
  trustProxy: proxyHops,
  allowInsecureIssuer: booleanLike,
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
    message: 'one of fatal, error, warn, info, debug, trace, silent',
  }),
  mongodb: z.strictObject({
    uri: z
      .string()
      .regex(/^mongodb(\+srv)?:\/\/.+/, { message: 'a mongodb:// or mongodb+srv:// connection string' })
      .optional(),
    serverSelectionTimeoutMs: positiveInt('milliseconds', 100, 60_000),
    operationTimeoutMs: positiveInt('milliseconds', 100, 60_000),
  }),
  redis: z
    .strictObject({
      url: z
        .string()
        .regex(/^rediss?:\/\/.*/, { message: 'a redis:// or rediss:// URL' })
        .refine((value) => URL.canParse(value), { message: 'a redis:// or rediss:// URL' })
        .optional(),
      keyPrefix: z.string().min(1).max(64),
      sentinels: z.array(hostPort).min(1).optional(),
      sentinelName: z.string().min(1).optional(),
      cluster: z.array(hostPort).min(1).optional(),
      commandTimeoutMs: positiveInt('milliseconds', 100, 60_000),
    })
    .refine((redis) => !(redis.sentinels && redis.cluster), { message: 'sentinels or cluster, not both' })
    .refine((redis) => !redis.sentinels || redis.sentinelName, { message: 'sentinels need sentinelName' }),
  adminToken: z.string().min(32, { message: 'at least 32 characters' }).optional(),
  dataKey: z
    .string()
    .refine(
      (value) =>
        value.split(',').every((key) => /^[A-Za-z0-9+/_-]+=*$/.test(key.trim()) && Buffer.from(key.trim(), 'base64').length === 32),
      { message: 'base64 of 32 bytes (several, comma-separated, to rotate)' },
    )
    .optional(),
  cookieKeys: z
    .string()
    .refine((value) => value.split(',').every((key) => key.trim().length >= 32), {
      message: 'comma-separated keys of at least 32 characters each',
    })
    .optional(),
  password: z.strictObject({
    memoryKiB: positiveInt('KiB, OWASP minimum', 19_456, 4_194_304),
    passes: positiveInt('passes, OWASP minimum', 2, 100),
    parallelism: positiveInt('lanes', 1, 64),
  }),
  http: z.strictObject({
    bodyLimitBytes: positiveInt('bytes', 1024, 10_485_760),
  }),
  audit: z.strictObject({ retentionDays: positiveInt('days', 1, 3650) }),
  console: z.strictObject({ idleMinutes: positiveInt('minutes', 1, 1440), maxHours: positiveInt('hours', 1, 168) }),
  metrics: z.strictObject({ port: port.optional() }),
  rateLimits: z.strictObject({
    perAccount: z.strictObject({ limit: positiveInt('attempts', 1, 100_000), windowSeconds: positiveInt('seconds', 1, 86_400) }),
    perIp: z.strictObject({ limit: positiveInt('attempts', 1, 1_000_000), windowSeconds: positiveInt('seconds', 1, 86_400) }),
  }),
  views: z.strictObject({ dir: z.string().min(1).optional() }).optional(),
  mail: z.strictObject({
    smtpUrl: z
      .string()
      .refine((value) => /^smtps?:\/\/[^\s]+$/.test(value) && URL.canParse(value), { message: 'an smtp:// or smtps:// URL' })
      .optional(),
    // One address, optionally with a display name; never a line break (a header injection).
    from: z
      .string()
      .max(320)
      .refine((value) => !/[\r\n\p{Cc}]/u.test(value) && /^(?:[^<>"]*<[^\s<>@]+@[^\s<>@]+>|[^\s<>@]+@[^\s<>@]+)$/u.test(value.trim()), {
        message: 'an address, like twofold@example.com or "Acme sign-in <id@example.com>", on one line',
      })
      .optional(),
    sendPerSecond: positiveInt('mails a second', 1, 1000),
    retries: positiveInt('retries', 0, 20),
    retryBaseMs: positiveInt('milliseconds', 10, 600_000),
    queueLimit: positiveInt('mails', 10, 1_000_000),
    timeoutMs: positiveInt('milliseconds', 100, 120_000),
  }),
  saml: z
    .strictObject({
      entityId: z.string().min(1).max(1024).optional(),
      keyFile: z.string().min(1).optional(),
      certificateFile: z.string().min(1).optional(),
      nextCertificateFile: z.string().min(1).optional(),
      clockSkewSeconds: positiveInt('seconds', 0, 600),
    })
    .refine((saml) => !saml.keyFile === !saml.certificateFile, { message: 'keyFile and certificateFile go together' })
    .refine((saml) => !saml.nextCertificateFile || saml.keyFile, { message: 'nextCertificateFile needs keyFile and certificateFile' }),
  oidc: z.strictObject({
    ttl: z.strictObject({
      session: positiveInt('seconds'),
      interaction: positiveInt('seconds', 60, 86_400),
      authorizationCode: positiveInt('seconds', 10, 600),
      accessToken: positiveInt('seconds', 60),
      idToken: positiveInt('seconds', 60),
      refreshToken: positiveInt('seconds', 60),
      grant: positiveInt('seconds', 60),
    }),
  }),
});

export type RawConfig = z.infer<typeof configSchema>;
