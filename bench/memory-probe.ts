/**
 * Loaded into a benchmarked node with `--expose-gc --import` (bench/server-process.ts),
 * never into twofold itself: on SIGUSR2 it collects garbage fully, then writes the
 * process's memory use as JSON to the file named by BENCH_MEMORY_FILE.
 */
import { writeFileSync } from 'node:fs';

const gc = (globalThis as { gc?: () => void }).gc;
process.on('SIGUSR2', () => {
  gc?.();
  gc?.();
  writeFileSync(process.env.BENCH_MEMORY_FILE!, JSON.stringify(process.memoryUsage()));
});
