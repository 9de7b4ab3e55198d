/**
 * Loaded into a benchmarked node with `--import` when BENCH_CPU_PROF names a directory
 * (bench/server-process.ts), never into twofold itself: the first SIGWINCH starts a CPU
 * profile of the main thread, the next writes it there (<label>.cpuprofile, the label
 * read from BENCH_CPU_PROF/label), so a profile covers one measured phase only.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';

const dir = process.env.BENCH_CPU_PROF!;
const session = new Session();
session.connect();
let running = false;
process.on('SIGWINCH', () => {
  void (async () => {
    if (!running) {
      running = true;
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: 200 });
      await session.post('Profiler.start');
      return;
    }
    running = false;
    const { profile } = await session.post('Profiler.stop');
    const labelFile = join(dir, 'label');
    const label = existsSync(labelFile) ? readFileSync(labelFile, 'utf8').trim() : 'phase';
    writeFileSync(join(dir, `${label}.cpuprofile`), JSON.stringify(profile));
    writeFileSync(join(dir, `${label}.done`), '');
  })();
});
