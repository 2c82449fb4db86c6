// `npm run bench [-- --quick] [-- --skip-kernels] [-- --write-results | --no-write-results] [-- --inference-only]`
// The whole benchmark in one invocation, ours side by side with the anchors (../shared/spec/ANCHORS.md):
//   1. kernels: bench/kernels.bench.ts (conv GFLOP/s per layer shape, % of a measured SIMD128 peak, tfjs-wasm);
//   2. generator inference, pytorch-gan preset at full widths: ours vs onnxruntime-web (wasm), onnxruntime-node
//      (native) and PyTorch CPU, all on THE SAME WEIGHTS (ours, exported to safetensors, loaded into PyTorch-GAN's
//      Generator with strict=True, exported to ONNX by torch.onnx.export); outputs checked to agree first;
//   3. the training step at 128x128: ours (BicycleGAN.step) vs PyTorch (python/bicyclegan_torch/models.bicycle_step);
//   4. growth of the generator's cost with image size and batch; peak RSS of every configuration.
// Every runtime of a configuration runs in its own child process; they take turns run by run (bench/lib/turns.ts).
// A missing anchor is reported as skipped with the reason. Writes bench/out/results.{json,md}; a full run also writes bench/RESULTS.{md,json}.
// --inference-only: generator inference at batch 1 only (128 and 256 px, 1 and 2 threads; no kernels, no
// training), a short look that never writes bench/RESULTS.*.
// --only-train B:T[,B:T...]: only the training rows of batch B on T threads (ours and PyTorch), e.g. 1:2; no
// kernels, no inference; never writes bench/RESULTS.*.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build as esbuild } from 'esbuild';
import { torchPython } from '../test/helpers/python.js';
import type { ChildJob, ChildResult, GenRuntime, OrtProfile, TorchStepProfile } from './lib/child.js';
import { machine } from './lib/machine.js';
import { chooseSplit } from '../src/parallel/sync.js';
import { compareOutputs, RUNTIMES, toMarkdown, type Agreement, type KernelsResult, type Measurement, type Report, type Runtime } from './lib/report.js';
import { FULL_POLICY, QUICK_POLICY, type RunPolicy } from './lib/timing.js';
import { rotate, turns as takeTurns, type TurnMember } from './lib/turns.js';

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const inferenceOnly = argv.includes('--inference-only');
const onlyTrain = argv.includes('--only-train') ? argv[argv.indexOf('--only-train') + 1] ?? '' : null;
const skipKernels = argv.includes('--skip-kernels') || inferenceOnly || onlyTrain !== null;
const writeResults = !inferenceOnly && onlyTrain === null && (argv.includes('--write-results') || (!quick && !argv.includes('--no-write-results')));
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = join(root, 'bench', 'out');
const childJs = join(root, 'build', 'bench', 'child.mjs');
const TOL = 1e-4;
const CHECK_N = 2;
const policy: RunPolicy = quick ? QUICK_POLICY : FULL_POLICY;
const t0 = Date.now();
const loadStart = os.loadavg();
const command = `npm run bench${argv.length ? ' -- ' + argv.join(' ') : ''}`;

// `--render FILE`: only re-render the Markdown of an earlier run's JSON (same figures, current renderer)
if (argv.includes('--render')) {
  const file = argv[argv.indexOf('--render') + 1];
  const rep = JSON.parse(readFileSync(file, 'utf8')) as Report;
  rep.rendered = `(Tables rendered again on ${new Date().toISOString()} from the JSON of that run by \`npx tsx bench/run.ts --render <json>\`: every figure is from the run above.)`;
  const md = toMarkdown(rep);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'results.md'), md);
  if (argv.includes('--write-results')) writeFileSync(join(root, 'bench', 'RESULTS.md'), md);
  console.log(md);
  process.exit(0);
}

