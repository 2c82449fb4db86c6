// Intra-op threads for one image: T - 1 worker threads and the calling thread (rank 0) run each network's ops
// over ONE shared wasm memory (the threads builds of the core), each rank its share of every layer's output
// channels (src/infer/thread-nets.ts makes the shares), with a barrier after every op. Runtime-agnostic: Web
// Workers (browsers, Deno, Bun) or node:worker_threads (Node), no node: imports (process.getBuiltinModule).
//
// The worker is a small script kept here as a string (so it needs no file of its own, no bundler and no
// TypeScript loader in any runtime): it instantiates the compiled module over the shared memory and then
// blocks in Atomics.wait; a run is a bump of the SEQ slot, a program number (PROG) and barriers. Programs are
// plain data sent once at start: per step, the kernel calls [export name, ...numbers] of that rank.
// The calling thread waits with Atomics.wait where it may (Node, Deno, Bun, Web Workers), else it spins
// (a page's main thread: run inference in a Web Worker there, as examples/browser does).
//
// Where SharedArrayBuffer, a shared WebAssembly.Memory or a way to start workers is missing (Cloudflare
// Workers, pages without cross-origin isolation) threadSupport() says why and inference runs on one thread.

import { spinFor, waitWhile } from '../core/wait.js';

/** One kernel call: the export's name and its numeric arguments. */
export type Call = [string, ...number[]];
/** A network's program for one rank: per step, the calls (then a barrier). */
export type RankProgram = Call[][];

/** Int32 slots of the control block. */
const CTL = { COUNT: 0, GEN: 1, SEQ: 2, PROG: 3, FAILED: 4 } as const;
const CTL_INTS = 8;
/** PROG value that makes the workers leave their loop */
const EXIT = -1;

// The worker script (plain JavaScript: it runs unbundled and untranspiled in every runtime). NODE is prepended.
const WORKER_SOURCE = `
const port = NODE ? require('node:worker_threads').parentPort : self;
let ctl, T, spinMs;
// src/core/wait.ts's spin: true once slot i no longer holds v, false when spinMs ran out first
function spin(i, v) {
  const end = performance.now() + spinMs;
  for (let n = 1; Atomics.load(ctl, i) === v; n++) if ((n & 255) === 0 && performance.now() > end) return false;
  return true;
}
function barrier() {
  if (Atomics.load(ctl, ${CTL.FAILED}) !== 0) throw new Error('aborted');
  const gen = Atomics.load(ctl, ${CTL.GEN});
  if (Atomics.add(ctl, ${CTL.COUNT}, 1) === T - 1) {
    Atomics.store(ctl, ${CTL.COUNT}, 0);
    Atomics.add(ctl, ${CTL.GEN}, 1);
    Atomics.notify(ctl, ${CTL.GEN});
  } else {
    if (!spin(${CTL.GEN}, gen)) while (Atomics.load(ctl, ${CTL.GEN}) === gen) Atomics.wait(ctl, ${CTL.GEN}, gen, 1000);
  }
  if (Atomics.load(ctl, ${CTL.FAILED}) !== 0) throw new Error('aborted');
}
function start(m) {
  ctl = new Int32Array(m.ctl);
  T = m.T;
  spinMs = m.spinMs;
  let k;
  try {
    const env = { memory: m.memory, abort(_m, _f, line, col) { throw new Error('wasm assertion failed at ' + line + ':' + col); } };
    k = new WebAssembly.Instance(m.module, { env }).exports;
  } catch (e) {
    port.postMessage({ error: String(e && e.message || e) });
    return;
  }
  // each call as a bound function (no argument array built per run)
  const progs = m.programs.map((p) => p.map((step) => step.map((c) => { const f = k[c[0]]; const a = c.slice(1); return () => f(...a); })));
  port.postMessage({ ready: true });
  let seq = 0;
  for (;;) {
    if (!spin(${CTL.SEQ}, seq)) while (Atomics.load(ctl, ${CTL.SEQ}) === seq) Atomics.wait(ctl, ${CTL.SEQ}, seq, 1000);
    seq = Atomics.load(ctl, ${CTL.SEQ});
    const p = Atomics.load(ctl, ${CTL.PROG});
    if (p === ${EXIT}) break;
    try {
      for (const step of progs[p]) { for (const f of step) f(); barrier(); }
    } catch (e) {
      if (String(e && e.message) !== 'aborted') {
        Atomics.store(ctl, ${CTL.FAILED}, m.rank + 1);
        Atomics.add(ctl, ${CTL.GEN}, 1);
        Atomics.notify(ctl, ${CTL.GEN});
        port.postMessage({ error: String(e && e.message || e) });
      }
      break;
    }
  }
  if (NODE) port.close(); else self.close();
}
if (NODE) port.once('message', start); else self.onmessage = (e) => { self.onmessage = null; start(e.data); };
`;

