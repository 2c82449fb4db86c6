// The inference API: a generator (and optionally the encoder) from a precompiled WebAssembly.Module plus
// weight bytes, on one thread, in any runtime (Node, Deno, Bun, browsers and their Web Workers, Cloudflare
// Workers). No node: imports. Weights stay compressed (f32, f16 or int8) in the file's bytes and are
// dequantised layer by layer into one f32 scratch in wasm memory just before the layer runs.
// `threads: N` splits each layer over N threads sharing one wasm memory (threads.ts, thread-nets.ts), with
// the same results bit for bit; where the runtime cannot (no SharedArrayBuffer) it runs on one thread.
//
//   const m = await BicycleGANInference.create({ weights });       // finds and compiles the shipped core
//   const m = await BicycleGANInference.create({ module, build, weights }); // Cloudflare Workers: an imported Module
//   const { images } = m.sample(img, { n: 4, seed: 1 });   // RGBA in, RGBA out (model size)
//   const { mu } = m.encode(reference); const out = m.translate(img, mu);
import { createCore, loadModule, type Core, type WasmPaths } from '../core/loader.js';
import { PAGE } from '../core/memory.js';
import type { Build } from '../core/features.js';
import { Rng } from '../core/rng.js';
import { inputChannelsOf, type ModelConfig } from '../models/config.js';
import { describeGenerator } from '../models/generator.js';
import { describeEncoder } from '../models/encoder.js';
export { ZOO, zooModel, zooModelUrl, type ZooModel } from './zoo.js';
import { RunBuilder, type SharedScratch, type T } from './nets.js';
import { ThreadedBuilder, type RankScratch } from './thread-nets.js';
import { ThreadPool, threadSupport, warnOneThread, type Call } from './threads.js';
import { convertWeights, isPacked, layerWeights, readPacked, type FoldStats, type InferNet, type Storage } from './weights.js';
import { checkImage, fromModelOutput, toModelInput, type RGBAImage } from './image.js';

export * from './image.js';
export { convertWeights, quantiseInt8, readPacked, isPacked, INFER_FORMAT, STORAGES, type Storage, type InferNet, type FoldStats } from './weights.js';
export { f32ToF16, f16Table } from './f16.js';
export { loadModule, wasmUrl, enableRelaxedSimdFlag, type WasmPaths, type WasmFile, type ModuleOptions } from '../core/loader.js';
export { threadSupport } from './threads.js';
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
  /** threads for one image (like onnxruntime-web's numThreads), this one included; default 1. Each layer's
   * output channels are split over them, with the same results as one thread bit for bit. Needs the threads
   * build (core-threads*.wasm: found like the others, or as `module`), SharedArrayBuffer and workers; where
   * those are missing (Cloudflare Workers, pages that are not cross-origin isolated) it runs on one thread and
   * warns once. Call dispose() to stop the worker threads. */
  threads?: number;
  /** where the one warning goes (default: console.warn) */
  onWarning?: (message: string) => void;
  /** run the weight-bound small layers (at most 64 output pixels: the generator's deepest down layers, up1 on its
   * 1x1 image, fc) on weights in the GEMM's panel layout (default true): 1.1-2.3x faster there. f32 files pack
   * them once at load, at the cost of an f32 copy of those layers in wasm memory (memory().packedBytes); f16 and
   * int8 files dequantise them per call straight into the panels (no memory cost; not up1). */
  packWeights?: boolean;
}

export interface SampleOptions {
  n: number;
  seed: number;
}

/** Upper bound on samples per call. */
export const MAX_SAMPLES = 64;
/** Upper bound on `threads`. */
export const MAX_THREADS = 64;

