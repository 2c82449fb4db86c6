// Sample grids during training: columns are fixed images (from the test/val split when there is one), rows are
// input, ground truth, the encoded-z output (z = mu(E(B))) and `zRows` random-z outputs with fixed codes,
// so the grids of successive steps are comparable. Generation runs in eval mode and leaves training untouched.
import { Rng } from '../core/rng.js';
import { makeGrid, writePng, type Grid } from '../data/grid.js';
import type { TrainEngine } from './engine.js';

export interface SampleSet {
  a: Float32Array;
  b: Float32Array;
  n: number;
  /** random codes, zRows x n x latentDim */
  z: Float32Array[];
}

export function makeSampleSet(a: Float32Array, b: Float32Array, n: number, latentDim: number, zRows: number, seed: number): SampleSet {
  const rng = new Rng((seed ^ 0x5a3c9e1f) >>> 0);
  const z = Array.from({ length: zRows }, () => {
    const c = new Float32Array(n * latentDim);
    rng.fillNormal(c);
    return c;
  });
  return { a, b, n, z };
}

export async function sampleGrid(engine: TrainEngine, s: SampleSet): Promise<Grid> {
  const S = engine.cfg.imageSize, per = S * S * engine.cfg.channels;
  const tiles = (x: Float32Array) => Array.from({ length: s.n }, (_, i) => x.subarray(i * per, (i + 1) * per));
  const mu = await engine.encode(s.b, s.n);
  const rows = [tiles(s.a), tiles(s.b), tiles(await engine.generate(s.a, mu, s.n))];
  for (const z of s.z) rows.push(tiles(await engine.generate(s.a, z, s.n)));
  return makeGrid(rows, S);
}

export async function writeSampleGrid(engine: TrainEngine, s: SampleSet, path: string): Promise<void> {
  await writePng(path, await sampleGrid(engine, s));
}