interface NodeProcess {
  versions?: { node?: string };
  getBuiltinModule?: (id: string) => unknown;
}
interface AnyWorker {
  postMessage(m: unknown): void;
  terminate(): unknown;
}
interface NodeWorker extends AnyWorker {
  on(ev: string, f: (v: unknown) => void): void;
  unref(): void;
}
type NodeWorkerCtor = new (src: string, o: { eval: true }) => NodeWorker;
type WebWorkerCtor = new (url: string, o?: { type?: 'module' | 'classic' }) => AnyWorker & {
  onmessage: ((e: { data: unknown }) => void) | null;
  onerror: ((e: { message?: string }) => void) | null;
};

const g = globalThis as unknown as {
  SharedArrayBuffer?: unknown;
  crossOriginIsolated?: boolean;
  Worker?: WebWorkerCtor;
  process?: NodeProcess;
  Blob?: typeof Blob;
  URL?: typeof URL;
};

/** node:worker_threads' Worker in Node (Bun and Deno have Web Workers). */
function nodeWorkerCtor(): NodeWorkerCtor | undefined {
  const p = g.process;
  if (!p?.versions?.node || typeof p.getBuiltinModule !== 'function') return undefined;
  try {
    return (p.getBuiltinModule('node:worker_threads') as { Worker?: NodeWorkerCtor } | undefined)?.Worker;
  } catch {
    return undefined;
  }
}

/** Why threads cannot run here (null: they can). */
export function threadSupport(): string | null {
  if (typeof g.SharedArrayBuffer !== 'function') {
    return g.crossOriginIsolated === false
      ? 'this page is not cross-origin isolated (serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp), so it has no SharedArrayBuffer'
      : 'this runtime has no SharedArrayBuffer';
  }
  if (g.crossOriginIsolated === false) return 'this page is not cross-origin isolated (serve it with Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp)';
  try {
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
  } catch {
    return 'this runtime cannot make a shared WebAssembly.Memory';
  }
  if (!nodeWorkerCtor() && !(typeof g.Worker === 'function' && g.Blob && g.URL?.createObjectURL)) return 'this runtime cannot start worker threads';
  return null;
}

let warned = false;
/** Say once per process (to `warn`) that inference runs on one thread, and why. */
export function warnOneThread(reason: string, requested: number, warn: (msg: string) => void): void {
  if (warned) return;
  warned = true;
  warn(`bicyclegan-wasm: threads: ${requested} requested, running on one thread: ${reason}`);
}
/** Test hook: forget that the warning was given. */
export function resetThreadWarning(): void {
  warned = false;
}

/** Whether this thread may block in Atomics.wait (not a page's main thread). */
function canBlock(ctl: Int32Array): boolean {
  try {
    Atomics.wait(ctl, CTL_INTS - 1, 1, 0); // the slot holds 0: returns 'not-equal' at once where waiting is allowed
    return true;
  } catch {
    return false;
  }
}

export interface PoolOptions {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** threads in all, the calling thread included */
  T: number;
  /** per program (network), per rank: the rank's program */
  programs: RankProgram[][];
  /** seconds to wait for the workers to start */
  startTimeoutS?: number;
}

/** T - 1 worker threads parked on the control block, and the calling thread as rank 0. */
export class ThreadPool {
  /** worker threads started and not yet terminated, in this process (for tests: dispose() leaves none) */
  static live = 0;
  private closed = false;
  private failed: string | null = null;
  private readonly block: boolean;
  private readonly spinMs: number;

  private constructor(
    readonly T: number,
    private readonly ctl: Int32Array,
    private readonly workers: AnyWorker[],
    private readonly errors: string[],
  ) {
    this.block = canBlock(ctl);
    this.spinMs = spinFor(T);
  }

