// Property-based and mutation fuzzing of everything that reads untrusted bytes or options: the safetensors
// parser, the checkpoint loader (validate-then-commit: a rejected file must leave the model bit for bit as it
// was), the inference-weight loader and converter, the PNG/JPEG decoders and the training-config schema.
// Seeds are valid files made here; fast-check generates mutations of them (bit flips, byte and u32 writes,
// truncation, insertion, deletion, and header-aware edits that put arbitrary or hostile JSON, thousands deep,
// at any path of the safetensors header or of the JSON inside its metadata). Each case ends as
//   accept: the input was taken;  reject: an Error whose message names the file and the field;
//   crash: anything else (a non-Error throw, a raw JS message, a message without the file name, a model
//   changed by a rejected checkpoint).
// Used by test/fuzz.test.ts (a bounded seeded run) and scripts/fuzz.ts (`npm run fuzz -- --cases N`).
import fc from 'fast-check';
import jpeg from 'jpeg-js';
import { encode as encodeRawPng } from 'fast-png';
import { loadCore } from '../src/core/load-node.js';
import type { Core } from '../src/core/loader.js';
import { Rng } from '../src/core/rng.js';
import { parseSafetensors } from '../src/core/safetensors.js';
import { decodeImage, encodePng } from '../src/infer/image.js';
import { convertWeights, readPacked } from '../src/infer/weights.js';
import { BicycleGAN } from '../src/train/bicyclegan.js';
import { checkpointBytes, checkpointConfig, checkpointTrainState, loadCheckpoint, nets, weightsBytes } from '../src/train/checkpoint.js';
import { checkMetadata, TrainerExtraSchema } from '../src/train/checkpoint-schema.js';
import { ConfigError, parseTrainConfig } from '../src/train/config.js';

export type Outcome = 'accept' | 'reject' | 'crash';
export interface CaseResult {
  outcome: Outcome;
  message?: string;
}

/** Messages of raw JS failures that reached the user unexplained (what the hardening removed). */
const RAW = /Maximum call stack|Cannot read propert|Cannot convert|is not a function|is not iterable|Invalid typed array length|Offset is outside|out of bounds|Invalid array length|undefined is not|null is not/;

/** A thrown value classified: a reject needs an Error whose message starts with `prefix` and is not a raw JS message. */
export function classify(e: unknown, prefix: string): CaseResult {
  if (!(e instanceof Error)) return { outcome: 'crash', message: `non-Error thrown: ${String(e)}` };
  const m = e.message;
  if (!m.startsWith(prefix) || RAW.test(m)) return { outcome: 'crash', message: `${e.name}: ${m}`.slice(0, 400) };
  return { outcome: 'reject' };
}

// ---- mutations ----

export type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'u32'; at: number; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; n: number }
  | { kind: 'json'; pick: number; value: unknown };

/** JSON values that broke loaders before: deep nesting, nulls, huge, negative and fractional numbers, wrong dtypes. */
const hostileJson = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.integer({ min: 100, max: 6000 }).map((d) => JSON.parse('['.repeat(d) + ']'.repeat(d)) as unknown),
  fc.constantFrom<unknown>(null, -1, 0, 1.5, 1e300, 2 ** 53, 2 ** 32, -0, '', 'null', '{}', 'F32', 'U32', 'BOOL', 'I64', [0, 1e12], [], {}, { s: [0, 0, 0, 0], spare: {} }),
);

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('u32' as const), at: fc.nat(), value: fc.constantFrom(0, 1, 255, 65535, 16384, 0x7fffffff, 0x80000000, 0xffffffff, 0x7f800000, 0x7fc00000) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 64 }) }),
);

/** Header-aware mutations for safetensors files, mixed with the byte-level ones. */
export const safetensorsMutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 1, arbitrary: mutationArb },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('json' as const), pick: fc.nat(), value: hostileJson }) },
);

export const mutationsArb = (one: fc.Arbitrary<Mutation>) => fc.array(one, { minLength: 1, maxLength: 3 });

