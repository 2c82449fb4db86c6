// Entry for Chromium (bundled to one ESM file): the page calls runInPage(); a module Web Worker started
// from the page runs the same probe and posts the result back.
import { probeUrls, type ProbeResult } from './probe.js';

type Job = Parameters<typeof probeUrls>[0];

const pack = (r: ProbeResult) => ({ ...r, floats: Array.from(new Uint8Array(r.floats.buffer)), png: Array.from(r.png) });

export async function runInPage(job: Job) {
  return pack(await probeUrls(job));
}

export function runInWorker(job: Job, workerUrl: string): Promise<ReturnType<typeof pack>> {
  return new Promise((resolve, reject) => {
    const w = new Worker(workerUrl, { type: 'module' });
    w.onmessage = (e) => (e.data.error ? reject(new Error(e.data.error)) : resolve(e.data));
    w.onerror = (e) => reject(new Error(e.message));
    w.postMessage(job);
  });
}

// inside a worker: answer one job
const g = globalThis as unknown as { document?: unknown; onmessage: ((e: MessageEvent) => void) | null; postMessage(m: unknown): void };
if (typeof g.document === 'undefined' && typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !== 'undefined') {
  g.onmessage = async (e: MessageEvent) => {
    try {
      g.postMessage(pack(await probeUrls(e.data as Job)));
    } catch (err) {
      g.postMessage({ error: String((err as Error).stack ?? err) });
    }
  };
}
