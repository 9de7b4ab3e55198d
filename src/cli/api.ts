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

export function createApi(baseUrl: string, token: string): Api {
  const root = baseUrl.replace(/\/+$/, '');
  return {
    async call(method, path, body) {
      let response: Response;
      try {
        response = await fetch(`${root}/admin/api${path}`, {
          method,
          headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
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