  static async start(o: PoolOptions): Promise<ThreadPool> {
    const ctl = new Int32Array(new SharedArrayBuffer(CTL_INTS * 4));
    const workers: AnyWorker[] = [], errors: string[] = [];
    const NodeW = nodeWorkerCtor();
    const ready: Promise<void>[] = [];
    let url: string | undefined;
    if (!NodeW) url = g.URL!.createObjectURL(new g.Blob!([`const NODE = false;\n${WORKER_SOURCE}`], { type: 'text/javascript' }));
    try {
      for (let r = 1; r < o.T; r++) {
        const rank = r;
        let w: AnyWorker;
        ready.push(new Promise<void>((resolve, reject) => {
          const onMessage = (m: unknown) => {
            const msg = m as { ready?: boolean; error?: string };
            if (msg.ready) resolve();
            else if (msg.error) {
              errors[rank] = msg.error;
              reject(new Error(`infer threads: worker ${rank} failed to start: ${msg.error}`));
            }
          };
          const onError = (e: unknown) => {
            const m = (e as { message?: string })?.message ?? String(e);
            errors[rank] = m;
            reject(new Error(`infer threads: worker ${rank} failed: ${m}`));
          };
          if (NodeW) {
            const nw = new NodeW(`const NODE = true;\n${WORKER_SOURCE}`, { eval: true });
            nw.on('message', onMessage);
            nw.on('error', onError);
            nw.unref(); // a forgotten dispose() does not keep the process alive
            w = nw;
          } else {
            const ww = new g.Worker!(url!, { type: 'module' });
            ww.onmessage = (e) => onMessage(e.data);
            ww.onerror = (e) => onError(e);
            w = ww;
          }
          workers.push(w);
          ThreadPool.live++;
        }));
        workers[workers.length - 1].postMessage({ module: o.module, memory: o.memory, ctl: ctl.buffer, rank, T: o.T, spinMs: spinFor(o.T), programs: o.programs.map((p) => p[rank]) });
      }
      const timeout = (o.startTimeoutS ?? 60) * 1000;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.all(ready),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`infer threads: the worker threads did not start within ${timeout / 1000} s`)), timeout);
        }),
      ]).finally(() => clearTimeout(timer));
    } catch (e) {
      Atomics.store(ctl, CTL.PROG, EXIT);
      Atomics.add(ctl, CTL.SEQ, 1);
      Atomics.notify(ctl, CTL.SEQ);
      await terminateAll(workers);
      throw e;
    } finally {
      if (url) g.URL!.revokeObjectURL(url);
    }
    return new ThreadPool(o.T, ctl, workers, errors);
  }

  /** Run program `p`: wake the workers, run rank 0's share here (`step(i)` runs step i's calls), barrier after
   * each step. Returns when every rank has passed the last barrier. */
  run(p: number, steps: number, step: (i: number) => void): void {
    if (this.closed) throw new Error('infer threads: this model was disposed');
    if (this.failed) throw new Error(this.failed);
    const c = this.ctl;
    Atomics.store(c, CTL.PROG, p);
    Atomics.add(c, CTL.SEQ, 1);
    Atomics.notify(c, CTL.SEQ);
    try {
      for (let i = 0; i < steps; i++) {
        step(i);
        this.barrier();
      }
    } catch (e) {
      // rank 0 failed: stop the others, and this pool is unusable afterwards
      if (!this.failed) this.abort(`infer threads: ${(e as Error).message}`);
      throw e;
    }
  }

  private barrier(): void {
    const c = this.ctl;
    const gen = Atomics.load(c, CTL.GEN);
    if (Atomics.add(c, CTL.COUNT, 1) === this.T - 1) {
      Atomics.store(c, CTL.COUNT, 0);
      Atomics.add(c, CTL.GEN, 1);
      Atomics.notify(c, CTL.GEN);
    } else {
      waitWhile(c, CTL.GEN, gen, this.block, () => Atomics.load(c, CTL.FAILED) !== 0, this.spinMs);
    }
    const f = Atomics.load(c, CTL.FAILED);
    if (f !== 0) {
      const rank = f - 1;
      this.failed = `infer threads: worker ${rank} failed${this.errors[rank] ? `: ${this.errors[rank]}` : ''}; this model cannot run any more (create it again)`;
      throw new Error(this.failed);
    }
  }

  private abort(msg: string): void {
    this.failed = msg;
    Atomics.store(this.ctl, CTL.FAILED, 1);
    Atomics.add(this.ctl, CTL.GEN, 1);
    Atomics.notify(this.ctl, CTL.GEN);
  }

  /** Stop the workers (they leave their loop, and are terminated). */
  async dispose(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    Atomics.store(this.ctl, CTL.PROG, EXIT);
    Atomics.add(this.ctl, CTL.SEQ, 1);
    Atomics.notify(this.ctl, CTL.SEQ);
    await terminateAll(this.workers);
  }
}

async function terminateAll(workers: AnyWorker[]): Promise<void> {
  await Promise.all(workers.map(async (w) => {
    await w.terminate();
    ThreadPool.live--;
  }));
}
