// The parsed request body, set by ./body.ts.
declare module 'koa' {
  interface Request {
    body?: unknown;
  }
  // The page renderer of ./app.ts, on every request's context.
  interface ExtendableContext {
    render(view: string, locals?: Record<string, unknown>): Promise<void>;
  }
}

export {};