// ---- the plan ----
interface GenCfg { size: number; batch: number; threads: number }
const genPlan: GenCfg[] = [];
const trainPlan: { batch: number; threads: number }[] = [];
for (const size of quick ? [128] : [128, 256]) for (const batch of [1, 8]) for (const threads of [1, 2]) genPlan.push({ size, batch, threads });
if (quick) genPlan.push({ size: 256, batch: 1, threads: 1 }, { size: 256, batch: 1, threads: 2 });
else genPlan.push({ size: 512, batch: 1, threads: 1 }, { size: 128, batch: 2, threads: 1 }, { size: 128, batch: 4, threads: 1 });
if (quick) trainPlan.push({ batch: 1, threads: 1 }, { batch: 1, threads: 2 }, { batch: 8, threads: 1 });
else {
  for (const batch of [1, 8]) for (const threads of [1, 2]) trainPlan.push({ batch, threads });
  trainPlan.push({ batch: 2, threads: 1 }, { batch: 4, threads: 1 });
}
if (onlyTrain !== null) {
  genPlan.length = 0;
  trainPlan.length = 0;
  for (const bt of onlyTrain.split(',')) {
    const [batch, threads] = bt.split(':').map(Number);
    if (!(Number.isInteger(batch) && batch > 0 && Number.isInteger(threads) && threads > 0)) throw new Error(`--only-train: expected BATCH:THREADS[,...], e.g. 1:2, got ${JSON.stringify(onlyTrain)}`);
    trainPlan.push({ batch, threads });
  }
}
if (inferenceOnly) {
  genPlan.length = 0;
  trainPlan.length = 0;
  for (const size of [128, 256]) for (const threads of [1, 2]) genPlan.push({ size, batch: 1, threads });
}
/** the quick pass times a batch-8 step (about 10 s here) twice after one warm-up step */
const trainPolicy = (batch: number): RunPolicy => (quick && batch >= 8 ? { ...policy, minRuns: 2, maxRuns: 2 } : policy);
const sizes = [...new Set(genPlan.map((g) => g.size))].sort((a, b) => a - b);
const TRAIN_SIZE = 128;

// ---- child processes ----
let seq = 0;
interface ChildOutcome { ok: boolean; res?: ChildResult; error?: string; seq: number }

function runChild(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<ChildOutcome> {
  const n = ++seq;
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      const line = out.split('\n').reverse().find((l) => l.startsWith('@@RESULT '));
      if (code === 0 && line) return resolve({ ok: true, res: JSON.parse(line.slice(9)) as ChildResult, seq: n });
      const why = signal === 'SIGKILL' ? `killed after ${timeoutMs / 1000} s` : `exit ${code ?? signal}`;
      resolve({ ok: false, error: `${why}: ${(err.trim().split('\n').slice(-3).join(' | ') || out.trim().split('\n').slice(-2).join(' | ')).slice(0, 400)}`, seq: n });
    });
    p.on('error', (e) => { clearTimeout(timer); resolve({ ok: false, error: e.message, seq: n }); });
  });
}

const childTimeout = quick ? 300_000 : 600_000;
const node = (job: ChildJob) => runChild(process.execPath, [childJs, JSON.stringify(job)], process.env, childTimeout);

const python = torchPython();
function torchEnv(threads: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: String(threads) };
  delete env.OPENBLAS_CORETYPE; // ANCHORS.md: these cap OpenBLAS (AVX2, cache size): unset for the PyTorch run only
  delete env.OPENBLAS_L2_SIZE;
  // glibc keeps freed blocks instead of unmapping them (and faulting them in again next step): on a VM where a page
  // fault is dear, PyTorch's default took 3.3 s for a batch-1 training step against 0.80 s with these (2026-12-01)
  env.MALLOC_MMAP_THRESHOLD_ = String(1 << 30);
  env.MALLOC_TRIM_THRESHOLD_ = String(2 ** 32);
  return env;
}
const torch = (job: Record<string, unknown>, threads = 1) =>
  python ? runChild(python, [join(root, 'bench', 'lib', 'torch_child.py'), JSON.stringify(job)], torchEnv(threads), childTimeout)
    : Promise.resolve<ChildOutcome>({ ok: false, error: 'no python3 with torch', seq: ++seq });

