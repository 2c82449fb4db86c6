// Inference weight files ("packed"): safetensors with one entry per conv/linear/conv-transpose layer, BatchNorm
// (eval mode) already folded in, in our kernel layout (conv HWIO [k][k][C][OC], linear [1][1][IN][OUT],
// conv-transpose the HWIO of its dual conv [k][k][OC][C]), so loading is zero-copy: the layer weights stay in the
// file's bytes and are dequantised into one shared f32 scratch just before each layer runs. Peak memory = the
// compressed file + one chunk's f32 weights + activations.
// A layer whose f32 weights exceed chunk_floats is split along its innermost channels (K = OC for a conv, K = C
// for a conv-transpose) into G equal chunks (G a power of two, K/G a multiple of 8), each a contiguous tensor
// [k][k][*][K/G]: a conv chunk runs as its own conv writing a channel slice of the output, a conv-transpose chunk
// as the transposed conv of a channel slice of the input accumulated into the output; the f32 scratch (and the
// conv's scratch) hold one chunk only.
//   <layer>.weight  F32 | F16 | I8, shape [G, k, k, C, OC/G] (conv, linear), [G, k, k, OC, C/G] (conv-transpose)
//   <layer>.scale   F32 [K], int8 only: per-innermost-channel scale, w = q * scale[i] (symmetric, |q| <= 127)
//   <layer>.bias    F32 [OC], when the layer has a bias or a folded BatchNorm
// A BatchNorm2d alone ('bn' layers, named after the BatchNorm module) is stored as a [1, 1, 1, 1, OC] weight (the
// per-channel scale gamma / sqrt(var + eps)) and its bias (beta - mean * scale).
// __metadata__: format (bicyclegan-infer/1), storage (f32 | f16 | int8), nets (G or G,E), config (ModelConfig),
// chunk_floats (the chunking cap the file was written with).
// F32 tensors come first, then F16, then I8, so every view is aligned whenever the file bytes are.
import { checkTensors, parseSafetensors, serializeSafetensors, toF32, type Safetensors, type TensorEntry } from '../core/safetensors.js';
import type { Core } from '../core/loader.js';
import { show } from '../core/show.js';
import type { ModelConfig } from '../models/config.js';
import { fromTorchLayout, type ParamEntry } from '../nn/params.js';
import { RECALIBRATED_PREFIX } from '../nn/batchnorm.js';
import { f16Table, toF16Array } from './f16.js';
import { planOf, type LayerSpec } from './nets.js';

export const INFER_FORMAT = 'bicyclegan-infer/1';
export type Storage = 'f32' | 'f16' | 'int8';
export const STORAGES: readonly Storage[] = ['f32', 'f16', 'int8'];
export type InferNet = 'G' | 'E';
/** Default cap on one weight chunk: 2^19 floats = 2 MiB of f32 (the pytorch-gan G's largest layer is 18 MiB). */
export const CHUNK_FLOATS = 1 << 19;

/** The innermost channels of a layer's stored weights, along which it is chunked and int8-scaled: the output
 * channels, or a conv-transpose's input channels. */
export function innerOf(s: LayerSpec): number {
  return s.layout === 'convT' ? s.C : s.OC;
}

/** Stored weight shape of a layer in G chunks. */
function storedShape(s: LayerSpec, G: number): number[] {
  return s.layout === 'convT' ? [G, s.k, s.k, s.OC, s.C / G] : [G, s.k, s.k, s.C, s.OC / G];
}

/** Number of chunks of a layer under `cap` floats per chunk (a 'bn' layer is never chunked). */
export function chunksOf(s: LayerSpec, cap: number): number {
  if (s.layout === 'bn') return 1;
  const K = innerOf(s), per = (s.k * s.k * s.C * s.OC) / K;
  let g = 1;
  while (per * (K / g) > cap && K % (2 * g) === 0 && (K / (2 * g)) % 8 === 0) g *= 2;
  return g;
}

/** [T][OC] -> chunked [G][T][OC/G] (OC: the innermost channels; inverse: `back`). */
function rechunk<A extends Float32Array | Int8Array>(w: A, OC: number, G: number, back = false): A {
  if (G === 1) return w;
  const T = w.length / OC, OCc = OC / G, out = new (w.constructor as { new (n: number): A })(w.length);
  for (let g = 0; g < G; g++)
    for (let t = 0; t < T; t++)
      for (let o = 0; o < OCc; o++) {
        const hwio = t * OC + g * OCc + o, ch = (g * T + t) * OCc + o;
        if (back) out[hwio] = w[ch];
        else out[ch] = w[hwio];
      }
  return out;
}

