// The benchmark report: its JSON shape, the output-agreement check and the Markdown rendering (bench/RESULTS.md).
// Pure functions (no I/O), unit-tested in test/bench-report.test.ts.

import type { ProfileResult } from './child.js';

export type Runtime = 'ours' | 'ort-web' | 'ort-node' | 'torch';
export const RUNTIMES: Runtime[] = ['ours', 'ort-web', 'ort-node', 'torch'];
export const RUNTIME_LABEL: Record<Runtime, string> = {
  ours: 'ours (wasm)',
  'ort-web': 'onnxruntime-web (wasm)',
  'ort-node': 'onnxruntime-node (native)',
  torch: 'PyTorch CPU',
};

export interface Measurement {
  kind: 'gen' | 'train';
  runtime: Runtime;
  size: number;
  batch: number;
  /** threads (inference) or workers (our training) */
  threads: number;
  status: 'ok' | 'skipped' | 'failed';
  reason?: string;
  /** median ms per call (one call = one batch) and every timed run */
  medianMs?: number;
  runsMs?: number[];
  warmupMs?: number[];
  /** CPU time of the process over the timed runs / their wall time: the cores it really kept busy */
  cpuPerWall?: number;
  /** 1-minute load average of the machine when the configuration started */
  load1?: number;
  /** peak RSS of the child process that ran this configuration, MiB */
  maxRssMB?: number;
  /** order in which the configuration ran (alternation is visible here) */
  seq?: number;
}

export interface Agreement {
  size: number;
  /** images in the check batch */
  n: number;
  runtime: Runtime;
  /** the runtime compared against */
  reference: Runtime;
  /** max |out - ref| over all outputs, max |ref|, and maxAbs / max|ref| */
  maxAbs?: number;
  refMaxAbs?: number;
  maxRel?: number;
  ok: boolean;
  reason?: string;
}

export interface KernelRow {
  name: string; kind: 'conv' | 'deconv'; shape: string; count: number; gflop: number;
  fwd: number; bwdIn: number; bwdW: number; tfjs: number | null;
  /** the forward on weights packed once (conv rows; absent in older runs) */
  fwdPacked?: number | null;
  /** <= 64 output pixels or <= 4 output channels (absent in older runs) */
  tiny?: boolean;
  /** each pass as a fraction of the peak probed beside each of its timed runs (the median of the per-run ratios;
   * absent in older runs, which are rated against the run's one peak) */
  ofPeak?: { fwd: number; fwdPacked: number | null; bwdIn: number; bwdW: number };
}

/** A row's passes as fractions of the peak: of the peak probed beside them where measured, else of `peak`. */
export function kernelFractions(r: KernelRow, peak: number): { fwd: number; fwdPacked: number | null; bwdIn: number; bwdW: number } {
  if (r.ofPeak) return r.ofPeak;
  return { fwd: r.fwd / peak, fwdPacked: r.fwdPacked ? r.fwdPacked / peak : null, bwdIn: r.bwdIn / peak, bwdW: r.bwdW / peak };
}

/** The kernel target of one kernel table row: every pass at >= 70% of the measured peak (kernelFractions) or, for a tiny layer
 * (<= 64 output pixels or <= 4 output channels: weight-bound, or too narrow for the 8-wide tiles), its best
 * forward (on weights packed once where measured: tfjs-backend-wasm keeps its packed weights too) faster than
 * tfjs-backend-wasm's forward (the anchor has no backward passes). */
export function kernelTarget(r: KernelRow, peak: number): { met: boolean; text: string } {
  const f = kernelFractions(r, peak);
  if (Math.min(Math.max(f.fwd, f.fwdPacked ?? 0), f.bwdIn, f.bwdW) >= 0.7) return { met: true, text: 'yes (>= 70% of peak)' };
  const fwd = Math.max(r.fwd, r.fwdPacked ?? 0);
  if (r.tiny && r.tfjs && fwd > r.tfjs) return { met: true, text: `yes (tiny, ${(fwd / r.tfjs).toFixed(2)}x tfjs)` };
  return { met: false, text: 'no' };
}
export interface KernelsResult {
  /** passes over the rows (each figure the better of them; absent in older runs: one) */
  passes?: number;
  peak: number;
  peaks: Record<string, number>;
  build: string;
  tfjs: string | null;
  rows: KernelRow[];
  totals: Record<'conv' | 'deconv', Record<'fwd' | 'bwdIn' | 'bwdW' | 'tfjs', number>>;
}