function npmVersion(pkg: string): string | null {
  try {
    return (JSON.parse(readFileSync(join(root, 'node_modules', pkg, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return null;
  }
}

const log = (s: string) => console.log(`[${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s] ${s}`);
const mb = (kb: number) => kb / 1024;

// ---- 0. setup ----
mkdirSync(outDir, { recursive: true });
const tmp = mkdtempSync(join(os.tmpdir(), 'bicyclegan-bench-'));
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }));
await esbuild({
  entryPoints: [join(root, 'bench', 'lib', 'child.ts')], bundle: true, platform: 'node', format: 'esm', target: 'node20',
  outfile: childJs, external: ['onnxruntime-node', 'onnxruntime-web', 'piscina'], logLevel: 'warning',
});

const notes: string[] = [];
const versions: Record<string, string> = { ours: `bicyclegan-wasm ${(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version}` };
const ortNode = npmVersion('onnxruntime-node'), ortWeb = npmVersion('onnxruntime-web'), tfjs = npmVersion('@tensorflow/tfjs-backend-wasm');
versions['onnxruntime-node'] = ortNode ?? 'not installed';
versions['onnxruntime-web'] = ortWeb ?? 'not installed';
versions['@tensorflow/tfjs-backend-wasm'] = tfjs ?? 'not installed';
const missing: Partial<Record<Runtime, string>> = {};
if (!ortNode) missing['ort-node'] = 'onnxruntime-node is not installed';
if (!ortWeb) missing['ort-web'] = 'onnxruntime-web is not installed';
/** the ISA of PyTorch's oneDNN conv kernels (its info job), for the profile section */
let torchIsa = 'unknown';
if (!python) missing.torch = 'no python3 with torch (Debian: apt-get install python3-torch libopenblas0-openmp)';
else {
  const info = await torch({ mode: 'info' });
  if (info.ok) {
    const i = info.res!.info as { torch: string; blas: string[]; config: string[]; onednn: string };
    torchIsa = i.onednn;
    versions.PyTorch = `${i.torch} (${python}; BLAS mapped: ${i.blas.join(', ') || 'none found'}; ${i.config.join('; ')}; its convolutions oneDNN's, ISA ${i.onednn})`;
    if (!i.blas.some((b) => b.includes('openblas'))) notes.push('PyTorch does not map OpenBLAS here: its figures use whatever BLAS is installed (ANCHORS.md: libopenblas0-openmp).');
  } else missing.torch = `python3 torch failed: ${info.error}`;
}
if (missing.torch) versions.PyTorch = `missing: ${missing.torch}`;
const engineFile = ['ts', 'js'].map((e) => join(root, 'src', 'parallel', `engine.${e}`)).find((f) => existsSync(f));
const oursMulti = engineFile
  ? 'skipped: the training step at this batch does not split over data-parallel workers'
  : 'skipped: data-parallel engine not merged yet';
log(`bench ${quick ? 'quick' : 'full'}; machine ${JSON.stringify(machine())}`);
log(`versions ${JSON.stringify(versions)}`);

// ---- 1. kernels (the existing kernel benchmark, unchanged) ----
let kernels: KernelsResult | { skipped: string } = { skipped: 'not run (--skip-kernels)' };
if (!skipKernels) {
  log('kernels: bench/kernels.bench.ts');
  const code = await new Promise<number | null>((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', join(root, 'bench', 'kernels.bench.ts'), ...(quick ? ['--quick'] : [])], { cwd: root, stdio: 'inherit' });
    p.on('close', resolve);
  });
  const file = join(outDir, 'kernels.json');
  kernels = code === 0 && existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as KernelsResult) : { skipped: `kernels.bench.ts failed (exit ${code})` };
}

