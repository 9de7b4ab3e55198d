/** The admin API as the CLI sees it: JSON over HTTP with the admin token. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export interface Api {
  call(method: string, path: string, body?: unknown): Promise<any>;
}

/** A body sent as bytes (an upload) rather than as JSON. */
const isRaw = (body: unknown): body is { raw: Buffer; type: string } =>
  typeof body === 'object' && body !== null && Buffer.isBuffer((body as { raw?: unknown }).raw);

export function createApi(baseUrl: string, token: string): Api {
  const root = baseUrl.replace(/\/+$/, '');
  return {
    async call(method, path, body) {
      let response: Response;
      try {
        const raw = isRaw(body) ? body : undefined;
        response = await fetch(`${root}/admin/api${path}`, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            ...(raw ? { 'content-type': raw.type } : body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(raw ? { body: new Uint8Array(raw.raw) } : body === undefined ? {} : { body: JSON.stringify(body) }),
        });
      } catch (err) {
        throw new ApiError(
          0,
          'unreachable',
          `cannot reach ${root}: ${(err as Error).cause instanceof Error ? ((err as Error).cause as Error).message : (err as Error).message}`,
        );
      }
      const text = await response.text();
      const parsed = text ? safeJson(text) : undefined;
      if (!response.ok) {
        const { error, message } = (parsed ?? {}) as { error?: string; message?: string };
        throw new ApiError(response.status, error ?? 'error', message ?? `${response.status} ${response.statusText}`);
      }
      return parsed;
    },
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