export interface Machine {
  cpu: string;
  /** logical cores the OS reports (os.availableParallelism) */
  cores: number;
  memoryGB: number;
  node: string;
  platform: string;
  v8: string;
}

export interface Report {
  command: string;
  date: string;
  durationS: number;
  quick: boolean;
  machine: Machine;
  /** versions of ours and of every anchor (or why it is missing) */
  versions: Record<string, string>;
  policy: Record<string, unknown>;
  /** agreement tolerance on outputs in [-1, 1] (tanh): max absolute difference */
  tolerance: number;
  onnx: string;
  agreement: Agreement[];
  measurements: Measurement[];
  kernels: KernelsResult | { skipped: string };
  notes: string[];
  /** machine load averages (1, 5, 15 min) at the start and at the end of the run */
  loadStart: number[];
  loadEnd: number[];
  /** set when the Markdown was rendered again from this JSON (`bench/run.ts --render`) */
  rendered?: string;
  /** where our time goes (full runs): generator layers through the inference API, training step layers */
  profile?: ProfileResult | { skipped: string };
}

/** Compare out with ref elementwise. A NaN anywhere fails. */
export function compareOutputs(ref: Float32Array, out: Float32Array, tol: number): Pick<Agreement, 'maxAbs' | 'refMaxAbs' | 'maxRel' | 'ok' | 'reason'> {
  if (ref.length !== out.length) return { ok: false, reason: `output has ${out.length} values, the reference ${ref.length}` };
  let maxAbs = 0, refMax = 0, bad = 0;
  for (let i = 0; i < ref.length; i++) {
    const d = Math.abs(out[i] - ref[i]);
    if (!(d <= maxAbs)) maxAbs = Number.isNaN(d) ? NaN : Math.max(maxAbs, d);
    if (Number.isNaN(d)) bad++;
    refMax = Math.max(refMax, Math.abs(ref[i]));
  }
  if (bad) return { ok: false, maxAbs: NaN, refMaxAbs: refMax, maxRel: NaN, reason: `${bad} NaN outputs` };
  const ok = maxAbs <= tol;
  return { ok, maxAbs, refMaxAbs: refMax, maxRel: refMax > 0 ? maxAbs / refMax : 0, ...(ok ? {} : { reason: `max |diff| ${maxAbs.toExponential(2)} > ${tol}` }) };
}

// ---- Markdown ----

const fmtMs = (ms: number | undefined) => (ms === undefined ? '-' : ms >= 100 ? ms.toFixed(0) : ms >= 10 ? ms.toFixed(1) : ms.toFixed(2));
const fmtX = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '-' : `${x.toFixed(2)}x`);
const fmtCpu = (m: Measurement | undefined) => (m?.status === 'ok' && m.cpuPerWall !== undefined ? m.cpuPerWall.toFixed(2) : '-');
const fmtMB = (mb: number | undefined) => (mb === undefined ? '-' : mb.toFixed(0));

export function find(r: Report, kind: Measurement['kind'], runtime: Runtime, size: number, batch: number, threads: number): Measurement | undefined {
  return r.measurements.find((m) => m.kind === kind && m.runtime === runtime && m.size === size && m.batch === batch && m.threads === threads);
}

/** Cell text of one measurement: the value, or `skipped [n]` / `failed [n]` with a footnote number. */
function cell(m: Measurement | undefined, value: (m: Measurement) => string, notes: string[]): string {
  if (!m) return 'n/m';
  if (m.status === 'ok') return value(m);
  const text = `${m.status}: ${m.reason ?? '?'}`;
  let i = notes.indexOf(text);
  if (i < 0) i = notes.push(text) - 1;
  return `${m.status} [${i + 1}]`;
}

const ok = (m: Measurement | undefined): m is Measurement & { medianMs: number } => !!m && m.status === 'ok' && m.medianMs !== undefined;
/** how many times faster ours is than the anchor (anchor time / our time), same run */
const speedup = (ours: Measurement | undefined, anchor: Measurement | undefined) => (ok(ours) && ok(anchor) ? anchor.medianMs / ours.medianMs : undefined);

/** The ANCHORS.md targets this bench can measure: generator inference (1 and 2 threads, 128 and 256 px, batch 1)
 * against onnxruntime-node and -web, training images/s and peak RSS against PyTorch, the kernel table (every row
 * by kernelTarget). A target whose figure is
 * missing (a configuration skipped or failed) is `null`: not measured, so not met. */
