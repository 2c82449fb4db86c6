// `npm run build` (and `prepare`, so `npm ci` and `npm pack` run it): the package as users get it.
//   1. the wasm cores (scripts/build-wasm.mjs; skipped when up to date),
//   2. src/ and workers/ compiled by tsc (tsconfig.build.json) to JavaScript + .d.ts under dist/, keeping the
//      repo's layout (dist/src, dist/workers) so every relative URL in the code still holds,
//   3. the shipped wasm builds copied to dist/build/, which is where `new URL('../../build/...', import.meta.url)`
//      points from dist/src/core and dist/src/parallel, as it points to build/ from src/.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const t0 = performance.now();
execFileSync(process.execPath, [join(root, 'scripts/build-wasm.mjs')], { stdio: 'inherit', cwd: root });
rmSync(join(root, 'dist'), { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit', cwd: root });
// the builds the code loads: simd/relaxed (inference, one-thread training), threads(-relaxed) (data-parallel)
export const SHIPPED = ['core-simd.wasm', 'core-relaxed.wasm', 'core-threads.wasm', 'core-threads-relaxed.wasm'];
mkdirSync(join(root, 'dist/build'), { recursive: true });
for (const f of SHIPPED) copyFileSync(join(root, 'build', f), join(root, 'dist/build', f));
// the shipped models (src/infer/zoo.ts finds them two levels above its module: models/ in the repo, dist/models/)
mkdirSync(join(root, 'dist/models'), { recursive: true });
for (const f of readdirSync(join(root, 'models')).filter((f) => f.endsWith('.safetensors'))) copyFileSync(join(root, 'models', f), join(root, 'dist/models', f));
console.log(`built dist/ in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
