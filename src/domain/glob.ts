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
