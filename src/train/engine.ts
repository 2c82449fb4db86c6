// The training engine interface the trainer drives: one implementation runs the step on this thread
// (LocalEngine, below), another spreads batch shards over Piscina workers (src/parallel). The worker count is
// a performance knob: every engine computes the same step for the same batch, noise and weights.
import type { Core } from '../core/loader.js';
import type { ModelConfig } from '../models/config.js';
import { lumaOf } from '../data/augment.js';
import { BicycleGAN, type BicycleGANOptions, type StepLosses, type StepNoise } from './bicyclegan.js';
import { checkpointBytes, loadCheckpoint, type LoadOptions, type TrainState } from './checkpoint.js';
import { recalibrationPass, snapshotBuffers } from './recalibrate.js';

export interface TrainEngine {
  /** the model that holds the parameters, BN buffers, counters and evalStats (the parallel engine's main copy) */
  readonly model: BicycleGAN;
  readonly cfg: ModelConfig;
  readonly batch: number;
  /** completed steps */
  readonly steps: number;
  /** Put a batch in: condition A and target B, NHWC (batch, S, S, C) in [-1, 1], batch * S * S * C floats each. */
  setBatch(a: Float32Array, b: Float32Array): void;
  /** One full BicycleGAN step on the batch; noise from the engine's seeded RNG unless given. */
  step(noise?: StepNoise, lr?: number): Promise<StepLosses>;
  /** The k-th BatchNorm recalibration pass on the batch set by setBatch (recalibrate.ts). */
  recalibrationPass(k: number, noise: StepNoise): Promise<void>;
  /**
   * Generator outputs in eval mode for `n` condition images (NHWC, n * S * S * C) and codes (n * latentDim):
   * returns n * S * S * C floats in [-1, 1]. `n` may differ from the training batch.
   * `batchStats`: normalise with each batch's own statistics (train-mode BN; batches of the engine's batch
   * size, so n must be a multiple of it) instead of the running ones; weights and buffers are left unchanged.
   */
  generate(images: Float32Array, z: Float32Array, n: number, batchStats?: boolean): Promise<Float32Array>;
  /** Encoder means mu(E(B)) in eval mode for n target images: n * latentDim floats (`batchStats` as generate). */
  encode(images: Float32Array, n: number, batchStats?: boolean): Promise<Float32Array>;
  /** The whole training state as checkpoint bytes (see checkpoint.ts). */
  checkpoint(state: { epoch: number; extra?: Record<string, unknown> }): Uint8Array;
  /** Restore from checkpoint bytes; returns the trainer state stored with it (null for weights only). */
  restore(bytes: Uint8Array, opts?: LoadOptions): TrainState | null;
  /** Release threads and memory. */
  close(): Promise<void>;
}

/** The training batch whose networks have `rows` rows: the official step gives each branch half the batch. */
export function engineBatch(cfg: Partial<ModelConfig>, rows: number): number {
  return cfg.preset === 'official' ? 2 * rows : rows;
}

/** The single-thread engine: one BicycleGAN in one wasm instance. */
export class LocalEngine implements TrainEngine {
  readonly model: BicycleGAN;

  constructor(readonly core: Core, readonly opts: BicycleGANOptions) {
    this.model = new BicycleGAN(core, opts);
  }
  get cfg(): ModelConfig {
    return this.model.cfg;
  }
  get batch(): number {
    return this.model.batch;
  }
  get steps(): number {
    return this.model.steps;
  }

  /** The batch: A and B as RGB model images; A becomes luma where G takes one channel (official input_nc 1). */
  setBatch(rgbA: Float32Array, b: Float32Array): void {
    const m = this.model;
    const a = m.realA.C === 1 && rgbA.length === 3 * m.realA.size ? lumaOf(rgbA) : rgbA;
    if (a.length !== m.realA.size || b.length !== m.realB.size)
      throw new Error(`setBatch: expected ${m.realA.size} floats per side (batch ${m.batch} x ${m.cfg.imageSize}^2 x ${m.cfg.channels}), got ${a.length} and ${b.length}`);
    this.core.f32(m.realA.ptr, m.realA.size).set(a);
    this.core.f32(m.realB.ptr, m.realB.size).set(b);
  }

  async step(noise?: StepNoise, lr?: number): Promise<StepLosses> {
    return this.model.step(noise, lr);
  }

  async recalibrationPass(k: number, noise: StepNoise): Promise<void> {
    recalibrationPass(this.model, k, noise);
  }

  /** Rows of the networks' tensors: the batch, or half of it in the official preset (one branch's rows). */
  private get rows(): number {
    return this.model.G.image.N;
  }

  /** Runs G in chunks of the networks' rows (its tensors have that batch size). */
  async generate(rgb: Float32Array, z: Float32Array, n: number, batchStats = false): Promise<Float32Array> {
    const { G } = this.model, core = this.core;
    // per image: A's floats in (1 or 3 channels), B's out (3)
    const per = G.image.size / this.rows, perOut = G.out.size / this.rows, L = this.cfg.latentDim;
    const images = G.image.C === 1 && rgb.length === 3 * n * per ? lumaOf(rgb) : rgb;
    if (images.length !== n * per || z.length !== n * L) throw new Error(`generate: expected ${n * per} image floats and ${n * L} code floats`);
    return this.chunked(n, perOut, batchStats, (i, k) => {
      core.f32(G.image.ptr, G.image.size).fill(0).set(images.subarray(i * per, (i + k) * per));
      core.f32(G.z.ptr, this.rows * L).fill(0).set(z.subarray(i * L, (i + k) * L));
      G.g.forward(batchStats);
      return core.f32(G.out.ptr, k * perOut);
    });
  }

  async encode(images: Float32Array, n: number, batchStats = false): Promise<Float32Array> {
    const { E } = this.model, core = this.core;
    const per = E.image.size / this.rows, L = this.cfg.latentDim;
    if (images.length !== n * per) throw new Error(`encode: expected ${n * per} image floats`);
    E.image.needsGrad = false;
    return this.chunked(n, L, batchStats, (i, k) => {
      core.f32(E.image.ptr, E.image.size).fill(0).set(images.subarray(i * per, (i + k) * per));
      E.g.forward(batchStats);
      return core.f32(E.mu.ptr, k * L);
    });
  }

  /** n samples in chunks of the batch (rows i..i+k of `run`'s output); with batch statistics only whole
   * batches (a zero-padded row would enter the statistics) and the BN buffers put back after. */
  private chunked(n: number, outPer: number, batchStats: boolean, run: (i: number, k: number) => Float32Array): Float32Array {
    if (batchStats && n % this.rows !== 0) throw new Error(`batch statistics need whole batches: ${n} samples is not a multiple of the batch size ${this.rows}`);
    const restore = batchStats ? snapshotBuffers(this.model) : () => {};
    const out = new Float32Array(n * outPer);
    try {
      for (let i = 0; i < n; i += this.rows) {
        const k = Math.min(this.rows, n - i);
        out.set(run(i, k), i * outPer);
      }
    } finally {
      restore();
    }
    return out;
  }

  checkpoint(state: { epoch: number; extra?: Record<string, unknown> }): Uint8Array {
    return checkpointBytes(this.model, state);
  }

  restore(bytes: Uint8Array, opts?: LoadOptions): TrainState | null {
    return loadCheckpoint(this.model, bytes, opts);
  }

  async close(): Promise<void> {
    // the wasm memory goes with the core; nothing else to release
  }
}
