// Bundle the example Worker (examples/worker) offline with esbuild and measure what would be uploaded:
//   npm run build:worker -- <inference-weights.safetensors> [--out examples/worker/dist] [--build relaxed|simd]
// dist/ gets worker.mjs (the bundled script, minified), core.wasm (CompiledWasm module) and
// weights.safetensors (Data module); prints each file's size raw and gzipped, and the total (the number to
// hold against Cloudflare's script size limit, the equivalent of `wrangler deploy --dry-run`).
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build as esbuild } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface WorkerBundle {
  dir: string;
  files: { name: string; bytes: number; gzip: number }[];
  total: number;
  totalGzip: number;
}

export async function buildWorker(o: { outDir: string; weights: string | Uint8Array; build?: 'relaxed' | 'simd' }): Promise<WorkerBundle> {
  mkdirSync(o.outDir, { recursive: true });
  await esbuild({
    entryPoints: [join(root, 'examples/worker/src/worker.ts')],
    outfile: join(o.outDir, 'worker.mjs'),
    bundle: true,
    format: 'esm',
    platform: 'browser',
    conditions: ['worker', 'browser'],
    target: 'es2022',
    minify: true,
    external: ['./core.wasm', './weights.safetensors'],
    logLevel: 'error',
  });
  copyFileSync(join(root, `build/core-${o.build ?? 'relaxed'}.wasm`), join(o.outDir, 'core.wasm'));
  if (typeof o.weights === 'string') copyFileSync(o.weights, join(o.outDir, 'weights.safetensors'));
  else writeFileSync(join(o.outDir, 'weights.safetensors'), o.weights);
  const files = ['worker.mjs', 'core.wasm', 'weights.safetensors'].map((name) => {
    const b = readFileSync(join(o.outDir, name));
    return { name, bytes: b.byteLength, gzip: gzipSync(b).byteLength };
  });
  return { dir: o.outDir, files, total: files.reduce((s, f) => s + f.bytes, 0), totalGzip: files.reduce((s, f) => s + f.gzip, 0) };
}

export function formatBundle(b: WorkerBundle): string {
  const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
  return [...b.files.map((f) => `  ${f.name.padEnd(20)} ${kib(f.bytes).padStart(12)}  gzip ${kib(f.gzip).padStart(12)}`),
    `  ${'total'.padEnd(20)} ${kib(b.total).padStart(12)}  gzip ${kib(b.totalGzip).padStart(12)}`].join('\n');
}

if (process.argv[1]?.endsWith('build-worker.ts')) {
  const args = process.argv.slice(2);
  const opt = (k: string) => {
    const i = args.indexOf(k);
    return i >= 0 ? args.splice(i, 2)[1] : undefined;
  };
  const outDir = opt('--out') ?? join(root, 'examples/worker/dist');
  const build = (opt('--build') ?? 'relaxed') as 'relaxed' | 'simd';
  if (args.length !== 1) {
    console.error('usage: build-worker <inference-weights.safetensors> [--out DIR] [--build relaxed|simd]');
    process.exit(2);
  }
  const b = await buildWorker({ outDir, weights: args[0], build });
  console.log(`worker bundle in ${b.dir}:\n${formatBundle(b)}`);
}
