// Feature detection for the two wasm builds, by validating tiny probe modules (as tfjs and ORT do).
// Runtime-agnostic: no node: imports. Node 20 needs a V8 flag for relaxed SIMD; see load-node.ts.

// () -> v128: v128.const 0; v128.const 0; f32x4.add
const SIMD_PROBE = new Uint8Array([
  0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 5, 1, 0x60, 0, 1, 0x7b, 3, 2, 1, 0, 0x0a, 0x2b, 1, 0x29, 0,
  ...[0, 1].flatMap(() => [0xfd, 0x0c, ...new Array<number>(16).fill(0)]), 0xfd, 0xe4, 0x01, 0x0b,
]);

// () -> v128: three v128.const 0; f32x4.relaxed_madd (0xfd 0x105)
const RELAXED_PROBE = new Uint8Array([
  0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 5, 1, 0x60, 0, 1, 0x7b, 3, 2, 1, 0, 0x0a, 0x3d, 1, 0x3b, 0,
  ...[0, 1, 2].flatMap(() => [0xfd, 0x0c, ...new Array<number>(16).fill(0)]), 0xfd, 0x85, 0x02, 0x0b,
]);

export function hasSimd(): boolean {
  return WebAssembly.validate(SIMD_PROBE);
}

export function hasRelaxedSimd(): boolean {
  return WebAssembly.validate(RELAXED_PROBE);
}

export type Build = 'simd' | 'relaxed' | 'debug';

/** The build this runtime can run: relaxed where the engine validates relaxed SIMD, else SIMD128. */
export function detectBuild(): Build {
  if (!hasSimd()) throw new Error('core: this runtime lacks WebAssembly SIMD128, which every build of the core requires');
  return hasRelaxedSimd() ? 'relaxed' : 'simd';
}