// ---- 2. same weights everywhere, outputs agree ----
const measurements: Measurement[] = [];
const agreement: Agreement[] = [];
/** ours: max |inference API - training graph| per size and thread count (the check child compares them) */
const apiAgreement: string[] = [];
/** per size and runtime: why it is not timed (missing, export failed, outputs disagree) */
const blocked = new Map<string, string>();
const key = (size: number, rt: Runtime) => `${size}:${rt}`;
const files = (size: number) => ({ weights: join(tmp, `g${size}.safetensors`), onnx: join(tmp, `g${size}.onnx`) });

function checkInput(size: number): { image: Float32Array; z: Float32Array } {
  // NHWC image[n, y, x, c] = 0.9 sin(0.11 x + 0.07 y + 1.3 c + 0.5 n); z[n, k] = -1.5 + 3 (n L + k) / (N L - 1)
  const C = 3, L = 8, image = new Float32Array(CHECK_N * size * size * C), z = new Float32Array(CHECK_N * L);
  for (let n = 0; n < CHECK_N; n++)
    for (let y = 0; y < size; y++) for (let x = 0; x < size; x++) for (let c = 0; c < C; c++)
      image[((n * size + y) * size + x) * C + c] = 0.9 * Math.sin(0.11 * x + 0.07 * y + 1.3 * c + 0.5 * n);
  for (let i = 0; i < CHECK_N * L; i++) z[i] = -1.5 + (3 * i) / (CHECK_N * L - 1);
  return { image, z };
}

for (const size of sizes) {
  const { weights, onnx } = files(size);
  log(`size ${size}: our weights -> ${weights}`);
  const prep = await node({ mode: 'prep', size, weights, seed: 1, passes: size <= 128 ? 8 : size <= 256 ? 3 : 2 });
  if (!prep.ok) {
    for (const rt of RUNTIMES) blocked.set(key(size, rt), `our weights at ${size} could not be made: ${prep.error}`);
    log(`size ${size}: prep failed: ${prep.error}`);
    continue;
  }
  if (!versions.ours.includes('build')) versions.ours += ` (wasm build ${String(prep.res!.info!.build)}, generator ${String(prep.res!.info!.params)} parameters)`;
  for (const rt of RUNTIMES) if (missing[rt]) blocked.set(key(size, rt), missing[rt]!);
  if (!missing.torch) {
    const ex = await torch({ mode: 'export', size, weights, onnx });
    if (!ex.ok) {
      for (const rt of ['ort-node', 'ort-web'] as const) if (!missing[rt]) blocked.set(key(size, rt), `no ONNX model: torch.onnx.export failed (${ex.error})`);
    }
  } else for (const rt of ['ort-node', 'ort-web'] as const) if (!missing[rt]) blocked.set(key(size, rt), `no ONNX model: it is exported by PyTorch, which is missing (${missing.torch})`);

  const inp = checkInput(size);
  const img = join(tmp, `check${size}.image.f32`), zf = join(tmp, `check${size}.z.f32`);
  writeFileSync(img, new Uint8Array(inp.image.buffer));
  writeFileSync(zf, new Uint8Array(inp.z.buffer));
  const outs = new Map<Runtime, Float32Array>();
  for (const rt of RUNTIMES) {
    if (blocked.has(key(size, rt))) continue;
    const out = join(tmp, `check${size}.${rt}.f32`);
    const check = { image: img, z: zf, out, n: CHECK_N };
    const r = rt === 'torch'
      ? await torch({ mode: 'gen', size, batch: CHECK_N, threads: 1, weights, check }, 1)
      : await node({ mode: 'gen', runtime: rt as GenRuntime, size, batch: CHECK_N, threads: 1, weights, onnx, policy, check });
    if (!r.ok) { blocked.set(key(size, rt), `check run failed: ${r.error}`); continue; }
    const api = r.res?.info?.apiMaxAbs as Record<string, number> | undefined;
    if (api) apiAgreement.push(`${size} px: ${Object.entries(api).map(([t, d]) => `${d.toExponential(1)} on ${t} thread${t === '1' ? '' : 's'}`).join(', ')}`);
    const b = readFileSync(out);
    outs.set(rt, new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)));
  }
  const ref: Runtime = outs.has('torch') ? 'torch' : 'ours';
  for (const rt of RUNTIMES) {
    if (rt === ref || !outs.has(rt) || !outs.has(ref)) continue;
    const a: Agreement = { size, n: CHECK_N, runtime: rt, reference: ref, ...compareOutputs(outs.get(ref)!, outs.get(rt)!, TOL) };
    agreement.push(a);
    log(`agreement ${size}: ${rt} vs ${ref}: max |diff| ${a.maxAbs?.toExponential(2)} (max |ref| ${a.refMaxAbs?.toFixed(3)}) ${a.ok ? 'ok' : 'FAIL'}`);
    if (!a.ok) blocked.set(key(size, rt), `outputs disagree with ${ref} (${a.reason})`);
  }
}

