// The parsed request body, set by ./body.ts.
declare module 'koa' {
  interface Request {
    body?: unknown;
  }
}

export {};
