// The op table: one entry per op family member, the single source of truth that tests and benchmarks loop over.
// An entry names its SIMD kernels (each must have a ref_ twin in the wasm, or this file does not compile),
// builds test cases (edge sizes: channels 1, 3, 4, 5, 64; odd spatial sizes; stride 2 on odd inputs; batch 1;
// outputs into channel slices), and runs forward and backward with either the SIMD or the reference kernels.
import type { OpSpec } from './op-spec.js';
import { actOps } from './ops/act.js';
import { convOps } from './ops/conv.js';
import { upconvOps } from './ops/upconv.js';
import { winogradOps } from './ops/winograd.js';
import { tensorOps } from './ops/tensor.js';
import { lossOps } from './ops/loss.js';
import { adamOps } from './ops/adam.js';
import { normOps } from './ops/norm.js';
import { poolOps } from './ops/pool.js';
import { dequantOps } from './ops/dequant.js';

export const OPS = {
  ...actOps,
  ...convOps,
  ...upconvOps,
  ...winogradOps,
  ...tensorOps,
  ...lossOps,
  ...adamOps,
  ...normOps,
  ...poolOps,
  ...dequantOps,
} satisfies Record<string, OpSpec>;

export type OpName = keyof typeof OPS;
