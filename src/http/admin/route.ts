import type { z } from 'zod';
import type { Actor } from '../../domain/administration.ts';

/**
 * One admin API operation: its address, what it takes and answers (zod schemas), and what
 * it does. The router and the OpenAPI document are both made from the list of these, so
 * no route can be missing from the document.
 */
export interface AdminRoute {
  method: 'get' | 'post' | 'patch' | 'delete';
  /** Koa style: `/users/:id`. */
  path: string;
  summary: string;
  /** Longer words for the documentation, when the summary is not enough. */
  description?: string;
  params?: z.ZodType;
  query?: z.ZodType;
  /** A JSON body. `optional`: the request may also come with no body at all. */
  /** `checkedByService`: the schema documents the body, and the service parses it itself. */
  /** `raw`: the body is bytes of one of these media types (an upload), given to the handler as a Buffer. */
  body?: { schema: z.ZodType; optional?: boolean; limitBytes?: number; checkedByService?: boolean; raw?: readonly string[] };
  /** The success answer: its status, and its schema (none for 204). */
  ok: { status: number; description: string; schema?: z.ZodType };
  /** The error statuses it can answer besides 400, 401 and 503. */
  errors?: readonly number[];
  // Each route's handler parses its own input with its zod schemas first: untyped until then.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  handle(input: { params: any; query: any; body: any; actor: Actor; contentType?: string }): Promise<unknown>;
}

export const route = (definition: AdminRoute): AdminRoute => definition;