export function targetRows(r: Report): { target: string; figure: string; met: boolean | null }[] {
  const rows: { target: string; figure: string; met: boolean | null }[] = [];
  const add = (target: string, x: number | undefined, min: number, what: string) =>
    rows.push({ target, figure: x === undefined ? `${what}: not measured` : `${what} ${x.toFixed(2)}x`, met: x === undefined ? null : x >= min });
  for (const size of [128, 256]) {
    if (!r.measurements.some((x) => x.kind === 'gen' && x.size === size)) continue;
    const g = (rt: Runtime, t: number) => find(r, 'gen', rt, size, 1, t);
    add(`generator ${size} px, batch 1, 1 thread: >= 1.0x onnxruntime-node`, speedup(g('ours', 1), g('ort-node', 1)), 1, 'ort-node / ours');
    add(`generator ${size} px, batch 1, 1 thread: >= 3x onnxruntime-web`, speedup(g('ours', 1), g('ort-web', 1)), 3, 'ort-web / ours');
    add(`generator ${size} px, batch 1, 2 threads: >= 1.0x onnxruntime-node on 2 threads`, speedup(g('ours', 2), g('ort-node', 2)), 1, 'ort-node / ours');
  }
  const train = r.measurements.filter((x) => x.kind === 'train');
  if (train.length) {
    const size = train[0].size;
    const t = (rt: Runtime, b: number, th: number) => find(r, 'train', rt, size, b, th);
    add('training, batch 8, 1 thread: >= 1.3x PyTorch images/s', speedup(t('ours', 8, 1), t('torch', 8, 1)), 1.3, 'ours / PyTorch');
    add('training, batch 8, 2 threads: >= 1.3x PyTorch images/s', speedup(t('ours', 8, 2), t('torch', 8, 2)), 1.3, 'ours / PyTorch');
    add('training, batch 1, 1 thread: >= 1.5x PyTorch images/s', speedup(t('ours', 1, 1), t('torch', 1, 1)), 1.5, 'ours / PyTorch');
    add('training, batch 1, 2 threads: >= 1.2x PyTorch images/s', speedup(t('ours', 1, 2), t('torch', 1, 2)), 1.2, 'ours / PyTorch');
    const rss = train.filter((x) => x.runtime === 'ours' && x.status === 'ok' && x.maxRssMB).map((o) => {
      const p = find(r, 'train', 'torch', size, o.batch, o.threads);
      return p?.status === 'ok' && p.maxRssMB ? o.maxRssMB! / p.maxRssMB : undefined;
    }).filter((x): x is number => x !== undefined);
    const worst = rss.length ? Math.max(...rss) : undefined;
    rows.push({ target: 'training peak RSS <= 0.8x PyTorch\'s, same batch (every measured row)', figure: worst === undefined ? 'not measured' : `worst ours / PyTorch ${worst.toFixed(2)}`, met: worst === undefined ? null : worst <= 0.8 });
  }
  if (!('skipped' in r.kernels) && r.kernels.rows.length) {
    const k = r.kernels, miss = k.rows.filter((x) => !kernelTarget(x, k.peak).met).map((x) => x.name);
    rows.push({ target: 'every kernel table row >= 70% of the measured peak, or (tiny layers) faster than tfjs-backend-wasm',
      figure: `${k.rows.length - miss.length} of ${k.rows.length} rows${miss.length ? `; not: ${miss.join(', ')}` : ''}`, met: miss.length === 0 });
  }
  return rows;
}

/** CPU ms per run (the process's CPU time over its timed runs / runs), where the CPU share was measured */
export const cpuPerRun = (x: Measurement | undefined): number | undefined =>
  x && ok(x) && x.cpuPerWall !== undefined && x.runsMs?.length ? x.cpuPerWall * (x.runsMs.reduce((a, b) => a + b, 0) / x.runsMs.length) : undefined;
const cpu = cpuPerRun;

const uniq = <T>(a: T[]) => [...new Set(a)].sort((x, y) => (x as number) - (y as number));

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

