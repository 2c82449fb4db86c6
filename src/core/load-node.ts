// Node-only loading of the wasm core from build/: turns on relaxed SIMD on Node 20 (a V8 flag that must
// be set before the first wasm compile), picks the build by feature detection, compiles once per build.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { detectBuild, type Build } from './features.js';
import { createCore, type Core, type CoreOptions } from './loader.js';

let flagged = false;
/** Node 20 ships relaxed SIMD behind a flag; Node >= 22 has it on. Harmless where already on. */
export function enableRelaxedSimd(): void {
  if (flagged) return;
  flagged = true;
  try {
    setFlagsFromString('--experimental-wasm-relaxed-simd');
  } catch {
    // not possible here: detectBuild() falls back to SIMD128
  }
}

export function wasmPath(build: Build): string {
  return fileURLToPath(new URL(`../../build/core-${build}.wasm`, import.meta.url));
}

const modules = new Map<Build, WebAssembly.Module>();
/** The compiled module of a build, compiled once per process. */
export function compiledModule(build: Build): WebAssembly.Module {
  let m = modules.get(build);
  if (!m) {
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      bytes = new Uint8Array(readFileSync(wasmPath(build)));
    } catch {
      throw new Error(`core: ${wasmPath(build)} is missing; run \`npm run asbuild\` first`);
    }
    m = new WebAssembly.Module(bytes);
    modules.set(build, m);
  }
  return m;
}

export interface NodeCoreOptions extends CoreOptions {
  /** Force a build; default 'auto' = relaxed where the runtime validates it, else simd. */
  build?: Build | 'auto';
  /** Load this .wasm file instead of build/core-<build>.wasm (`build` then says which build it is). */
  file?: string;
}

export function resolveBuild(build: Build | 'auto' = 'auto'): Build {
  enableRelaxedSimd();
  return build === 'auto' ? detectBuild() : build;
}

export async function loadCore(opts: NodeCoreOptions = {}): Promise<Core> {
  const build = resolveBuild(opts.build);
  if (opts.file) {
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      bytes = new Uint8Array(readFileSync(opts.file));
    } catch (e) {
      throw new Error(`core: cannot read ${opts.file}: ${(e as Error).message}`);
    }
    return createCore({ build, bytes }, opts);
  }
  return createCore({ build, module: compiledModule(build) }, opts);
}
