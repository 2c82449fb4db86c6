// BatchNorm statistics recalibration ("precise BN"). The pytorch-gan networks sample in eval mode, where each
// BatchNorm normalises with its running averages (momentum 0.1). Those lag weights that move every step, and G
// runs twice per step on two z distributions, so eval-mode outputs are erratic from one checkpoint to the next
// while the weights themselves are fine. Recalibration recomputes every running mean and variance of G and E as
// the plain average of the batch statistics over K training batches (PyTorch's momentum=None, as in
// torch.optim.swa_utils.update_bn), with no weight change:
//   E on real_B (train-mode BN)                          -> E's statistics, average over K passes
//   G on (real_A, z_enc) and on (real_A, z_random)       -> G's statistics, average over 2K passes, as in the step
// The discriminators are never run in eval mode and are left alone.
//
// The raw running statistics stay what training made them: they are what a PyTorch state_dict holds (strict
// load), and a resumed run continues bit for bit because training never reads them. The recalibrated values
// live beside them, in the model (`evalStats`) and in checkpoints under `recalibrated.<state_dict name>`, and
// are swapped into the running-stat buffers only around eval-mode work (withEvalStats).
import { Rng } from '../core/rng.js';
import type { TensorEntry } from '../core/safetensors.js';
import { bnLayers, RECALIBRATED_PREFIX } from '../nn/batchnorm.js';
import type { Graph } from '../nn/graph.js';
import type { ParamStore } from '../nn/params.js';
import type { BicycleGAN, StepNoise } from './bicyclegan.js';
import { copyInto } from './feed.js';

/** Checkpoint tensor prefix of the recalibrated statistics: `recalibrated.down2.model.1.running_mean`. */
export const RECAL_PREFIX = RECALIBRATED_PREFIX;

/** Which BatchNorm statistics eval-mode work uses. `batch`: each batch's own statistics (train-mode BN). */
export type BnStatsChoice = 'running' | 'recalibrated' | 'batch';
export const BN_STATS: readonly BnStatsChoice[] = ['running', 'recalibrated', 'batch'];

/** Recalibrated running statistics of G and E. */
export interface EvalStats {
  /** the model's completed steps when they were computed (they belong to those weights only) */
  step: number;
  batches: number;
  batchSize: number;
  /** PyTorch state_dict name (`down2.model.1.running_mean`, `feature_extractor.1.running_var`) -> values */
  values: Map<string, Float32Array>;
}

/** The networks whose statistics are recalibrated (their names are unprefixed in checkpoints). */
const evalNets = (m: BicycleGAN): Graph[] => [m.G.g, m.E.g];

function setMomentum(g: Graph, momentum: number): void {
  for (const bn of bnLayers(g)) bn.momentum = momentum;
}

/**
 * The k-th (1-based) recalibration pass on the batch in m.realA / m.realB: train-mode forwards of E on real_B
 * and of G on both branches, each BN layer weighting the new batch statistics by 1 / (passes so far), so after
 * K passes the running stats are the plain average. On a data-parallel shard (m's graphs carry a ShardSync)
 * BatchNorm sums the shards' partial sums as in the step, so every shard count gives the same statistics.
 */
export function recalibrationPass(m: BicycleGAN, k: number, noise: StepNoise): void {
  const { G, E, core } = m, n = m.batch * m.cfg.latentDim;
  if (!Number.isInteger(k) || k < 1) throw new Error(`recalibration pass number must be a positive integer, got ${k}`);
  if (noise.eps.length !== n || noise.zRandom.length !== n) throw new Error(`recalibration noise must have batch * latentDim = ${n} values each`);
  const momenta = evalNets(m).map((g) => bnLayers(g).map((b) => b.momentum));
  try {
    setMomentum(E.g, 1 / k);
    E.image.needsGrad = false;
    copyInto(core, m.realB, E.image);
    E.g.forward(true);
    m.reparam.forward(noise.eps); // z_enc, as the step makes it
    copyInto(core, m.realA, G.image);
    setMomentum(G.g, 1 / (2 * k - 1));
    G.g.forward(true);
    core.f32(G.z.ptr, n).set(noise.zRandom);
    setMomentum(G.g, 1 / (2 * k));
    G.g.forward(true);
  } finally {
    evalNets(m).forEach((g, i) => bnLayers(g).forEach((b, j) => (b.momentum = momenta[i][j])));
  }
}

const bufferBlock = (s: ParamStore): Float32Array => s.core.f32(s.base.buffer, s.bufferFloats);

/** A copy of G's and E's buffer blocks (running stats and num_batches_tracked), to put back exactly. */
export function snapshotBuffers(m: BicycleGAN): () => void {
  const saved = evalNets(m).map((g) => bufferBlock(g.store).slice());
  return () => evalNets(m).forEach((g, i) => bufferBlock(g.store).set(saved[i]));
}

/** The running statistics of every BN layer of G and E, by state_dict name. */
export function readRunningStats(m: BicycleGAN): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const g of evalNets(m))
    for (const bn of bnLayers(g)) {
      out.set(`${bn.name}.running_mean`, g.store.view(bn.runMean.entry).slice());
      out.set(`${bn.name}.running_var`, g.store.view(bn.runVar.entry).slice());
    }
  return out;
}

