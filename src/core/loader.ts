// Instantiates the wasm core. The one file that touches @assemblyscript/loader, so it can be swapped.
// Runtime-agnostic (no node: imports): takes a precompiled WebAssembly.Module (the only form Cloudflare
// Workers accept) or the .wasm bytes; loadModule() finds and compiles the shipped builds in any runtime (file:
// URLs through Deno.readFile or process.getBuiltinModule('node:fs'), others through fetch). Node training
// (threads builds, synchronous compiles) loads through load-node.ts.
import { instantiate, instantiateSync } from '@assemblyscript/loader';
import type { Kernels } from './kernels.gen.js';
import { Arena, PAGE } from './memory.js';
import { detectBuild, type Build } from './features.js';

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

// ---- Locating and compiling the shipped .wasm builds, in any runtime ----
// The builds sit in build/ two folders above this file, both in the repo (src/core/) and in the package
// (dist/src/core/ -> dist/build/), so one relative URL finds them. Bundlers that rewrite
// `new URL('literal', import.meta.url)` (Vite, webpack 5, Parcel) copy the files as assets; for others
// (esbuild, a CDN) pass `wasmPaths`.

/** Where the .wasm builds come from: a folder (a URL, or a path: relative ones against the page, else the
 * working folder) holding core-simd.wasm and core-relaxed.wasm, like onnxruntime-web's `wasmPaths`; or per
 * build a URL, path or compiled Module. */
export type WasmPaths = string | URL | Partial<Record<WasmFile, string | URL | WebAssembly.Module>>;

/** The shipped files by their name in build/ (core-<name>.wasm): the two builds, and their threads variants
 * (shared memory, for intra-op threads: src/infer/threads.ts). */
export type WasmFile = 'simd' | 'relaxed' | 'threads' | 'threads-relaxed';

export interface ModuleOptions {
  /** 'auto' (default): relaxed where the runtime validates it, else simd */
  build?: Build | 'auto';
  wasmPaths?: WasmPaths;
  /** the threads variant of the build (a shared memory; core-threads.wasm, core-threads-relaxed.wasm) */
  threads?: boolean;
}

/** The file of a build: its threads variant with `threads`. */
export const wasmFile = (build: 'simd' | 'relaxed', threads = false): WasmFile => (threads ? (build === 'relaxed' ? 'threads-relaxed' : 'threads') : build);

/** The URL of a shipped build (`wasmPaths` overrides the folder or the file). */
export function wasmUrl(file: WasmFile, wasmPaths?: WasmPaths): URL {
  const base = pageUrl() ?? cwdUrl();
  if (typeof wasmPaths === 'string' || wasmPaths instanceof URL) {
    const folder = String(wasmPaths);
    return new URL(`core-${file}.wasm`, new URL(folder.endsWith('/') ? folder : `${folder}/`, base));
  }
  const own = wasmPaths?.[file];
  if (own !== undefined && !(own instanceof WebAssembly.Module)) return new URL(own, base);
  // literal URLs (not a template) so that bundlers see and copy every file
  if (file === 'relaxed') return new URL('../../build/core-relaxed.wasm', import.meta.url);
  if (file === 'threads') return new URL('../../build/core-threads.wasm', import.meta.url);
  if (file === 'threads-relaxed') return new URL('../../build/core-threads-relaxed.wasm', import.meta.url);
  return new URL('../../build/core-simd.wasm', import.meta.url);
}

/** The page's URL, against which a relative wasmPaths resolves (undefined outside pages and workers;
 * Deno throws on `location` without --location). */
function pageUrl(): string | undefined {
  try {
    const href = (globalThis as { location?: { href?: unknown } }).location?.href;
    return typeof href === 'string' ? href : undefined;
  } catch {
    return undefined;
  }
}

interface NodeLike {
  versions?: { node?: string };
  getBuiltinModule?: (id: string) => unknown;
  cwd?: () => string;
}

