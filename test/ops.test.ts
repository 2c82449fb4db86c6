// Every op in the table, three ways: SIMD vs scalar reference (both wasm builds), and the reference
// backward vs finite differences. (The third way, against PyTorch, is in test/torch-ops.test.ts.)
import { beforeAll, describe, expect, test } from 'vitest';
import { loadCore } from '../src/core/load-node.js';
import type { Core } from '../src/core/loader.js';
import { OPS } from '../src/core/ops.js';
import type { OpSpec } from '../src/core/op-spec.js';
import { checkFiniteDifferences, compareSimdToRef } from './helpers/opcheck.js';

const cores: Record<string, Core> = {};
beforeAll(async () => {
  cores.simd = await loadCore({ build: 'simd' });
  cores.relaxed = await loadCore({ build: 'relaxed' });
});

for (const [name, spec] of Object.entries(OPS) as [string, OpSpec][]) {
  describe(name, () => {
    for (const c of spec.cases()) {
      test(`${c.label}: simd vs reference (simd128 and relaxed builds)`, () => {
        expect(compareSimdToRef(cores.simd, spec, c)).toBeNull();
        expect(compareSimdToRef(cores.relaxed, spec, c)).toBeNull();
      });
      if (Object.keys(c.grads).length === 0) continue; // not differentiated (Adam)
      test(`${c.label}: backward vs finite differences`, () => {
        expect(checkFiniteDifferences(cores.simd, spec, c)).toBeNull();
      });
    }
  });
}
