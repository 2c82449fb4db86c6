// Full-size weights for the inference benchmark and reports: a seeded PyTorch-GAN generator (+ encoder) with
// ptg-normal / torchvision init and randomised BatchNorm running stats (so the BN fold is not the identity),
// written as a weights file in PyTorch names and layouts (what src/train/checkpoint.ts weightsBytes writes).
// No trained checkpoint ships with the repo; error and latency figures use these weights.
import type { Core } from '../src/core/loader.js';
import { Rng } from '../src/core/rng.js';
import { serializeSafetensors, type TensorEntry } from '../src/core/safetensors.js';
import { DEFAULT_MODEL, type ModelConfig } from '../src/models/config.js';
import { Encoder } from '../src/models/encoder.js';
import { Generator } from '../src/models/generator.js';
import { initNetwork } from '../src/models/init.js';
import type { ParamStore } from '../src/nn/params.js';

function entries(store: ParamStore, rng: Rng): TensorEntry[] {
  const out: TensorEntry[] = [];
  for (const e of store.entries) {
    if (e.dtype === 'I64') {
      out.push({ name: e.name, dtype: 'I64', shape: e.shape, data: new BigInt64Array(1).fill(100n) });
      continue;
    }
    let data = store.toTorch(e);
    if (e.name.endsWith('running_mean')) data = data.map(() => 0.2 * rng.normal());
    if (e.name.endsWith('running_var')) data = data.map(() => 0.5 + rng.uniform());
    out.push({ name: e.name, dtype: 'F32', shape: e.shape, data });
  }
  return out;
}

/** Weights bytes of a seeded full-size model (G, and E when `encoder`), in its own throwaway core. */
export function fullWeights(core: Core, o: { size?: number; encoder?: boolean; seed?: number } = {}): Uint8Array {
  const cfg: ModelConfig = { ...DEFAULT_MODEL, imageSize: o.size ?? 128 };
  const rng = new Rng(o.seed ?? 1);
  const mark = core.arena.mark();
  const G = new Generator(core, cfg, 1);
  initNetwork(G.g.store, rng, 'ptg-normal');
  const all = entries(G.g.store, rng);
  if (o.encoder) {
    const E = new Encoder(core, cfg, 1);
    initNetwork(E.g.store, rng, 'torchvision-resnet');
    all.push(...entries(E.g.store, rng));
  }
  core.arena.reset(mark);
  return serializeSafetensors(all, { format: 'bicyclegan-wasm/1', config: JSON.stringify(cfg) });
}
