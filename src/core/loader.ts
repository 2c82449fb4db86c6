// Instantiates the wasm core. The one file that touches @assemblyscript/loader, so it can be swapped.
// Runtime-agnostic (no node: imports): takes a precompiled WebAssembly.Module (the only form Cloudflare
// Workers accept) or the .wasm bytes. Node file loading and the relaxed-SIMD flag live in load-node.ts.
import { instantiate, instantiateSync } from '@assemblyscript/loader';
import type { Kernels } from './kernels.gen.js';
import { Arena, PAGE } from './memory.js';
import type { Build } from './features.js';

export interface CoreSource {
  /** Which build `module`/`bytes` hold (for reports and tolerances). */
  build: Build;
  module?: WebAssembly.Module;
  bytes?: BufferSource;
}

export interface CoreOptions {
  /** Budget of wasm memory in MiB (default 2048; 4096 is the wasm32 ceiling): the memory's maximum, and the
   * arena refuses (OutOfMemoryError) any allocation past it, e.g. 48 in a 128 MB Cloudflare Worker. */
  maxMemoryMB?: number;
  /** Reuse an existing memory (e.g. a shared one); otherwise a fresh one is made. */
  memory?: WebAssembly.Memory;
  /** Byte offset where this core's arena starts (default: the end of the module's static data). Cores sharing
   * one memory (data-parallel workers) each get a disjoint range. */
  arenaBase?: number;
}

/** An instantiated core: typed kernels, the memory they run in, and an arena over it. */
export interface Core {
  readonly build: Build;
  readonly k: Kernels;
  readonly memory: WebAssembly.Memory;
  readonly arena: Arena;
  readonly module: WebAssembly.Module;
  /** A Float32Array view of `n` floats at byte offset `ptr`; make it where used, never keep it across allocations. */
  f32(ptr: number, n: number): Float32Array;
}

export async function createCore(src: CoreSource, opts: CoreOptions = {}): Promise<Core> {
  const { source, memory, maxPages, imports } = prepare(src, opts);
  const { module, instance } = await instantiate<Record<string, unknown>>(source, imports);
  return assemble(src.build, module, instance, memory, maxPages, opts);
}

/** createCore without a promise, for a compiled module (a worker thread whose event loop may be blocked). */
export function createCoreSync(src: CoreSource & { module: WebAssembly.Module }, opts: CoreOptions = {}): Core {
  const { memory, maxPages, imports } = prepare(src, opts);
  const { module, instance } = instantiateSync<Record<string, unknown>>(src.module, imports);
  return assemble(src.build, module, instance, memory, maxPages, opts);
}

function prepare(src: CoreSource, opts: CoreOptions) {
  const maxMB = opts.maxMemoryMB ?? 2048;
  // at least the 16 pages (1 MiB) the memory starts with: below that WebAssembly.Memory throws a bare RangeError
  if (!(maxMB >= 1 && maxMB <= 4096)) throw new Error(`core: maxMemoryMB must be between 1 and 4096 (MiB), got ${maxMB}`);
  const maxPages = Math.floor((maxMB * 2 ** 20) / PAGE);
  const source = src.module ?? src.bytes;
  if (!source) throw new Error('core: createCore needs a WebAssembly.Module or the .wasm bytes');
  if (opts.memory && opts.memory.buffer.byteLength > maxPages * PAGE)
    throw new Error(`core: the given memory already holds ${opts.memory.buffer.byteLength / 2 ** 20} MiB, over the ${maxMB} MiB budget`);
  const memory = opts.memory ?? new WebAssembly.Memory({ initial: 16, maximum: maxPages });
  const imports = {
    env: {
      memory,
      abort(_msg: number, _file: number, line: number, col: number) {
        throw new Error(`core: wasm assertion failed at ${line}:${col}`);
      },
    },
  };
  return { source, memory, maxPages, imports };
}

function assemble(build: Build, module: WebAssembly.Module, instance: WebAssembly.Instance, memory: WebAssembly.Memory, maxPages: number, opts: CoreOptions): Core {
  const k = instance.exports as unknown as Kernels;
  const base = Math.max(opts.arenaBase ?? 0, k.heap_base());
  // a memory we made is zero past the static data; a given one may hold data anywhere up to its current size
  const arena = new Arena(memory, base, maxPages * PAGE, opts.memory ? memory.buffer.byteLength : base);
  return {
    build,
    k,
    memory,
    arena,
    module,
    f32: (ptr, n) => new Float32Array(memory.buffer, ptr, n),
  };
}
