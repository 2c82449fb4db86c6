// Run by test/signals.test.ts in a child process (real signals, sent to itself).
//   blocked <out>: the first SIGTERM is answered (abort), then a second SIGTERM arrives while the main thread is
//     blocked for 20 s: the process must end at once by the default action (never print "survived").
//   step <data> <out>: training with the CLI's stop signals; a SIGINT sent at the end of step 2 must stop the run
//     within one step although prefetched batches are always ready; prints the result as JSON.
import { stopOnSignals } from '../../src/cli/signals.js';
import { train } from '../../src/train/trainer.js';

const [mode, a, b] = process.argv.slice(2);
const log = (s: string) => process.stderr.write(s + '\n');
const turn = () => new Promise<void>((r) => setImmediate(r));

if (mode === 'blocked') {
  const stop = stopOnSignals(log);
  process.kill(process.pid, 'SIGTERM');
  await new Promise<void>((r) => stop.signal.addEventListener('abort', () => r()));
  await turn();
  await turn();
  console.log(`armed listeners=${process.listenerCount('SIGTERM')}`);
  process.kill(process.pid, 'SIGTERM');
  const t0 = Date.now();
  while (Date.now() - t0 < 20_000); // a step that blocks the main thread
  console.log('survived');
} else if (mode === 'step') {
  const stop = stopOnSignals(log);
  const r = await train(
    { data: a, out: b, batch: 1, steps: 40, prefetch: 4, sampleEvery: 0, checkpointEvery: 0, gBase: 2, eBase: 2, dBase: 2, workers: 1, build: 'simd' },
    { signal: stop.signal, onEvent: (e) => e.type === 'step' && e.step === 2 && process.kill(process.pid, 'SIGINT') },
  );
  stop.dispose();
  console.log(JSON.stringify({ steps: r.steps, stopped: r.stopped, checkpoint: r.checkpoint, received: stop.received }));
}