/** One layer's weights as stored, plus the folded bias. */
export interface StoredLayer {
  spec: LayerSpec;
  /** OC chunks (weights [G][k][k][C][OC/G]) */
  G: number;
  w: Float32Array | Uint16Array | Int8Array;
  scale?: Float32Array;
  bias?: Float32Array;
}

/** A layer ready to run: load() puts its f32 HWIO weights at byte offset `w` of wasm memory (the shared
 * weight scratch), through `stage` (a staging area of at least stageBytes) for the compressed storages. */
export interface LayerWeights {
  readonly name: string;
  /** floats of one chunk */
  readonly size: number;
  /** chunks, and innermost channels per chunk (output channels; a conv-transpose's input channels) */
  readonly G: number;
  readonly OCc: number;
  readonly stageBytes: number;
  /** byte offset of the f32 bias in wasm memory, 0 when the layer has none */
  readonly biasPtr: number;
  /** put chunk g's f32 weights at w */
  load(g: number, w: number, stage: number): void;
  /** compressed storages: put chunk g's f32 weights at w in conv2d_pack's panel layout (dequantised straight
   * into it), for conv2d_forward_packed; absent for f32 files (they pack once at load instead) */
  loadPanels?(g: number, w: number, stage: number): void;
}

export interface PackedWeights {
  cfg: ModelConfig;
  storage: Storage;
  nets: InferNet[];
  layers: Map<string, StoredLayer>;
  /** bytes of the weight file */
  bytes: number;
  chunkFloats: number;
  /** the BatchNorm statistics folded in, as the converter recorded them */
  bnStats?: FoldStats;
}

const err = (source: string, msg: string): never => {
  throw new Error(`${source}: ${msg}`);
};

function parse(bytes: Uint8Array, source: string): Safetensors {
  try {
    return parseSafetensors(bytes);
  } catch (e) {
    return err(source, (e as Error).message);
  }
}

/** Numeric fields of a stored model config: positive integers (sizes) and positive finite numbers (eps). */
const CONFIG_INTS = ['imageSize', 'channels', 'latentDim', 'gBase', 'eBase', 'dBase'] as const;
const CONFIG_EPS = ['bnEpsG', 'bnEpsD', 'bnEpsE'] as const;

function configOf(p: Safetensors, source: string, given?: ModelConfig): ModelConfig {
  if (given) return given;
  if (!p.metadata.config) return err(source, 'no model config in the safetensors metadata (pass one: a PyTorch state_dict does not carry it)');
  let v: unknown;
  try {
    v = JSON.parse(p.metadata.config);
  } catch (e) {
    return err(source, `metadata config is not valid JSON (${(e as Error).message})`);
  }
  // the same checks as the training schema (src/train/checkpoint-schema.ts), without zod in edge bundles
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return err(source, `metadata config: must be an object of model options (got ${show(v)})`);
  const c = v as Record<string, unknown>;
  // the inference networks are built from these alone (no defaults), so each must be there
  for (const k of CONFIG_INTS)
    if (!(Number.isInteger(c[k]) && (c[k] as number) >= 1 && (c[k] as number) <= 1 << 16)) err(source, `metadata config.${k}: must be an integer in 1..65536 (got ${show(c[k])})`);
  for (const k of CONFIG_EPS)
    if (!(typeof c[k] === 'number' && Number.isFinite(c[k]) && (c[k] as number) > 0)) err(source, `metadata config.${k}: must be a positive number (got ${show(c[k])})`);
  if (c.preset !== undefined && c.preset !== 'pytorch-gan' && c.preset !== 'official') err(source, `metadata config.preset: must be "pytorch-gan" or "official" (got ${show(c.preset)})`);
  if (c.preset === 'official') checkOfficial(c.official, source);
  return v as ModelConfig;
}

