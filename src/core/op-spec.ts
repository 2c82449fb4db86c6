// Types of the op table (see ops.ts) and `pick`, which chooses a SIMD kernel or its reference twin.
import type { Kernels } from './kernels.gen.js';

/** A SIMD kernel export that has a scalar reference twin `ref_<name>`. */
export type Twin = {
  [K in keyof Kernels]: K extends `ref_${string}` ? never : `ref_${K & string}` extends keyof Kernels ? K : never;
}[keyof Kernels];

/** The SIMD kernel, or its reference twin (same signature). */
export function pick<N extends Twin>(k: Kernels, ref: boolean, name: N): Kernels[N] {
  return (ref ? k[`ref_${name}` as keyof Kernels] : k[name]) as Kernels[N];
}

/** How a test tensor is filled: N(0,1), U(-1,1), zeros, U(0.5,1.5) (for scales), or a function of the index. */
export type Init = 'randn' | 'uniform' | 'zero' | 'positive' | ((i: number, rnd: () => number) => number);
export interface TensorDecl {
  /** element count (of `kind`) */
  size: number;
  init?: Init;
  /** element type, default f32. i32 (indices) and f64 (stat sums) buffers start zeroed unless `init` says
   * otherwise, are compared exactly (i32) or with the op's tolerance (f64), and are never perturbed. */
  kind?: 'f32' | 'i32' | 'f64';
}
export type Ptrs = Record<string, number>;
/** Read access to wasm memory for closures that need a value (a loss's upstream gradient `scale`). */
export interface Mem {
  f32(ptr: number, n: number): Float32Array;
}

/** One concrete instance of an op: its buffers, and how to run it. */
export interface OpCase {
  label: string;
  tensors: Record<string, TensorDecl>;
  /** differentiable tensor (input or parameter) -> its gradient buffer; empty: not differentiated (Adam),
   * so only SIMD vs reference runs */
  grads: Record<string, string>;
  /** forward output -> its upstream-gradient buffer */
  outputs: Record<string, string>;
  /** other forward results compared SIMD vs reference but not differentiated (saved stats, running stats, masks) */
  saved?: string[];
  forward(k: Kernels, ref: boolean, t: Ptrs, mem: Mem): void;
  /** accumulates into the gradient buffers */
  backward(k: Kernels, ref: boolean, t: Ptrs, mem: Mem): void;
}

export interface OpSpec {
  family: string;
  kernels: readonly Twin[];
  cases(): OpCase[];
  /** SIMD vs reference: |a - b| <= atol + rtol * |b| */
  tol: { rtol: number; atol: number };
  /** reference backward vs central finite differences (f64 sums, kinks skipped) */
  fd: { eps: number; rtol: number; atol: number };
}