export function toMarkdown(r: Report): string {
  const notes: string[] = [];
  const out: string[] = [];
  const m = r.machine;
  out.push('# Benchmark results');
  out.push('');
  out.push(`Produced by \`${r.command}\` on ${r.date} (${(r.durationS / 60).toFixed(1)} min${r.quick ? ', quick pass' : ''}).`);
  out.push('');
  out.push(`Machine: ${m.cpu}, ${m.cores} logical cores, ${m.memoryGB.toFixed(0)} GB RAM, ${m.platform}, Node ${m.node} (V8 ${m.v8}).`);
  out.push('');
  out.push(`Machine load (load average 1/5/15 min): ${r.loadStart.map((x) => x.toFixed(2)).join('/')} at the start, ${r.loadEnd.map((x) => x.toFixed(2)).join('/')} at the end; \`CPU/wall\` columns give the cores each process really kept busy during its timed runs (below its thread count: it waited for a core, shared with other processes, or idled).`);
  out.push('');
  if (Math.max(r.loadStart[0] ?? 0, r.loadEnd[0] ?? 0) > m.cores)
    out.push(`**The machine was shared during this run** (1-minute load average above its ${m.cores} cores): wall-clock figures are inflated and noisy, most of all the multi-thread ones (spinning threads waiting for a core). The CPU/wall columns show how much CPU each process got; the single-thread comparison by CPU time below is the load-robust one.`, '');
  if (r.rendered) out.push(r.rendered, '');
  out.push('Versions: ' + Object.entries(r.versions).map(([k, v]) => `${k} ${v}`).join('; ') + '.');
  out.push('');
  out.push(`Method: every runtime of a configuration runs in its own child process (its peak RSS is its own); the processes are warmed up one after another and once more in turn, then take turns run by run (one run of each per round, order rotating per round, 400 ms apart for the generator, 100 ms for training steps), so a slow spell of the host falls on all of them alike; each figure is the median of the timed runs after warm-up (policy ${JSON.stringify(r.policy)}); every ratio is between figures of this one run. Float32 everywhere. ONNX model: ${r.onnx}`);
  out.push('');

  // agreement
  out.push('## Output agreement (checked before timing)');
  out.push('');
  out.push(`Generator eval-mode outputs (tanh, in [-1, 1]) on the same deterministic batch; tolerance: max |diff| <= ${r.tolerance}. A runtime that fails is not timed.`);
  out.push('');
  out.push(table(['size', 'images', 'runtime', 'vs', 'max abs diff', 'max abs of reference', 'relative', 'agrees'],
    r.agreement.map((a) => [String(a.size), String(a.n), RUNTIME_LABEL[a.runtime], RUNTIME_LABEL[a.reference],
      a.maxAbs === undefined ? '-' : a.maxAbs.toExponential(2), a.refMaxAbs === undefined ? '-' : a.refMaxAbs.toFixed(3),
      a.maxRel === undefined ? '-' : a.maxRel.toExponential(2), a.ok ? 'yes' : `no: ${a.reason ?? ''}`])));
  out.push('');

  // generator inference
  const gens = r.measurements.filter((x) => x.kind === 'gen');
  const mainGen = uniq(gens.map((x) => x.size)).flatMap((s) => uniq(gens.filter((x) => x.size === s).map((x) => x.batch)).flatMap((b) =>
    uniq(gens.filter((x) => x.size === s && x.batch === b).map((x) => x.threads)).map((t) => [s, b, t] as const)));
  out.push('## Generator inference (pytorch-gan preset, full widths, eval mode)');
  out.push('');
  out.push('Median ms per batch; `x` columns = anchor time / our time (above 1: ours is faster). Peak RSS in MiB.');
  out.push('');
  out.push(table(['size', 'batch', 'threads', 'ours ms', 'ort-web ms', 'ort-node ms', 'PyTorch ms', 'vs ort-web', 'vs ort-node', 'vs PyTorch', 'RSS ours', 'RSS ort-web', 'RSS ort-node', 'RSS PyTorch', 'CPU/wall ours, web, node, torch'],
    mainGen.map(([s, b, t]) => {
      const f = (rt: Runtime) => find(r, 'gen', rt, s, b, t);
      const ms = (rt: Runtime) => cell(f(rt), (x) => fmtMs(x.medianMs), notes);
      const rss = (rt: Runtime) => cell(f(rt), (x) => fmtMB(x.maxRssMB), notes);
      return [`${s}`, `${b}`, `${t}`, ms('ours'), ms('ort-web'), ms('ort-node'), ms('torch'),
        fmtX(speedup(f('ours'), f('ort-web'))), fmtX(speedup(f('ours'), f('ort-node'))), fmtX(speedup(f('ours'), f('torch'))),
        rss('ours'), rss('ort-web'), rss('ort-node'), rss('torch'), RUNTIMES.map((rt) => fmtCpu(f(rt))).join(', ')];
    })));
  out.push('');

  // training
  const trains = r.measurements.filter((x) => x.kind === 'train');
  if (trains.length) {
    const keys = uniq(trains.map((x) => x.batch)).flatMap((b) => uniq(trains.filter((x) => x.batch === b).map((x) => x.threads)).map((t) => [b, t] as const));
    const size = trains[0].size;
    out.push(`## Training step (${size}x${size}, full BicycleGAN step: both branches, both discriminators, Adam)`);
    out.push('');
    out.push('Images per second (batch / median step time); threads = our workers / torch.set_num_threads. `ours / PyTorch` > 1: ours trains faster.');
    out.push('');
    out.push(table(['batch', 'threads', 'ours img/s', 'PyTorch img/s', 'ours / PyTorch', 'ours s/step', 'PyTorch s/step', 'RSS ours MiB', 'RSS PyTorch MiB', 'RSS ours / PyTorch', 'CPU/wall ours, torch'],
      keys.map(([b, t]) => {
        const o = find(r, 'train', 'ours', size, b, t), p = find(r, 'train', 'torch', size, b, t);
        const ips = (x: Measurement) => ((1000 * b) / x.medianMs!).toFixed(2);
        const sps = (x: Measurement) => (x.medianMs! / 1000).toFixed(2);
        return [`${b}`, `${t}`, cell(o, ips, notes), cell(p, ips, notes), fmtX(speedup(o, p)), cell(o, sps, notes), cell(p, sps, notes),
          cell(o, (x) => fmtMB(x.maxRssMB), notes), cell(p, (x) => fmtMB(x.maxRssMB), notes),
          o?.maxRssMB && p?.maxRssMB && o.status === 'ok' && p.status === 'ok' ? (o.maxRssMB / p.maxRssMB).toFixed(2) : '-',
          `${fmtCpu(o)}, ${fmtCpu(p)}`];
      })));
    out.push('');
  }

  // the targets of ../shared/spec/ANCHORS.md, each met or not by this run's figures
  const targets = targetRows(r);
  if (targets.length) {
    out.push('## Targets (shared/spec/ANCHORS.md)');
    out.push('');
    out.push('Each target against this run\'s figures (wall-clock medians; ratios above 1: ours is faster, RSS ratios below 1: ours uses less).');
    out.push('');
    out.push(table(['target', 'figure', 'met'], targets.map((t) => [t.target, t.figure, t.met === null ? 'not measured' : t.met ? 'yes' : 'no'])));
    out.push('');
  }

  // single-thread figures by CPU time
  const single = r.measurements.filter((x) => x.threads === 1 && ok(x) && x.cpuPerWall !== undefined);
  if (single.length) {
    out.push('## Single-thread figures by CPU time (less sensitive to machine load)');
    out.push('');
    out.push('On a shared machine a 1-thread process may wait for a core: its wall time then overstates its cost. Here the cost is the CPU time (user + system) of the process over its timed runs divided by the number of runs (a mean, not a median); `x` = anchor CPU time / ours. Multi-thread figures are left out: spin-waiting threads burn CPU time without work.');
    out.push('');
    const rows: string[][] = [];
    for (const kind of ['gen', 'train'] as const) {
      const ks = r.measurements.filter((x) => x.kind === kind && x.threads === 1);
      const keys = uniq(ks.map((x) => x.size)).flatMap((s) => uniq(ks.filter((x) => x.size === s).map((x) => x.batch)).map((b) => [s, b] as const));
      for (const [s, b] of keys) {
        const c = (rt: Runtime) => cpu(find(r, kind, rt, s, b, 1));
        const o = c('ours');
        const v = (rt: Runtime) => { const x = c(rt); return x === undefined ? '-' : fmtMs(x); };
        const x = (rt: Runtime) => { const a = c(rt); return a === undefined || o === undefined ? '-' : fmtX(a / o); };
        rows.push([kind === 'gen' ? 'generator' : 'training step', `${s}`, `${b}`, v('ours'), v('ort-web'), v('ort-node'), v('torch'), x('ort-web'), x('ort-node'), x('torch')]);
      }
    }
    out.push(table(['what', 'size', 'batch', 'ours CPU ms', 'ort-web', 'ort-node', 'PyTorch', 'vs ort-web', 'vs ort-node', 'vs PyTorch'], rows));
    out.push('');
  }

  // growth
  const g1 = gens.filter((x) => x.threads === 1);
  /** growth tables: CPU ms per run where every figure has it (robust to load, all 1-thread), else the wall median */
  const useCpu = g1.some(ok) && g1.filter(ok).every((x) => cpu(x) !== undefined);
  const cost = (x: Measurement | undefined) => (useCpu ? cpu(x) : ok(x) ? x.medianMs : undefined);
  const costKind = useCpu ? 'CPU ms (see above)' : 'Median wall ms';
  const sizes = uniq(g1.filter((x) => x.batch === 1).map((x) => x.size));
  if (sizes.length > 1) {
    out.push('## Cost growth with image size (generator, batch 1, 1 thread)');
    out.push('');
    out.push(`${costKind} per image, and in brackets the growth over ${sizes[0]}x${sizes[0]} (pixels, and FLOPs, grow ${sizes.map((s) => `${((s / sizes[0]) ** 2).toFixed(0)}x`).join(' / ')}).`);
    out.push('');
    out.push(table(['runtime', ...sizes.map((s) => `${s}x${s}`)], RUNTIMES.map((rt) => {
      const base = cost(find(r, 'gen', rt, sizes[0], 1, 1));
      return [RUNTIME_LABEL[rt], ...sizes.map((s) => cell(find(r, 'gen', rt, s, 1, 1), (x) => `${fmtMs(cost(x))}${base !== undefined && s !== sizes[0] ? ` (${(cost(x)! / base).toFixed(1)}x)` : ''}`, notes))];
    })));
    out.push('');
  }
  const s0 = sizes[0] ?? 128;
  const batches = uniq(g1.filter((x) => x.size === s0).map((x) => x.batch));
  if (batches.length > 1) {
    out.push(`## Cost growth with batch (generator, ${s0}x${s0}, 1 thread)`);
    out.push('');
    out.push(`${costKind} per image (batch cost / batch); in brackets the batch cost over the batch-1 cost.`);
    out.push('');
    out.push(table(['runtime', ...batches.map((b) => `batch ${b}`)], RUNTIMES.map((rt) => {
      const base = cost(find(r, 'gen', rt, s0, 1, 1));
      return [RUNTIME_LABEL[rt], ...batches.map((b) => cell(find(r, 'gen', rt, s0, b, 1), (x) => `${fmtMs(cost(x)! / b)}${base !== undefined && b !== 1 ? ` (${(cost(x)! / base).toFixed(2)}x)` : ''}`, notes))];
    })));
    out.push('');
  }

  // kernels
  out.push('## Kernels (bench/kernels.bench.ts, 1 thread, real layer shapes at 128x128)');
  out.push('');
  if ('skipped' in r.kernels) out.push(`skipped: ${r.kernels.skipped}`);
  else {
    const k = r.kernels;
    const pct = (g: number) => `${((100 * g) / k.peak).toFixed(0)}%`;
    const g = (x: number | null) => (x === null || !Number.isFinite(x) ? '-' : x.toFixed(1));
    const probed = k.rows.some((x) => x.ofPeak);
    out.push(`Measured SIMD128 peak: ${Object.entries(k.peaks).map(([b, v]) => `${b} ${v.toFixed(1)}`).join(', ')} GFLOP/s; build ${k.build}; anchor ${k.tfjs ?? 'tfjs-backend-wasm missing'}. GFLOP/s (% of peak` +
      (probed ? ': of the peak probed right before each timed run of that pass, the median of the per-run ratios, so a slow spell of the host slows both; the FLOP-weighted totals are of the peak above' : '') + ')' +
      ((k.passes ?? 1) > 1 ? `; every figure the better of ${k.passes} passes over all rows, minutes apart (ours and tfjs alike; each pass in bench/out/kernels.json)` : '') + '; ' +
      '`fwd packed` = the forward on weights packed once beforehand (conv2d_pack + conv2d_forward_packed: inference with f32 weights runs it at <= 64 output pixels; tfjs-backend-wasm keeps its packed weights between calls too); ' +
      '`x tfjs` = our forward / tfjs forward, packed where measured; `target`: every pass >= 70% of the peak or, for a tiny layer (<= 64 output pixels or <= 4 output channels), the forward faster than tfjs (the anchor has no backward).');
    out.push('');
    const rows = k.rows.map((x) => {
      const best = Math.max(x.fwd, x.fwdPacked ?? 0);
      const f = kernelFractions(x, k.peak), of = (v: number) => `${(100 * v).toFixed(0)}%`;
      return [x.name, x.shape, `${g(x.fwd)} (${of(f.fwd)})`, x.fwdPacked && f.fwdPacked !== null ? `${g(x.fwdPacked)} (${of(f.fwdPacked)})` : '-', `${g(x.bwdIn)} (${of(f.bwdIn)})`, `${g(x.bwdW)} (${of(f.bwdW)})`, g(x.tfjs), x.tfjs ? fmtX(best / x.tfjs) : '-', kernelTarget(x, k.peak).text];
    });
    for (const kd of ['conv', 'deconv'] as const) {
      const t = k.totals[kd];
      if (t && Number.isFinite(t.fwd)) rows.push([`**all ${kd}, FLOP-weighted**`, '', `${g(t.fwd)} (${pct(t.fwd)})`, '', `${g(t.bwdIn)} (${pct(t.bwdIn)})`, `${g(t.bwdW)} (${pct(t.bwdW)})`, g(t.tfjs), t.tfjs ? fmtX(t.fwd / t.tfjs) : '-', '']);
    }
    out.push(table(['layer', 'shape', 'fwd', 'fwd packed', 'bwd input', 'bwd weight', 'tfjs fwd', 'x tfjs', 'target'], rows));
  }
  out.push('');

  if (r.profile) out.push(...profileSection(r.profile));

  if (notes.length || r.notes.length) {
    out.push('## Notes');
    out.push('');
    notes.forEach((n, i) => out.push(`- [${i + 1}] ${n}`));
    if (notes.length) out.push('');
    for (const n of r.notes) out.push(`- ${n}`);
    out.push('');
  }
  return out.join('\n');
}