/** The official preset's network options, every one present and one of its values. */
const OFFICIAL_VALUES: Record<string, readonly unknown[]> = {
  netG: ['unet_128', 'unet_256'],
  whereAdd: ['all', 'input'],
  norm: ['instance', 'batch', 'none'],
  dropout: [true, false],
  netE: ['resnet_128', 'resnet_256', 'conv_128', 'conv_256'],
  netD: ['basic_128_multi', 'basic_256_multi'],
  conditionalD: [true, false],
  sameD: [true, false],
  inputChannels: [1, 3],
};

function checkOfficial(o: unknown, source: string): void {
  if (o === null || typeof o !== 'object' || Array.isArray(o)) return err(source, `metadata config.official: must be an object of the official preset's network options (got ${show(o)})`);
  const r = o as Record<string, unknown>;
  for (const [k, ok] of Object.entries(OFFICIAL_VALUES))
    if (!ok.includes(r[k])) err(source, `metadata config.official.${k}: must be one of ${ok.map((x) => JSON.stringify(x)).join(', ')} (got ${show(r[k])})`);
  if (!(Number.isInteger(r.numDs) && (r.numDs as number) >= 1 && (r.numDs as number) <= 4)) err(source, `metadata config.official.numDs: must be an integer in 1..4 (got ${show(r.numDs)})`);
}

/** Index of the first non-finite value (f32), or of an f16 value with an all-ones exponent (Inf/NaN); -1 if none. */
function firstNonFinite(a: Float32Array | Uint16Array): number {
  if (a instanceof Uint16Array) {
    for (let i = 0; i < a.length; i++) if ((a[i] & 0x7c00) === 0x7c00) return i;
    return -1;
  }
  for (let i = 0; i < a.length; i++) if (!Number.isFinite(a[i])) return i;
  return -1;
}

export function isPacked(bytes: Uint8Array): boolean {
  try {
    return parseSafetensors(bytes).metadata.format === INFER_FORMAT;
  } catch {
    return false;
  }
}

/** Which BatchNorm statistics a conversion folds: the raw running ones or the recalibrated ones
 * (`recalibrated.<bn>.running_mean|running_var`, written by `bicyclegan recalibrate` and by training). */
export type FoldStats = 'running' | 'recalibrated';

/** BatchNorm statistics to fold: gamma, beta, mean, var of module `bn`. */
function bnTensors(p: Safetensors, bn: string, stats: FoldStats): Float32Array[] {
  return ['weight', 'bias', 'running_mean', 'running_var'].map((k) => {
    const name = `${stats === 'recalibrated' && k.startsWith('running_') ? RECALIBRATED_PREFIX : ''}${bn}.${k}`;
    return toF32(p.tensors.get(name)!, name);
  });
}

/** Weight of a layer in our layout, f32, BatchNorm folded (from a training checkpoint or a PyTorch state_dict). */
function foldLayer(p: Safetensors, s: LayerSpec, stats: FoldStats): { w: Float32Array; bias?: Float32Array } {
  if (s.layout === 'bn') {
    // a BatchNorm alone: y = (x - mean) * gamma / sqrt(var + eps) + beta = x * w + bias
    const [gamma, beta, mean, vr] = bnTensors(p, s.name, stats);
    const w = new Float32Array(s.OC), bias = new Float32Array(s.OC);
    for (let o = 0; o < s.OC; o++) {
      const scale = gamma[o] / Math.sqrt(vr[o] + s.eps!);
      w[o] = scale;
      bias[o] = beta[o] - mean[o] * scale;
    }
    return { w, bias };
  }
  const torchW = toF32(p.tensors.get(`${s.name}.weight`)!, `${s.name}.weight`);
  const entry = { name: s.name, shape: s.torchShape, layout: s.layout, size: torchW.length, chw: s.chw } as ParamEntry;
  const w = fromTorchLayout(torchW, entry);
  const OC = s.OC;
  let bias: Float32Array | undefined = s.bias ? Float32Array.from(toF32(p.tensors.get(`${s.name}.bias`)!, `${s.name}.bias`)) : undefined;
  if (s.bn) {
    const [gamma, beta, mean, vr] = bnTensors(p, s.bn.name, stats);
    const scale = new Float64Array(OC);
    const b = new Float32Array(OC);
    for (let o = 0; o < OC; o++) {
      scale[o] = gamma[o] / Math.sqrt(vr[o] + s.bn.eps);
      b[o] = beta[o] + ((bias ? bias[o] : 0) - mean[o]) * scale[o];
    }
    // the output channel of a weight: innermost in a conv's HWIO, the middle of a conv-transpose's [k][k][OC][C]
    const inner = s.layout === 'convT' ? s.C : 1;
    for (let i = 0; i < w.length; i++) w[i] = w[i] * scale[Math.floor(i / inner) % OC];
    bias = b;
  }
  return { w, bias };
}

