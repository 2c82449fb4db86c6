// One helper runs the first two of the three checks for any op-table case:
//  1. SIMD kernels vs their scalar reference twins (forward outputs, saved tensors, accumulated gradients);
//  2. reference backward vs central finite differences of L = sum(out * dOut), summed in f64,
//     skipping points where the one-sided slopes disagree (a kink: relu at 0, max-pool ties).
// Gradient buffers start with random values, so a backward that overwrites instead of accumulating fails.
import type { Core } from '../../src/core/loader.js';
import type { Init, OpCase, OpSpec, TensorDecl } from '../../src/core/op-spec.js';
import { mulberry32, normal } from './rng.js';

type Buf = Float32Array | Int32Array | Float64Array;

interface Bound {
  ptrs: Record<string, number>;
  init: Record<string, Buf>;
  /** an f32 tensor's view */
  view(name: string): Float32Array;
  /** any tensor's view, typed by its kind */
  raw(name: string): Buf;
  reset(): void;
  snapshot(): Record<string, Buf>;
}

function fill(n: number, init: Init, rnd: () => number): Float64Array {
  const a = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    a[i] =
      init === 'randn' ? normal(rnd)
      : init === 'uniform' ? rnd() * 2 - 1
      : init === 'zero' ? 0
      : init === 'positive' ? 0.5 + rnd()
      : init(i, rnd);
  }
  return a;
}

function typed(kind: TensorDecl['kind'], values: Float64Array): Buf {
  return kind === 'i32' ? Int32Array.from(values) : kind === 'f64' ? Float64Array.from(values) : Float32Array.from(values);
}

export function bind(core: Core, c: OpCase, seed = 1): Bound {
  const rnd = mulberry32(seed);
  const mark = core.arena.mark();
  const ptrs: Record<string, number> = {};
  const init: Record<string, Buf> = {};
  const gradNames = new Set(Object.values(c.grads));
  const doutNames = new Set(Object.values(c.outputs));
  for (const [name, d] of Object.entries(c.tensors)) {
    const kind = d.kind ?? 'f32';
    ptrs[name] = core.arena.alloc(kind === 'f64' ? 2 * d.size : d.size, name);
    // gradients start random (accumulation is checked), upstream gradients are random projections;
    // index and stat-sum buffers start zeroed unless the case says otherwise
    const how: Init =
      gradNames.has(name) || doutNames.has(name) ? 'randn' : (d.init ?? (kind === 'f32' ? 'randn' : 'zero'));
    init[name] = typed(kind, fill(d.size, how, rnd));
  }
  core.arena.reset(mark); // the buffers stay valid until the next bind
  const raw = (name: string): Buf => {
    const { size, kind } = c.tensors[name];
    const buf = core.memory.buffer;
    return kind === 'i32' ? new Int32Array(buf, ptrs[name], size)
      : kind === 'f64' ? new Float64Array(buf, ptrs[name], size)
      : new Float32Array(buf, ptrs[name], size);
  };
  const view = (name: string) => {
    if ((c.tensors[name].kind ?? 'f32') !== 'f32') throw new Error(`${c.label}: ${name} is not an f32 tensor`);
    return core.f32(ptrs[name], c.tensors[name].size);
  };
  return {
    ptrs,
    init,
    view,
    raw,
    reset() {
      for (const name of Object.keys(init)) raw(name).set(init[name] as never);
    },
    snapshot() {
      return Object.fromEntries(Object.keys(init).map((n) => [n, raw(n).slice()]));
    },
  };
}

export interface Mismatch {
  tensor: string;
  index: number;
  expected: number;
  actual: number;
}

export function firstMismatch(name: string, expected: ArrayLike<number>, actual: ArrayLike<number>, rtol: number, atol: number): Mismatch | null {
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i], a = actual[i];
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e)) && !(Number.isNaN(e) && Number.isNaN(a))) {
      return { tensor: name, index: i, expected: e, actual: a };
    }
  }
  return null;
}

/** Check 1: SIMD vs reference on every tensor a kernel may write. Returns null or a message. */
export function compareSimdToRef(core: Core, spec: OpSpec, c: OpCase, seed = 1): string | null {
  const b = bind(core, c, seed);
  const run = (ref: boolean) => {
    b.reset();
    c.forward(core.k, ref, b.ptrs, core);
    c.backward(core.k, ref, b.ptrs, core);
    return b.snapshot();
  };
  const want = run(true);
  const got = run(false);
  for (const name of Object.keys(want)) {
    // index buffers must agree exactly
    const exact = c.tensors[name].kind === 'i32';
    const m = firstMismatch(name, want[name], got[name], exact ? 0 : spec.tol.rtol, exact ? 0 : spec.tol.atol);
    if (m) return `${c.label} [${core.build}]: ${m.tensor}[${m.index}] reference ${m.expected} vs simd ${m.actual}`;
  }
  return null;
}

/** Check 2: reference backward vs central finite differences. Returns null or a message. */
export function checkFiniteDifferences(core: Core, spec: OpSpec, c: OpCase, seed = 2, samplesPerTensor = 24): string | null {
  const b = bind(core, c, seed);
  const { eps, rtol, atol } = spec.fd;
  const loss = () => {
    c.forward(core.k, true, b.ptrs, core);
    let s = 0;
    for (const [out, dOut] of Object.entries(c.outputs)) {
      const o = b.view(out), r = b.view(dOut);
      for (let i = 0; i < o.length; i++) s += o[i] * r[i];
    }
    return s;
  };
  b.reset();
  const L0 = loss();
  c.backward(core.k, true, b.ptrs, core);
  const rnd = mulberry32(seed + 7);
  let checked = 0, skipped = 0;
  for (const [x, dx] of Object.entries(c.grads)) {
    const g = b.view(dx), g0 = b.init[dx];
    const analytic = Float32Array.from(g, (v, i) => v - g0[i]);
    const n = c.tensors[x].size;
    const idx = n <= samplesPerTensor ? [...Array(n).keys()] : Array.from({ length: samplesPerTensor }, () => Math.floor(rnd() * n));
    for (const i of idx) {
      const xv = b.view(x);
      const orig = xv[i];
      xv[i] = orig + eps;
      const Lp = loss();
      b.view(x)[i] = orig - eps;
      const Lm = loss();
      b.view(x)[i] = orig;
      const num = (Lp - Lm) / (2 * eps);
      const right = (Lp - L0) / eps, left = (L0 - Lm) / eps;
      if (Math.abs(right - left) > 10 * (atol + rtol * Math.abs(num))) {
        skipped++;
        continue;
      }
      checked++;
      const a = analytic[i];
      if (!(Math.abs(a - num) <= atol + rtol * Math.abs(num))) {
        return `${c.label}: d${x}[${i}] analytic ${a} vs finite difference ${num}`;
      }
    }
  }
  loss(); // leave outputs consistent with unperturbed inputs
  if (checked === 0 || skipped > checked) return `${c.label}: finite differences skipped ${skipped} of ${checked + skipped} points as kinks`;
  return null;
}
