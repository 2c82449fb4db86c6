// Inference weight files: a NaN/Inf in a weight, bias or int8 scale, a negative scale, a null or mistyped
// model config, or a non-integer chunk_floats is an Error naming the file and the tensor or field (before,
// such files loaded and gave a constant image).
import { beforeAll, describe, expect, test } from 'vitest';
import { loadCore } from '../src/core/load-node.js';
import { parseSafetensors, serializeSafetensors, type TensorEntry } from '../src/core/safetensors.js';
import { convertWeights, readPacked } from '../src/infer/weights.js';
import { smallWeights } from './helpers/infer-model.js';

const files: Record<string, Uint8Array> = {};
beforeAll(async () => {
  const core = await loadCore({ build: 'simd' });
  const w = smallWeights(core);
  for (const storage of ['f32', 'f16', 'int8'] as const) files[storage] = convertWeights(w, { storage });
});

function rewrite(bytes: Uint8Array, edit: (t: TensorEntry[], meta: Record<string, string>) => void): Uint8Array {
  const p = parseSafetensors(bytes);
  const list: TensorEntry[] = [...p.tensors].map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape, data: t.data.slice() }));
  const meta = { ...p.metadata };
  edit(list, meta);
  return serializeSafetensors(list, meta);
}
const poke = (name: string, set: (d: DataView) => void) => (t: TensorEntry[]) => {
  const e = t.find((x) => x.name === name)!;
  set(new DataView(e.data.buffer, e.data.byteOffset, e.data.byteLength));
};

describe('readPacked refuses broken values and metadata, naming the tensor or field', () => {
  test('the converted files load (control)', () => {
    for (const s of ['f32', 'f16', 'int8']) expect(readPacked(files[s], 'w').storage).toBe(s);
  });
  test('non-finite f32 weight and bias, f16 Inf weight, NaN or negative int8 scale', () => {
    expect(() => readPacked(rewrite(files.f32, poke('down1.model.0.weight', (d) => d.setFloat32(8, NaN, true))), 'w.safetensors'))
      .toThrow(/w\.safetensors: [\s\S]*tensor "down1\.model\.0\.weight": value 2 is not finite/);
    expect(() => readPacked(rewrite(files.f32, poke('final.1.bias', (d) => d.setFloat32(0, Infinity, true))), 'w.safetensors'))
      .toThrow(/tensor "final\.1\.bias": value 0 is not finite/);
    expect(() => readPacked(rewrite(files.f16, poke('down1.model.0.weight', (d) => d.setUint16(6, 0x7c00, true))), 'w.safetensors'))
      .toThrow(/tensor "down1\.model\.0\.weight": value 3 is not finite/);
    expect(() => readPacked(rewrite(files.int8, poke('down1.model.0.scale', (d) => d.setFloat32(4, NaN, true))), 'w.safetensors'))
      .toThrow(/tensor "down1\.model\.0\.scale": value 1 is not finite/);
    expect(() => readPacked(rewrite(files.int8, poke('down1.model.0.scale', (d) => d.setFloat32(4, -1, true))), 'w.safetensors'))
      .toThrow(/tensor "down1\.model\.0\.scale": value 1 is -1/);
  });
  test('metadata: config null / not an object / a bad field; chunk_floats not an integer', () => {
    const meta = (f: (m: Record<string, string>) => void) => rewrite(files.f16, (_, m) => f(m));
    expect(() => readPacked(meta((m) => (m.config = 'null')), 'w.safetensors')).toThrow(/w\.safetensors: metadata config: must be an object .*\(got null\)/);
    expect(() => readPacked(meta((m) => (m.config = '"x"')), 'w.safetensors')).toThrow(/metadata config: must be an object/);
    expect(() => readPacked(meta((m) => (m.config = JSON.stringify({ ...JSON.parse(m.config), latentDim: -8 }))), 'w.safetensors')).toThrow(/metadata config\.latentDim: .*\(got -8\)/);
    expect(() => readPacked(meta((m) => (m.chunk_floats = '1e999')), 'w.safetensors')).toThrow(/metadata chunk_floats: must be an integer/);
    expect(() => readPacked(meta((m) => (m.chunk_floats = '100.5')), 'w.safetensors')).toThrow(/metadata chunk_floats/);
  });
});