function expectedTorch(s: LayerSpec, stats: FoldStats): { name: string; shape: number[] }[] {
  const out = [{ name: `${s.name}.weight`, shape: s.torchShape }];
  if (s.bias) out.push({ name: `${s.name}.bias`, shape: [s.OC] });
  if (s.layout === 'bn') {
    // a BatchNorm alone: weight and bias above are its gamma and beta
    for (const k of ['running_mean', 'running_var']) out.push({ name: `${s.name}.${k}`, shape: [s.OC] });
    if (stats === 'recalibrated') for (const k of ['running_mean', 'running_var']) out.push({ name: `${RECALIBRATED_PREFIX}${s.name}.${k}`, shape: [s.OC] });
  }
  if (s.bn) for (const k of ['weight', 'bias', 'running_mean', 'running_var']) out.push({ name: `${s.bn.name}.${k}`, shape: [s.OC] });
  if (s.bn && stats === 'recalibrated') for (const k of ['running_mean', 'running_var']) out.push({ name: `${RECALIBRATED_PREFIX}${s.bn.name}.${k}`, shape: [s.OC] });
  return out;
}

/** Whether a checkpoint carries recalibrated BatchNorm statistics. */
export function hasRecalibrated(p: Safetensors): boolean {
  return [...p.tensors.keys()].some((n) => n.startsWith(RECALIBRATED_PREFIX));
}

export interface ConvertOptions {
  storage: Storage;
  /** networks to keep (default: G, plus E when the file has the encoder) */
  nets?: InferNet[];
  /** model config, for a PyTorch state_dict without our metadata */
  config?: ModelConfig;
  /** cap on one weight chunk in floats (default CHUNK_FLOATS) */
  chunkFloats?: number;
  /** BatchNorm statistics to fold (default: recalibrated when the file has them, else running) */
  bnStats?: FoldStats;
  source?: string;
}

/**
 * Convert a training checkpoint, a weights file (src/train/checkpoint.ts, generator tensors unprefixed), a
 * PyTorch state_dict as safetensors, or an inference file of any storage into an inference file of `storage`.
 */
export function convertWeights(bytes: Uint8Array, o: ConvertOptions): Uint8Array {
  const source = o.source ?? 'weights';
  if (!STORAGES.includes(o.storage)) err(source, `unknown storage ${JSON.stringify(o.storage)} (use ${STORAGES.join(', ')})`);
  const p = parse(bytes, source);
  let f32Layers = new Map<string, F32Layer>();
  let cfg: ModelConfig;
  let nets: InferNet[];
  let stats: FoldStats | undefined = o.bnStats;
  if (p.metadata.format === INFER_FORMAT) {
    if (stats && p.metadata.bn_stats && stats !== p.metadata.bn_stats) err(source, `an inference file's BatchNorm is folded already (${p.metadata.bn_stats} statistics); convert the checkpoint to get ${stats}`);
    stats = p.metadata.bn_stats as FoldStats | undefined;
    const packed = readPacked(bytes, source);
    cfg = packed.cfg;
    nets = o.nets ?? packed.nets;
    for (const n of nets) if (!packed.nets.includes(n)) err(source, `the file has no ${n} weights`);
    for (const n of nets)
      for (const spec of planOf(n, cfg)) {
        const l = packed.layers.get(spec.name)!;
        const w = new Float32Array(spec.k * spec.k * spec.C * spec.OC);
        dequantiser(l)(w);
        f32Layers.set(spec.name, { spec, w: rechunk(w, innerOf(spec), l.G, true), bias: l.bias });
      }
  } else {
    cfg = configOf(p, source, o.config);
    nets = o.nets ?? (p.tensors.has('fc_mu.weight') ? ['G', 'E'] : ['G']);
    const fold = (stats ??= hasRecalibrated(p) ? 'recalibrated' : 'running');
    if (fold === 'recalibrated' && !hasRecalibrated(p))
      err(source, 'no recalibrated BatchNorm statistics in this file: run `bicyclegan recalibrate` on it (or fold the running statistics)');
    f32Layers = foldLayers(p, nets.flatMap((n) => planOf(n, cfg)), fold, source);
  }
  const cap = o.chunkFloats ?? CHUNK_FLOATS;
  const meta: Record<string, string> = { format: INFER_FORMAT, storage: o.storage, nets: nets.join(','), config: JSON.stringify(cfg), chunk_floats: String(cap) };
  if (stats) meta.bn_stats = stats;
  const entries = encodeLayers(f32Layers.values(), o.storage, cap, source);
  return serializeSafetensors(entries, meta);
}

