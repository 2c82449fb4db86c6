// One command serves the example page on 127.0.0.1 with the cross-origin-isolation headers
// (COOP same-origin + COEP require-corp: SharedArrayBuffer and wasm threads need them):
//   npm run example:browser [-- --weights FILE] [-- --port 8080]
// FILE: a checkpoint, weights, inference (f32/f16/int8) file or a shipped model's name; default: the shipped
// edges2shoes-handbags model (models/, official preset, int8). A training file is converted to f16 inference
// weights (G and E) once at start; an inference file is served as it is. The page and its
// Web Workers (sampling; training the demo model on data/demo in the second tab) are bundled with esbuild in
// memory; the wasm builds are served from build/, the demo pairs from data/demo/edges2shoes-mini.
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { convertWeights, isPacked } from '../../src/infer/index.js';
import { modelPathOf } from '../../src/cli/zoo-file.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '../..');

export interface ExampleServer {
  url: string;
  close(): Promise<void>;
}

export async function startServer(o: { weights: string | Uint8Array; port?: number; host?: string }): Promise<ExampleServer> {
  const raw = typeof o.weights === 'string' ? new Uint8Array(readFileSync(o.weights)) : o.weights;
  const source = typeof o.weights === 'string' ? o.weights : 'weights';
  const weights = isPacked(raw) ? raw : convertWeights(raw, { storage: 'f16', source });
  const bundled = await build({
    entryPoints: { main: join(here, 'src/main.ts'), worker: join(here, 'src/worker.ts'), 'train-worker': join(here, 'src/train-worker.ts') },
    outdir: 'out',
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    logLevel: 'error',
  });
  const files = new Map<string, { type: string; body: Uint8Array | string }>([
    ['/', { type: 'text/html; charset=utf-8', body: readFileSync(join(here, 'index.html'), 'utf8') }],
    ['/weights.safetensors', { type: 'application/octet-stream', body: weights }],
  ]);
  for (const f of bundled.outputFiles) files.set(`/${f.path.split('/').pop()}`, { type: 'text/javascript', body: f.contents });
  // the training tab's data: the demo pairs (train/ and test/) and their index
  const data = join(root, 'data/demo/edges2shoes-mini');
  const index: Record<string, string[]> = {};
  for (const split of ['train', 'test']) {
    index[split] = readdirSync(join(data, split)).filter((f) => f.endsWith('.jpg')).sort().map((f) => `${split}/${f}`);
    for (const f of index[split]) files.set(`/data/${f}`, { type: 'image/jpeg', body: readFileSync(join(data, f)) });
  }
  files.set('/data/index.json', { type: 'application/json', body: JSON.stringify(index) });
  // the threads builds: the page is cross-origin isolated, so inference splits each layer over threads
  for (const b of ['simd', 'relaxed', 'threads', 'threads-relaxed']) files.set(`/core-${b}.wasm`, { type: 'application/wasm', body: readFileSync(join(root, `build/core-${b}.wasm`)) });
  const server = createServer((req, res) => {
    const f = files.get((req.url ?? '/').split('?')[0]);
    const isolation = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };
    if (!f || (req.method !== 'GET' && req.method !== 'HEAD')) return void res.writeHead(f ? 405 : 404, isolation).end();
    res.writeHead(200, { ...isolation, 'content-type': f.type, 'cache-control': 'no-store' }).end(req.method === 'HEAD' ? undefined : f.body);
  });
  await new Promise<void>((ok, fail) => server.once('error', fail).listen(o.port ?? 0, o.host ?? '127.0.0.1', ok));
  const a = server.address() as AddressInfo;
  return { url: `http://${a.address}:${a.port}/`, close: () => new Promise((ok) => server.close(() => ok())) };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (k: string) => {
    const i = args.indexOf(k);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const weights = modelPathOf(opt('--weights') ?? 'edges2shoes-handbags');
  const s = await startServer({ weights, port: Number(opt('--port') ?? 8080) });
  console.log(`serving the BicycleGAN example on ${s.url} (weights: ${weights}); Ctrl-C stops it`);
}
