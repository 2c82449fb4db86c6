// Data-parallel training throughput: images/s of the full BicycleGAN step (pytorch-gan preset; default 128x128,
// batch 8, widths 64) on one thread (LocalEngine, no pool) and on ParallelEngine with 1, 2, ... workers.
// Each configuration runs in its own child process, so its peak RSS is its own; one warm-up step, then the
// median over the timed steps. Scaling efficiency = images/s(W workers) / (W * images/s(1 worker)).
// Inputs are random images in [-1, 1] (the step's cost does not depend on the pixel values).
// Usage: npm run bench:parallel [-- --quick] [-- --workers 1,2,4] [-- --batch 8] [-- --width 64] [-- --size 128]
//        [-- --steps 5] [-- --build simd|relaxed] [-- --no-local]. Writes bench/out/parallel.json.
import { spawnSync } from 'node:child_process';
import { availableParallelism, cpus } from 'node:os';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCore, resolveBuild } from '../src/core/load-node.js';
import { Rng } from '../src/core/rng.js';
import { LocalEngine, type TrainEngine } from '../src/train/engine.js';
import { createParallelEngine } from '../src/parallel/engine.js';

const argv = process.argv.slice(2);
const arg = (name: string, def: string) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : def);
const quick = argv.includes('--quick');
const batch = Number(arg('batch', '8'));
const width = Number(arg('width', '64'));
const size = Number(arg('size', '128'));
const steps = Number(arg('steps', quick ? '2' : '5'));
const build = resolveBuild(arg('build', 'auto') as 'auto');
const here = dirname(fileURLToPath(import.meta.url));
const median = (a: number[]) => { const s = [...a].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

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
}

/** Child: one configuration ('local' or a worker count), prints one JSON line. */
async function child(config: string): Promise<void> {
  const opts = { batch, model: { imageSize: size, gBase: width, eBase: width, dBase: width }, seed: 1 };
  const t0 = performance.now();
  let engine: TrainEngine;
  let shared: () => number | null = () => null;
  if (config === 'local') engine = new LocalEngine(await loadCore({ build }), opts);
  else {
    const pe = await createParallelEngine({ ...opts, workers: Number(config), build });
    engine = pe;
    shared = () => pe.memoryBytes / 2 ** 20;
  }
  const startS = (performance.now() - t0) / 1000;
  const rng = new Rng(5), n = batch * size * size * 3;
  const a = new Float32Array(n), b = new Float32Array(n);
  rng.fillUniform(a, -1, 1);
  rng.fillUniform(b, -1, 1);
  engine.setBatch(a, b);
  await engine.step(); // warm-up: tier-up of the wasm code, first touch of the memory
  const stepS: number[] = [];
  const cpu0 = process.cpuUsage(), wall0 = performance.now();
  for (let s = 0; s < steps; s++) {
    const t = performance.now();
    await engine.step();
    stepS.push((performance.now() - t) / 1000);
  }
  const cpu = process.cpuUsage(cpu0), cpuS = (cpu.user + cpu.system) / 1e6, wallS = (performance.now() - wall0) / 1000;
  const med = median(stepS);
  const r: Result = {
    config, workers: config === 'local' ? 1 : Number(config), stepS, medianStepS: med, imagesPerS: batch / med, startS,
    peakRssMB: process.resourceUsage().maxRSS / 1024, sharedMemoryMB: shared(), cpuPerStepS: cpuS / steps, coresUsed: cpuS / wallS,
  };
  await engine.close();
  console.log(JSON.stringify(r));
}

async function main(): Promise<void> {
  const workers = arg('workers', '1,2').split(',').map(Number);
  const configs = [...(argv.includes('--no-local') ? [] : ['local']), ...workers.map(String)];
  const self = fileURLToPath(import.meta.url);
  console.log(`parallel training benchmark: ${size}x${size}, batch ${batch}, widths ${width}, build ${build}, ${steps} timed steps after 1 warm-up`);
  console.log(`machine: ${availableParallelism()} CPUs (${cpus()[0]?.model ?? '?'}), Node ${process.version}`);
  const results: Result[] = [];
  for (const c of configs) {
    const r = spawnSync(process.execPath, [...process.execArgv, self, ...argv, '--child', c], { encoding: 'utf8', maxBuffer: 1 << 24 });
    const line = r.stdout.trim().split('\n').pop() ?? '';
    if (r.status !== 0 || !line.startsWith('{')) {
      console.error(`config ${c} failed (exit ${r.status}):\n${r.stderr}`);
      process.exitCode = 1;
      continue;
    }
    const res = JSON.parse(line) as Result;
    results.push(res);
    console.log(`  ${c === 'local' ? 'one thread (LocalEngine)' : `${c} worker${c === '1' ? '' : 's'}`}: median step ${res.medianStepS.toFixed(2)} s ` +
      `(${res.stepS.map((s) => s.toFixed(2)).join(', ')}), ${res.imagesPerS.toFixed(2)} images/s, start ${res.startS.toFixed(1)} s, CPU ${res.cpuPerStepS.toFixed(2)} s/step on ${res.coresUsed.toFixed(2)} cores, peak RSS ${res.peakRssMB.toFixed(0)} MB` +
      (res.sharedMemoryMB !== null ? `, shared wasm memory ${res.sharedMemoryMB.toFixed(0)} MB` : ''));
  }
  const one = results.find((r) => r.config === '1');
  const local = results.find((r) => r.config === 'local');
  const rows = results.filter((r) => r.config !== 'local').map((r) => ({
    workers: r.workers, imagesPerS: r.imagesPerS,
    speedup: one ? r.imagesPerS / one.imagesPerS : null,
    efficiency: one ? r.imagesPerS / (r.workers * one.imagesPerS) : null,
    vsLocal: local ? r.imagesPerS / local.imagesPerS : null,
    cpuOverhead: one ? r.cpuPerStepS / one.cpuPerStepS : null,
    coresUsed: r.coresUsed,
  }));
  // CPU seconds per step relative to 1 worker: the parallel overhead (sync, reduction, idle spinning) apart from
  // how many cores the machine actually gave us; cores used < workers means the OS ran us on fewer cores
  console.log('\n  workers  images/s  speedup vs 1 worker  efficiency  vs one thread  cores used  CPU/step vs 1 worker');
  for (const r of rows)
    console.log(`  ${String(r.workers).padStart(7)}  ${r.imagesPerS.toFixed(2).padStart(8)}  ${(r.speedup?.toFixed(2) ?? '-').padStart(19)}  ${(r.efficiency !== null ? (100 * r.efficiency).toFixed(0) + '%' : '-').padStart(10)}  ${(r.vsLocal?.toFixed(2) ?? '-').padStart(13)}  ${r.coresUsed.toFixed(2).padStart(10)}  ${(r.cpuOverhead?.toFixed(2) ?? '-').padStart(20)}`);
  const two = rows.find((r) => r.workers === 2);
  if (two?.speedup) console.log(`\n  target (ANCHORS.md): 2 workers >= 1.8x one worker: ${two.speedup.toFixed(2)}x ${two.speedup >= 1.8 ? 'met' : 'NOT met'}`);
  mkdirSync(join(here, 'out'), { recursive: true });
  writeFileSync(join(here, 'out', 'parallel.json'), JSON.stringify({ size, batch, width, build, steps, cpus: availableParallelism(), node: process.version, results, rows }, null, 2));
}

if (argv.includes('--child')) await child(arg('child', '1'));
else await main();
