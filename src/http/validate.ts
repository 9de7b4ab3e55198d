import type { z } from 'zod';
import { AppError } from '../domain/errors.ts';

/** Parses input with a zod schema; the first problem becomes a 400 naming the field. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    throw new AppError('invalid_request', `unknown field: ${[...issue.path, ...issue.keys].join('.')}`);
  }
  const field = issue.path.join('.');
  throw new AppError('invalid_request', field ? `${field}: ${issue.message}` : issue.message);
}

/** A form field holding JSON (a browser's WebAuthn answer): its value, or undefined when it is not JSON. */
export function jsonField(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
