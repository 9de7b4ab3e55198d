// The parsed request body, set by ./body.ts.
declare module 'koa' {
  interface Request {
    body?: unknown;
    /** The files of a multipart form, by field name (./body.ts `multipartBody`). */
    files?: Record<string, Buffer>;
  }
  // The page renderer of ./app.ts, on every request's context.
  interface ExtendableContext {
    render(view: string, locals?: Record<string, unknown>): Promise<void>;
  }
}

export {};
