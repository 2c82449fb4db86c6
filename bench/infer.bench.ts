// Inference benchmark: generator latency at 128x128 and 256x256 (batch 1, one thread) and cold start
// (instantiate the compiled core + load the weights) in every runtime: Node, Deno, Bun, Chromium (page), and
// workerd (Miniflare; timed from outside, since workerd's clocks stand still while a request computes).
// Plus the example Worker's bundle size (esbuild, offline) with f16 and int8 weights.
//   npm run bench:infer [-- --quick] [-- --storage f16|f32|int8]
// Weights: the full pytorch-gan generator (widths 64) with seeded init (no trained checkpoint ships here);
// latency does not depend on the values. Input: a facades label map when ../shared/data is present.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { build as esbuild } from 'esbuild';
import { compiledModule, loadCore, resolveBuild, wasmPath } from '../src/core/load-node.js';
import { convertWeights, crop, decodeImage, encodePng, type Storage } from '../src/infer/index.js';
import { buildWorker, formatBundle } from '../scripts/build-worker.js';
import { probe } from '../test/runtimes/probe.js';
import { bundleProbes } from '../test/runtimes/bundle.js';
import { testPicture } from '../test/helpers/infer-model.js';
import { fullWeights } from './infer-model.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const storage = (args[args.indexOf('--storage') + 1] && args.includes('--storage') ? args[args.indexOf('--storage') + 1] : 'f16') as Storage;
const REPS = quick ? 3 : 10;
const SIZES = [128, 256];
const root = resolve(new URL('..', import.meta.url).pathname);
const dir = mkdtempSync(join(tmpdir(), 'bicyclegan-bench-infer-'));
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

interface Row { runtime: string; size: number; build: string; coldMs: number; firstMs: number; medianMs: number; minMs: number }
const rows: Row[] = [];
const add = (runtime: string, size: number, build: string, coldMs: number, firstMs: number, runMs: number[]) => {
  const r = { runtime, size, build, coldMs, firstMs, medianMs: median(runMs), minMs: Math.min(...runMs) };
  rows.push(r);
  console.log(`  ${runtime.padEnd(10)} ${size}px ${build.padEnd(8)} cold ${coldMs.toFixed(0).padStart(6)} ms  first run ${firstMs.toFixed(0).padStart(5)} ms  median ${r.medianMs.toFixed(1).padStart(7)} ms  (min ${r.minMs.toFixed(1)}, ${runMs.length} runs)`);
};

function inputImage(): Uint8Array {
  const facades = join(process.env.BICYCLEGAN_DATA ?? '../shared/data', 'facades/test');
  if (existsSync(facades)) {
    const f = readdirSync(facades).filter((n) => n.endsWith('.jpg')).sort()[0];
    const img = decodeImage(new Uint8Array(readFileSync(join(facades, f))));
    return encodePng(crop(img, img.width / 2, 0, img.width / 2, img.height));
  }
  console.log(`(${facades} absent: a synthetic input picture instead)`);
  return encodePng(testPicture(256, 256, 1));
}

async function main() {
  resolveBuild('relaxed');
  const core = await loadCore({ build: 'simd' });
  const image = inputImage();
  writeFileSync(join(dir, 'image.png'), image);
  for (const b of ['simd', 'relaxed'] as const) writeFileSync(join(dir, `core-${b}.wasm`), readFileSync(wasmPath(b)));
  const bundles = await bundleProbes(dir);
  console.log(`inference latency, batch 1, 1 thread, ${storage} weights, ${REPS} timed runs after a warm-up (medians)`);
  const weightFiles: Record<number, Uint8Array> = {};
  for (const S of SIZES) {
    const w = convertWeights(fullWeights(core, { size: S }), { storage });
    weightFiles[S] = w;
    const wpath = join(dir, `weights-${S}.safetensors`);
    writeFileSync(wpath, w);
    // Node
    for (const b of ['relaxed', 'simd'] as const) {
      const r = await probe({ module: compiledModule(b), build: b, weights: w, image, n: 1, seed: 1, reps: REPS });
      add('node', S, b, r.coldMs, r.firstMs, r.runMs);
    }
    // Deno, Bun
    for (const [name, cmd, pre] of [['deno', 'deno', ['run', '--allow-read', '--allow-write', '--no-config', '--no-lock']], ['bun', 'bun', []]] as const) {
      const out = join(dir, `${name}-${S}`), job = `${out}.job.json`;
      writeFileSync(job, JSON.stringify({ wasm: join(dir, 'core-relaxed.wasm'), build: 'relaxed', weights: wpath, image: join(dir, 'image.png'), n: 1, seed: 1, reps: REPS, out }));
      const p = spawnSync(join(root, 'node_modules/.bin', cmd), [...pre, bundles.cli, job], { cwd: dir, encoding: 'utf8', env: { ...process.env, DENO_NO_UPDATE_CHECK: '1' } });
      if (p.status !== 0) {
        console.log(`  ${name}: failed (${p.stderr.slice(0, 300)})`);
        continue;
      }
      const m = JSON.parse(readFileSync(`${out}.json`, 'utf8'));
      add(name, S, 'relaxed', m.coldMs, m.firstMs, m.runMs);
    }
    await chromiumRow(S, wpath);
    await workerdRow(S, w, image);
  }
  console.log('\nsummary (ms; cold = instantiate the compiled core + load the weights; first = the first generator run after it):\n  runtime     size  build     cold  first   median');
  for (const r of rows) console.log(`  ${r.runtime.padEnd(10)} ${String(r.size).padStart(5)}  ${r.build.padEnd(8)} ${r.coldMs.toFixed(0).padStart(6)} ${r.firstMs.toFixed(0).padStart(6)} ${r.medianMs.toFixed(1).padStart(8)}`);
  console.log(`  (workerd times are loopback HTTP round trips: cold = the load request, first = the first run request)`);
  // Worker bundle sizes
  for (const s of ['f16', 'int8'] as Storage[]) {
    const b = await buildWorker({ outDir: join(dir, `worker-${s}`), weights: convertWeights(weightFiles[128], { storage: s }), build: 'relaxed' });
    console.log(`\nexample Worker bundle, 128px generator, ${s} weights (esbuild, offline):\n${formatBundle(b)}`);
  }
}