/** "Where our time goes": the per-layer profiles that say why a target is missed (or met), beside the anchors'
 * own profilers where run: onnxruntime-node's nodes per generator block, PyTorch's training step by op class. */
export function profileSection(p: ProfileResult | { skipped: string }): string[] {
  const out = ['## Where our time goes (per-layer profiles, 1 thread)', ''];
  if ('skipped' in p) return [...out, `skipped: ${p.skipped}`, ''];
  const share = (ms: number, total: number) => `${((100 * ms) / total).toFixed(0)}%`;
  const g = p.gen, gTotal = g.layers.reduce((a, l) => a + l.ms, 0);
  out.push(`Generator, ${g.size} px, batch 1, the inference API on 1 thread (\`profileGenerate\`: median ms of each layer with its norm and activation, run in network order; sum ${gTotal.toFixed(1)} ms). Layers of 1% or more:`, '');
  out.push(table(['layer', 'ms', 'share'], [...g.layers].sort((a, b) => b.ms - a.ms).filter((l) => l.ms >= gTotal / 100).map((l) => [l.name, l.ms.toFixed(2), share(l.ms, gTotal)])));
  out.push('');
  out.push(...ortBlocks(g, p.ortGen));
  for (const t of p.train) {
    const sum = t.rows.reduce((a, r) => a + r.ms, 0);
    const nets = new Map<string, number>();
    for (const r of t.rows) nets.set(r.net, (nets.get(r.net) ?? 0) + r.ms);
    out.push(`Training step, ${t.size} px, full widths, batch ${t.batch}, 1 thread (\`npm run bench:profile -- --batch ${t.batch}\`: every layer's forward and backward and each Adam update timed; step ${t.total.toFixed(0)} ms with the timers in). Per network: ${[...nets].map(([n, ms]) => `${n === 'adam' ? 'Adam (all four)' : n} ${ms.toFixed(0)} ms (${share(ms, sum)})`).join(', ')}. The 12 largest:`, '');
    out.push(table(['network', 'layer', 'pass', 'ms', 'share'], t.rows.slice(0, 12).map((r) => [r.net, r.layer, r.pass, r.ms.toFixed(1), share(r.ms, sum)])));
    out.push('');
    out.push(...torchClasses(t, p.torchTrain));
  }
  return out;
}