function applyBytes(b: Uint8Array, m: Exclude<Mutation, { kind: 'json' }>): Uint8Array {
  const n = b.length;
  if (n === 0) return m.kind === 'insert' ? m.bytes.slice() : b;
  const at = m.at % n;
  switch (m.kind) {
    case 'flip': {
      const c = b.slice();
      c[at] ^= 1 << m.bit;
      return c;
    }
    case 'set': {
      const c = b.slice();
      c[at] = m.value;
      return c;
    }
    case 'u32': {
      const c = b.slice();
      if (at + 4 <= n) new DataView(c.buffer).setUint32(at, m.value, at % 2 === 0);
      return c;
    }
    case 'truncate':
      return b.slice(0, at);
    case 'insert': {
      const c = new Uint8Array(n + m.bytes.length);
      c.set(b.subarray(0, at));
      c.set(m.bytes, at);
      c.set(b.subarray(at), at + m.bytes.length);
      return c;
    }
    case 'delete': {
      const k = Math.min(m.n, n - at);
      const c = new Uint8Array(n - k);
      c.set(b.subarray(0, at));
      c.set(b.subarray(at + k), at);
      return c;
    }
  }
}

/** Every path into a JSON tree (objects and arrays), the root's children first. */
function paths(v: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = [], limit = 4000): (string | number)[][] {
  if (out.length >= limit || prefix.length > 32 || v === null || typeof v !== 'object') return out;
  for (const [k, c] of Object.entries(v as Record<string, unknown>)) {
    const p = [...prefix, Array.isArray(v) ? Number(k) : k];
    out.push(p);
    paths(c, p, out, limit);
  }
  return out;
}

/** Put `value` at one path of a safetensors header; metadata strings holding JSON (config, train) are opened. */
function applyJson(b: Uint8Array, m: Extract<Mutation, { kind: 'json' }>): Uint8Array {
  if (b.length < 8) return b;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const len = dv.getUint32(0, true);
  if (dv.getUint32(4, true) !== 0 || 8 + len > b.length) return b;
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(b.subarray(8, 8 + len)));
  } catch {
    return b;
  }
  if (header === null || typeof header !== 'object') return b;
  // open the JSON inside metadata strings so their fields can be hit too
  const meta = header.__metadata__ as Record<string, unknown> | undefined;
  const opened: string[] = [];
  if (meta && typeof meta === 'object')
    for (const [k, s] of Object.entries(meta))
      if (typeof s === 'string' && (s.startsWith('{') || s.startsWith('['))) {
        try {
          meta[k] = JSON.parse(s);
          opened.push(k);
        } catch {
          // not JSON: stays a string
        }
      }
  const all = paths(header);
  if (!all.length) return b;
  const p = all[m.pick % all.length];
  let node = header as Record<string | number, unknown>;
  for (const k of p.slice(0, -1)) node = node[k] as Record<string | number, unknown>;
  node[p[p.length - 1]] = m.value;
  if (meta && typeof meta === 'object') for (const k of opened) if (meta[k] !== undefined && typeof meta[k] !== 'string') meta[k] = safeStringify(meta[k]);
  const json = new TextEncoder().encode(safeStringify(header));
  const hl = Math.ceil(json.length / 8) * 8;
  const out = new Uint8Array(8 + hl + (b.length - 8 - len));
  new DataView(out.buffer).setUint32(0, hl, true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + hl);
  out.set(b.subarray(8 + len), 8 + hl);
  return out;
}

/** JSON.stringify that survives the fuzzer's values: chains of one-element arrays thousands deep are written
 * without recursing into them (everything else here is shallow). */