function writeRunningStats(m: BicycleGAN, values: Map<string, Float32Array>): void {
  for (const g of evalNets(m))
    for (const bn of bnLayers(g))
      for (const p of [bn.runMean, bn.runVar]) {
        const v = values.get(p.entry.name);
        if (!v || v.length !== p.entry.size) throw new Error(`recalibrated statistics: ${p.entry.name} is missing or has the wrong size`);
        g.store.view(p.entry).set(v);
      }
}

/** One recalibration batch: condition and target images of the model's batch size. */
export interface RecalBatch {
  a: Float32Array;
  b: Float32Array;
}

/** What an engine must offer: its (main-thread) model, a batch input and the pass on that batch. */
export interface RecalTarget {
  readonly model: BicycleGAN;
  readonly batch: number;
  setBatch(a: Float32Array, b: Float32Array): void;
  recalibrationPass(k: number, noise: StepNoise): Promise<void>;
}

export interface RecalibrateOptions {
  /** number of batches K (each of the engine's batch size) */
  batches: number;
  /** seed of the recalibration noise (eps, z_random); independent of the training RNG */
  seed?: number;
}

/**
 * Recompute G's and E's BN statistics over `o.batches` batches from `next` and store them as the model's
 * evalStats; the running-stat buffers (and so training, checkpoints' state_dict and resume) are left exactly
 * as they were. Returns the new statistics.
 */
export async function recalibrate(engine: RecalTarget, next: () => Promise<RecalBatch>, o: RecalibrateOptions): Promise<EvalStats> {
  const m = engine.model, K = o.batches;
  if (m.cfg.preset === 'official') throw new Error(`recalibration is for the pytorch-gan preset: the official preset evaluates as the authors' test.py does (InstanceNorm has no statistics; --norm batch uses its running ones)`);
  if (!Number.isInteger(K) || K < 1) throw new Error(`recalibration needs at least one batch, got ${K}`);
  const n = engine.batch * m.cfg.latentDim;
  const rng = new Rng(((o.seed ?? 0) ^ 0x2c1b3c6d) >>> 0);
  const noise = { eps: new Float32Array(n), zRandom: new Float32Array(n) };
  const restore = snapshotBuffers(m);
  try {
    for (let k = 1; k <= K; k++) {
      const { a, b } = await next();
      engine.setBatch(a, b);
      rng.fillNormal(noise.eps);
      rng.fillNormal(noise.zRandom);
      await engine.recalibrationPass(k, noise);
    }
    m.evalStats = { step: m.steps, batches: K, batchSize: engine.batch, values: readRunningStats(m) };
    return m.evalStats;
  } finally {
    restore();
  }
}

/**
 * Run `fn` with the chosen statistics in G's and E's running-stat buffers, and put the raw ones back after.
 * `recalibrated` needs evalStats of the model's current step; `running` (and `batch`, which the engines
 * handle) leave the buffers alone.
 */
export async function withEvalStats<T>(m: BicycleGAN, choice: BnStatsChoice, fn: () => Promise<T>): Promise<T> {
  if (choice !== 'recalibrated') return fn();
  const s = m.evalStats;
  if (!s) throw new Error('no recalibrated BatchNorm statistics: recalibrate first (`bicyclegan recalibrate`), or choose running statistics');
  if (s.step !== m.steps) throw new Error(`the recalibrated BatchNorm statistics belong to step ${s.step}, the weights to step ${m.steps}: recalibrate again`);
  const restore = snapshotBuffers(m);
  writeRunningStats(m, s.values);
  try {
    return await fn();
  } finally {
    restore();
  }
}

/** The BatchNorm statistics of an inference file, folded into its convs: its engine has no model to swap them in. */
export type FoldedStats = 'running' | 'recalibrated';

/** withEvalStats on an engine's model; with `folded` (an inference file's engine) `fn` runs as it is. */
export function evalStatsScope(engine: { readonly model: BicycleGAN }, choice: BnStatsChoice, folded?: FoldedStats): <T>(fn: () => Promise<T>) => Promise<T> {
  return folded ? (fn) => fn() : (fn) => withEvalStats(engine.model, choice, fn);
}

/** Checkpoint entries of the model's evalStats, when they belong to its current weights. */
export function evalStatsEntries(m: BicycleGAN): TensorEntry[] {
  const s = m.evalStats;
  if (!s || s.step !== m.steps) return [];
  return [...s.values].map(([name, data]) => ({ name: RECAL_PREFIX + name, dtype: 'F32' as const, shape: [data.length], data }));
}

/** Metadata that goes with them: which step, how many batches of which size. */
export function evalStatsMeta(m: BicycleGAN): Record<string, string> {
  const s = m.evalStats;
  if (!s || s.step !== m.steps) return {};
  return { recalibrated: JSON.stringify({ step: s.step, batches: s.batches, batchSize: s.batchSize }) };
}

/** The names of the recalibrated entries a model of this topology has (G and E BN layers). */
export function evalStatsNames(m: BicycleGAN): { name: string; size: number }[] {
  return evalNets(m).flatMap((g) => bnLayers(g).flatMap((bn) => [bn.runMean, bn.runVar].map((p) => ({ name: RECAL_PREFIX + p.entry.name, size: p.entry.size }))));
}
