// Packs the parallel benchmark into one self-contained folder for a machine without this repo's node_modules
// (e.g. the 16-core device machine): the benchmark and the worker bundled by esbuild, the wasm builds, Piscina,
// this Node binary (xz) and run.sh. Usage: node scripts/bundle-parallel-bench.mjs OUTDIR [--no-node]
// then, there: bash OUTDIR/run.sh [bench args...]   (e.g. --quick --batch 16 --width 32 --workers 1,2,4,8,16)
import { build } from 'esbuild';
import { cpSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const out = process.argv[2];
if (!out) throw new Error('usage: node scripts/bundle-parallel-bench.mjs OUTDIR [--no-node]');
const r = join(out, 'root');
mkdirSync(join(r, 'build', 'dev'), { recursive: true });
mkdirSync(join(r, 'workers'), { recursive: true });
writeFileSync(join(r, 'package.json'), JSON.stringify({ type: 'module', private: true }));
const common = { bundle: true, platform: 'node', format: 'esm', target: 'node20', logLevel: 'warning' };
// the engine finds ../../workers/train-worker.js and ../../build/*.wasm relative to the bundle in build/dev/
await build({ ...common, entryPoints: [join(root, 'bench/parallel.bench.ts')], outfile: join(r, 'build/dev/parallel.bench.mjs'), external: ['piscina'] });
await build({ ...common, entryPoints: [join(root, 'workers/train-worker.ts')], outfile: join(r, 'workers/train-worker.js') });
for (const b of ['simd', 'relaxed', 'threads', 'threads-relaxed']) cpSync(join(root, `build/core-${b}.wasm`), join(r, `build/core-${b}.wasm`));
cpSync(join(root, 'node_modules/piscina'), join(r, 'node_modules/piscina'), { recursive: true, dereference: true });
if (!process.argv.includes('--no-node') && !existsSync(join(out, 'node.xz'))) {
  execFileSync('sh', ['-c', `xz -T2 -6 -c "${process.execPath}" > "${join(out, 'node.xz')}"`], { stdio: 'inherit' });
}
writeFileSync(join(out, 'run.sh'), `#!/bin/sh
# runs the parallel benchmark with the packed Node binary (or the node on PATH when none was packed)
set -e
here=$(cd "$(dirname "$0")" && pwd)
node=node
if [ -f "$here/node.xz" ]; then
  python3 -c "import lzma,shutil,sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open('/tmp/bicyclegan-node','wb'))" "$here/node.xz"
  chmod +x /tmp/bicyclegan-node; node=/tmp/bicyclegan-node
fi
"$node" -v; nproc
cd "$here/root" && "$node" build/dev/parallel.bench.mjs "$@"
`);
console.log(`packed into ${out}: bash ${join(out, 'run.sh')} --quick`);
