// Data-parallel training throughput: images/s of the full BicycleGAN step (pytorch-gan preset; default 128x128,
// batch 8, widths 64) on one thread (LocalEngine, no pool) and on ParallelEngine with 1, 2, ... workers.
// Each configuration runs in its own child process, so its peak RSS is its own; one warm-up step, then the
// median over the timed steps. Scaling efficiency = images/s(W workers) / (W * images/s(1 worker)).
// Configurations run in rounds (--rounds, default 3), interleaved, and speedups are medians of within-round
// ratios: a shared machine's slow spells (seen here: the same configuration 4.75 to 5.72 s a step within minutes)
// then hit the compared configurations alike.
// Inputs are random images in [-1, 1] (the step's cost does not depend on the pixel values).
// Usage: npm run bench:parallel [-- --quick] [-- --workers 1,2,4] [-- --batch 8] [-- --width 64] [-- --size 128]
//        [-- --steps 3] [-- --rounds 3] [-- --build simd|relaxed] [-- --no-local] [-- --no-control]
//        [-- --split auto|batch|branch] [-- --out FILE]. Writes bench/out/parallel.json unless --out names another file.
// The control (skip it with --no-control) runs W independent one-thread processes on the shards at once: the
// machine's own ceiling for W workers, apart from anything our synchronisation costs.
import { spawn } from 'node:child_process';
import { availableParallelism, cpus } from 'node:os';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCore, resolveBuild } from '../src/core/load-node.js';
import { Rng } from '../src/core/rng.js';
import { LocalEngine, type TrainEngine } from '../src/train/engine.js';
import { createParallelEngine, type ParallelEngine } from '../src/parallel/engine.js';
import type { WorkerStepStats } from '../src/parallel/protocol.js';
import { shardRows } from '../src/parallel/sync.js';
import { median } from './lib/timing.js';

const argv = process.argv.slice(2);
const arg = (name: string, def: string) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : def);
const quick = argv.includes('--quick');
const batch = Number(arg('batch', '8'));
const width = Number(arg('width', '64'));
const size = Number(arg('size', '128'));
const steps = Number(arg('steps', quick ? '2' : '3'));
const build = resolveBuild(arg('build', 'auto') as 'auto');
/** how the workers split the step (ParallelEngineOptions.split): auto is branch at batch 1, else batch */
const split = arg('split', 'auto') as 'auto' | 'batch' | 'branch';
const here = dirname(fileURLToPath(import.meta.url));

interface Result {
  config: string;
  workers: number;
  stepS: number[];
  medianStepS: number;
  imagesPerS: number;
  startS: number;
  peakRssMB: number;
  sharedMemoryMB: number | null;
  /** CPU seconds (all threads of the process) per timed step, and CPU seconds / wall seconds */
  cpuPerStepS: number;
  coresUsed: number;
  /** ParallelEngine: per worker (by rank), mean over the timed steps of its task time, barrier waits and update */
  workerStats?: WorkerStepStats[];
}