/** One layer in f32, our layout (unchunked), BatchNorm folded. */
export interface F32Layer {
  spec: LayerSpec;
  w: Float32Array;
  bias?: Float32Array;
}

/** The f32 layers of `specs` from a checkpoint or PyTorch state_dict `p` (PyTorch names and layouts), BatchNorm
 * folded with `stats`; errors name `source` and the tensor. */
export function foldLayers(p: Safetensors, specs: LayerSpec[], stats: FoldStats, source = 'weights'): Map<string, F32Layer> {
  try {
    checkTensors(p, specs.flatMap((s) => expectedTorch(s, stats)), { allowExtra: true });
  } catch (e) {
    err(source, (e as Error).message);
  }
  const out = new Map<string, F32Layer>();
  try {
    for (const spec of specs) out.set(spec.name, { spec, ...foldLayer(p, spec, stats) });
  } catch (e) {
    err(source, (e as Error).message); // e.g. a tensor in a dtype that is not a number type
  }
  return out;
}

/** The tensors of an inference file of `storage` holding `layers` chunked under `cap` floats, F32 entries first,
 * then F16, then I8 (so every view of the file's bytes is aligned). */
export function encodeLayers(layers: Iterable<F32Layer>, storage: Storage, cap: number, source = 'weights'): TensorEntry[] {
  if (!Number.isInteger(cap) || cap < 64) err(source, `chunkFloats must be an integer >= 64, got ${cap}`);
  const f32: TensorEntry[] = [], f16: TensorEntry[] = [], i8: TensorEntry[] = [];
  for (const { spec, w: hwio, bias } of layers) {
    const G = chunksOf(spec, cap), K = innerOf(spec);
    const shape = storedShape(spec, G);
    const w = rechunk(hwio, K, G);
    for (let i = 0; i < w.length; i++) if (!Number.isFinite(w[i])) err(source, `${spec.name}.weight has a non-finite value at ${i}`);
    if (bias) f32.push({ name: `${spec.name}.bias`, dtype: 'F32', shape: [spec.OC], data: bias });
    if (storage === 'f32') f32.push({ name: `${spec.name}.weight`, dtype: 'F32', shape, data: w });
    else if (storage === 'f16') f16.push({ name: `${spec.name}.weight`, dtype: 'F16', shape, data: toF16Array(w) });
    else {
      const { q, scale } = quantiseInt8(hwio, K);
      f32.push({ name: `${spec.name}.scale`, dtype: 'F32', shape: [K], data: scale });
      i8.push({ name: `${spec.name}.weight`, dtype: 'I8', shape, data: rechunk(q, K, G) });
    }
  }
  return [...f32, ...f16, ...i8];
}

/** Symmetric per-channel int8 over the innermost channels OC (a conv's output channels, a conv-transpose's input
 * channels): scale[oc] = max|w[.., oc]| / 127, q = round(w / scale). */
export function quantiseInt8(w: Float32Array, OC: number): { q: Int8Array; scale: Float32Array } {
  const amax = new Float32Array(OC);
  for (let i = 0, o = 0; i < w.length; i++) {
    const a = Math.abs(w[i]);
    if (a > amax[o]) amax[o] = a;
    if (++o === OC) o = 0;
  }
  const scale = amax.map((a) => a / 127);
  const q = new Int8Array(w.length);
  for (let i = 0, o = 0; i < w.length; i++) {
    q[i] = scale[o] > 0 ? Math.max(-127, Math.min(127, Math.round(w[i] / scale[o]))) : 0;
    if (++o === OC) o = 0;
  }
  return { q, scale };
}