export class BicycleGANInference {
  readonly cfg: ModelConfig;
  readonly storage: Storage;
  readonly hasEncoder: boolean;
  /** bytes of the weight file held (compressed weights) */
  readonly weightBytes: number;
  /** bytes of weights packed at load (packWeights) */
  readonly packedBytes: number;
  private g: { image: T; z: T; out: T; ops: (() => void)[]; rank0: (() => void)[]; marks: { at: number; name: string }[] };
  private e: { image: T; mu: T; logvar: T; ops: (() => void)[]; rank0: (() => void)[] } | null = null;
  private pool: ThreadPool | null = null;
  /** generate's output for the image API (sample, translate), which turns it into RGBA at once: kept, so those
   * calls do not fault in a new array each (see generate) */
  private outFloats: Float32Array | null = null;
  /** per network (G, then E), per rank: the kernel calls of each op, for the worker threads */
  private programs: Call[][][][] = [];

  /** `threads`: the threads this model runs on (1 where the runtime has none; then `core` is a plain build) */
  private constructor(readonly core: Core, weights: Uint8Array, opts: InferenceOptions, readonly threads = 1) {
    const bytes = isPacked(weights) ? weights : convertWeights(weights, { storage: 'f32', config: opts.config, nets: opts.encoder ? ['G', 'E'] : undefined, bnStats: opts.bnStats });
    const want: InferNet[] = opts.encoder ? ['G', 'E'] : ['G'];
    const packed = readPacked(bytes, 'weights', want);
    this.cfg = packed.cfg;
    this.storage = packed.storage;
    this.weightBytes = packed.bytes;
    const scratch: SharedScratch = { wFloats: 0, stageBytes: 0, convFloats: 0, w: 0, stage: 0, conv: 0 };
    const lw = layerWeights(core, packed);
    // the weight-bound small layers on packed weights (src/infer/packed.ts)
    const pack = opts.packWeights !== false;
    const builder = (net: string) => (threads > 1 ? new ThreadedBuilder(core, lw, scratch, net, packed, threads, pack) : new RunBuilder(core, lw, scratch, net, pack));
    const gb = builder('G');
    this.g = { ...describeGenerator(this.cfg)(gb, this.cfg, 1), ops: gb.ops, rank0: gb.ops, marks: gb.marks };
    this.hasEncoder = opts.encoder ?? packed.nets.includes('E');
    let eb: RunBuilder | undefined;
    if (this.hasEncoder) {
      eb = builder('E');
      this.e = { ...describeEncoder(this.cfg)(eb, this.cfg, 1), ops: eb.ops, rank0: eb.ops };
    }
    scratch.w = core.arena.alloc(scratch.wFloats, 'layer weight scratch');
    scratch.stage = core.arena.allocBytes(scratch.stageBytes, 'weight staging');
    scratch.conv = core.arena.alloc(scratch.convFloats, 'conv scratch');
    // pack once: the weights staged one chunk at a time in a region released afterwards
    const jobs = [gb, eb].flatMap((b) => b?.packJobs ?? []);
    this.packedBytes = [gb, eb].reduce((n, b) => n + (b?.packedBytes ?? 0), 0);
    if (jobs.length) {
      const mark = core.arena.mark(), tmp = core.arena.alloc(Math.max(...jobs.map((j) => j.floats)), 'weights to pack');
      for (const j of jobs) j.run(tmp);
      core.arena.reset(mark);
    }
    if (threads > 1) {
      // each rank's own scratch, then per network and op the calls of every rank
      const bs = [gb, eb].filter((b): b is ThreadedBuilder => b instanceof ThreadedBuilder);
      const wFloats = Math.max(...bs.map((b) => b.need.wFloats)), convFloats = Math.max(...bs.map((b) => b.need.convFloats));
      const rs: RankScratch[] = Array.from({ length: threads }, (_, r) => ({ w: core.arena.alloc(wFloats, `rank ${r} weight scratch`), conv: core.arena.alloc(convFloats, `rank ${r} conv scratch`) }));
      const k = core.k as unknown as Record<string, (...a: number[]) => void>;
      for (const [b, net] of bs.map((b) => [b, b === gb ? this.g : this.e!] as const)) {
        const calls = b.materialise(rs);
        // rank 0 runs its calls of a split op, or the op itself (one that is not split)
        net.rank0 = b.ops.map((op, i) => {
          if (!b.split.has(i)) return op;
          const mine = calls[i][0].map(([f, ...a]) => () => k[f](...a));
          return () => {
            for (const c of mine) c();
          };
        });
        this.programs.push(Array.from({ length: threads }, (_, r) => calls.map((c) => c[r])));
      }
    }
  }