/** Child: one configuration ('local' or a worker count), prints one JSON line. */
async function child(config: string): Promise<void> {
  const opts = { batch, model: { imageSize: size, gBase: width, eBase: width, dBase: width }, seed: 1 };
  const t0 = performance.now();
  let engine: TrainEngine;
  let pe: ParallelEngine | null = null;
  if (config === 'local') engine = new LocalEngine(await loadCore({ build }), opts);
  else engine = pe = await createParallelEngine({ ...opts, workers: Number(config), build, split });
  const startS = (performance.now() - t0) / 1000;
  const rng = new Rng(5), n = batch * size * size * 3;
  const a = new Float32Array(n), b = new Float32Array(n);
  rng.fillUniform(a, -1, 1);
  rng.fillUniform(b, -1, 1);
  engine.setBatch(a, b);
  await engine.step(); // warm-up: tier-up of the wasm code, first touch of the memory
  const stepS: number[] = [];
  const stats: WorkerStepStats[] = [];
  const cpu0 = process.cpuUsage(), wall0 = performance.now();
  for (let s = 0; s < steps; s++) {
    const t = performance.now();
    await engine.step();
    stepS.push((performance.now() - t) / 1000);
    for (const w of pe?.lastStepStats ?? []) {
      const acc = (stats[w.rank] ??= { rank: w.rank, rows: w.rows, taskMs: 0, barriers: 0, waitMs: 0, updateMs: 0 });
      acc.taskMs += w.taskMs / steps;
      acc.barriers += w.barriers / steps;
      acc.waitMs += w.waitMs / steps;
      acc.updateMs += w.updateMs / steps;
    }
  }
  const cpu = process.cpuUsage(cpu0), cpuS = (cpu.user + cpu.system) / 1e6, wallS = (performance.now() - wall0) / 1000;
  const med = median(stepS);
  const r: Result = {
    config, workers: config === 'local' ? 1 : Number(config), stepS, medianStepS: med, imagesPerS: batch / med, startS,
    peakRssMB: process.resourceUsage().maxRSS / 1024, sharedMemoryMB: pe ? pe.memoryBytes / 2 ** 20 : null, cpuPerStepS: cpuS / steps, coresUsed: cpuS / wallS,
    ...(pe ? { workerStats: stats } : {}),
  };
  await engine.close();
  console.log(JSON.stringify(r));
}

/** argv for a child: this run's flags with `over` replacing theirs (e.g. --batch for a shard). */
function childArgs(config: string, over: Record<string, string> = {}): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].startsWith('--') ? argv[i].slice(2) : null;
    if (name !== null && name in over) i++; // skip the flag and its value
    else out.push(argv[i]);
  }
  for (const [k, v] of Object.entries(over)) out.push(`--${k}`, v);
  return [...process.execArgv, fileURLToPath(import.meta.url), ...out, '--child', config];
}

function parse(c: string, status: number | null, stdout: string, stderr: string): Result | null {
  // a failed configuration is reported and the run goes on; the exit code says so at the end
  const line = stdout.trim().split('\n').pop() ?? '';
  if (status === 0 && line.startsWith('{')) return JSON.parse(line) as Result;
  console.error(`config ${c} failed (exit ${status}):\n${stderr}`);
  process.exitCode = 1;
  return null;
}

/** Physical cores and threads per core as Linux reports them (/sys topology), or null elsewhere. Two workers on
 * SMT siblings of one core share its FMA units: expect about 1.2x, not 2x, for this FMA-bound code. */
function topology(): { cores: number; threadsPerCore: number } | null {
  const dir = '/sys/devices/system/cpu';
  if (!existsSync(dir)) return null;
  const sets = new Set<string>();
  for (const d of readdirSync(dir).filter((n) => /^cpu\d+$/.test(n))) {
    const f = join(dir, d, 'topology', 'thread_siblings_list');
    if (existsSync(f)) sets.add(readFileSync(f, 'utf8').trim());
  }
  return sets.size ? { cores: sets.size, threadsPerCore: availableParallelism() / sets.size } : null;
}

/** Run a child configuration in the background; resolves with its result (null when it failed). */
function runChild(label: string, config: string, over: Record<string, string> = {}): Promise<Result | null> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, childArgs(config, over), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => resolve(parse(label, code, out, err)));
  });
}

/** One measurement of a configuration: the images/s of its median step, and what the children reported. */
interface Sample {
  imagesPerS: number;
  results: Result[];
}

/** The machine's own ceiling for W workers: W independent one-thread processes, each on its shard's rows, run
 * at the same time (no synchronisation at all). Their slowest median step is the best a W-worker step can do
 * here: it includes what sharing the memory system and the clock (turbo, SMT siblings) costs. */
