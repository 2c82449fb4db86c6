// Intra-op threads for one image (src/infer `threads`): the full pytorch-gan generator (seeded weights) on one
// thread and on T, through the inference API.
//   npx tsx bench/infer-threads.bench.ts [--size 128] [--storage f32|f16|int8] [--threads 2] [--runs 9]
// Two figures:
//   1. wall clock: generate() alternately on 1 and T threads, medians and CPU/wall (process CPU time over wall
//      time: near T when the threads really ran side by side, less on a machine shared with other jobs);
//   2. the split, independent of machine load: every op timed alone on this thread (minimum of 7), once whole
//      (the one-thread model) and once per rank share (the T-thread model's calls, run here one rank after the
//      other while the workers wait): total work of the shares, and the critical path (per op, the slowest
//      rank), i.e. what T threads take when each has a core, barriers aside.
import { loadCore, resolveBuild } from '../src/core/load-node.js';
import { BicycleGANInference, convertWeights, type Storage } from '../src/infer/index.js';
import type { Call } from '../src/infer/threads.js';
import { fullWeights } from './infer-model.js';

const args = process.argv.slice(2);
const opt = (k: string, d: string) => (args.includes(k) ? args[args.indexOf(k) + 1] : d);
const size = Number(opt('--size', '128')), storage = opt('--storage', 'f32') as Storage, T = Number(opt('--threads', '2')), runs = Number(opt('--runs', '9'));
const median = (a: number[]) => [...a].sort((p, q) => p - q)[a.length >> 1];
const sum = (a: number[]) => a.reduce((p, q) => p + q, 0);

resolveBuild('relaxed');
const core = await loadCore({ build: 'simd', maxMemoryMB: 4096 });
const weights = convertWeights(fullWeights(core, { size }), { storage });
const one = await BicycleGANInference.create({ weights, build: 'relaxed' });
const many = await BicycleGANInference.create({ weights, build: 'relaxed', threads: T });
if (many.threads !== T) throw new Error(`${T} threads requested, the model runs on ${many.threads}`);
const x = Float32Array.from({ length: size * size * 3 }, (_, i) => Math.sin(i * 0.37)), [z] = one.codes(1, 1);
const a = one.generate(x, z), b = many.generate(x, z);
const same = Buffer.compare(Buffer.from(a.buffer), Buffer.from(b.buffer)) === 0;
console.log(`generator ${size} px, ${storage} weights, relaxed build, 1 vs ${T} threads (outputs ${same ? 'bit-identical' : 'DIFFER'})`);

// 1. wall clock, alternating
const wall: Record<string, number[]> = { 1: [], [T]: [] }, cpu: Record<string, number[]> = { 1: [], [T]: [] };
for (let r = 0; r < runs; r++)
  for (const [n, m] of [[1, one], [T, many]] as const) {
    const c0 = process.cpuUsage(), t0 = performance.now();
    m.generate(x, z);
    const ms = performance.now() - t0, c = process.cpuUsage(c0);
    wall[n].push(ms);
    cpu[n].push((c.user + c.system) / 1000 / ms);
  }
for (const n of [1, T]) console.log(`  ${n} thread${n > 1 ? 's' : ' '}: median ${median(wall[n]).toFixed(1)} ms (runs ${wall[n].map((v) => v.toFixed(0)).join(' ')}), CPU/wall ${median(cpu[n]).toFixed(2)}`);

// 2. the split, op by op on this thread (the T-thread model's per-rank calls: private fields, read for this bench)
const REPS = 7;
const inner = many as unknown as { programs: Call[][][][]; g: { rank0: (() => void)[] } };
const oneOps = (one as unknown as { g: { ops: (() => void)[] } }).g.ops;
const k = many.core.k as unknown as Record<string, (...v: number[]) => void>;
const steps = inner.g.rank0.length, t = Array.from({ length: T }, () => new Array<number>(steps).fill(Infinity));
const t1 = new Array<number>(oneOps.length).fill(Infinity);
for (let rep = 0; rep < REPS; rep++) {
  oneOps.forEach((op, i) => {
    const t0 = performance.now();
    op();
    t1[i] = Math.min(t1[i], performance.now() - t0);
  });
  for (let i = 0; i < steps; i++)
    for (let r = 0; r < T; r++) {
      const t0 = performance.now();
      if (r === 0) inner.g.rank0[i]();
      else for (const [f, ...v] of inner.programs[0][r][i]) k[f](...v);
      t[r][i] = Math.min(t[r][i], performance.now() - t0);
    }
}
const crit = sum(Array.from({ length: steps }, (_, i) => Math.max(...t.map((tr) => tr[i]))));
console.log(`  split (per-op minima of ${REPS}): one thread ${sum(t1).toFixed(1)} ms; the ${T} shares ${sum(t.map(sum)).toFixed(1)} ms of work (per thread ${t.map((r) => sum(r).toFixed(1)).join(' / ')}); critical path ${crit.toFixed(1)} ms = ${(sum(t1) / crit).toFixed(2)}x one thread, ${steps} barriers`);
await many.dispose();
