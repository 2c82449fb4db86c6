// The training loop: dataset -> prefetching loader -> engine steps, with the LR schedule, a step or epoch
// budget, checkpoints every N steps and on stop requests (atomic, newest K kept), resume that continues bit
// for bit (model, Adam, noise RNG from the checkpoint; data order from the loader state in its `extra`),
// sample grids, losses.jsonl and losses.html. Presentation (progress bar, log lines) is the caller's, via onEvent.
import { copyFileSync, existsSync, appendFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadCore } from '../core/load-node.js';
import { officialNets, type ModelConfig } from '../models/config.js';
import { splitDir, scanPairs } from '../data/dataset.js';
import { BatchLoader, loadFixedPairs, type LoaderState } from '../data/loader.js';
import type { Augment } from '../data/augment.js';
import type { BicycleGANOptions, StepLosses } from './bicyclegan.js';
import { checkpointConfig, checkpointTrainState } from './checkpoint.js';
import { checkMetadata, TrainerExtraSchema } from './checkpoint-schema.js';
import { readCheckpointFile, removeStaleTemps } from './checkpoint-file.js';
import { LocalEngine, type TrainEngine } from './engine.js';
import { loadSizeOf, officialOverrides, lrAt, totalSteps, parseTrainConfig, type TrainConfig, type TrainConfigInput } from './config.js';
import { lossPlotHtml } from './loss-plot.js';
import { checkDirPath, checkpointDir, listCheckpoints, makeDir, readLosses, saveCheckpoint, truncateLosses } from './run-files.js';
import { makeSampleSet, writeSampleGrid, type SampleSet } from './samples.js';
import { recalibrate, withEvalStats } from './recalibrate.js';

export interface EngineRequest extends BicycleGANOptions {
  build: TrainConfig['build'];
  workers: number;
  /** how a multi-worker engine splits the step (src/parallel: batch | branch | auto); one thread ignores it */
  split?: 'auto' | 'batch' | 'branch';
  /** seconds a step on worker threads may take (0: no limit); engines on this thread ignore it */
  stepTimeoutS?: number;
}

export type EngineFactory = (o: EngineRequest) => Promise<TrainEngine>;

/** The engine in the start event: its class, and a parallel engine's workers and split. */
function engineName(e: TrainEngine): string {
  const p = e as TrainEngine & { workers?: number; split?: string };
  return e.constructor.name + (p.workers !== undefined && p.split !== undefined ? ` (${p.workers} workers, ${p.split} split)` : '');
}

export const localEngine: EngineFactory = async (o) => new LocalEngine(await loadCore({ build: o.build }), o);

export type TrainEvent =
  | { type: 'start'; step: number; total: number; files: number; stepsPerEpoch: number; resumedFrom: string | null; engine: string }
  | { type: 'step'; step: number; total: number; epoch: number; lr: number; losses: StepLosses; imgPerSec: number; etaSec: number; dataWaitMs: number }
  | { type: 'checkpoint'; step: number; path: string; reason: 'every' | 'stop' | 'end' }
  | { type: 'sample'; step: number; path: string }
  | { type: 'recalibrate'; step: number; batches: number; seconds: number }
  | { type: 'message'; text: string };

export interface TrainOptions {
  createEngine?: EngineFactory;
  onEvent?: (e: TrainEvent) => void;
  /** abort to stop after the current step: a checkpoint is written and train() returns */
  signal?: AbortSignal;
}

export interface TrainResult {
  steps: number;
  stopped: boolean;
  checkpoint: string | null;
  out: string;
}

interface Extra {
  loader: LoaderState;
  files: number;
  config: TrainConfig;
}

function resolveResume(c: TrainConfig): string | null {
  if (!c.resume) return null;
  if (c.resume !== 'latest') {
    if (!existsSync(c.resume)) throw new Error(`--resume: checkpoint ${c.resume} does not exist`);
    return c.resume;
  }
  const all = listCheckpoints(c.out);
  if (!all.length) throw new Error(`--resume latest: no checkpoint in ${join(c.out, 'checkpoints')}`);
  return all[all.length - 1].path;
}

/** Two setImmediate hops: the second one runs after a poll phase, which is where libuv hands a signal that
 * arrived during the previous (blocking) step to its JS listener. */
async function eventLoopTurn(): Promise<void> {
  for (let i = 0; i < 2; i++) await new Promise<void>((r) => setImmediate(r));
}

