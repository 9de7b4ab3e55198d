import type { Context, Next } from 'koa';
import { AppError } from '../domain/errors.ts';
import './koa-augment.ts';

/**
 * Reads a JSON or form body into `ctx.request.body`, at most `limit` bytes (413 past it).
 * Form fields stay flat strings: `username[$ne]=x` is a field literally named
 * "username[$ne]", which the route's strict schema then rejects, so no operator object can
 * ever reach a query. A repeated form field is refused rather than silently picked.
 */
export function bodyParser({ limit, accept }: { limit: number; accept: readonly ('json' | 'form')[] }) {
  return async (ctx: Context, next: Next) => {
    const length = Number(ctx.get('content-length') || 0);
    if (length > limit) throw tooLarge(limit);
    const type = ctx.is('application/json', 'application/x-www-form-urlencoded');
    const kind = type === 'application/json' ? 'json' : type === 'application/x-www-form-urlencoded' ? 'form' : null;
    if (!kind || !accept.includes(kind)) {
      const names = accept.map((k) => (k === 'json' ? 'application/json' : 'application/x-www-form-urlencoded'));
      throw new AppError('unsupported_media_type', `send the body as ${names.join(' or ')}`);
    }
    const text = await readText(ctx, limit);
    ctx.request.body = kind === 'json' ? parseJson(text) : parseForm(text);
    await next();
  };
}

const tooLarge = (limit: number) =>
  new AppError(
    'payload_too_large',
    `What was sent is longer than this service accepts (${Math.round(limit / 1024)} kB). Go back and send less.`,
  );

async function readBytes(ctx: Context, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

const readText = async (ctx: Context, limit: number) => (await readBytes(ctx, limit)).toString('utf8');

/** An upload: the body's bytes as a Buffer in `ctx.request.body`, sent as one of `types`, at most `limit` bytes. */
export function rawBody(types: readonly string[], limit: number) {
  return async (ctx: Context, next: Next) => {
    if (Number(ctx.get('content-length') || 0) > limit) throw tooLarge(limit);
    if (!ctx.is(...types)) throw new AppError('unsupported_media_type', `send the body as ${types.join(', ')}`);
    ctx.request.body = await readBytes(ctx, limit);
    await next();
  };
}

/**
 * A form with a file (multipart/form-data), parsed by Node's own fetch implementation:
 * the text fields as flat strings in `ctx.request.body` (a repeated one refused), the files
 * in `ctx.request.files`. At most `limit` bytes in all.
 */
export function multipartBody(limit: number) {
  return async (ctx: Context, next: Next) => {
    if (Number(ctx.get('content-length') || 0) > limit) throw tooLarge(limit);
    if (!ctx.is('multipart/form-data')) throw new AppError('unsupported_media_type', 'send the form as multipart/form-data');
    const bytes = await readBytes(ctx, limit);
    let form: FormData;
    try {
      form = await new Request('http://form.invalid/', {
        method: 'POST',
        headers: { 'content-type': ctx.get('content-type') },
        body: new Uint8Array(bytes),
      }).formData();
    } catch {
      throw new AppError('invalid_request', 'the form could not be read');
    }
    const fields: Record<string, string> = Object.create(null);
    const files: Record<string, Buffer> = Object.create(null);
    for (const [name, value] of form as unknown as Iterable<[string, string | Blob]>) {
      if (Object.hasOwn(fields, name) || Object.hasOwn(files, name)) throw new AppError('invalid_request', `the field ${name} is repeated`);
      if (typeof value === 'string') fields[name] = value;
      else files[name] = Buffer.from(await value.arrayBuffer());
    }
    ctx.request.body = { ...fields };
    ctx.request.files = { ...files };
    await next();
  };
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new AppError('invalid_request', 'the body is not valid JSON');
  }
}

function parseForm(text: string): Record<string, string> {
  const fields: Record<string, string> = Object.create(null);
  for (const [name, value] of new URLSearchParams(text)) {
    if (Object.hasOwn(fields, name)) throw new AppError('invalid_request', `the field ${name} is repeated`);
    fields[name] = value;
  }
  return { ...fields };
}

/** For actions that take no input: an empty request, or a JSON body (which must then be `{}`). */
export function emptyOrJson(limit: number) {
  const json = bodyParser({ limit, accept: ['json'] });
  return async (ctx: Context, next: Next) => {
    const empty = !ctx.get('content-type') && !ctx.get('transfer-encoding') && Number(ctx.get('content-length') || 0) === 0;
    if (!empty) return json(ctx, next);
    ctx.request.body = {};
    await next();
  };
}
