// The inference API in the real runtimes, each started on 127.0.0.1 and stopped by the test: workerd (the
// example Worker through Miniflare), Deno and Bun (from node_modules/.bin), and headless Chromium (Debian's
// /usr/bin/chromium via playwright-core) in a page and in a module Web Worker. Each runs the same bundled
// probe on the same small generator (f16 weights, so the dequant kernels run too) and image, and its outputs
// for a fixed seed are compared with Node's:
//   V8 runtimes (workerd, Deno, Chromium) on the relaxed build: bit-exact (same build, same fused madd);
//   Bun on the relaxed build: |diff| <= 1e-4 (its relaxed madd is unfused); Bun on the SIMD128 build: exact or
//   within 1e-6 (the only other difference is the engine's Math.log/sin/cos in the seeded normal codes).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { compiledModule, loadCore, resolveBuild, wasmPath } from '../src/core/load-node.js';
import type { Build } from '../src/core/features.js';
import { convertWeights, decodePng, encodePng } from '../src/infer/index.js';
import { buildWorker } from '../scripts/build-worker.js';
import jpeg from 'jpeg-js';
import { smallWeights, testPicture } from './helpers/infer-model.js';
import { probe, type ProbeResult } from './runtimes/probe.js';
import { bundleProbes } from './runtimes/bundle.js';
import { CHROMIUM, haveChromium, launchChromium, miniflareFor } from './helpers/edge.js';
import { secondIhdr } from '../bench/lib/png-chunks.js';

const root = resolve(new URL('..', import.meta.url).pathname);
const bin = (name: string) => join(root, 'node_modules/.bin', name);
const N = 3, SEED = 7;
let dir: string;
let weights: Uint8Array;
let imagePng: Uint8Array<ArrayBuffer>;
const node: Partial<Record<Build, ProbeResult>> = {};
let bundles: { cli: string; browser: string };
let nodeInt8: ProbeResult;