export function modelConfigOf(c: TrainConfig): Partial<ModelConfig> {
  const m: Partial<ModelConfig> = { preset: c.preset, imageSize: c.imageSize, latentDim: c.latentDim, gBase: c.gBase, eBase: c.eBase, dBase: c.dBase };
  if (c.preset === 'official') m.official = officialNets(c.imageSize, officialOverrides(c));
  return m;
}

export async function train(input: TrainConfig | TrainConfigInput, o: TrainOptions = {}): Promise<TrainResult> {
  const c = parseTrainConfig(input);
  const emit = o.onEvent ?? (() => {});
  const out = resolve(c.out);
  const say = (text: string) => emit({ type: 'message', text });

  checkDirPath(out); // a path that cannot be a folder fails here, before the data is scanned
  const stale = removeStaleTemps(checkpointDir(out));
  if (stale.length) say(`removed ${stale.length} temporary file${stale.length > 1 ? 's' : ''} left by an interrupted checkpoint write (${stale.slice(0, 3).join(', ')}${stale.length > 3 ? ', ...' : ''})`);
  const resumePath = resolveResume(c);
  if (!resumePath && listCheckpoints(c.out).length)
    throw new Error(`${join(c.out, 'checkpoints')} already holds checkpoints: pass --resume latest to continue that run, or another --out`);

  const aug: Augment = { imageSize: c.imageSize, loadSize: loadSizeOf(c), flip: c.flip, direction: c.direction };
  const trainDir = await splitDir(c.data, 'train');
  const { files, heights } = await scanPairs(trainDir, { skipBad: c.skipBad, report: say });

  // engine and (on resume) its state
  let bytes: Uint8Array | null = null;
  let resumeExtra: Extra | null = null;
  if (resumePath) {
    bytes = readCheckpointFile(resumePath);
    // the whole file is checked before anything is built from it (loadCheckpoint checks the tensors)
    const st = checkpointTrainState(bytes, resumePath);
    if (!st?.extra?.loader) throw new Error(`${resumePath}: no data-loader state in the checkpoint (a weights-only file cannot be resumed)`);
    resumeExtra = checkMetadata(st.extra, TrainerExtraSchema, 'train.extra', resumePath) as unknown as Extra;
    const mc = new Map<string, unknown>(Object.entries(checkpointConfig(bytes, resumePath)));
    for (const [k, v] of Object.entries(modelConfigOf(c)))
      if (JSON.stringify(mc.get(k) ?? (k === 'preset' ? 'pytorch-gan' : undefined)) !== JSON.stringify(v))
        throw new Error(`${resumePath}: the checkpoint has ${k} ${JSON.stringify(mc.get(k))}, this run asks for ${JSON.stringify(v)} (--${k.replace(/[A-Z]/g, (ch) => '-' + ch.toLowerCase())})`);
  }
  const engine = await (o.createEngine ?? localEngine)({
    batch: c.batch,
    seed: c.seed,
    model: modelConfigOf(c),
    adam: { lr: c.lr, beta1: c.beta1, beta2: c.beta2 },
    lambdas: { pixel: c.lambdaPixel, latent: c.lambdaLatent, kl: c.lambdaKl },
    build: c.build,
    workers: c.workers ?? 1,
    split: c.parallel,
    stepTimeoutS: c.stepTimeout,
  });
  try {
    let loaderStart: { seed: number } | LoaderState = { seed: (c.seed + 0x9e3779b9) >>> 0 };
    if (bytes && resumePath) {
      engine.restore(bytes, { source: resumePath });
      const extra = resumeExtra!;
      if (extra.files !== files.length) say(`warning: the checkpoint was trained on ${extra.files} files, the dataset now has ${files.length}; the data order differs from an uninterrupted run`);
      if (extra.config && extra.config.batch !== c.batch) throw new Error(`${resumePath}: trained with batch ${extra.config.batch}, this run asks for batch ${c.batch}`);
      loaderStart = extra.loader;
    }
    const loader = new BatchLoader(files, aug, c.batch, loaderStart, c.prefetch, heights);
    const total = totalSteps(c, loader.stepsPerEpoch);
    makeDir(out);
    makeDir(join(out, 'samples'));
    const lossPath = join(out, 'losses.jsonl'), plotPath = join(out, 'losses.html');
    if (resumePath) truncateLosses(lossPath, engine.steps);
    else writeFileSync(lossPath, '');
    writeFileSync(join(out, 'config.json'), JSON.stringify(c, null, 2) + '\n');

    // fixed images for the grids: the test or val split when there is one
    let sampleFiles: string[] = [];
    for (const split of ['test', 'val']) {
      if (sampleFiles.length || !existsSync(join(c.data, split))) continue;
      sampleFiles = (await scanPairs(join(c.data, split), { skipBad: true, report: say }).catch(() => ({ files: [] as string[] }))).files;
    }
    if (!sampleFiles.length) sampleFiles = files;
    sampleFiles = sampleFiles.slice(0, c.sampleImages);
    const fixed = await loadFixedPairs(sampleFiles, aug);
    const samples: SampleSet = makeSampleSet(fixed.a, fixed.b, sampleFiles.length, c.latentDim, c.sampleZ, c.seed);

    emit({ type: 'start', step: engine.steps, total, files: files.length, stepsPerEpoch: loader.stepsPerEpoch, resumedFrom: resumePath, engine: engineName(engine) });

    let lastCkpt: string | null = resumePath;
    const save = (reason: 'every' | 'stop' | 'end') => {
      const st = loader.state();
      const extra: Extra = { loader: st, files: files.length, config: c };
      const path = saveCheckpoint(out, engine.steps, engine.checkpoint({ epoch: st.epoch, extra: extra as unknown as Record<string, unknown> }), c.keep);
      writeFileSync(plotPath, lossPlotHtml(readLosses(lossPath), `BicycleGAN losses: ${c.data}`));
      lastCkpt = path;
      emit({ type: 'checkpoint', step: engine.steps, path, reason });
    };
    // the official preset evaluates as the authors' test.py: InstanceNorm (no statistics) or BN's running ones
    const recalBatches = c.preset === 'official' ? 0 : c.recalBatches;
    // BN recalibration over the same K training batches each time (own seed and loader: the training order,
    // noise and weights are untouched, so resume stays bit-exact)
    const recalibrateStats = async () => {
      if (!recalBatches || engine.model.evalStats?.step === engine.steps) return;
      const t = performance.now();
      const rl = new BatchLoader(files, aug, c.batch, { seed: (c.seed ^ 0x7f4a7c15) >>> 0 }, Math.min(c.prefetch, recalBatches - 1), heights);
      await recalibrate(engine, () => rl.next(), { batches: recalBatches, seed: c.seed });
      emit({ type: 'recalibrate', step: engine.steps, batches: recalBatches, seconds: (performance.now() - t) / 1000 });
    };
    const sample = async () => {
      const path = join(out, 'samples', `step-${String(engine.steps).padStart(8, '0')}.png`);
      await recalibrateStats();
      await withEvalStats(engine.model, recalBatches ? 'recalibrated' : 'running', () => writeSampleGrid(engine, samples, path));
      copyFileSync(path, join(out, 'samples', 'latest.png'));
      writeFileSync(plotPath, lossPlotHtml(readLosses(lossPath), `BicycleGAN losses: ${c.data}`));
      emit({ type: 'sample', step: engine.steps, path });
    };

    const t0 = performance.now(), s0 = engine.steps;
    let stopped = false;
    while (engine.steps < total) {
      // let signal handlers run: a prefetched batch resolves without a trip through the event loop, and a step
      // on this thread blocks it, so without this turn a stop request would wait for the prefetch queue to run dry
      await eventLoopTurn();
      if (o.signal?.aborted) {
        stopped = true;
        break;
      }
      const tw = performance.now();
      let batch;
      try {
        batch = await loader.next();
      } catch (e) {
        // a file went bad after the scan: keep the work done so far, then report it
        if (engine.steps !== s0) save('stop');
        throw e;
      }
      const dataWaitMs = performance.now() - tw;
      const lr = lrAt(c, batch.epoch);
      engine.setBatch(batch.a, batch.b);
      const losses = await engine.step(undefined, lr);
      const step = engine.steps;
      appendFileSync(lossPath, JSON.stringify({ step, epoch: batch.epoch, lr, ...losses }) + '\n');
      const secs = (performance.now() - t0) / 1000, done = step - s0;
      const imgPerSec = (done * c.batch) / secs;
      emit({ type: 'step', step, total, epoch: batch.epoch, lr, losses, imgPerSec, etaSec: ((total - step) * secs) / done, dataWaitMs });
      if (c.sampleEvery && step % c.sampleEvery === 0) await sample();
      if (c.checkpointEvery && step % c.checkpointEvery === 0 && step < total) save('every');
    }
    if (stopped) {
      if (engine.steps !== s0 || !resumePath) save('stop');
    } else {
      if (!c.sampleEvery || engine.steps % c.sampleEvery !== 0) await sample();
      save('end');
    }
    return { steps: engine.steps, stopped, checkpoint: lastCkpt, out };
  } finally {
    await engine.close();
  }
}
