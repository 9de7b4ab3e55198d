import { z } from 'zod';

/**
 * The rules of a new password in the words of every page that sets one (the console, the
 * reset link, the account page): 8 to 1024 characters, as the admin API's schema has it.
 */
export const passwordField = z
  .string()
  .min(8, { message: 'Choose a password of at least 8 characters.' })
  .max(1024, { message: 'A password has at most 1024 characters.' });

/** What is wrong with a new password typed twice, in words; undefined when nothing is. */
export function newPasswordProblem(password: string, confirm: string): string | undefined {
  const parsed = passwordField.safeParse(password);
  if (!parsed.success) return parsed.error.issues[0]!.message;
  return password === confirm ? undefined : 'The two passwords are not the same.';
}
