/**
 * The one error type of twofold. `code` is stable (callers switch on it), `status` is the
 * HTTP status it maps to, `expose` says whether `message` may be shown to the client.
 * `detail` is for the log only and never leaves the process.
 */
export const errorCodes = {
  invalid_request: 400,
  sign_in_expired: 400,
  invalid_credentials: 401,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  not_implemented: 501,
  store_unavailable: 503,
  internal: 500,
} as const;

export type ErrorCode = keyof typeof errorCodes;

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly expose: boolean;
  readonly detail: string | undefined;

  constructor(code: ErrorCode, message: string, options: { detail?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = errorCodes[code];
    this.expose = this.status < 500 || code === 'store_unavailable' || code === 'not_implemented';
    this.detail = options.detail;
  }

  // oidc-provider's error handler reads `statusCode`; a store outage must surface as 503
  // there too, not as its generic 500.
  get statusCode(): number {
    return this.status;
  }
}

export function assertThat(condition: unknown, code: ErrorCode, message: string): asserts condition {
  if (!condition) throw new AppError(code, message);
}

export function storeUnavailable(store: string, cause: unknown): AppError {
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new AppError('store_unavailable', 'The service is temporarily unavailable. Please try again shortly.', {
    detail: `${store}: ${reason}`,
    cause,
  });
}

export function isAppError(err: unknown, code?: ErrorCode): err is AppError {
  return err instanceof AppError && (code === undefined || err.code === code);
}
