// Loading the wasm core: feature detection, forcing a build, and the three sources (a precompiled
// WebAssembly.Module as Cloudflare Workers need, the bytes, a file path); clear errors for bad sources.
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { detectBuild, hasRelaxedSimd, hasSimd } from '../src/core/features.js';
import { compiledModule, loadCore, wasmPath } from '../src/core/load-node.js';
import { createCore } from '../src/core/loader.js';

describe('core loading', () => {
  test('feature detection: SIMD128 always, relaxed SIMD on Node 20 once the V8 flag is set', async () => {
    await loadCore(); // sets the flag
    expect(hasSimd()).toBe(true);
    expect(hasRelaxedSimd()).toBe(true);
    expect(detectBuild()).toBe('relaxed');
    expect((await loadCore()).build).toBe('relaxed');
  });

  test('a build can be forced, and every source form gives a working core', async () => {
    const simd = await loadCore({ build: 'simd' });
    expect(simd.build).toBe('simd');
    const fromModule = await createCore({ build: 'simd', module: compiledModule('simd') });
    const fromBytes = await createCore({ build: 'simd', bytes: new Uint8Array(readFileSync(wasmPath('simd'))) });
    const fromFile = await loadCore({ build: 'simd', file: wasmPath('simd') });
    for (const core of [simd, fromModule, fromBytes, fromFile]) {
      const x = core.arena.alloc(5), y = core.arena.alloc(5);
      core.f32(x, 5).set([-2, -1, 0, 1, 2]);
      core.k.relu_forward(y, x, 5, 1, 1, 1);
      expect(Array.from(core.f32(y, 5))).toEqual([0, 0, 0, 1, 2]);
    }
  });

  test('bad sources', async () => {
    await expect(createCore({ build: 'simd' })).rejects.toThrow(/createCore needs a WebAssembly.Module or the .wasm bytes/);
    await expect(loadCore({ build: 'simd', file: '/nonexistent/core.wasm' })).rejects.toThrow(/core: cannot read \/nonexistent\/core\.wasm/);
    await expect(createCore({ build: 'simd', bytes: new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 9]) })).rejects.toThrow();
  });

  test('each instance has its own memory and arena', async () => {
    const a = await loadCore({ build: 'simd' }), b = await loadCore({ build: 'simd' });
    expect(a.memory).not.toBe(b.memory);
    const pa = a.arena.alloc(16);
    a.f32(pa, 16).fill(3);
    expect(b.f32(b.arena.alloc(16), 16).every((v) => v === 0)).toBe(true);
  });

  test('allocZeroed: memory handed out before (released by reset) is cleared, fresh memory is left as grow gave it', async () => {
    const c = await loadCore({ build: 'simd' }), a = c.arena;
    const mark = a.mark();
    const used = a.alloc(100);
    c.f32(used, 100).fill(7);
    a.reset(mark);
    // the first 100 floats were written before, the rest (and a grow) never: all must read as zero
    const big = a.allocZeroed(100 + 70_000);
    expect(big).toBe(used);
    expect(c.f32(big, 100 + 70_000).every((v) => v === 0)).toBe(true);
    // reuse the middle of a written range
    a.reset(mark);
    c.f32(a.alloc(300), 300).fill(7);
    a.reset(mark);
    c.f32(a.alloc(50), 50).fill(1);
    const part = a.allocZeroed(100);
    expect(c.f32(part, 100).every((v) => v === 0)).toBe(true);
    expect(c.f32(used, 50).every((v) => v === 1)).toBe(true); // the block before it is not touched
  });

  test('allocZeroed over a memory given by the caller: whatever it held before the core reads as zeros', async () => {
    const memory = new WebAssembly.Memory({ initial: 64, maximum: 256 });
    new Uint8Array(memory.buffer).fill(0x55);
    const c = await createCore({ build: 'simd', module: compiledModule('simd') }, { memory, maxMemoryMB: 16 });
    const n = (memory.buffer.byteLength >> 2) + 1000; // past the given pages: a grow
    expect(c.f32(c.arena.allocZeroed(n), n).every((v) => v === 0)).toBe(true);
  });
});
