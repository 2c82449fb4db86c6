// The inference API: a generator (and optionally the encoder) from a precompiled WebAssembly.Module plus
// weight bytes, on one thread, in any runtime (Node, Deno, Bun, browsers and their Web Workers, Cloudflare
// Workers). No node: imports. Weights stay compressed (f32, f16 or int8) in the file's bytes and are
// dequantised layer by layer into one f32 scratch in wasm memory just before the layer runs.
//
//   const m = await BicycleGANInference.create({ weights });       // finds and compiles the shipped core
//   const m = await BicycleGANInference.create({ module, build, weights }); // Cloudflare Workers: an imported Module
//   const { images } = m.sample(img, { n: 4, seed: 1 });   // RGBA in, RGBA out (model size)
//   const { mu } = m.encode(reference); const out = m.translate(img, mu);
import { createCore, loadModule, type Core, type WasmPaths } from '../core/loader.js';
import type { Build } from '../core/features.js';
import { Rng } from '../core/rng.js';
import { inputChannelsOf, type ModelConfig } from '../models/config.js';
import { describeGenerator } from '../models/generator.js';
import { describeEncoder } from '../models/encoder.js';
export { ZOO, zooModel, zooModelUrl, type ZooModel } from './zoo.js';
import { RunBuilder, type SharedScratch, type T } from './nets.js';
import { convertWeights, isPacked, layerWeights, readPacked, type FoldStats, type InferNet, type Storage } from './weights.js';
import { checkImage, fromModelOutput, toModelInput, type RGBAImage } from './image.js';

export * from './image.js';
export { convertWeights, quantiseInt8, readPacked, isPacked, INFER_FORMAT, STORAGES, type Storage, type InferNet, type FoldStats } from './weights.js';
export { f32ToF16, f16Table } from './f16.js';
export { loadModule, wasmUrl, enableRelaxedSimdFlag, type WasmPaths, type ModuleOptions } from '../core/loader.js';
export { detectBuild, hasSimd, hasRelaxedSimd, type Build } from '../core/features.js';

export interface InferenceOptions {
  /** the compiled core (on Cloudflare Workers, which refuse to compile bytes, the imported .wasm: required
   * there); default: loadModule() finds the shipped build for this runtime and compiles it */
  module?: WebAssembly.Module;
  /** which build `module` is (required with `module`); without `module`: 'auto' (default), 'simd' or 'relaxed' */
  build?: Build | 'auto';
  /** without `module`: where the .wasm files are (a folder URL, or per build a URL or Module), for bundlers
   * that do not copy `new URL(..., import.meta.url)` assets and for CDNs; default: beside the package's code */
  wasmPaths?: WasmPaths;
  /** an inference weight file (see weights.ts), or a training checkpoint / weights file / PyTorch state_dict (converted to f32 here) */
  weights: Uint8Array;
  /** load the encoder too (default: when the file has it) */
  encoder?: boolean;
  /** model config, only for a PyTorch state_dict without our metadata */
  config?: ModelConfig;
  /** for a checkpoint: the BatchNorm statistics to fold (default: recalibrated when it has them, else running);
   * an inference file has them folded already */
  bnStats?: FoldStats;
  /** wasm memory budget in MiB (asserted by the core's arena); default 2048 */
  maxMemoryMB?: number;
}

export interface SampleOptions {
  n: number;
  seed: number;
}

/** Upper bound on samples per call. */
export const MAX_SAMPLES = 64;

export class BicycleGANInference {
  readonly cfg: ModelConfig;
  readonly storage: Storage;
  readonly hasEncoder: boolean;
  /** bytes of the weight file held (compressed weights) */
  readonly weightBytes: number;
  private g: { image: T; z: T; out: T; ops: (() => void)[] };
  private e: { image: T; mu: T; logvar: T; ops: (() => void)[] } | null = null;

  private constructor(readonly core: Core, weights: Uint8Array, opts: InferenceOptions) {
    const bytes = isPacked(weights) ? weights : convertWeights(weights, { storage: 'f32', config: opts.config, nets: opts.encoder ? ['G', 'E'] : undefined, bnStats: opts.bnStats });
    const want: InferNet[] = opts.encoder ? ['G', 'E'] : ['G'];
    const packed = readPacked(bytes, 'weights', want);
    this.cfg = packed.cfg;
    this.storage = packed.storage;
    this.weightBytes = packed.bytes;
    const scratch: SharedScratch = { wFloats: 0, stageBytes: 0, convFloats: 0, w: 0, stage: 0, conv: 0 };
    const lw = layerWeights(core, packed);
    const gb = new RunBuilder(core, lw, scratch, 'G');
    this.g = { ...describeGenerator(this.cfg)(gb, this.cfg, 1), ops: gb.ops };
    this.hasEncoder = opts.encoder ?? packed.nets.includes('E');
    if (this.hasEncoder) {
      const eb = new RunBuilder(core, lw, scratch, 'E');
      this.e = { ...describeEncoder(this.cfg)(eb, this.cfg, 1), ops: eb.ops };
    }
    scratch.w = core.arena.alloc(scratch.wFloats, 'layer weight scratch');
    scratch.stage = core.arena.allocBytes(scratch.stageBytes, 'weight staging');
    scratch.conv = core.arena.alloc(scratch.convFloats, 'conv scratch');
  }

