/**
 * The Node.js twofold runs on. Older ones fail in ways that say nothing useful (the
 * password hashing library crashes the process on Node 20), so start-up checks first, with
 * nothing else loaded yet.
 */
export const REQUIRED_NODE_MAJOR = 22;

/** One line saying what is needed, or undefined when `version` (e.g. `20.20.2`) will do. */
export function unsupportedNode(version: string): string | undefined {
  const major = Number(/^v?(\d+)\./.exec(version)?.[1]);
  if (major >= REQUIRED_NODE_MAJOR) return undefined;
  return `twofold needs Node.js ${REQUIRED_NODE_MAJOR} or later, and this is Node.js ${version}. Start it with \`npm start\`, which runs it on the Node.js ${REQUIRED_NODE_MAJOR} that \`npm install\` brings, or install Node.js ${REQUIRED_NODE_MAJOR}.`;
}
