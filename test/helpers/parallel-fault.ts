// Run by test/parallel.test.ts in a child process: worker 0 of 2 exits during step 1. The step must reject,
// and the process must then exit on its own (no live threads or handles left), with the code set here.
import { createParallelEngine } from '../../src/parallel/engine.js';

const pe = await createParallelEngine({ batch: 3, model: { gBase: 2, eBase: 2, dBase: 2 }, workers: 2, build: 'simd', fault: { worker: 0, step: 1, kind: 'exit' } });
pe.setBatch(new Float32Array(3 * 128 * 128 * 3), new Float32Array(3 * 128 * 128 * 3));
try {
  await pe.step();
  console.log('step succeeded unexpectedly');
} catch (e) {
  console.error((e as Error).message);
  process.exitCode = 3;
}