  static async create(opts: InferenceOptions): Promise<BicycleGANInference> {
    const requested = opts.threads ?? 1;
    if (typeof requested !== 'number' || !Number.isInteger(requested) || requested < 1 || requested > MAX_THREADS)
      throw new RangeError(`BicycleGANInference.create: threads must be an integer in 1..${MAX_THREADS}, got ${String(requested)}`);
    if (opts.module && (!opts.build || opts.build === 'auto')) throw new Error("BicycleGANInference.create: with `module`, say which build it is (build: 'simd' | 'relaxed')");
    const warn = (why: string) => warnOneThread(why, requested, opts.onWarning ?? ((m) => console.warn(m)));
    let T = requested;
    const why = T > 1 ? threadSupport() : null;
    if (why) {
      warn(why);
      T = 1;
    }
    if (T > 1) {
      const source = opts.module ? { module: opts.module, build: opts.build as Build } : await loadModule({ build: opts.build, wasmPaths: opts.wasmPaths, threads: true });
      const maxMB = opts.maxMemoryMB ?? 2048;
      if (!(maxMB >= 1 && maxMB <= 4096)) throw new Error(`core: maxMemoryMB must be between 1 and 4096 (MiB), got ${maxMB}`);
      const memory = new WebAssembly.Memory({ initial: 16, maximum: Math.floor((maxMB * 2 ** 20) / PAGE), shared: true });
      let core: Core | undefined;
      try {
        core = await createCore(source, { maxMemoryMB: maxMB, memory });
      } catch (e) {
        // a given module that is not a threads build imports an unshared memory
        if (!(opts.module && e instanceof WebAssembly.LinkError)) throw e;
        warn('the given module is not a threads build (core-threads.wasm or core-threads-relaxed.wasm)');
      }
      if (core) {
        const m = new BicycleGANInference(core, opts.weights, opts, T);
        m.pool = await ThreadPool.start({ module: core.module, memory, T, programs: m.programs });
        return m;
      }
    }
    const source = opts.module ? { module: opts.module, build: opts.build as Build } : await loadModule({ build: opts.build, wasmPaths: opts.wasmPaths });
    const core = await createCore(source, { maxMemoryMB: opts.maxMemoryMB });
    return new BicycleGANInference(core, opts.weights, opts);
  }

  /** Stop the worker threads (threads > 1); the model cannot run afterwards. A no-op on one thread. */
  async dispose(): Promise<void> {
    await this.pool?.dispose();
  }

  /** Run a network's ops: here, or split over the threads (program p: 0 = G, 1 = E). */
  private runOps(net: { ops: (() => void)[]; rank0: (() => void)[] }, p: number): void {
    if (!this.pool) {
      for (const op of net.ops) op();
      return;
    }
    const r0 = net.rank0;
    this.pool.run(p, r0.length, (i) => r0[i]());
  }

  get size(): number {
    return this.cfg.imageSize;
  }

  /** Low level: one condition image (S*S*C_A floats, NHWC in [-1, 1]) and one code -> S*S*C floats in [-1, 1],
   * written into `into` when given (returned; a serving loop that reuses it skips a fresh array per call: its
   * pages are faulted in anew each time, 192 faults and about 2.3 ms at 256 px on the KVM machine of
   * bench/RESULTS.md, while onnxruntime-node's runs fault none), else into a new array. */
  generate(input: Float32Array, z: ArrayLike<number>, into?: Float32Array): Float32Array {
    const { image, z: zt, out } = this.g;
    const L = this.cfg.latentDim, n = image.H * image.W * image.C, m = out.H * out.W * out.C; // C of B (A may have 1 channel)
    if (input.length !== n) throw new Error(`generate: expected ${n} input floats, got ${input.length}`);
    if (z.length !== L) throw new Error(`generate: expected a code of ${L} values, got ${z.length}`);
    if (into && into.length !== m) throw new Error(`generate: the output array (into) must hold ${m} floats, got ${into.length}`);
    for (let i = 0; i < L; i++) if (!Number.isFinite(z[i])) throw new Error(`generate: code value ${i} is not finite`);
    this.core.f32(image.ptr, n).set(input);
    this.core.f32(zt.ptr, L).set(z);
    this.runOps(this.g, 0);
    const y = this.core.f32(out.ptr, m);
    if (!into) return y.slice();
    into.set(y);
    return into;
  }

