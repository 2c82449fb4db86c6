// The npm package as a user gets it: `npm pack` (which runs `prepare`, i.e. `npm run build`), the tarball
// installed into a fresh temporary project with `npm ci --offline` (its dependencies come from the npm cache
// that `npm ci` of this repo filled: the consumer's lockfile takes their entries from ours), and there:
//   - the README's per-runtime snippets (test/package/*.mjs) run in Node, Deno and Bun, a bundled page in
//     Chromium and a bundled Worker in workerd (Miniflare), each against the outputs of the sources here;
//   - the declarations type-check in a strict TypeScript project, the `.` entry without Node types;
//   - the `.` entry bundles for the browser without sharp, piscina, commander or cli-progress;
//   - the bin: --help, --version, train (a few steps on data/demo, 1 and 2 workers) and sample.
import { spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, extname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { build as esbuild, type Plugin } from 'esbuild';
import { compiledModule, loadCore, resolveBuild } from '../src/core/load-node.js';
import { BicycleGANInference, convertWeights, decodePng, encodePng, grid, type RGBAImage } from '../src/infer/index.js';
import { smallWeights, testPicture } from './helpers/infer-model.js';
import { CHROMIUM, haveChromium, launchChromium, miniflareFor } from './helpers/edge.js';

const root = resolve(new URL('..', import.meta.url).pathname);
const consumerFiles = join(root, 'test/package');
const bin = (name: string) => join(root, 'node_modules/.bin', name);
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string; dependencies: Record<string, string>; bin: Record<string, string> };
const N = 3, SEED = 7;

let dir: string; // holds the tarball, the consumer project (app/) and the runs
let app: string;
let packed: { files: { path: string }[]; filename: string };
const expected: Partial<Record<'relaxed' | 'simd', Uint8Array>> = {};

function run(cmd: string, args: string[], o: SpawnSyncOptions = {}): { stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000, ...o, env: { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1', FORCE_COLOR: '0', ...o.env } });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} ${r.error ? `failed: ${r.error.message}` : `exited ${r.status ?? r.signal}`}:\n${r.stderr}\n${r.stdout}`);
  return { stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** The consumer's lockfile: the tarball plus our lockfile's entries of the production dependencies (all of
 * npm's entries not marked dev), so `npm ci --offline` installs exactly those from the cache. */
function consumerLock(tarball: string): object {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean; devOptional?: boolean; link?: boolean }> };
  const spec = `file:${tarball}`;
  const packages: Record<string, unknown> = {
    '': { name: 'consumer', dependencies: { [pkg.name]: spec } },
    [`node_modules/${pkg.name}`]: { version: pkg.version, resolved: spec, dependencies: pkg.dependencies, bin: pkg.bin },
  };
  for (const [k, v] of Object.entries(lock.packages)) if (k.startsWith('node_modules/') && !v.dev && !v.devOptional && !v.link) packages[k] = v;
  return { name: 'consumer', lockfileVersion: 3, requires: true, packages };
}

const pixels = (png: Uint8Array) => decodePng(png);
function maxPixelDiff(a: RGBAImage, b: RGBAImage): number {
  expect([a.width, a.height]).toEqual([b.width, b.height]);
  let m = 0;
  for (let i = 0; i < a.data.length; i++) m = Math.max(m, Math.abs(a.data[i] - b.data[i]));
  return m;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bicyclegan-pkg-'));
  // `npm pack` runs `prepare` (npm run build: wasm, tsc to dist/, the wasm copied into dist/build)
  const out = run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: root }).stdout;
  packed = JSON.parse(out.slice(out.indexOf('[')))[0];
  app = join(dir, 'app');
  run('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies: { [pkg.name]: `file:../${packed.filename}` } }));
  writeFileSync(join(app, 'package-lock.json'), JSON.stringify(consumerLock(`../${packed.filename}`)));
  run('npm', ['ci', '--offline', '--no-audit', '--no-fund'], { cwd: app });
  for (const f of readdirSync(consumerFiles)) copyFileSync(join(consumerFiles, f), join(app, f));

  // a small generator + encoder (f16) and a picture; the expected grids come from the sources in this repo
  resolveBuild('relaxed'); // Node 20: the relaxed-SIMD flag before the first compile
  const core = await loadCore({ build: 'simd' });
  const weights = convertWeights(smallWeights(core, 5, ['G', 'E']), { storage: 'f16' });
  const image = encodePng(testPicture(150, 100, 2));
  writeFileSync(join(app, 'weights.safetensors'), weights);
  writeFileSync(join(app, 'image.png'), image);
  for (const b of ['relaxed', 'simd'] as const) {
    const m = await BicycleGANInference.create({ module: compiledModule(b), build: b, weights });
    expected[b] = encodePng(grid(m.sample(decodePng(image), { n: N, seed: SEED }).images));
  }
}, 300_000);
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the tarball', () => {
  test('holds the compiled code, declarations, the wasm builds and the bin; no sources, tests or fixtures', () => {
    const files = packed.files.map((f) => f.path);
    for (const f of ['package.json', 'README.md', 'bin/bicyclegan.mjs', 'dist/src/infer/index.js', 'dist/src/infer/index.d.ts', 'dist/src/cli/node.js',
      'dist/src/cli/node.d.ts', 'dist/src/cli/run.js', 'dist/workers/train-worker.js', 'dist/build/core-simd.wasm', 'dist/build/core-relaxed.wasm',
      'dist/build/core-threads.wasm', 'dist/build/core-threads-relaxed.wasm', 'dist/models/edges2shoes-handbags.int8.safetensors'])
      expect(files).toContain(f);
    expect(files.filter((f) => !/^(dist\/|bin\/bicyclegan\.mjs$|package\.json$|README\.md$)/.test(f))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  });
});

