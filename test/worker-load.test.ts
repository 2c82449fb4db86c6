// The example Worker under load on 127.0.0.1 (workerd via Miniflare, the small test model in int8): 96
// requests, 8 at a time, half good, half bad in 12 ways (wrong method, path, type, query; garbage, truncated,
// oversized, a PNG with a hidden second IHDR, unread bodies). Every good request answers 200 with a PNG, every
// bad one a 4xx with a JSON error, and the Worker still serves afterwards. Bounded in count and time (each
// request 60 s at most). Prints latency percentiles and workerd's peak resident memory.
import { readFileSync, readdirSync } from 'node:fs';
import { crc32 } from 'node:zlib';
import { expect, test } from 'vitest';
import { loadCore } from '../src/core/load-node.js';
import { convertWeights, encodePng } from '../src/infer/index.js';
import { buildWorker } from '../scripts/build-worker.js';
import { smallWeights, testPicture } from './helpers/infer-model.js';
import { tmp } from './helpers/cli.js';
import { miniflareFor } from './helpers/edge.js';

const TOTAL = 96, CONCURRENCY = 8;

/** Peak resident memory (VmHWM, bytes) of the processes below this one whose command line names workerd. */
function workerdPeak(): number {
  let peak = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.includes('workerd')) continue;
      let p = pid, mine = false;
      for (let i = 0; i < 6 && p !== '1' && !mine; i++) {
        p = /PPid:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))![1];
        mine = p === String(process.pid);
      }
      if (!mine) continue;
      const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (hwm) peak = Math.max(peak, Number(hwm[1]) * 1024);
    } catch {
      // the process ended while we looked
    }
  }
  return peak;
}

function secondIhdr(png: Uint8Array): Uint8Array<ArrayBuffer> {
  const d = new Uint8Array(13);
  new DataView(d.buffer).setUint32(0, 1);
  new DataView(d.buffer).setUint32(4, 1);
  d.set([8, 6, 0, 0, 0], 8);
  const c = new Uint8Array(25);
  new DataView(c.buffer).setUint32(0, 13);
  c.set(new TextEncoder().encode('IHDR'), 4);
  c.set(d, 8);
  new DataView(c.buffer).setUint32(21, crc32(c.subarray(4, 21)));
  return Uint8Array.from([...png.subarray(0, 8), ...c, ...png.subarray(8)]);
}

const pct = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

test('example Worker: concurrent good and bad requests on 127.0.0.1', { timeout: 300_000 }, async () => {
  const core = await loadCore({ build: 'simd' });
  const weights = convertWeights(smallWeights(core, 5, ['G']), { storage: 'int8', chunkFloats: 2048 });
  const wdir = tmp('worker-load');
  await buildWorker({ outDir: wdir, weights, build: 'relaxed' });
  const mf = await miniflareFor(wdir);
  try {
    const url = await mf.ready;
    const png = new Uint8Array(encodePng(testPicture(96, 64, 3)));
    const big = png.slice();
    new DataView(big.buffer).setUint32(16, 5000);
    new DataView(big.buffer).setUint32(20, 5000);
    const req = (body: BodyInit | null, type: string | null, q = '?n=1', method = 'POST', path = '/') =>
      fetch(new URL(path + q, url), { method, body, headers: type ? { 'content-type': type } : {}, signal: AbortSignal.timeout(60_000) });
    const bad: [string, () => Promise<Response>][] = [
      ['GET', () => req(null, null, '', 'GET')],
      ['PUT', () => req(png, 'image/png', '?n=1', 'PUT')],
      ['path', () => req(png, 'image/png', '?n=1', 'POST', '/x')],
      ['type', () => req(png, 'text/plain')],
      ['n=0', () => req(png, 'image/png', '?n=0')],
      ['seed', () => req(png, 'image/png', '?seed=-1')],
      ['garbage', () => req(new Uint8Array([1, 2, 3, 4, 5]), 'image/png')],
      ['truncated', () => req(png.subarray(0, 60), 'image/png')],
      ['empty', () => req(new Uint8Array(0), 'image/png')],
      ['huge header', () => req(big, 'image/png')],
      ['second IHDR', () => req(secondIhdr(png), 'image/png')],
      ['oversized body', () => req(new Uint8Array(5 * 2 ** 20), 'image/png')],
    ];
    const jobs = Array.from({ length: TOTAL }, (_, i) => (i % 2 === 0 ? { what: 'good', bad: false, run: () => req(png, 'image/png', `?n=1&seed=${i}`) } : { what: bad[(i >> 1) % bad.length][0], bad: true, run: bad[(i >> 1) % bad.length][1] }));
    const results: { what: string; bad: boolean; status: number; type: string; ms: number; error?: unknown }[] = [];
    let next = 0, peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, workerdPeak())), 200);
    const t0 = performance.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next < jobs.length) {
        const j = jobs[next++];
        const t = performance.now();
        const r = await j.run();
        const type = r.headers.get('content-type') ?? '';
        const body = type.startsWith('application/json') ? await r.json() : new Uint8Array(await r.arrayBuffer());
        results.push({ what: j.what, bad: j.bad, status: r.status, type, ms: performance.now() - t, error: (body as { error?: unknown }).error });
      }
    }));
    const wall = performance.now() - t0;
    clearInterval(sampler);
    peak = Math.max(peak, workerdPeak());
    for (const r of results) {
      if (r.bad) {
        expect({ what: r.what, client: r.status >= 400 && r.status < 500 }).toEqual({ what: r.what, client: true });
        expect(r.type).toMatch(/^application\/json/);
        expect(typeof r.error).toBe('string');
      } else {
        expect({ what: r.what, status: r.status, type: r.type }).toEqual({ what: 'good', status: 200, type: 'image/png' });
      }
    }
    expect(results).toHaveLength(TOTAL);
    expect((await req(png, 'image/png', '?n=2')).status).toBe(200); // still serving
    const ms = (bad: boolean) => results.filter((r) => r.bad === bad).map((r) => r.ms);
    console.log(`worker load: ${TOTAL} requests (${CONCURRENCY} concurrent) in ${(wall / 1000).toFixed(1)} s; ` +
      `good p50 ${pct(ms(false), 0.5).toFixed(0)} ms p95 ${pct(ms(false), 0.95).toFixed(0)} ms p99 ${pct(ms(false), 0.99).toFixed(0)} ms; ` +
      `bad p50 ${pct(ms(true), 0.5).toFixed(0)} ms p95 ${pct(ms(true), 0.95).toFixed(0)} ms; workerd peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB`);
  } finally {
    await mf.dispose();
  }
});