function maxAbs(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
const floatsOf = (bytes: Uint8Array | number[]) => new Float32Array(Uint8Array.from(bytes).buffer);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bicyclegan-rt-'));
  resolveBuild('relaxed'); // Node 20: the relaxed-SIMD flag before the first compile
  const core = await loadCore({ build: 'simd' });
  // small chunks, so the OC-chunked layers run in every runtime too
  const raw = smallWeights(core, 5, ['G']);
  weights = convertWeights(raw, { storage: 'f16', chunkFloats: 2048 });
  const int8 = convertWeights(raw, { storage: 'int8', chunkFloats: 2048 });
  writeFileSync(join(dir, 'weights-int8.safetensors'), int8);
  imagePng = new Uint8Array(encodePng(testPicture(150, 150, 2))); // square: the Worker centre-crops other shapes (checked with the JPEG below)
  writeFileSync(join(dir, 'weights.safetensors'), weights);
  writeFileSync(join(dir, 'image.png'), imagePng);
  for (const f of ['threads', 'threads-relaxed']) writeFileSync(join(dir, `core-${f}.wasm`), readFileSync(join(root, 'build', `core-${f}.wasm`)));
  for (const b of ['simd', 'relaxed'] as Build[]) {
    writeFileSync(join(dir, `core-${b}.wasm`), readFileSync(wasmPath(b)));
    node[b] = await probe({ module: compiledModule(b), build: b, weights, image: imagePng, n: N, seed: SEED });
  }
  nodeInt8 = await probe({ module: compiledModule('relaxed'), build: 'relaxed', weights: readFileSync(join(dir, 'weights-int8.safetensors')), image: imagePng, n: N, seed: SEED });
  bundles = await bundleProbes(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runCli(cmd: string, args: string[], build: Build, tag: string, weightsFile = 'weights.safetensors', threads = 1): ProbeResult {
  const out = join(dir, tag);
  const job = join(dir, `${tag}.job.json`);
  const wasm = join(dir, `core-${threads > 1 ? (build === 'relaxed' ? 'threads-relaxed' : 'threads') : build}.wasm`);
  writeFileSync(job, JSON.stringify({ wasm, build, weights: join(dir, weightsFile), image: join(dir, 'image.png'), n: N, seed: SEED, reps: 0, threads, out }));
  const r = spawnSync(cmd, [...args, bundles.cli, job], { cwd: dir, encoding: 'utf8', timeout: 60_000, env: { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' } });
  if (r.status !== 0) throw new Error(`${cmd} exited ${r.status}: ${r.stderr}\n${r.stdout}`);
  const meta = JSON.parse(readFileSync(`${out}.json`, 'utf8'));
  return { ...meta, floats: new Float32Array(new Uint8Array(readFileSync(`${out}.floats.bin`)).buffer), png: new Uint8Array(readFileSync(`${out}.png`)) };
}

describe('Deno', () => {
  test('relaxed build: bit-exact with Node (both V8 with fused madd)', () => {
    const r = runCli(bin('deno'), ['run', '--allow-read', '--allow-write', '--no-config', '--no-lock'], 'relaxed', 'deno');
    expect(r.detected).toBe('relaxed');
    expect(maxAbs(r.floats, node.relaxed!.floats)).toBe(0);
    expect(r.png).toEqual(node.relaxed!.png);
    const q = runCli(bin('deno'), ['run', '--allow-read', '--allow-write', '--no-config', '--no-lock'], 'relaxed', 'deno-int8', 'weights-int8.safetensors');
    expect(maxAbs(q.floats, nodeInt8.floats)).toBe(0);
  });

  test('threads: 2 (Web Workers over a shared memory): bit-exact with Node on one thread', () => {
    const r = runCli(bin('deno'), ['run', '--allow-read', '--allow-write', '--no-config', '--no-lock'], 'relaxed', 'deno-t2', 'weights.safetensors', 2);
    expect({ threads: r.threads, warnings: r.warnings }).toEqual({ threads: 2, warnings: [] });
    expect(maxAbs(r.floats, node.relaxed!.floats)).toBe(0);
    expect(r.png).toEqual(node.relaxed!.png);
  });
});

describe('Bun', () => {
  test('relaxed build (unfused madd): within 1e-4 of Node; SIMD128 build: within 1e-6', () => {
    const r = runCli(bin('bun'), [], 'relaxed', 'bun-relaxed');
    expect(r.detected).toBe('relaxed');
    const d = maxAbs(r.floats, node.relaxed!.floats);
    console.log(`bun relaxed vs node relaxed: max |diff| ${d.toExponential(2)}`);
    expect(d).toBeLessThanOrEqual(1e-4);
    const s = runCli(bin('bun'), [], 'simd', 'bun-simd');
    const ds = maxAbs(s.floats, node.simd!.floats);
    console.log(`bun simd vs node simd: max |diff| ${ds.toExponential(2)}`);
    expect(ds).toBeLessThanOrEqual(1e-6);
  });

  test('threads: 2: bit-exact with Bun on one thread', () => {
    const one = runCli(bin('bun'), [], 'relaxed', 'bun-t1');
    const two = runCli(bin('bun'), [], 'relaxed', 'bun-t2', 'weights.safetensors', 2);
    expect({ threads: two.threads, warnings: two.warnings }).toEqual({ threads: 2, warnings: [] });
    expect(maxAbs(two.floats, one.floats)).toBe(0);
  });
});

/** One raw HTTP/1.1 request over a socket (for bodies fetch() cannot send, like broken chunked encoding). */
function rawRequest(url: URL, text: string): Promise<Response> {
  return new Promise((res, rej) => {
    const sock = connect(Number(url.port), url.hostname, () => sock.end(text));
    let buf = '';
    sock.on('data', (d) => (buf += d));
    sock.on('error', rej);
    sock.on('close', () => {
      const [head, ...body] = buf.split('\r\n\r\n');
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1] ?? 0);
      const type = /content-type: ([^\r\n]+)/i.exec(head)?.[1] ?? '';
      let b = body.join('\r\n\r\n');
      if (/transfer-encoding: chunked/i.test(head)) b = b.split('\r\n').filter((_, i) => i % 2 === 1).join('');
      res(new Response(b, { status, headers: { 'content-type': type } }));
    });
  });
}

describe('workerd (example Worker via Miniflare)', () => {
  test('POST image -> PNG grid equal to Node; bad requests are 4xx JSON', async () => {
    const wdir = join(dir, 'worker');
    await buildWorker({ outDir: wdir, weights, build: 'relaxed' });
    const mf = await miniflareFor(wdir);
    try {
      const url = await mf.ready;
      expect(url.hostname).toBe('127.0.0.1');
      const post = (body: BodyInit, type = 'image/png', q = `?n=${N}&seed=${SEED}`, extra: RequestInit = {}) =>
        fetch(new URL(`/${q}`, url), { method: 'POST', body, headers: { 'content-type': type }, ...extra });
      const ok = await post(imagePng);
      expect(ok.status).toBe(200);
      expect(ok.headers.get('content-type')).toBe('image/png');
      const got = decodePng(new Uint8Array(await ok.arrayBuffer()));
      expect(got).toEqual(decodePng(node.relaxed!.png)); // bit-exact pixels: same build, same FMA
      // JPEG works too
      const pic = testPicture(150, 100, 2);
      const jpg = new Uint8Array(jpeg.encode({ width: 150, height: 100, data: Buffer.from(pic.data.buffer) }, 90).data);
      const j = await post(jpg, 'image/jpeg', '?n=1&seed=1');
      expect(j.status).toBe(200);
      expect(decodePng(new Uint8Array(await j.arrayBuffer())).width).toBe(128);
      // not square: centre-cropped, and said so (square images get no note)
      expect(j.headers.get('x-note')).toBe('centre-cropped 150x100 to 100x100 at (25, 0): the model takes square images');
      expect(ok.headers.get('x-note')).toBeNull();

      const bigPng = imagePng.slice();
      new DataView(bigPng.buffer).setUint32(16, 3000);
      new DataView(bigPng.buffer).setUint32(20, 3000);
      // requests are made one at a time (each a thunk), so a refused upload never races the others
      const bad: [string, () => Promise<Response>, number][] = [
        ['GET', () => fetch(url), 405],
        ['PUT', () => fetch(url, { method: 'PUT', body: imagePng, headers: { 'content-type': 'image/png' } }), 405],
        ['other path', () => fetch(new URL('/x', url), { method: 'POST', body: imagePng, headers: { 'content-type': 'image/png' } }), 404],
        ['text/plain', () => post(imagePng, 'text/plain'), 415],
        ['no content type', () => fetch(url, { method: 'POST', body: imagePng }), 415],
        ['oversized body', () => post(new Uint8Array(5 * 2 ** 20), 'image/png'), 413],
        ['oversized streamed body (no content-length)', () => post(new ReadableStream({
          start(c) {
            for (let i = 0; i < 6; i++) c.enqueue(new Uint8Array(2 ** 20));
            c.close();
          },
        }), 'image/png', '?n=1', { duplex: 'half' } as RequestInit), 413],
        ['image over 2048x2048 pixels', () => post(bigPng), 413],
        ['garbage', () => post(new Uint8Array([1, 2, 3, 4, 5]), 'image/png'), 400],
        ['truncated PNG', () => post(imagePng.subarray(0, 100)), 400],
        ['truncated JPEG', () => post(jpg.subarray(0, 300), 'image/jpeg'), 400],
        ['empty body', () => post(new Uint8Array(0)), 400],
        ['n=0', () => post(imagePng, 'image/png', '?n=0'), 400],
        ['n=17', () => post(imagePng, 'image/png', '?n=17'), 400],
        ['n=abc', () => post(imagePng, 'image/png', '?n=abc'), 400],
        ['n=1.5', () => post(imagePng, 'image/png', '?n=1.5'), 400],
        ['seed=-1', () => post(imagePng, 'image/png', '?n=1&seed=-1'), 400],
        ['seed=2^32', () => post(imagePng, 'image/png', '?n=1&seed=4294967296'), 400],
        // a 1x1 IHDR first and the real one after it: the decoder would take the second (pixel cap bypass)
        ['PNG with a second IHDR', () => post(secondIhdr(imagePng, 3000, 3000)), 400],
        ['malformed chunked body', () => rawRequest(url, 'POST /?n=1 HTTP/1.1\r\nhost: x\r\ncontent-type: image/png\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n5\r\nab\r\nzz\r\n\r\n'), 400],
      ];
      for (const [what, p, status] of bad) {
        const r = await p();
        expect({ what, status: r.status }).toEqual({ what, status });
        expect(r.headers.get('content-type')).toMatch(/^application\/json/);
        const body = (await r.json()) as { error?: unknown };
        expect(typeof body.error).toBe('string');
      }
      // and it still serves after all that
      expect((await post(imagePng, 'image/png', '?n=1&seed=2')).status).toBe(200);
    } finally {
      await mf.dispose();
    }
  });
});

describe('Chromium (page and Web Worker)', () => {
  const have = haveChromium;
  if (!have) console.warn(`skipping the Chromium tests: ${CHROMIUM} is absent (apt-get install -y chromium)`);
  let server: Server;
  let base = '';
  beforeAll(async () => {
    if (!have) return;
    const types: Record<string, string> = { '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html', '.png': 'image/png' };
    // under /coi/ every response carries COOP + COEP: the page is cross-origin isolated (SharedArrayBuffer)
    server = createServer((req, res) => {
      let name = (req.url ?? '/').split('?')[0].slice(1) || 'index.html';
      const coi = name.startsWith('coi/');
      if (coi) name = name.slice(4) || 'index.html';
      const iso = coi ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' } : {};
      if (name === 'index.html') return void res.writeHead(200, { 'content-type': 'text/html', ...iso }).end('<!doctype html><title>probe</title>');
      const file = join(dir, name.replace(/\.\.+/g, ''));
      if (!existsSync(file)) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': types[extname(file)] ?? 'application/octet-stream', ...iso }).end(readFileSync(file));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    if (server) await new Promise((r) => server.close(r));
  });

  test.skipIf(!have)('page and module Web Worker: bit-exact with Node on the relaxed build', async () => {
    const { ctx, close: closeChromium } = await launchChromium();
    try {
      const page = await ctx.newPage();
      await page.goto(`${base}/index.html`);
      const job = { wasm: `${base}/core-relaxed.wasm`, build: 'relaxed', weights: `${base}/weights.safetensors`, image: `${base}/image.png`, n: N, seed: SEED };
      type Packed = { detected: string; floats: number[]; png: number[] };
      // a string, so the test runner's transform leaves the page's import() alone
      const inPage: Packed = await page.evaluate(`import('/browser-entry.mjs').then((m) => m.runInPage(${JSON.stringify(job)}))`);
      const inWorker: Packed = await page.evaluate(`import('/browser-entry.mjs').then((m) => m.runInWorker(${JSON.stringify(job)}, '/browser-entry.mjs'))`);
      for (const r of [inPage, inWorker]) {
        expect(r.detected).toBe('relaxed');
        expect(maxAbs(floatsOf(r.floats), node.relaxed!.floats)).toBe(0);
        expect(Uint8Array.from(r.png)).toEqual(node.relaxed!.png);
      }
    } finally {
      await closeChromium();
    }
  });

  test.skipIf(!have)('threads: 2 in a cross-origin-isolated Web Worker: bit-exact; a page that is not isolated: one thread, said once', async () => {
    const { ctx, close: closeChromium } = await launchChromium();
    try {
      type Packed = { floats: number[]; threads: number; warnings: string[] };
      const page = await ctx.newPage();
      await page.goto(`${base}/coi/index.html`);
      expect(await page.evaluate('crossOriginIsolated')).toBe(true);
      const job = { wasm: `${base}/coi/core-threads-relaxed.wasm`, build: 'relaxed', weights: `${base}/coi/weights.safetensors`, image: `${base}/coi/image.png`, n: N, seed: SEED, threads: 2 };
      const inWorker: Packed = await page.evaluate(`import('/coi/browser-entry.mjs').then((m) => m.runInWorker(${JSON.stringify(job)}, '/coi/browser-entry.mjs'))`);
      expect({ threads: inWorker.threads, warnings: inWorker.warnings }).toEqual({ threads: 2, warnings: [] });
      expect(maxAbs(floatsOf(inWorker.floats), node.relaxed!.floats)).toBe(0);
      const plain = await ctx.newPage();
      await plain.goto(`${base}/index.html`);
      const job1 = { ...job, wasm: `${base}/core-relaxed.wasm`, weights: `${base}/weights.safetensors`, image: `${base}/image.png` };
      const inPage: Packed = await plain.evaluate(`import('/browser-entry.mjs').then((m) => m.runInPage(${JSON.stringify(job1)}))`);
      expect(inPage.threads).toBe(1);
      expect(inPage.warnings).toEqual([expect.stringMatching(/threads: 2 requested, running on one thread: this page is not cross-origin isolated/)]);
      expect(maxAbs(floatsOf(inPage.floats), node.relaxed!.floats)).toBe(0);
    } finally {
      await closeChromium();
    }
  });
});