// ---- 3. generator inference: per configuration the runtimes take turns run by run ----
/** How a runtime's child is started for a timed configuration (turns). */
function member(rt: Runtime, job: Record<string, unknown>, threads: number): TurnMember<Runtime> {
  const arg = JSON.stringify({ ...job, turns: true });
  return rt === 'torch'
    ? { key: rt, cmd: python!, args: [join(root, 'bench', 'lib', 'torch_child.py'), arg], env: torchEnv(threads), cwd: root }
    : { key: rt, cmd: process.execPath, args: [childJs, arg], env: process.env, cwd: root };
}

/** Milliseconds between turns: generator runs 400, training steps 100. A runtime's work after its run reported
 * (onnxruntime-web's process, in Node) fell on the next turn: ours at 128 px, one thread, alternating with
 * onnxruntime-web alone read 32-59 ms 100 ms apart (4 of 12 runs over 45) and 34-40 ms 400 ms apart, 2026-12-01. */
const GAP_MS = { gen: 400, train: 100 } as const;

/** The members' turns (bench/lib/turns.ts), GAP_MS apart; outcomes as runChild's. */
async function turns(members: TurnMember<Runtime>[], p: RunPolicy, gapMs: number): Promise<Map<Runtime, ChildOutcome>> {
  const out = await takeTurns(members, p, { timeoutMs: childTimeout, gapMs, seq0: seq + 1 });
  seq += members.length;
  return out as Map<Runtime, ChildOutcome>;
}

function timed(r: ChildOutcome): Partial<Measurement> {
  const t = r.res!.timing!;
  const wall = t.runsMs.reduce((a, b) => a + b, 0);
  return { status: 'ok', medianMs: t.medianMs, runsMs: t.runsMs, warmupMs: t.warmupMs, cpuPerWall: t.cpuMs / wall, maxRssMB: mb(r.res!.maxRssKB) };
}

for (const [i, c] of genPlan.entries()) {
  const order = rotate(RUNTIMES, i), load1 = os.loadavg()[0];
  const { weights, onnx } = files(c.size);
  const outs = await turns(order.filter((rt) => !blocked.has(key(c.size, rt))).map((rt) => member(rt,
    rt === 'torch' ? { mode: 'gen', ...c, weights, policy } : { mode: 'gen', runtime: rt as GenRuntime, ...c, weights, onnx, policy }, c.threads)), policy, GAP_MS.gen);
  for (const rt of order) {
    const base: Measurement = { kind: 'gen', runtime: rt, ...c, status: 'skipped', load1 };
    const r = outs.get(rt), b = blocked.get(key(c.size, rt));
    const m: Measurement = !r ? { ...base, reason: b } : r.ok ? { ...base, ...timed(r), seq: r.seq } : { ...base, status: 'failed', reason: r.error, seq: r.seq };
    measurements.push(m);
    log(`gen ${c.size} b${c.batch} t${c.threads} ${rt.padEnd(8)} ${m.status === 'ok' ? `${m.medianMs!.toFixed(1)} ms (runs ${m.runsMs!.map((x) => x.toFixed(0)).join(' ')}), CPU/wall ${m.cpuPerWall!.toFixed(2)}, RSS ${m.maxRssMB!.toFixed(0)} MiB` : `${m.status}: ${m.reason}`}`);
  }
}