async function chromiumRow(S: number, wpath: string) {
  if (!existsSync('/usr/bin/chromium')) return void console.log('  chromium: /usr/bin/chromium absent, skipped');
  const { chromium } = await import('playwright-core');
  const types: Record<string, string> = { '.mjs': 'text/javascript', '.wasm': 'application/wasm' };
  const server = createServer((req, res) => {
    const name = (req.url ?? '/').split('?')[0].slice(1);
    if (!name) return void res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html>');
    const f = join(dir, name.replace(/\.\.+/g, ''));
    if (!existsSync(f)) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': types[extname(f)] ?? 'application/octet-stream' }).end(readFileSync(f));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const profile = mkdtempSync(join(tmpdir(), 'bicyclegan-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, { executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  try {
    const page = await ctx.newPage();
    await page.goto(`${base}/`);
    const job = { wasm: `${base}/core-relaxed.wasm`, build: 'relaxed', weights: `${base}/${wpath.split('/').pop()}`, image: `${base}/image.png`, n: 1, seed: 1, reps: REPS };
    const r: { coldMs: number; firstMs: number; runMs: number[] } = await page.evaluate(`import('/browser-entry.mjs').then((m) => m.runInPage(${JSON.stringify(job)})).then((r) => ({ coldMs: r.coldMs, firstMs: r.firstMs, runMs: r.runMs }))`);
    add('chromium', S, 'relaxed', r.coldMs, r.firstMs, r.runMs);
  } finally {
    await ctx.close();
    rmSync(profile, { recursive: true, force: true });
    server.close();
  }
}

async function workerdRow(S: number, weights: Uint8Array, image: Uint8Array) {
  const { Miniflare } = await import('miniflare');
  const wdir = join(dir, `workerd-${S}`);
  await esbuild({ entryPoints: [join(root, 'test/runtimes/workerd-entry.ts')], outfile: join(wdir, 'worker.mjs'), bundle: true, format: 'esm', platform: 'browser', target: 'es2022', external: ['./core.wasm', './weights.safetensors', './image.png.bin'], logLevel: 'error' });
  writeFileSync(join(wdir, 'core.wasm'), readFileSync(wasmPath('relaxed')));
  writeFileSync(join(wdir, 'weights.safetensors'), weights);
  writeFileSync(join(wdir, 'image.png.bin'), image);
  const mf = new Miniflare({ modules: true, scriptPath: join(wdir, 'worker.mjs'), modulesRoot: wdir, modulesRules: [{ type: 'CompiledWasm', include: ['**/*.wasm'] }, { type: 'Data', include: ['**/*.safetensors', '**/*.bin'] }], compatibilityDate: '2026-04-01', cf: false, host: '127.0.0.1', port: 0 });
  try {
    const url = await mf.ready;
    const call = async (op: string) => {
      const t = performance.now();
      const r = await fetch(new URL(`/?op=${op}`, url));
      const body = await r.text();
      if (r.status !== 200) throw new Error(`workerd ${op}: ${r.status} ${body.slice(0, 300)}`);
      return performance.now() - t;
    };
    // an empty round trip's cost is subtracted from nothing: reported times include ~1 ms of HTTP on loopback
    const cold = await call('load');
    const first = await call('run');
    const runs: number[] = [];
    for (let i = 0; i < REPS; i++) runs.push(await call('run'));
    add('workerd', S, 'relaxed', cold, first, runs);
  } finally {
    await mf.dispose();
  }
}

main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(() => rmSync(dir, { recursive: true, force: true }));
