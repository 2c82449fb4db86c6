// Self-check of this machine's wasm runtime: which builds it can run, every op of the op table SIMD vs its
// scalar reference on both builds, and one BicycleGAN training step of a small model with its timing.
// Usage: npm run selfcheck   (exit code 1 on any mismatch)
import { hasRelaxedSimd, hasSimd } from '../src/core/features.js';
import { loadCore, resolveBuild } from '../src/core/load-node.js';
import { OPS } from '../src/core/ops.js';
import type { OpSpec } from '../src/core/op-spec.js';
import { Rng } from '../src/core/rng.js';
import { BicycleGAN } from '../src/train/bicyclegan.js';
import { compareSimdToRef } from '../test/helpers/opcheck.js';

const auto = resolveBuild('auto');
console.log(`node ${process.version}: SIMD128 ${hasSimd() ? 'yes' : 'no'}, relaxed SIMD ${hasRelaxedSimd() ? 'yes' : 'no'}; default build: ${auto}`);

let failures = 0, cases = 0;
for (const build of ['simd', 'relaxed'] as const) {
  const core = await loadCore({ build });
  for (const [name, spec] of Object.entries(OPS) as [string, OpSpec][]) {
    for (const c of spec.cases()) {
      cases++;
      const err = compareSimdToRef(core, spec, c);
      if (err) {
        failures++;
        console.error(`MISMATCH ${name}: ${err}`);
      }
    }
  }
}
console.log(`kernels: ${cases - failures}/${cases} op cases match their scalar reference (${Object.keys(OPS).length} ops, both builds)`);

const core = await loadCore({ build: auto });
const m = new BicycleGAN(core, { batch: 2, model: { gBase: 8, eBase: 8, dBase: 8 }, seed: 1 });
const rng = new Rng(2);
for (const t of [m.realA, m.realB]) rng.fillUniform(core.f32(t.ptr, t.size), -1, 1);
m.step(); // warm-up: V8 compiles the kernels in its baseline tier first
const t0 = performance.now();
const l = m.step();
const ms = performance.now() - t0;
console.log(`training step (pytorch-gan topology, widths 8, 128x128, batch 2, ${auto} build): ${ms.toFixed(0)} ms; ` +
  Object.entries(l).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', '));
if (failures > 0 || !Object.values(l).every(Number.isFinite)) process.exit(1);
