/**
 * Reads a CPU profile written by the node (BENCH_CPU_PROF=dir on any benchmark, or
 * node --cpu-prof) and prints where the main thread's busy time went: by package or
 * source file, and the functions with the most time of their own.
 * Run: node bench/profile-summary.ts <file.cpuprofile> [how many functions]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, top = '25'] = process.argv.slice(2);
if (!file) throw new Error('usage: node bench/profile-summary.ts <file.cpuprofile> [how many functions]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

/** The package (node_modules/<name>), this project's file, or the runtime's part a frame belongs to. */
function placeOf(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native)';
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return modules[1]!;
  if (url.startsWith('node:')) return url;
  const own = /\/(src|bench|test)\/(.*)$/.exec(url);
  return own ? `${own[1]}/${own[2]}` : url;
}

const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
/** The nearest package or source file up the stack: who the runtime's work was done for. */
function ownerOf(id: number): string {
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const { url, functionName } = byId.get(at)!.callFrame;
    const place = placeOf(url, functionName);
    if (!place.startsWith('node:') && !place.startsWith('(')) return place;
  }
  return placeOf(byId.get(id)!.callFrame.url, byId.get(id)!.callFrame.functionName);
}

const byOwner = new Map<string, number>();
const byPlace = new Map<string, number>();
const byFunction = new Map<string, number>();
let busy = 0;
for (const [id, us] of selfUs) {
  const { callFrame } = byId.get(id)!;
  if (callFrame.functionName === '(idle)') continue;
  busy += us;
  const place = placeOf(callFrame.url, callFrame.functionName);
  byPlace.set(place, (byPlace.get(place) ?? 0) + us);
  const owner = ownerOf(id);
  byOwner.set(owner, (byOwner.get(owner) ?? 0) + us);
  const fn = `${callFrame.functionName || '(anonymous)'} ${place}:${callFrame.lineNumber + 1}`;
  byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
}
const share = (us: number) => `${((100 * us) / busy).toFixed(1).padStart(5)} %`;
console.log(`busy ${(busy / 1e6).toFixed(2)} s of the main thread`);
console.log('by place:');
for (const [place, us] of [...byPlace].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`  ${share(us)}  ${place}`);
console.log("by owner (the runtime's work counted to the package or file that asked for it):");
for (const [owner, us] of [...byOwner].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log(`  ${share(us)}  ${owner}`);
console.log('by function (self time):');
for (const [fn, us] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) console.log(`  ${share(us)}  ${fn}`);