/** The generator per block (down1 .. final: a layer with its norm and activation in ours; in onnxruntime-node the
 * nodes of that module path after its fusions), ours beside onnxruntime-node's own profiler. */
function ortBlocks(g: ProfileResult['gen'], o: ProfileResult['ortGen']): string[] {
  if (!o) return [];
  if ('skipped' in o) return [`onnxruntime-node's profile of the same generator: skipped: ${o.skipped}`, ''];
  const block = (name: string) => name.split('.')[0];
  const ours = new Map<string, number>();
  for (const l of g.layers) ours.set(block(l.name), (ours.get(block(l.name)) ?? 0) + l.ms);
  const OTHER = 'other (concat of z, reshapes, reorders)';
  const ort = new Map<string, number>();
  for (const n of o.nodes) {
    // "/up4/model/model.3/Relu_output_0_nchwc" -> up4; the graph output "out" is the final conv's
    const b = n.name.startsWith('out') ? 'final' : n.name.split('/')[1] ?? '';
    const k = ours.has(b) ? b : OTHER;
    ort.set(k, (ort.get(k) ?? 0) + n.ms);
  }
  const rows = [...ours.keys(), ...(ort.has(OTHER) ? [OTHER] : [])].map((b) => {
    const a = ours.get(b), x = ort.get(b);
    return [b, a === undefined ? '-' : a.toFixed(2), x === undefined ? '-' : x.toFixed(2), a && x ? fmtX(x / a) : '-'];
  });
  const sum = (m: Map<string, number>) => [...m.values()].reduce((a, v) => a + v, 0);
  rows.push(['**sum**', sum(ours).toFixed(2), sum(ort).toFixed(2), fmtX(sum(ort) / sum(ours))]);
  return [`The same generator per block beside onnxruntime-node's own profiler (enableProfiling, 1 thread, batch 1: median kernel ms of each node after its fusions, summed per module path; a whole run with its profiler on ${o.runMs.toFixed(1)} ms); \`x\` = onnxruntime-node / ours (above 1: ours is faster):`, '',
    table(['block', 'ours ms', 'ort-node ms', 'x'], rows), ''];
}

