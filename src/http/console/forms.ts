import { z } from 'zod';
import { REMEMBER_DAYS_MAX } from '../../domain/remembered-devices.ts';
import { isAppError } from '../../domain/errors.ts';
import { factorKinds } from '../../domain/factors.ts';

/** A form's problems, each on its field, in words for the person who typed it. */
export type FieldErrors = Record<string, string>;

/** What a console form re-displays: the values typed, and every problem at once. */
export interface FormState {
  values: Record<string, string>;
  errors: FieldErrors;
  /** A problem that belongs to no one field. */
  error?: string | undefined;
}

/**
 * Parses a console form with a schema whose messages are already sentences. Every
 * problem is kept, on the form field its path starts with (`redirect_uris.2` is the
 * `redirect_uris` field); the first message of a field wins.
 */
export function parseForm<S extends z.ZodType>(
  schema: S,
  input: unknown,
  fieldOf: (path: string) => string = (path) => path.split('.')[0]!,
): { ok: true; data: z.infer<S> } | { ok: false; errors: FieldErrors } {
  const result = schema.safeParse(input);
  if (result.success) return { ok: true, data: result.data };
  const errors: FieldErrors = {};
  for (const issue of result.error.issues) {
    const field = fieldOf(issue.path.map(String).join('.')) || 'form';
    errors[field] ??= issue.message;
  }
  return { ok: false, errors };
}

/**
 * A refusal of the service (a taken name, the engine's check of an application) as a form
 * problem: on a field when its message names one (`client_id: …`), else for the form.
 */
export function serviceProblem(err: unknown, fields: Record<string, string>): { errors: FieldErrors; error?: string } | undefined {
  if (!isAppError(err) || err.status >= 500) return undefined;
  const match = /^([\w.]+): (.+)$/.exec(err.message);
  const field = match ? (fields[match[1]!] ?? fields[match[1]!.split('.')[0]!]) : undefined;
  if (match && field) return { errors: { [field]: sentence(match[2]!) } };
  return { errors: {}, error: sentence(err.message) };
}

/** A message as a sentence: capital first, full stop last. */
export const sentence = (text: string) => {
  const trimmed = text.trim();
  const capital = trimmed.charAt(0).toUpperCase() + trimmed.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
};

/** A whole number typed in a form: empty is undefined, anything not a whole number stays text (the schema then refuses it). */
export const wholeNumber = (value: string | undefined): number | string | undefined => {
  const text = value?.trim() ?? '';
  if (text === '') return undefined;
  return /^-?\d{1,15}$/.test(text) ? Number(text) : text;
};

/** A number field of a console schema: one sentence for any problem. */
export const numberField = (min: number, max: number, words: string) =>
  z.number({ message: words }).int({ message: words }).min(min, { message: words }).max(max, { message: words });

/** A form's text fields as strings (what a re-displayed form shows). */
export const typed = (body: unknown): Record<string, string> =>
  Object.fromEntries(Object.entries((body ?? {}) as Record<string, unknown>).filter(([, v]) => typeof v === 'string')) as Record<
    string,
    string
  >;

/** The second factors an application accepts, as one choice of the form: all that are on, or one. */
export const factorChoices = [
  { value: '', label: 'Every factor switched on in the settings' },
  { value: 'totp', label: 'Authenticator app only' },
  { value: 'email', label: 'Codes by email only' },
  { value: 'webauthn', label: 'Security keys and passkeys only (phishing-resistant)' },
];
export const factorsField = z.enum(['', ...factorKinds], { message: 'Choose the accepted second factors from the list.' });

/** "Don't ask again on this device" of an application: days, empty or 0 for never. */
export const rememberDaysField = numberField(
  0,
  REMEMBER_DAYS_MAX,
  `Enter a number of days from 0 to ${REMEMBER_DAYS_MAX}, or leave it empty.`,
);

/** The form's value for a stored `mfa_factors`: one factor, or '' for all. */
export const factorsValue = (factors: unknown): string => (Array.isArray(factors) && factors.length === 1 ? String(factors[0]) : '');

/** A stored `mfa_factors` in words. */
export const factorsWords = (factors: unknown): string =>
  factorChoices.find((choice) => choice.value === factorsValue(factors))?.label ?? factorChoices[0]!.label;
