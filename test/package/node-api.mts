// Type-checked with strict flags and Node types (tsconfig.node.json): the `./node` entry's declarations.
import { loadCore, train, sample, BicycleGAN, parseTrainConfig, type TrainResult } from 'bicyclegan-wasm/node';
import { BicycleGANInference } from 'bicyclegan-wasm/node';

export async function run(): Promise<TrainResult> {
  const core = await loadCore({ build: 'simd' });
  const m = new BicycleGAN(core, { batch: 1, seed: 1, model: { gBase: 2, eBase: 2, dBase: 2 } });
  m.step();
  const c = parseTrainConfig({ data: 'data', steps: 1 });
  const r = await train(c);
  if (r.checkpoint) await sample({ checkpoint: r.checkpoint, input: 'data/test', out: 'out' });
  void BicycleGANInference;
  return r;
}
