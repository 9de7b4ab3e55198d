/**
 * Username search patterns: `*` matches any run of characters, every other character only
 * itself, case-sensitive (as in the gateway's user table). Matched without regular
 * expressions, by the greedy two-pointer method: a failed match backs up only to the last
 * `*`, so the work is at most the product of the two lengths, never exponential whatever
 * the pattern (`*a*a*a*a*a*b` against a long name included).
 */
export function globMatch(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let star = -1;
  let resume = 0;
  while (t < text.length) {
    if (p < pattern.length && pattern[p] !== '*' && pattern[p] === text[t]) {
      p++;
      t++;
    } else if (p < pattern.length && pattern[p] === '*') {
      star = p++;
      resume = t;
    } else if (star !== -1) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (pattern[p] === '*') p++;
  return p === pattern.length;
}

/** The characters every match starts with: the pattern up to its first `*`. */
export const literalPrefix = (pattern: string): string => pattern.split('*', 1)[0]!;

/**
 * Whether a user is one a list asks for: the username matches the pattern (case-sensitive,
 * `*` wildcards), the username, email or name contains the text (ignoring case), and the
 * user is exempt when only exempt users are asked for.
 */
export function userMatches(
  query: { pattern?: string | undefined; contains?: string | undefined; exempt?: boolean | undefined },
  user: { username: string; email?: string | undefined; name?: string | undefined; mfa: { exempt: boolean } },
): boolean {
  if (query.exempt !== undefined && user.mfa.exempt !== query.exempt) return false;
  if (query.pattern !== undefined && !globMatch(query.pattern, user.username)) return false;
  if (query.contains !== undefined) {
    const text = query.contains.toLowerCase();
    return [user.username, user.email, user.name].some((value) => value !== undefined && value.toLowerCase().includes(text));
  }
  return true;
}