// ---- 4. training step: ours and PyTorch take turns step by step ----
for (const [i, c] of trainPlan.entries()) {
  const order = rotate(['ours', 'torch'] as Runtime[], i), load1 = os.loadavg()[0];
  const skip = new Map<Runtime, string>();
  if (missing.torch) skip.set('torch', missing.torch);
  // the engine's workers: the branch split (batch 1, 2) runs 2, the batch split at most one per row
  if (c.threads > 1 && (!engineFile || (chooseSplit('auto', 'pytorch-gan', c.threads, c.batch) === 'branch' ? 2 : Math.min(c.batch, c.threads)) < c.threads))
    skip.set('ours', engineFile ? `batch ${c.batch} does not split over ${c.threads} data-parallel workers` : oursMulti.replace(/^skipped: /, ''));
  const job = (rt: Runtime) => rt === 'torch'
    ? { mode: 'train', size: TRAIN_SIZE, ...c, policy: trainPolicy(c.batch) }
    : { mode: 'train', size: TRAIN_SIZE, batch: c.batch, workers: c.threads, policy: trainPolicy(c.batch) };
  const outs = await turns(order.filter((rt) => !skip.has(rt)).map((rt) => member(rt, job(rt), c.threads)), trainPolicy(c.batch), GAP_MS.train);
  for (const rt of order) {
    const base: Measurement = { kind: 'train', runtime: rt, size: TRAIN_SIZE, ...c, status: 'skipped', load1 };
    const r = outs.get(rt);
    const res: Measurement = !r ? { ...base, reason: skip.get(rt) } : r.ok ? { ...base, ...timed(r), seq: r.seq } : { ...base, status: 'failed', reason: r.error, seq: r.seq };
    measurements.push(res);
    log(`train ${TRAIN_SIZE} b${c.batch} t${c.threads} ${rt.padEnd(6)} ${res.status === 'ok' ? `${((1000 * c.batch) / res.medianMs!).toFixed(2)} img/s (step ${(res.medianMs! / 1000).toFixed(2)} s), CPU/wall ${res.cpuPerWall!.toFixed(2)}, RSS ${res.maxRssMB!.toFixed(0)} MiB` : `${res.status}: ${res.reason}`}`);
  }
}

// ---- 5. where our time goes (full runs): the per-layer profiles behind the targets ----
let profile: Report['profile'] = { skipped: quick ? 'not run in the quick pass' : 'not run (--inference-only)' };
if (!quick && !inferenceOnly) {
  log('profile: generator layers (inference API, 128 px) and training step layers (batch 1 and 8), 1 thread');
  const r = await node({ mode: 'profile', size: 128, weights: files(128).weights, batches: [1, 8], runs: 15 });
  profile = r.ok && r.res?.profile ? r.res.profile : { skipped: `failed: ${r.error}` };
  if (!('skipped' in profile)) {
    // the anchors' own profilers on the same work, to set beside ours: why a target is missed, layer by layer
    log('profile: onnxruntime-node generator nodes (128 px, 1 thread); PyTorch training step by op class (batch 1 and 8)');
    const why = blocked.get(key(128, 'ort-node')) ?? missing['ort-node'];
    const o = why ? null : await node({ mode: 'ort-profile', size: 128, onnx: files(128).onnx, runs: 25, dir: mkdtempSync(join(tmp, 'ort-')) });
    profile.ortGen = !o ? { skipped: why! } : o.ok ? (o.res!.info as { ortProfile: OrtProfile }).ortProfile : { skipped: `failed: ${o.error}` };
    if (missing.torch) profile.torchTrain = { skipped: missing.torch };
    else {
      const t: TorchStepProfile[] = [];
      for (const batch of [1, 8]) {
        const p = await torch({ mode: 'train-profile', batch, size: TRAIN_SIZE, steps: batch >= 8 ? 2 : 3 });
        if (!p.ok) {
          profile.torchTrain = { skipped: `failed: ${p.error}` };
          break;
        }
        t.push({ ...(p.res!.info as unknown as Omit<TorchStepProfile, 'onednn'>), onednn: torchIsa });
      }
      profile.torchTrain ??= t;
    }
  }
}

