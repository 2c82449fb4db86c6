// The training engine interface the trainer drives: one implementation runs the step on this thread
// (LocalEngine, below), another spreads batch shards over Piscina workers (src/parallel). The worker count is
// a performance knob: every engine computes the same step for the same batch, noise and weights.
import type { Core } from '../core/loader.js';
import type { ModelConfig } from '../models/config.js';
import { BicycleGAN, type BicycleGANOptions, type StepLosses, type StepNoise } from './bicyclegan.js';
import { checkpointBytes, loadCheckpoint, type LoadOptions, type TrainState } from './checkpoint.js';

export interface TrainEngine {
  readonly cfg: ModelConfig;
  readonly batch: number;
  /** completed steps */
  readonly steps: number;
  /** Put a batch in: condition A and target B, NHWC (batch, S, S, C) in [-1, 1], batch * S * S * C floats each. */
  setBatch(a: Float32Array, b: Float32Array): void;
  /** One full BicycleGAN step on the batch; noise from the engine's seeded RNG unless given. */
  step(noise?: StepNoise, lr?: number): Promise<StepLosses>;
  /**
   * Generator outputs in eval mode for `n` condition images (NHWC, n * S * S * C) and codes (n * latentDim):
   * returns n * S * S * C floats in [-1, 1]. `n` may differ from the training batch.
   */
  generate(images: Float32Array, z: Float32Array, n: number): Promise<Float32Array>;
  /** Encoder means mu(E(B)) in eval mode for n target images: n * latentDim floats. */
  encode(images: Float32Array, n: number): Promise<Float32Array>;
  /** The whole training state as checkpoint bytes (see checkpoint.ts). */
  checkpoint(state: { epoch: number; extra?: Record<string, unknown> }): Uint8Array;
  /** Restore from checkpoint bytes; returns the trainer state stored with it (null for weights only). */
  restore(bytes: Uint8Array, opts?: LoadOptions): TrainState | null;
  /** Release threads and memory. */
  close(): Promise<void>;
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

  setBatch(a: Float32Array, b: Float32Array): void {
    const m = this.model;
    if (a.length !== m.realA.size || b.length !== m.realB.size)
      throw new Error(`setBatch: expected ${m.realA.size} floats per side (batch ${m.batch} x ${m.cfg.imageSize}^2 x ${m.cfg.channels}), got ${a.length} and ${b.length}`);
    this.core.f32(m.realA.ptr, m.realA.size).set(a);
    this.core.f32(m.realB.ptr, m.realB.size).set(b);
  }

  async step(noise?: StepNoise, lr?: number): Promise<StepLosses> {
    return this.model.step(noise, lr);
  }

  /** Runs G and E in eval mode in chunks of the training batch (their tensors have that batch size). */
  async generate(images: Float32Array, z: Float32Array, n: number): Promise<Float32Array> {
    const { G } = this.model, core = this.core;
    const per = G.image.size / this.batch, L = this.cfg.latentDim;
    if (images.length !== n * per || z.length !== n * L) throw new Error(`generate: expected ${n * per} image floats and ${n * L} code floats`);
    const out = new Float32Array(n * per);
    for (let i = 0; i < n; i += this.batch) {
      const k = Math.min(this.batch, n - i);
      core.f32(G.image.ptr, G.image.size).fill(0).set(images.subarray(i * per, (i + k) * per));
      core.f32(G.z.ptr, this.batch * L).fill(0).set(z.subarray(i * L, (i + k) * L));
      G.g.forward(false);
      out.set(core.f32(G.out.ptr, k * per), i * per);
    }
    return out;
  }

  async encode(images: Float32Array, n: number): Promise<Float32Array> {
    const { E } = this.model, core = this.core;
    const per = E.image.size / this.batch, L = this.cfg.latentDim;
    if (images.length !== n * per) throw new Error(`encode: expected ${n * per} image floats`);
    const out = new Float32Array(n * L);
    E.image.needsGrad = false;
    for (let i = 0; i < n; i += this.batch) {
      const k = Math.min(this.batch, n - i);
      core.f32(E.image.ptr, E.image.size).fill(0).set(images.subarray(i * per, (i + k) * per));
      E.g.forward(false);
      out.set(core.f32(E.mu.ptr, k * L), i * L);
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
