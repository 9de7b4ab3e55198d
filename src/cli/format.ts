/** An aligned plain-text table: a header row and one row per record. */
export function table(columns: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const cells = [columns, ...rows.map((row) => row.map((cell) => (cell === null || cell === undefined ? '-' : String(cell))))];
  const widths = columns.map((_, i) => Math.max(...cells.map((row) => (row[i] as string).length)));
  return cells
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : (cell as string).padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** A record as aligned `key: value` lines; nested objects flattened with dots. */
export function record(value: Record<string, unknown>): string {
  const lines: [string, string][] = [];
  const walk = (prefix: string, node: unknown) => {
    if (node && typeof node === 'object' && !Array.isArray(node)) {
      for (const [key, child] of Object.entries(node)) walk(prefix ? `${prefix}.${key}` : key, child);
    } else {
      lines.push([prefix, node === null || node === undefined ? '-' : Array.isArray(node) ? node.join(', ') : String(node)]);
    }
  };
  walk('', value);
  const width = Math.max(0, ...lines.map(([key]) => key.length));
  return lines.map(([key, text]) => `${`${key}:`.padEnd(width + 1)} ${text}`).join('\n');
}
