// A safetensors file with its tensors (copied, so edits never touch the original) and metadata edited in place:
// how the checkpoint tests make hostile variants of a good file.
import { parseSafetensors, serializeSafetensors, type TensorEntry } from '../../src/core/safetensors.js';

export function rewriteSafetensors(bytes: Uint8Array, edit: (t: TensorEntry[], meta: Record<string, string>) => void): Uint8Array {
  const p = parseSafetensors(bytes);
  const list: TensorEntry[] = [...p.tensors].map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape, data: t.data.slice() }));
  const meta = { ...p.metadata };
  edit(list, meta);
  return serializeSafetensors(list, meta);
}