function aligned<A extends Float32Array | Uint16Array>(C: { new (b: ArrayBufferLike, o: number, n: number): A; BYTES_PER_ELEMENT: number }, d: Uint8Array, n: number): A {
  if (d.byteOffset % C.BYTES_PER_ELEMENT === 0) return new C(d.buffer, d.byteOffset, n);
  return new C(d.slice().buffer, 0, n);
}

/** The stored layers of `specs` in the tensors of an inference file of `storage` written with chunk cap
 * `chunkFloats` (views of the file's bytes); every tensor checked (dtype, shape, finite), none left over. */
export function readLayers(p: Safetensors, specs: LayerSpec[], storage: Storage, chunkFloats: number, source = 'weights'): Map<string, StoredLayer> {
  const dtype = storage === 'f32' ? 'F32' : storage === 'f16' ? 'F16' : 'I8';
  const layers = new Map<string, StoredLayer>();
  const problems: string[] = [];
  const seen = new Set<string>();
  const get = (name: string, dt: string, shape: number[]) => {
    seen.add(name);
    const t = p.tensors.get(name);
    if (!t) return void problems.push(`missing tensor ${JSON.stringify(name)}`);
    if (t.dtype !== dt || t.shape.join() !== shape.join()) return void problems.push(`tensor ${JSON.stringify(name)} is ${t.dtype} [${t.shape}], expected ${dt} [${shape}]`);
    return t.data;
  };
  for (const spec of specs) {
    const size = spec.k * spec.k * spec.C * spec.OC, G = chunksOf(spec, chunkFloats);
    const wd = get(`${spec.name}.weight`, dtype, storedShape(spec, G));
    const bd = spec.bias || spec.bn ? get(`${spec.name}.bias`, 'F32', [spec.OC]) : undefined;
    const sd = storage === 'int8' ? get(`${spec.name}.scale`, 'F32', [innerOf(spec)]) : undefined;
    if (!wd) continue;
    const w = storage === 'f32' ? aligned(Float32Array, wd, size) : storage === 'f16' ? aligned(Uint16Array, wd, size) : new Int8Array(wd.buffer, wd.byteOffset, size);
    const layer: StoredLayer = { spec, G, w, bias: bd && aligned(Float32Array, bd, spec.OC), scale: sd && aligned(Float32Array, sd, innerOf(spec)) };
    // every value finite: a NaN or Inf weight would give a constant or NaN image and no error
    for (const [k, a] of [['weight', w instanceof Int8Array ? null : w], ['bias', layer.bias], ['scale', layer.scale]] as const) {
      const i = a ? firstNonFinite(a) : -1;
      if (i >= 0) problems.push(`tensor ${JSON.stringify(`${spec.name}.${k}`)}: value ${i} is not finite`);
    }
    if (layer.scale) {
      const i = layer.scale.findIndex((x) => x < 0);
      if (i >= 0) problems.push(`tensor ${JSON.stringify(`${spec.name}.scale`)}: value ${i} is ${layer.scale[i]}, but int8 scales are >= 0`);
    }
    layers.set(spec.name, layer);
  }
  for (const name of p.tensors.keys()) if (!seen.has(name)) problems.push(`unexpected tensor ${JSON.stringify(name)}`);
  if (problems.length) err(source, `${problems.length} problem(s) with the tensors:\n  ${problems.slice(0, 10).join('\n  ')}`);
  return layers;
}

/** Parse and check an inference file; the weights stay views of `bytes`. */
export function readPacked(bytes: Uint8Array, source = 'weights', want?: InferNet[]): PackedWeights {
  const p = parse(bytes, source);
  const m = p.metadata;
  if (m.format !== INFER_FORMAT) err(source, `not an inference weight file (format ${JSON.stringify(m.format)}); convert it with bicyclegan convert`);
  const storage = m.storage as Storage;
  if (!STORAGES.includes(storage)) err(source, `unknown storage ${JSON.stringify(m.storage)}`);
  const nets = (m.nets ?? '').split(',').filter(Boolean) as InferNet[];
  if (!nets.includes('G') || nets.some((n) => n !== 'G' && n !== 'E')) err(source, `metadata nets ${JSON.stringify(m.nets)} must be G or G,E`);
  const cfg = configOf(p, source);
  const chunkFloats = Number(m.chunk_floats ?? Infinity);
  if (!(chunkFloats >= 64) || (m.chunk_floats !== undefined && !Number.isSafeInteger(chunkFloats))) err(source, `metadata chunk_floats: must be an integer >= 64 (got ${show(m.chunk_floats)})`);
  for (const n of want ?? []) if (!nets.includes(n)) err(source, `the file has no ${n === 'E' ? 'encoder' : 'generator'} weights`);
  const layers = readLayers(p, nets.flatMap((n) => planOf(n, cfg)), storage, chunkFloats, source);
  return { cfg, storage, nets, layers, bytes: bytes.byteLength, chunkFloats, bnStats: m.bn_stats as FoldStats | undefined };
}