/** One training batch's conv passes, ours beside PyTorch's profiler: ms, the direct conv's FLOPs of the passes
 * each one runs, and those FLOPs per second. */
function torchClasses(t: ProfileResult['train'][number], tt: ProfileResult['torchTrain']): string[] {
  if (!tt) return [];
  if ('skipped' in tt) return [`PyTorch's profile of the same step: skipped: ${tt.skipped}`, ''];
  const q = tt.find((x) => x.batch === t.batch && x.size === t.size);
  if (!q) return [];
  const conv = (pass: 'fwd' | 'bwd') => t.rows.filter((r) => r.pass === pass && r.flops > 0).reduce((a, r) => ({ ms: a.ms + r.ms, flops: a.flops + r.flops }), { ms: 0, flops: 0 });
  const f = conv('fwd'), b = conv('bwd');
  const gf = (flops: number) => (flops / 1e9).toFixed(1), rate = (flops: number, ms: number) => (ms > 0 ? (flops / ms / 1e6).toFixed(1) : '-');
  const m = q.ms, torchRest = m.profiled - m.conv_fwd - m.conv_bwd;
  const rows = [
    ['conv forward passes', f.ms.toFixed(0), gf(f.flops), rate(f.flops, f.ms), m.conv_fwd.toFixed(0), gf(q.flops.fwd), rate(q.flops.fwd, m.conv_fwd)],
    ['conv backward passes', b.ms.toFixed(0), gf(b.flops), rate(b.flops, b.ms), m.conv_bwd.toFixed(0), gf(q.flops.bwd), rate(q.flops.bwd, m.conv_bwd)],
    ['everything else', (t.total - f.ms - b.ms).toFixed(0), '', '', torchRest.toFixed(0), '', ''],
    ['step', t.total.toFixed(0), gf(f.flops + b.flops), '', m.profiled.toFixed(0), gf(q.flops.fwd + q.flops.bwd), ''],
  ];
  return [`The same step's conv passes beside PyTorch's (torch.profiler, 1 thread: inclusive ms of its conv forwards and conv backwards; its step ${m.profiled.toFixed(0)} ms with the profiler on, ${m.plain.toFixed(0)} without; BatchNorm ${m.norm.toFixed(0)} ms, nearest upsampling ${m.upsample.toFixed(0)}, Adam ${m.adam.toFixed(0)} of its rest). GFLOP: the direct conv's FLOPs (2 per multiply-add) of the passes each runs (PyTorch: three forwards per D and step, D weight gradients in every D backward, the cLR-GAN generator pass backpropagated twice; ours: two forwards per D, D weight gradients in the D update only, the cLR-GAN pass backpropagated once), whatever kernel computes them, so ours' GFLOP/s exceed its SIMD128 peak where Winograd and the phase splits skip multiply-adds. PyTorch's convs are oneDNN's: ${q.onednn}.`, '',
    table(['batch ' + t.batch, 'ours ms', 'ours GFLOP', 'ours GFLOP/s', 'PyTorch ms', 'PyTorch GFLOP', 'PyTorch GFLOP/s'], rows), ''];
}