async function independent(W: number): Promise<Sample | null> {
  const res = await Promise.all(shardRows(batch, W).map((rows) => runChild(`control ${W} x batch ${rows}`, 'local', { batch: String(rows) })));
  if (res.some((r) => r === null)) return null;
  const results = res as Result[];
  return { imagesPerS: batch / Math.max(...results.map((r) => r.medianStepS)), results };
}

const label = (c: string) => (c === 'local' ? 'one thread (LocalEngine)' : c.startsWith('control') ? `control: ${c.slice(8)} independent one-thread processes at once (no sync)` : `${c} worker${c === '1' ? '' : 's'}`);

function describe(c: string, smp: Sample): string {
  const r = smp.results;
  if (c.startsWith('control'))
    return `${label(c)}: median steps ${r.map((x) => `${x.medianStepS.toFixed(2)} s (${Math.round(x.imagesPerS * x.medianStepS)} rows)`).join(', ')}: ${smp.imagesPerS.toFixed(2)} images/s`;
  const res = r[0];
  const lines = [`${label(c)}: median step ${res.medianStepS.toFixed(2)} s (${res.stepS.map((s) => s.toFixed(2)).join(', ')}), ${res.imagesPerS.toFixed(2)} images/s, ` +
    `start ${res.startS.toFixed(1)} s, CPU ${res.cpuPerStepS.toFixed(2)} s/step on ${res.coresUsed.toFixed(2)} cores, peak RSS ${res.peakRssMB.toFixed(0)} MB` +
    (res.sharedMemoryMB !== null ? `, shared wasm memory ${res.sharedMemoryMB.toFixed(0)} MB` : '')];
  for (const w of res.workerStats ?? [])
    lines.push(`      worker ${w.rank} (${w.rows} rows): task ${w.taskMs.toFixed(0)} ms, waiting at ${w.barriers.toFixed(0)} barriers ${w.waitMs.toFixed(0)} ms ` +
      `(${((100 * w.waitMs) / w.taskMs).toFixed(1)}%), gradient reduction + Adam ${w.updateMs.toFixed(0)} ms`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const workers = arg('workers', '1,2').split(',').map(Number);
  const rounds = Number(arg('rounds', quick ? '1' : '3'));
  // the control shards the rows: nothing to compare with at batch 1 or with the branch split
  const controls = argv.includes('--no-control') || batch === 1 || split === 'branch' ? [] : workers.filter((w) => w > 1 && w <= availableParallelism());
  const configs = [...(argv.includes('--no-local') ? [] : ['local']), ...workers.map(String), ...controls.map((w) => `control ${w}`)];
  console.log(`parallel training benchmark: ${size}x${size}, batch ${batch}, widths ${width}, build ${build}, split ${split}; ${rounds} round(s) of every configuration, ` +
    `each ${steps} timed steps after 1 warm-up in its own process`);
  const topo = topology();
  console.log(`machine: ${availableParallelism()} CPUs (${cpus()[0]?.model ?? '?'}${topo ? `; ${topo.cores} cores x ${topo.threadsPerCore} threads per core as the OS sees them` : ''}), Node ${process.version}`);
  // rounds interleave the configurations, so a slow spell of a shared machine hits all of them alike; ratios are
  // taken within a round and their median reported
  const samples = new Map<string, (Sample | null)[]>(configs.map((c) => [c, []]));
  for (let round = 0; round < rounds; round++) {
    if (rounds > 1) console.log(`round ${round + 1}/${rounds}`);
    for (const c of configs) {
      let smp: Sample | null;
      if (c.startsWith('control')) smp = await independent(Number(c.slice(8)));
      else {
        const r = await runChild(c, c);
        smp = r && { imagesPerS: r.imagesPerS, results: [r] };
      }
      samples.get(c)!.push(smp);
      if (smp) console.log(`  ${describe(c, smp)}`);
    }
  }
  const ratio = (a: string, b: string): number | null => {
    const rs = (samples.get(a) ?? []).flatMap((x, i) => { const y = samples.get(b)?.[i]; return x && y ? [x.imagesPerS / y.imagesPerS] : []; });
    return rs.length ? median(rs) : null;
  };
  const ips = (c: string): number | null => { const v = (samples.get(c) ?? []).flatMap((x) => (x ? [x.imagesPerS] : [])); return v.length ? median(v) : null; };
  const results = (c: string): Result[] => (samples.get(c) ?? []).flatMap((x) => (x ? x.results : []));
  const rows = workers.filter((w) => samples.get(String(w))?.some((x) => x)).map((w) => {
    const c = String(w), r = results(c), one = results('1');
    const speedup = ratio(c, '1');
    return {
      workers: w, imagesPerS: ips(c)!, speedup, efficiency: speedup !== null ? speedup / w : null, vsLocal: ratio(c, 'local'),
      coresUsed: median(r.map((x) => x.coresUsed)),
      // CPU seconds per step relative to 1 worker: the parallel overhead (sync, reduction, slower cores) apart from
      // how many cores the machine actually gave us; cores used < workers means the OS ran us on fewer cores
      cpuOverhead: one.length ? median(r.map((x) => x.cpuPerStepS)) / median(one.map((x) => x.cpuPerStepS)) : null,
      /** speedup of the independent processes over 1 worker (what the machine allows), and ours as a share of it */
      ceiling: controls.includes(w) ? ratio(`control ${w}`, '1') : null,
      ofCeiling: controls.includes(w) ? ratio(c, `control ${w}`) : null,
      peakRssMB: Math.max(...r.map((x) => x.peakRssMB)),
    };
  });
  const f = (x: number | null, d = 2) => (x === null ? '-' : x.toFixed(d));
  const pc = (x: number | null) => (x === null ? '-' : `${(100 * x).toFixed(0)}%`);
  console.log(`\n  medians over ${rounds} round(s); ratios are medians of within-round ratios`);
  console.log('  workers  images/s  speedup vs 1 worker  efficiency  vs one thread  cores used  CPU/step vs 1 worker  machine ceiling  of ceiling  peak RSS MB');
  for (const r of rows)
    console.log(`  ${String(r.workers).padStart(7)}  ${r.imagesPerS.toFixed(2).padStart(8)}  ${f(r.speedup).padStart(19)}  ${pc(r.efficiency).padStart(10)}  ${f(r.vsLocal).padStart(13)}  ` +
      `${r.coresUsed.toFixed(2).padStart(10)}  ${f(r.cpuOverhead).padStart(20)}  ${(r.ceiling !== null ? f(r.ceiling) + 'x' : '-').padStart(15)}  ${pc(r.ofCeiling).padStart(10)}  ${r.peakRssMB.toFixed(0).padStart(11)}`);
  if (ips('local') !== null) console.log(`  one thread (LocalEngine): ${f(ips('local'))} images/s, peak RSS ${results('local')[0].peakRssMB.toFixed(0)} MB`);
  const two = rows.find((r) => r.workers === 2);
  if (two?.speedup) console.log(`\n  target (ANCHORS.md): 2 workers >= 1.8x one worker: ${two.speedup.toFixed(2)}x ${two.speedup >= 1.8 ? 'met' : 'NOT met'}` +
    (two.vsLocal !== null ? ` (${two.vsLocal.toFixed(2)}x the one-thread LocalEngine)` : '') + (two.ceiling !== null ? `; the machine's ceiling: ${two.ceiling.toFixed(2)}x` : ''));
  const out = arg('out', join(here, 'out', 'parallel.json'));
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify({ size, batch, width, build, steps, rounds, cpus: availableParallelism(), topology: topo, node: process.version, samples: Object.fromEntries(samples), rows }, null, 2));
}

if (argv.includes('--child')) await child(arg('child', '1'));
else await main();