/** The function that writes a stored layer's f32 weights (in its stored, chunked order) into `out`. */
export function dequantiser(l: StoredLayer): (out: Float32Array) => void {
  const w = l.w, OC = innerOf(l.spec) / l.G, per = w.length / l.G;
  if (w instanceof Float32Array) return (out) => out.set(w);
  if (w instanceof Uint16Array) {
    const t = f16Table();
    return (out) => {
      for (let i = 0; i < w.length; i++) out[i] = t[w[i]];
    };
  }
  const sc = l.scale!;
  return (out) => {
    for (let g = 0; g < l.G; g++)
      for (let i = g * per, o = 0; i < (g + 1) * per; i++) {
        out[i] = w[i] * sc[g * OC + o];
        if (++o === OC) o = 0;
      }
  };
}

/** Put the biases (and int8 scales) into wasm memory and hand out per-layer loaders. The compressed weights
 * stay in the file's bytes: per layer they are copied into the staging area and dequantised there by the
 * wasm kernels (dequant_f16, dequant_i8; or dequant_*_panels into the GEMM's panel layout, for the layers that
 * run on packed weights); f32 weights are copied straight into the scratch. */
export function layerWeights(core: Core, packed: PackedWeights): (name: string) => LayerWeights {
  const cache = new Map<string, LayerWeights>();
  const put = (a: Float32Array, what: string) => {
    const p = core.arena.alloc(a.length, what);
    core.f32(p, a.length).set(a);
    return p;
  };
  return (name) => {
    let lw = cache.get(name);
    if (lw) return lw;
    const l = packed.layers.get(name);
    if (!l) throw new Error(`infer: no weights for layer ${name}`);
    const biasPtr = l.bias ? put(l.bias, `${name}.bias`) : 0;
    const scalePtr = l.scale ? put(l.scale, `${name}.scale`) : 0;
    const w = l.w, G = l.G, n = w.length / G, OCc = innerOf(l.spec) / G, k = core.k, mem = core.memory;
    // a compressed chunk's bytes into the staging area (at least stageBytes), where the dequantising kernel reads
    // them; address 0 is the core's static data, so a staging area never allocated is refused
    const stageChunk = (g: number, stage: number): void => {
      if (stage <= 0) throw new Error(`infer: ${name}: no staging area for its ${w instanceof Uint16Array ? 'f16' : 'int8'} weights (stageBytes not allocated)`);
      const bytes = n * w.BYTES_PER_ELEMENT;
      new Uint8Array(mem.buffer, stage, bytes).set(new Uint8Array(w.buffer, w.byteOffset + g * bytes, bytes));
    };
    const load =
      w instanceof Float32Array ? (g: number, dst: number) => new Float32Array(mem.buffer, dst, n).set(w.subarray(g * n, (g + 1) * n))
      : w instanceof Uint16Array ? (g: number, dst: number, stage: number) => { stageChunk(g, stage); k.dequant_f16(dst, stage, n); }
      : (g: number, dst: number, stage: number) => { stageChunk(g, stage); k.dequant_i8(dst, stage, scalePtr + g * OCc * 4, n, OCc); };
    const rows = n / OCc;
    const loadPanels =
      w instanceof Float32Array ? undefined
      : w instanceof Uint16Array ? (g: number, dst: number, stage: number) => { stageChunk(g, stage); k.dequant_f16_panels(dst, stage, rows, OCc); }
      : (g: number, dst: number, stage: number) => { stageChunk(g, stage); k.dequant_i8_panels(dst, stage, scalePtr + g * OCc * 4, rows, OCc); };
    lw = { name, size: n, G, OCc, biasPtr, stageBytes: w instanceof Float32Array ? 0 : w.byteLength / G, load, loadPanels };
    cache.set(name, lw);
    return lw;
  };
}