/** Outside pages: the working folder as a file: URL, so that wasmPaths may be a plain (relative) path. */
function cwdUrl(): string | undefined {
  const deno = (globalThis as { Deno?: { cwd(): string } }).Deno;
  const cwd = deno ? deno.cwd() : nodeProcess()?.cwd?.();
  if (!cwd) return undefined;
  const path = cwd.replace(/\\/g, '/');
  return new URL(`file://${path.startsWith('/') ? '' : '/'}${encodeURI(path)}${path.endsWith('/') ? '' : '/'}`).href;
}
const nodeProcess = (): NodeLike | undefined => (globalThis as { process?: NodeLike }).process;

/** Node 20 ships relaxed SIMD behind a V8 flag (on by default from Node 22, Deno, Bun, Chromium): set it
 * before the first compile where process.getBuiltinModule (Node >= 20.16) gives node:v8. A no-op elsewhere. */
export function enableRelaxedSimdFlag(): void {
  const p = nodeProcess();
  if (!p?.versions?.node || !p.getBuiltinModule) return;
  try {
    (p.getBuiltinModule('node:v8') as { setFlagsFromString(f: string): void }).setFlagsFromString('--experimental-wasm-relaxed-simd');
  } catch {
    // not possible here: detectBuild() then falls back to SIMD128
  }
}

/** The bytes at a URL: file: URLs through Deno.readFile or node:fs (Node, Bun), anything else through fetch. */
export async function readUrl(url: URL): Promise<Uint8Array<ArrayBuffer>> {
  if (url.protocol === 'file:') {
    const deno = (globalThis as { Deno?: { readFile(u: URL): Promise<Uint8Array> } }).Deno;
    try {
      if (deno) return new Uint8Array(await deno.readFile(url));
      const fs = nodeProcess()?.getBuiltinModule?.('node:fs') as { readFileSync(u: URL): Uint8Array } | undefined;
      if (fs) return new Uint8Array(fs.readFileSync(url));
    } catch (e) {
      throw new Error(`core: cannot read ${url.href}: ${(e as Error).message}`);
    }
  }
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new Error(`core: cannot fetch ${url.href}: ${(e as Error).message} (pass wasmPaths to say where the .wasm files are)`);
  }
  if (!res.ok) throw new Error(`core: fetching ${url.href} gave HTTP ${res.status} (pass wasmPaths to say where the .wasm files are)`);
  return new Uint8Array(await res.arrayBuffer());
}

const compiled = new Map<string, Promise<WebAssembly.Module>>();

/** The compiled core for this runtime: picks the build (feature detection unless `build` says), finds its
 * .wasm (shipped beside the code, or `wasmPaths`) and compiles it once per URL. Not for Cloudflare Workers,
 * which refuse to compile bytes: there import the .wasm (a Module) and pass it as `module`. */
export async function loadModule(opts: ModuleOptions = {}): Promise<{ module: WebAssembly.Module; build: Build }> {
  if (opts.build === undefined || opts.build === 'auto' || opts.build === 'relaxed') enableRelaxedSimdFlag();
  const build = opts.build === undefined || opts.build === 'auto' ? detectBuild() : opts.build;
  if (build === 'debug') throw new Error("core: the debug build is not shipped; pass build 'simd' or 'relaxed'");
  const file = wasmFile(build, opts.threads);
  const given = typeof opts.wasmPaths === 'object' && !(opts.wasmPaths instanceof URL) ? opts.wasmPaths[file] : undefined;
  if (given instanceof WebAssembly.Module) return { module: given, build };
  const url = wasmUrl(file, opts.wasmPaths);
  let m = compiled.get(url.href);
  if (!m) {
    m = readUrl(url).then((bytes) => WebAssembly.compile(bytes));
    compiled.set(url.href, m);
    m.catch(() => compiled.delete(url.href));
  }
  return { module: await m, build };
}
