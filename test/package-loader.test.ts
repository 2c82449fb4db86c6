// Where the runtime-agnostic loader (src/core/loader.ts: wasmUrl, loadModule; used by
// BicycleGANInference.create without `module`) finds the wasm builds, in this Node process. The same code runs
// from the installed package in Node, Deno, Bun, Chromium and workerd in test/package.test.ts.
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import { compiledModule, resolveBuild, wasmPath } from '../src/core/load-node.js';
import { loadModule, wasmUrl } from '../src/core/loader.js';
import { BicycleGANInference } from '../src/infer/index.js';

resolveBuild('relaxed'); // Node 20: the relaxed-SIMD flag before the first compile
const dir = mkdtempSync(join(tmpdir(), 'bicyclegan-wasmpaths-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('wasmUrl', () => {
  test('default: the build beside the code (build/ two folders up), the file the Node loader reads', () => {
    for (const b of ['simd', 'relaxed'] as const) {
      const u = wasmUrl(b);
      expect(fileURLToPath(u)).toBe(wasmPath(b));
      expect(existsSync(u)).toBe(true);
    }
  });
  test('a folder (URL, absolute or relative path, with or without the slash) or a file per build', () => {
    const folder = pathToFileURL(`${dir}/`);
    expect(wasmUrl('simd', folder).href).toBe(new URL('core-simd.wasm', folder).href);
    expect(wasmUrl('relaxed', dir).href).toBe(new URL('core-relaxed.wasm', folder).href);
    expect(wasmUrl('relaxed', relative(process.cwd(), dir)).href).toBe(new URL('core-relaxed.wasm', folder).href);
    expect(wasmUrl('simd', 'https://cdn.example/bg/').href).toBe('https://cdn.example/bg/core-simd.wasm');
    expect(wasmUrl('simd', { simd: 'https://cdn.example/x.wasm' }).href).toBe('https://cdn.example/x.wasm');
    expect(fileURLToPath(wasmUrl('relaxed', { simd: 'https://cdn.example/x.wasm' }))).toBe(wasmPath('relaxed')); // the other build: default
  });
});

describe('loadModule', () => {
  test('auto picks relaxed here (flag set on Node 20), compiles once per URL', async () => {
    const a = await loadModule();
    expect(a.build).toBe('relaxed');
    expect((await loadModule({ build: 'auto' })).module).toBe(a.module);
    expect((await loadModule({ build: 'simd' })).build).toBe('simd');
  });
  test('from a folder given as wasmPaths; a compiled Module passes through', async () => {
    copyFileSync(wasmPath('simd'), join(dir, 'core-simd.wasm'));
    const r = await loadModule({ build: 'simd', wasmPaths: dir });
    expect(WebAssembly.Module.exports(r.module).length).toBe(WebAssembly.Module.exports(compiledModule('simd')).length);
    const m = compiledModule('relaxed');
    expect((await loadModule({ build: 'relaxed', wasmPaths: { relaxed: m } })).module).toBe(m);
  });
  test('a missing file names its URL and says how to point elsewhere', async () => {
    await expect(loadModule({ build: 'relaxed', wasmPaths: dir })).rejects.toThrow(/core-relaxed\.wasm.*(no such file|ENOENT)/);
    await expect(loadModule({ build: 'relaxed', wasmPaths: 'http://127.0.0.1:9/' })).rejects.toThrow(/127\.0\.0\.1:9\/core-relaxed\.wasm.*wasmPaths/);
    await expect(loadModule({ build: 'debug' })).rejects.toThrow(/debug build is not shipped/);
  });
  test('create() with a module must say which build it is', async () => {
    await expect(BicycleGANInference.create({ module: compiledModule('simd'), weights: new Uint8Array(8) })).rejects.toThrow(/say which build/);
  });
});