describe('inference from the installed package, per runtime (the README snippets)', () => {
  test('Node ESM: auto build (relaxed SIMD on Node 20 too), outputs equal to the sources', () => {
    const r = JSON.parse(run(process.execPath, ['node.mjs'], { cwd: app }).stdout);
    expect(r.build).toBe('relaxed');
    expect(new Uint8Array(readFileSync(join(app, 'node.png')))).toEqual(expected.relaxed);
  });

  test('the shipped model by name (bicyclegan-wasm/node) and by URL inside the package', () => {
    const r = JSON.parse(run(process.execPath, ['zoo.mjs'], { cwd: app }).stdout);
    expect(r).toEqual({ preset: 'official', bytes: statSync(join(root, 'models/edges2shoes-handbags.int8.safetensors')).size, images: 2, url: true });
  });

  test('Node with threads: 2: the shipped threads build, the same PNG bytes', () => {
    const r = JSON.parse(run(process.execPath, ['node-threads.mjs'], { cwd: app }).stdout);
    expect(r).toEqual({ build: 'relaxed', threads: 2 });
    expect(new Uint8Array(readFileSync(join(app, 'node-threads.png')))).toEqual(expected.relaxed);
  });

  test('Deno without --sloppy-imports: bit-exact with Node', () => {
    const r = JSON.parse(run(bin('deno'), ['run', '--allow-read', '--allow-write', 'deno.mjs'], { cwd: app }).stdout);
    expect(r.build).toBe('relaxed');
    expect(new Uint8Array(readFileSync(join(app, 'deno.png')))).toEqual(expected.relaxed);
  });

  test('Bun: relaxed build, within one 8-bit level of Node (unfused madd)', () => {
    const r = JSON.parse(run(bin('bun'), ['bun.mjs'], { cwd: app }).stdout);
    expect(r.build).toBe('relaxed');
    expect(maxPixelDiff(pixels(new Uint8Array(readFileSync(join(app, 'bun.png')))), pixels(expected.relaxed!))).toBeLessThanOrEqual(1);
  });

  test('Cloudflare Workers (workerd via Miniflare): the imported Module, bit-exact with Node', async () => {
    const out = join(dir, 'worker');
    // what wrangler does: bundle the script, keep *.wasm (CompiledWasm) and *.safetensors (Data) as modules beside it
    const modulesBeside: Plugin = {
      name: 'modules-beside',
      setup(b) {
        b.onResolve({ filter: /\.(wasm|safetensors)$/ }, async (a) => {
          if (a.pluginData === 'inner') return undefined;
          const r = await b.resolve(a.path, { kind: a.kind, resolveDir: a.resolveDir, importer: a.importer, pluginData: 'inner' });
          if (r.errors.length) return { errors: r.errors };
          run('mkdir', ['-p', out]);
          copyFileSync(r.path, join(out, basename(r.path)));
          return { path: `./${basename(r.path)}`, external: true };
        });
      },
    };
    await esbuild({ entryPoints: [join(app, 'worker.mjs')], absWorkingDir: app, outfile: join(out, 'worker.mjs'), bundle: true, format: 'esm', platform: 'browser', conditions: ['workerd', 'worker', 'browser'], target: 'es2022', logLevel: 'error', plugins: [modulesBeside] });
    const mf = await miniflareFor(out);
    try {
      const url = await mf.ready;
      const res = await fetch(url, { method: 'POST', body: readFileSync(join(app, 'image.png')) });
      expect(res.status).toBe(200);
      expect(new Uint8Array(await res.arrayBuffer())).toEqual(expected.relaxed);
    } finally {
      await mf.dispose();
    }
  });

  if (!haveChromium) console.warn(`skipping the packaged Chromium test: ${CHROMIUM} is absent (apt-get install -y chromium)`);
  test('the `.` entry bundles for the browser without Node modules, sharp, piscina, commander or cli-progress; the page runs it in Chromium', async () => {
    const www = join(dir, 'www');
    // platform 'browser' fails on any node: import; the metafile lists every file the bundle took in
    const r = await esbuild({ entryPoints: [join(app, 'page.mjs')], absWorkingDir: app, outfile: join(www, 'page.js'), bundle: true, format: 'esm', platform: 'browser', target: 'es2022', logLevel: 'error', metafile: true });
    const inputs = Object.keys(r.metafile.inputs);
    expect(inputs.some((p) => p.includes(`node_modules/${pkg.name}/dist/src/infer/index.js`))).toBe(true);
    expect(inputs.filter((p) => /node_modules\/(sharp|@img|piscina|commander|cli-progress)\//.test(p))).toEqual([]);
    expect(inputs.filter((p) => /dist\/src\/(data|train|parallel|cli)\//.test(p) || p.endsWith('load-node.js'))).toEqual([]);
    if (!haveChromium) return;

    const wasmDir = join(app, 'node_modules', pkg.name, 'dist/build');
    const types: Record<string, string> = { '.js': 'text/javascript', '.wasm': 'application/wasm', '.png': 'image/png' };
    const server: Server = createServer((req, res) => {
      const name = (req.url ?? '/').split('?')[0];
      const file = name === '/' ? '' : name.startsWith('/wasm/') ? join(wasmDir, basename(name)) : name === '/page.js' ? join(www, 'page.js') : join(app, basename(name));
      if (!file) return void res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><script type="module" src="/page.js"></script>');
      if (!existsSync(file)) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const { ctx, close: closeChromium } = await launchChromium();
    try {
      const page = await ctx.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      await page.waitForFunction('window.result || null', undefined, { timeout: 60_000 }).catch(() => {
        throw new Error(`the page set no result: ${errors.join('; ')}`);
      });
      const got = (await page.evaluate('window.result')) as { build: string; png: number[] };
      expect(got.build).toBe('relaxed');
      expect(Uint8Array.from(got.png)).toEqual(expected.relaxed);
    } finally {
      await closeChromium();
      await new Promise((ok) => server.close(ok));
    }
  });
});

describe('TypeScript consumers (strict) against the installed declarations', () => {
  const strict = { strict: true, noUncheckedIndexedAccess: true, exactOptionalPropertyTypes: true, noImplicitOverride: true, noPropertyAccessFromIndexSignature: true, skipLibCheck: false, noEmit: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022' };
  const tsc = (config: object, name: string) => {
    writeFileSync(join(app, name), JSON.stringify(config));
    run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', name], { cwd: app });
  };
  test('the `.` entry with no Node types (lib ES2022 + DOM)', () => {
    tsc({ compilerOptions: { ...strict, lib: ['ES2022', 'DOM'], types: [] }, files: ['web.mts'] }, 'tsconfig.web.json');
  });
  test('the `./node` entry with Node types', () => {
    // lib DOM (or WebWorker) for the WebAssembly types: @types/node 20 has none
    tsc({ compilerOptions: { ...strict, lib: ['ES2022', 'DOM'], types: ['node'], typeRoots: [join(root, 'node_modules/@types')] }, files: ['node-api.mts'] }, 'tsconfig.node.json');
  });
});

describe('the bin, compiled JavaScript from the installed package', () => {
  const cli = (args: string[]) => run(join(app, 'node_modules/.bin/bicyclegan'), args, { cwd: app });
  test('--help and --version', () => {
    expect(cli(['--help']).stdout).toMatch(/train[\s\S]*sample[\s\S]*info/);
    expect(cli(['--version']).stdout.trim()).toBe(pkg.version);
  });

  test('train on data/demo on one thread and on 2 workers, then sample and info', () => {
    const data = join(root, 'data/demo/edges2shoes-mini');
    const tiny = ['--data', data, '--direction', 'BtoA', '--steps', '2', '--batch', '2', '--g-base', '2', '--e-base', '2', '--d-base', '2',
      '--sample-every', '0', '--checkpoint-every', '0', '--log-every', '1', '--sample-images', '2', '--sample-z', '1'];
    for (const workers of ['1', '2']) {
      const out = join(dir, `run-${workers}`);
      const r = cli(['train', ...tiny, '--workers', workers, '--out', out]);
      expect(r.stderr).toMatch(/done: 2 steps/);
      expect(r.stderr).not.toMatch(/not part of this build/); // 2 workers: the parallel engine from dist/workers
      expect(readdirSync(join(out, 'checkpoints'))).toEqual(['step-00000002.safetensors']);
    }
    const ckpt = join(dir, 'run-2/checkpoints/step-00000002.safetensors');
    cli(['sample', '--checkpoint', ckpt, '--input', join(data, 'test'), '--direction', 'BtoA', '--out', join(dir, 'samples'), '--n', '2', '--interp', '0']);
    expect(existsSync(join(dir, 'samples/grid.png'))).toBe(true);
    expect(cli(['info', ckpt]).stdout).toMatch(/step/);
  });
});
