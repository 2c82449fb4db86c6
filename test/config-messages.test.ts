// Config and CLI messages that say the real rule: range limits (not "must be a number"), JSON 1e400 shown as
// Infinity, a config nested thousands deep named (no stack overflow), hex flag values refused, --resume of a
// corrupt or weights-only file named before "--data: required", maxMemoryMB below 1 MiB and OOM limits as given.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ConfigError, parseTrainConfig } from '../src/train/config.js';
import { flagName, num } from '../src/cli/options.js';
import { createCore } from '../src/core/loader.js';
import { OutOfMemoryError } from '../src/core/memory.js';
import { compiledModule } from '../src/core/load-node.js';
import { cli, tmp } from './helpers/cli.js';

const messages = (input: unknown) => {
  try {
    parseTrainConfig(input, flagName);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).issues.join('\n');
  }
  throw new Error('no error');
};

describe('config messages', () => {
  test('range limits say the range', () => {
    expect(messages({ data: 'd', seed: 4294967296 })).toMatch(/--seed: seed must be at most 4294967295/);
    expect(messages({ data: 'd', prefetch: 1000 })).toMatch(/--prefetch: prefetch must be at most 64 \(got 1000\)/);
    expect(messages({ data: 'd', sampleImages: 65 })).toMatch(/--sample-images: sampleImages must be at most 64/);
    expect(messages({ data: 'd', sampleZ: 33 })).toMatch(/--sample-z: sampleZ must be at most 32/);
  });
  test('Infinity is shown as Infinity; a deeply nested value is named, not a stack overflow', () => {
    expect(messages(JSON.parse('{"data":"d","lr":1e400}'))).toMatch(/--lr: .*\(got Infinity\)/);
    const deep = JSON.parse(`{"data":"d","batch":${'['.repeat(5000)}${']'.repeat(5000)}}`);
    expect(messages(deep)).toMatch(/--batch: batch must be a number \(got \(an array nested too deeply to show\)\)/);
  });
  test('numeric flags take decimals only', () => {
    expect(num('0x2')).toBe('0x2');
    expect(num('0b1')).toBe('0b1');
    expect(num('Infinity')).toBe('Infinity');
    expect(num(' 12 ')).toBe(12);
    expect(num('2e-4')).toBe(2e-4);
    expect(num('-.5')).toBe(-0.5);
    expect(messages({ data: 'd', batch: num('0x2') })).toMatch(/--batch: batch must be a number \(got "0x2"\)/);
  });
});

describe('--resume of a bad file', () => {
  test('a corrupt or weights-only checkpoint is named before any other complaint', () => {
    const d = tmp('resume-msg');
    const bad = join(d, 'bad.safetensors');
    writeFileSync(bad, 'not a checkpoint at all');
    const r = cli(['train', '--resume', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad\.safetensors: safetensors: /);
    expect(r.stderr).not.toMatch(/--data/);
    const meta = new TextEncoder().encode(JSON.stringify({ __metadata__: { train: '{"steps": 1,' } }));
    const b = new Uint8Array(8 + meta.length);
    new DataView(b.buffer).setUint32(0, meta.length, true);
    b.set(meta, 8);
    writeFileSync(bad, b);
    expect(cli(['train', '--resume', bad]).stderr).toMatch(/bad\.safetensors: metadata train is not valid JSON/);
    const w = new TextEncoder().encode(JSON.stringify({ __metadata__: { config: '{}' } }));
    const c = new Uint8Array(8 + w.length);
    new DataView(c.buffer).setUint32(0, w.length, true);
    c.set(w, 8);
    writeFileSync(bad, c);
    expect(cli(['train', '--resume', bad]).stderr).toMatch(/bad\.safetensors: no training state in the checkpoint/);
  });
});

describe('wasm memory limits', () => {
  test('maxMemoryMB below 1 is a named error, and the out-of-memory message keeps the limit as given', async () => {
    const module = await compiledModule('simd');
    await expect(createCore({ build: 'simd', module }, { maxMemoryMB: 0.5 })).rejects.toThrow(/core: maxMemoryMB must be between 1 and 4096 \(MiB\), got 0\.5/);
    const core = await createCore({ build: 'simd', module }, { maxMemoryMB: 1.5 });
    let e: unknown;
    try {
      core.arena.alloc(1 << 20, 'big tensor');
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(OutOfMemoryError);
    expect((e as Error).message).toMatch(/the limit is 1\.5 MiB/);
  });
});
