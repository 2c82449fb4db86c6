// The example Worker under load on 127.0.0.1 (workerd via Miniflare): `total` requests, `concurrency` at a time,
// half good (a small PNG, n=1), half bad in 12 ways (wrong method, path, type, query; garbage, truncated, empty,
// an oversized header, a PNG with a hidden second IHDR, an oversized body). Bounded in count and time (each
// request 60 s at most). Returns every answer, the latency percentiles and workerd's peak resident memory
// (VmHWM of the workerd processes below this one). Used by test/worker-load.test.ts (small model, asserts the
// answers) and bench/worker-load.bench.ts (full-size f16/int8 weights, the 128 MB budget).
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodePng } from '../../src/infer/index.js';
import { buildWorker } from '../../scripts/build-worker.js';
import { secondIhdr } from './png-chunks.js';

/** Peak resident memory (VmHWM, bytes) of the processes below this one whose command line names workerd. */
export function workerdPeak(): number {
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

export const percentile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

export interface LoadAnswer {
  what: string;
  bad: boolean;
  status: number;
  type: string;
  ms: number;
  error?: unknown;
}

export interface LoadResult {
  answers: LoadAnswer[];
  wallMs: number;
  /** workerd's peak resident memory over the run, bytes */
  peakBytes: number;
  /** status of one more good request after the load */
  afterStatus: number;
  summary: string;
}

/** Build the example Worker with `weights` (an inference file), serve it with Miniflare and load it. */
export async function workerLoad(weights: Uint8Array, picture: { width: number; height: number; data: Uint8ClampedArray }, o: { total: number; concurrency: number }): Promise<LoadResult> {
  const wdir = mkdtempSync(join(tmpdir(), 'bicyclegan-worker-load-'));
  const { miniflareFor } = await import('./miniflare.js'); // lazily: miniflare is a devDependency
  try {
    await buildWorker({ outDir: wdir, weights, build: 'relaxed' });
    const mf = await miniflareFor(wdir);
    try {
      const url = await mf.ready;
      const png = new Uint8Array(encodePng(picture));
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
      const jobs = Array.from({ length: o.total }, (_, i) => (i % 2 === 0 ? { what: 'good', bad: false, run: () => req(png, 'image/png', `?n=1&seed=${i}`) } : { what: bad[(i >> 1) % bad.length][0], bad: true, run: bad[(i >> 1) % bad.length][1] }));
      const answers: LoadAnswer[] = [];
      let next = 0, peak = 0;
      const sampler = setInterval(() => (peak = Math.max(peak, workerdPeak())), 200);
      const t0 = performance.now();
      try {
        await Promise.all(Array.from({ length: o.concurrency }, async () => {
          while (next < jobs.length) {
            const j = jobs[next++];
            const t = performance.now();
            const r = await j.run();
            const type = r.headers.get('content-type') ?? '';
            const body = type.startsWith('application/json') ? await r.json() : new Uint8Array(await r.arrayBuffer());
            answers.push({ what: j.what, bad: j.bad, status: r.status, type, ms: performance.now() - t, error: (body as { error?: unknown }).error });
          }
        }));
      } finally {
        clearInterval(sampler);
      }
      const wallMs = performance.now() - t0;
      const after = await req(png, 'image/png', '?n=2');
      await after.arrayBuffer();
      peak = Math.max(peak, workerdPeak());
      const ms = (b: boolean) => answers.filter((r) => r.bad === b).map((r) => r.ms);
      const summary = `${o.total} requests (${o.concurrency} concurrent) in ${(wallMs / 1000).toFixed(1)} s; ` +
        `good p50 ${percentile(ms(false), 0.5).toFixed(0)} ms p95 ${percentile(ms(false), 0.95).toFixed(0)} ms p99 ${percentile(ms(false), 0.99).toFixed(0)} ms; ` +
        `bad p50 ${percentile(ms(true), 0.5).toFixed(0)} ms p95 ${percentile(ms(true), 0.95).toFixed(0)} ms; workerd peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB`;
      return { answers, wallMs, peakBytes: peak, afterStatus: after.status, summary };
    } finally {
      await mf.dispose();
    }
  } finally {
    rmSync(wdir, { recursive: true, force: true });
  }
}
