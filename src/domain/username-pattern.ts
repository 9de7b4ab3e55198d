/**
 * Turns an admin search pattern into an anchored, case-sensitive regular expression source:
 * `*` matches any run of characters, everything else is literal (as in the gateway's user
 * table search). The result is safe to hand to MongoDB's $regex.
 */
export function usernamePatternSource(pattern: string): string {
  const literal = pattern.split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'));
  return `^${literal.join('.*')}$`;
}