  static async create(opts: InferenceOptions): Promise<BicycleGANInference> {
    let source: { module: WebAssembly.Module; build: Build };
    if (opts.module) {
      if (!opts.build || opts.build === 'auto') throw new Error("BicycleGANInference.create: with `module`, say which build it is (build: 'simd' | 'relaxed')");
      source = { module: opts.module, build: opts.build };
    } else source = await loadModule({ build: opts.build, wasmPaths: opts.wasmPaths });
    const core = await createCore(source, { maxMemoryMB: opts.maxMemoryMB });
    return new BicycleGANInference(core, opts.weights, opts);
  }

  get size(): number {
    return this.cfg.imageSize;
  }

  /** Low level: one condition image (S*S*C_A floats, NHWC in [-1, 1]) and one code -> S*S*C floats in [-1, 1]. */
  generate(input: Float32Array, z: ArrayLike<number>): Float32Array {
    const { image, z: zt, out, ops } = this.g;
    const L = this.cfg.latentDim, n = image.H * image.W * image.C;
    if (input.length !== n) throw new Error(`generate: expected ${n} input floats, got ${input.length}`);
    if (z.length !== L) throw new Error(`generate: expected a code of ${L} values, got ${z.length}`);
    for (let i = 0; i < L; i++) if (!Number.isFinite(z[i])) throw new Error(`generate: code value ${i} is not finite`);
    this.core.f32(image.ptr, n).set(input);
    this.core.f32(zt.ptr, L).set(z);
    for (const op of ops) op();
    return this.core.f32(out.ptr, out.H * out.W * out.C).slice(); // C of B (A may have 1 channel)
  }

  /** Low level: encoder (mu, logvar) of one NHWC [-1, 1] image. */
  encodeInput(input: Float32Array): { mu: Float32Array; logvar: Float32Array } {
    if (!this.e) throw new Error('encode: these weights have no encoder (convert with --encoder, or pass encoder: true)');
    const { image, mu, logvar, ops } = this.e;
    const n = image.H * image.W * image.C, L = this.cfg.latentDim;
    if (input.length !== n) throw new Error(`encode: expected ${n} input floats, got ${input.length}`);
    this.core.f32(image.ptr, n).set(input);
    for (const op of ops) op();
    return { mu: this.core.f32(mu.ptr, L).slice(), logvar: this.core.f32(logvar.ptr, L).slice() };
  }

  /** The latent codes sample() uses for a seed: n standard normal vectors from the seeded RNG. */
  codes(n: number, seed: number): Float32Array[] {
    if (!Number.isInteger(n) || n < 1 || n > MAX_SAMPLES) throw new RangeError(`n must be an integer in 1..${MAX_SAMPLES}, got ${n}`);
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff) throw new RangeError(`seed must be an integer in 0..2^32-1, got ${seed}`);
    const rng = new Rng(seed);
    return Array.from({ length: n }, () => {
      const z = new Float32Array(this.cfg.latentDim);
      rng.fillNormal(z);
      return z;
    });
  }

  /** n translations of `image` with codes drawn from N(0, I) by a seeded RNG (the multimodal samples). */
  sample(image: RGBAImage, o: SampleOptions): { images: RGBAImage[]; z: Float32Array[] } {
    const z = this.codes(o.n, o.seed);
    checkImage(image);
    const x = toModelInput(image, this.size, inputChannelsOf(this.cfg));
    return { images: z.map((zi) => fromModelOutput(this.generate(x, zi), this.size, this.cfg.channels)), z };
  }

  /** The encoder's code of a reference image (mu; logvar too): the style to transfer with translate(). */
  encode(reference: RGBAImage): { mu: Float32Array; logvar: Float32Array } {
    checkImage(reference, 'reference');
    return this.encodeInput(toModelInput(reference, this.size, this.cfg.channels));
  }

  /** G(image, z) for a given code (e.g. encode(reference).mu). */
  translate(image: RGBAImage, z: ArrayLike<number>): RGBAImage {
    checkImage(image);
    return fromModelOutput(this.generate(toModelInput(image, this.size, inputChannelsOf(this.cfg)), z), this.size, this.cfg.channels);
  }

  /** Memory now: wasm linear memory and the arena's high-water mark (bytes), and the weight file held. */
  memory(): { wasmBytes: number; arenaPeakBytes: number; weightBytes: number } {
    return { wasmBytes: this.core.memory.buffer.byteLength, arenaPeakBytes: this.core.arena.peak, weightBytes: this.weightBytes };
  }
}