function safeStringify(v: unknown): string {
  if (Array.isArray(v)) {
    let depth = 0, x: unknown = v;
    while (Array.isArray(x) && x.length === 1) (x = x[0]), depth++;
    if (depth > 1) return '['.repeat(depth) + safeStringify(x) + ']'.repeat(depth);
    return `[${v.map((e) => safeStringify(e)).join(',')}]`;
  }
  if (v !== null && typeof v === 'object') return `{${Object.entries(v).map(([k, e]) => `${JSON.stringify(k)}:${safeStringify(e)}`).join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}

export function mutate(b: Uint8Array, ms: Mutation[]): Uint8Array {
  for (const m of ms) b = m.kind === 'json' ? applyJson(b, m) : applyBytes(b, m);
  return b;
}

// ---- targets ----

export interface Target<C = unknown> {
  name: string;
  /** the cases: mutations of a seed file (or config objects); `run` classifies one */
  arb: fc.Arbitrary<C>;
  run(c: C): CaseResult;
}
type MutCase = { seed: number; ms: Mutation[] };

const SMALL = { gBase: 2, eBase: 2, dBase: 2 };

function trainedModel(core: Core, seed: number): BicycleGAN {
  const m = new BicycleGAN(core, { batch: 1, model: SMALL, seed });
  const r = new Rng(seed + 50);
  for (const t of [m.realA, m.realB]) r.fillUniform(core.f32(t.ptr, t.size), -1, 1);
  m.step();
  return m;
}

/** FNV-1a over every block of the model and its counters: a rejected load must leave it equal. */
function fingerprint(core: Core, m: BicycleGAN): string {
  let h = 0x811c9dc5;
  for (const s of Object.values(nets(m)))
    for (const blk of [s.block('value'), s.block('m'), s.block('v'), core.f32(s.base.buffer, s.bufferFloats)]) {
      const u = new Uint32Array(blk.buffer, blk.byteOffset, blk.length);
      for (let i = 0; i < u.length; i++) h = Math.imul(h ^ u[i], 0x01000193);
    }
  return `${h >>> 0}:${m.steps}:${JSON.stringify(m.rng.state())}:${m.opt.G.step}:${m.opt.E.step}:${m.opt.D_VAE.step}:${m.opt.D_LR.step}`;
}

const pick = <T>(seeds: T[]) => (c: MutCase) => seeds[c.seed % seeds.length];

function caseArb(nSeeds: number, one: fc.Arbitrary<Mutation>) {
  return fc.record({ seed: fc.integer({ min: 0, max: nSeeds - 1 }), ms: mutationsArb(one) });
}

/** Run `f`; a throw is classified against `prefix`. */
function attempt(prefix: string, f: () => void): CaseResult {
  try {
    f();
    return { outcome: 'accept' };
  } catch (e) {
    return classify(e, prefix);
  }
}

/** Seeds and targets (the wasm core and two tiny trained models are built once). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export async function makeTargets(): Promise<Target<any>[]> {
  const core = await loadCore({ build: 'simd' });
  const a = trainedModel(core, 1);
  const ckpts = [checkpointBytes(a, { epoch: 0, extra: { loader: { epoch: 0, index: 1, rng: a.rng.state() }, files: 3, config: { batch: 1 } } }), weightsBytes(a)];
  const target = new BicycleGAN(core, { batch: 1, model: SMALL, seed: 9 });
  const w = weightsBytes(a, ['G', 'E']);
  const packed = (['f32', 'f16', 'int8'] as const).map((storage) => convertWeights(w, { storage, chunkFloats: 256 }));
  const images = imageSeeds();

  const CK = 'fuzz.safetensors';
  const targets: Target<MutCase>[] = [
    {
      name: 'safetensors',
      arb: caseArb(ckpts.length, safetensorsMutationArb),
      run: (c) => {
        const bytes = mutate(pick(ckpts)(c), c.ms);
        return attempt('safetensors: ', () => parseSafetensors(bytes));
      },
    },
    {
      name: 'checkpoint',
      arb: caseArb(ckpts.length, safetensorsMutationArb),
      run: (c) => {
        const bytes = mutate(pick(ckpts)(c), c.ms);
        const before = fingerprint(core, target);
        const r = attempt(`${CK}: `, () => {
          // what train --resume does before building anything, then the load itself
          const st = checkpointTrainState(bytes, CK);
          if (st?.extra) checkMetadata(st.extra, TrainerExtraSchema, 'train.extra', CK);
          checkpointConfig(bytes, CK);
          loadCheckpoint(target, bytes, { source: CK });
        });
        if (r.outcome === 'reject' && fingerprint(core, target) !== before) return { outcome: 'crash', message: 'a rejected checkpoint changed the model' };
        return r;
      },
    },
    {
      name: 'weights',
      arb: caseArb(packed.length + 1, safetensorsMutationArb),
      run: (c) => {
        const i = c.seed % (packed.length + 1);
        const bytes = mutate(i === packed.length ? w : packed[i], c.ms);
        if (i === packed.length) return attempt(`${CK}: `, () => convertWeights(bytes, { storage: 'int8', source: CK }));
        return attempt(`${CK}: `, () => readPacked(bytes, CK));
      },
    },
    {
      name: 'images',
      arb: caseArb(images.length, mutationArb),
      run: (c) => {
        const bytes = mutate(pick(images)(c), c.ms);
        return attempt('fuzz.img: ', () => decodeImage(bytes, { maxPixels: 1 << 20, name: 'fuzz.img' }));
      },
    },
  ];
  return [...targets, configTarget()];
}

/** Config objects: every field of the schema, each either a plausible or an arbitrary (hostile) value, plus unknown keys. */
function configTarget(): Target<Record<string, unknown>> {
  const fields = ['data', 'direction', 'out', 'epochs', 'steps', 'batch', 'seed', 'lr', 'beta1', 'beta2', 'lrPolicy', 'decayAfter', 'lambdaPixel', 'lambdaLatent', 'lambdaKl', 'imageSize', 'loadSize', 'flip', 'latentDim', 'gBase', 'eBase', 'dBase', 'workers', 'build', 'skipBad', 'checkpointEvery', 'keep', 'sampleEvery', 'sampleImages', 'sampleZ', 'logEvery', 'resume', 'prefetch', 'stepTimeout'];
  const value = fc.oneof(fc.integer({ min: -5, max: 300 }), fc.double(), fc.string({ maxLength: 8 }), fc.boolean(), fc.constantFrom<unknown>('AtoB', 'linear', 'simd', 128, 256, Infinity, -0, null), fc.anything({ maxDepth: 2 }), hostileJson);
  return {
    name: 'config',
    // half the objects carry a valid `data`, so the other fields decide (and some objects are accepted)
    arb: fc.tuple(fc.boolean(), fc.dictionary(fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...fields) }, { weight: 1, arbitrary: fc.string({ maxLength: 6 }) }), value, { maxKeys: 4 }))
      .map(([withData, d]) => (withData ? { data: 'd', ...d } : d)),
    run: (o) => {
      try {
        parseTrainConfig(o);
        return { outcome: 'accept' };
      } catch (e) {
        if (!(e instanceof ConfigError)) return { outcome: 'crash', message: `${(e as Error)?.name}: ${(e as Error)?.message}`.slice(0, 400) };
        // every issue names its field (a known one, or "unknown option")
        const bad = e.issues.find((i) => !/^(\w+(\.\w+)*|config): |^unknown option/.test(i) || RAW.test(i));
        return bad ? { outcome: 'crash', message: `unnamed config issue: ${bad.slice(0, 200)}` } : { outcome: 'reject' };
      }
    },
  };
}

/** Small valid images of every kind the decoders handle: RGBA/RGB/grey/grey16/palette PNGs, baseline JPEGs. */
function imageSeeds(): Uint8Array[] {
  const px = (w: number, h: number, c: number) => Uint8Array.from({ length: w * h * c }, (_, i) => (i * 37 + (i >> 3)) & 255);
  const rgba = { width: 12, height: 9, data: new Uint8ClampedArray(px(12, 9, 4)) };
  return [
    encodePng(rgba),
    encodeRawPng({ width: 7, height: 5, data: px(7, 5, 3), channels: 3, depth: 8 }),
    encodeRawPng({ width: 6, height: 4, data: Uint16Array.from(px(6, 4, 1), (v) => v * 257), channels: 1, depth: 16 }),
    encodeRawPng({ width: 5, height: 3, data: Uint8Array.from(px(5, 3, 1), (v) => v % 3), channels: 1, depth: 8, palette: [[255, 0, 0], [0, 255, 0], [0, 0, 255]] }),
    new Uint8Array(jpeg.encode({ width: 16, height: 8, data: Buffer.from(px(16, 8, 4)) }, 80).data),
    new Uint8Array(jpeg.encode({ width: 9, height: 17, data: Buffer.from(px(9, 17, 4)) }, 40).data),
  ];
}

export interface FuzzStats {
  target: string;
  cases: number;
  accepts: number;
  rejects: number;
  crashes: number;
  /** slowest case (ms) */
  maxMs: number;
  firstCrash?: { message: string; counterexample: string };
}

/** A case as text for a report (values nested thousands deep are cut, not recursed into). */
function describeCase(c: unknown): string {
  try {
    return fc.stringify(c).slice(0, 600);
  } catch {
    return JSON.stringify(c, (_k, v) => (Array.isArray(v) && Array.isArray(v[0]) ? safeStringify(v).slice(0, 80) : v instanceof Uint8Array ? [...v] : v)).slice(0, 600);
  }
}

/** Run `cases` seeded cases against a target and count every outcome; the first crash is kept with its case. */
export function fuzz<C>(t: Target<C>, cases: number, seed: number): FuzzStats {
  const s: FuzzStats = { target: t.name, cases: 0, accepts: 0, rejects: 0, crashes: 0, maxMs: 0 };
  fc.assert(
    fc.property(t.arb, (c) => {
      const t0 = performance.now();
      let res: CaseResult;
      try {
        res = t.run(c);
      } catch (e) {
        res = { outcome: 'crash', message: `harness: ${(e as Error)?.message}` }; // a bug here, counted, not hidden
      }
      s.maxMs = Math.max(s.maxMs, performance.now() - t0);
      s.cases++;
      if (res.outcome === 'accept') s.accepts++;
      else if (res.outcome === 'reject') s.rejects++;
      else {
        s.crashes++;
        s.firstCrash ??= { message: res.message ?? '', counterexample: describeCase(c) };
      }
    }),
    { numRuns: cases, seed },
  );
  return s;
}