  /**
   * Where generate's time goes, per layer of the generator (a layer with its norm and activation; names as in
   * PyTorch's state_dict): generate(input, z) once, then each layer's ops `runs` times in network order (so each
   * layer reads its real input), median ms per layer. One thread only (split layers wait for each other).
   */
  profileGenerate(input: Float32Array, z: ArrayLike<number>, runs = 10): { name: string; ms: number }[] {
    if (this.pool) throw new Error('profileGenerate: runs on one thread (threads: 1)');
    this.generate(input, z);
    const { ops, marks } = this.g;
    const groups = marks.map((m, i) => ({ name: m.name, ops: ops.slice(m.at, marks[i + 1]?.at ?? ops.length), t: [] as number[] }));
    const head = ops.slice(0, marks[0]?.at ?? ops.length);
    for (let r = 0; r < runs; r++) {
      for (const op of head) op();
      for (const g of groups) {
        const t0 = performance.now();
        for (const op of g.ops) op();
        g.t.push(performance.now() - t0);
      }
    }
    const median = (v: number[]) => v.sort((a, b) => a - b)[v.length >> 1];
    return groups.filter((g) => g.ops.length).map((g) => ({ name: g.name, ms: median(g.t) }));
  }

  /** Low level: encoder (mu, logvar) of one NHWC [-1, 1] image. */
  encodeInput(input: Float32Array): { mu: Float32Array; logvar: Float32Array } {
    if (!this.e) throw new Error('encode: these weights have no encoder (convert with --encoder, or pass encoder: true)');
    const { image, mu, logvar } = this.e;
    const n = image.H * image.W * image.C, L = this.cfg.latentDim;
    if (input.length !== n) throw new Error(`encode: expected ${n} input floats, got ${input.length}`);
    this.core.f32(image.ptr, n).set(input);
    this.runOps(this.e, 1);
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
    return { images: z.map((zi) => fromModelOutput(this.generate(x, zi, this.outputFloats()), this.size, this.cfg.channels)), z };
  }

  /** The encoder's code of a reference image (mu; logvar too): the style to transfer with translate(). */
  encode(reference: RGBAImage): { mu: Float32Array; logvar: Float32Array } {
    checkImage(reference, 'reference');
    return this.encodeInput(toModelInput(reference, this.size, this.cfg.channels));
  }

  /** G(image, z) for a given code (e.g. encode(reference).mu). */
  translate(image: RGBAImage, z: ArrayLike<number>): RGBAImage {
    checkImage(image);
    return fromModelOutput(this.generate(toModelInput(image, this.size, inputChannelsOf(this.cfg)), z, this.outputFloats()), this.size, this.cfg.channels);
  }

  private outputFloats(): Float32Array {
    const { out } = this.g;
    return (this.outFloats ??= new Float32Array(out.H * out.W * out.C));
  }

  /** Memory now: wasm linear memory and the arena's high-water mark (bytes), the weight file held, and the bytes
   * of weights packed at load (in wasm memory, part of the arena). */
  memory(): { wasmBytes: number; arenaPeakBytes: number; weightBytes: number; packedBytes: number } {
    return { wasmBytes: this.core.memory.buffer.byteLength, arenaPeakBytes: this.core.arena.peak, weightBytes: this.weightBytes, packedBytes: this.packedBytes };
  }
}