// ---- 6. report ----
notes.push(
  'ONNX export: `torch.onnx.export` of PyTorch 1.13 (opset 17, dynamic batch, constant folding) from python/bicyclegan_torch/models.Generator after `load_state_dict(strict=True)` of our weights; torch 1.13 writes the ONNX protobuf itself, so the `onnx` Python package is not needed (and is not installed).',
  'Weights: our Generator initialised from our seeded RNG (PyTorch-GAN init), BN running statistics moved by a few train-mode forwards on random inputs so that eval-mode BatchNorm is not near the identity; the fc layer depends on the image size, so each size has its own weights and ONNX file.',
  'Threads: onnxruntime-node intraOpNumThreads (interOp 1), onnxruntime-web env.wasm.numThreads (worker threads in Node), PyTorch torch.set_num_threads + OMP_NUM_THREADS; ours: generator inference at batch 1 through the inference API (src/infer: f32 weights with BatchNorm folded, packed once at load; on 2 threads its intra-op threads, the output channels of each layer split over the threads, one shared wasm memory; a batch image by image), a batch on 1 thread through the training graph in eval mode (src/models/generator.ts), training on 1 thread or on 2 data-parallel workers (src/parallel: one shard of the batch each; at batch 1 and 2 the branch split, one branch of the step each: cVAE-GAN + D_VAE, cLR-GAN + D_LR).',
  'PyTorch runs from Debian python3-torch with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from its environment only and glibc told to keep freed memory mapped (MALLOC_MMAP_THRESHOLD_=2^30, MALLOC_TRIM_THRESHOLD_=2^32: with the defaults each step unmapped and faulted its buffers in again, which on some VMs made the step 3-4x slower); its training step is python/bicyclegan_torch/models.bicycle_step with its test-only gradient clones turned off (so they cost neither time nor RSS).',
  'Ours: a batch on 1 thread builds the training generator with its training buffers (gradients, Adam state) reserved; the arena zeroes only reused memory, so the buffers inference never writes cost no RSS; every Node child is a plain `node` process running an esbuild bundle (no tsx loader in the RSS).',
);
if (apiAgreement.length) notes.push(`Ours' two paths: the agreement table checks our training graph in eval mode against PyTorch; the timed batch-1 rows run the inference API, which the same check run compares with the training graph on the check batch (max |diff|, limit 1e-5): ${apiAgreement.join('; ')}.`);
const report: Report = {
  command, date: new Date().toISOString(), durationS: (Date.now() - t0) / 1000, quick, machine: machine(), versions,
  policy: { ...policy }, tolerance: TOL,
  onnx: missing.torch ? `none (${missing.torch})` : 'exported from our weights by torch.onnx.export (opset 17), see notes',
  agreement, measurements, kernels, notes, loadStart, loadEnd: os.loadavg(), profile,
};
const md = toMarkdown(report);
writeFileSync(join(outDir, 'results.json'), JSON.stringify(report, null, 2));
writeFileSync(join(outDir, 'results.md'), md);
if (writeResults) {
  writeFileSync(join(root, 'bench', 'RESULTS.md'), md);
  writeFileSync(join(root, 'bench', 'RESULTS.json'), JSON.stringify(report, null, 2));
}
console.log('\n' + md);
log(`wrote ${join(outDir, 'results.json')}, ${join(outDir, 'results.md')}${writeResults ? ', bench/RESULTS.md, bench/RESULTS.json' : ''}`);
