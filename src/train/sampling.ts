// Sampling from a trained model: for every input image, N random-z outputs, the encoded-z output from a
// reference image (the other half of a pair file, or --reference), and a z interpolation strip between two
// random codes. Writes one grid PNG (per input: row 1 = input, reference, encoded, random outputs; row 2 =
// the interpolation strip) and/or one PNG per output image.
import { basename, extname, join } from 'node:path';
import { z } from 'zod';
import { Rng } from '../core/rng.js';
import { sides, toModel } from '../data/augment.js';
import { decodeAny, DataError } from '../data/decode.js';
import { listImages } from '../data/dataset.js';
import { makeGrid, tileGrid, writePng } from '../data/grid.js';
import { checkpointConfig } from './checkpoint.js';
import { readCheckpointFile } from './checkpoint-file.js';
import { makeDir } from './run-files.js';
import { ConfigError, parseWith, type FieldNames } from './config.js';
import { engineBatch, type TrainEngine } from './engine.js';
import { localEngine, type EngineFactory } from './trainer.js';
import { evalStatsScope, type BnStatsChoice, type FoldedStats } from './recalibrate.js';

const count = (what: string, max: number) => z.number({ error: `${what} must be a number` }).int(`${what} must be a whole number`).min(0, `${what} must be 0 or more`).max(max, `${what} must be at most ${max}`);

export const SampleConfigSchema = z
  .object({
    checkpoint: z.string({ error: 'checkpoint is required' }).min(1),
    /** an image file or a folder of them (pair files A|B, or single condition images) */
    input: z.string({ error: 'input is required' }).min(1),
    out: z.string().min(1).default('runs/samples'),
    direction: z.enum(['AtoB', 'BtoA'], { error: 'direction must be AtoB or BtoA' }).default('AtoB'),
    /** an image whose style is encoded for every input (default: the target half of each pair file) */
    reference: z.string().min(1).optional(),
    n: count('n', 64).default(5),
    interp: count('interp', 64).default(8),
    seed: z.number().int().nonnegative().default(0),
    grid: z.boolean().default(true),
    individual: z.boolean().default(false),
    skipBad: z.boolean().default(false),
    limit: count('limit', 100000).optional(),
    build: z.enum(['auto', 'simd', 'relaxed']).default('auto'),
    /** BatchNorm statistics: auto = recalibrated when the checkpoint has them, else running; batch = the
     * statistics of the outputs generated together for one input (train-mode BatchNorm) */
    bnStats: z.enum(['auto', 'running', 'recalibrated', 'batch'], { error: 'bnStats must be auto, running, recalibrated or batch' }).default('auto'),
  })
  .strict()
  .refine((c) => c.grid || c.individual, { message: 'nothing to write: enable grid or individual', path: ['grid'] });

export type SampleConfig = z.output<typeof SampleConfigSchema>;

export const parseSampleConfig = (input: unknown, name?: FieldNames): SampleConfig => parseWith(SampleConfigSchema, input, name);

export interface SampleResult {
  written: string[];
  skipped: string[];
  /** the BatchNorm statistics used */
  bnStats: BnStatsChoice;
}

/** What `sample` and `eval` take besides their config. */
export interface ModelRunOptions {
  createEngine?: EngineFactory;
  report?: (msg: string) => void;
  /** the model file's contents already read (the CLI reads every model file kind, src/cli/model-file.ts) */
  bytes?: Uint8Array;
  /** an inference file's engine: the BatchNorm statistics folded into its convs (no other choice exists) */
  folded?: FoldedStats;
}

export async function sample(input: unknown, o: ModelRunOptions = {}): Promise<SampleResult> {
  const c = parseSampleConfig(input);
  const report = o.report ?? (() => {});
  const bytes = o.bytes ?? readCheckpointFile(c.checkpoint);
  const mc = checkpointConfig(bytes, c.checkpoint);
  const S = mc.imageSize, L = mc.latentDim, per = S * S * 3;
  // the list of inputs
  let files: string[];
  const isDir = await import('node:fs/promises').then((fs) => fs.stat(c.input)).then((s) => s.isDirectory(), () => {
    throw new DataError(c.input, 'no such file or directory');
  });
  if (isDir) {
    files = (await listImages(c.input)).images;
    if (!files.length) throw new DataError(c.input, 'no .jpg/.jpeg/.png images in this directory');
  } else files = [c.input];
  if (c.limit) files = files.slice(0, c.limit);

  // per-batch statistics: all outputs of one input (random, interpolated, encoded) form one batch
  const K = c.n + c.interp + 1;
  const perBatch = c.bnStats === 'batch';
  if (o.folded && c.bnStats !== 'auto' && c.bnStats !== o.folded)
    throw new ConfigError([`--bn-stats: ${c.checkpoint} is an inference file with the ${o.folded} BatchNorm statistics folded into its convs; convert the checkpoint again for ${c.bnStats}`]);
  const engine: TrainEngine = await (o.createEngine ?? localEngine)({ batch: engineBatch(mc, perBatch ? K : 1), model: mc, seed: 0, build: c.build, workers: 1 });
  const written: string[] = [], skipped: string[] = [];
  try {
    engine.restore(bytes, { source: c.checkpoint, trainState: false, nets: ['G', 'E'] });
    const bn: BnStatsChoice = o.folded ?? (c.bnStats === 'auto' ? (engine.model.evalStats ? 'recalibrated' : 'running') : c.bnStats);
    if (c.bnStats === 'auto' && bn === 'running' && !o.folded)
      report(`${c.checkpoint} has no recalibrated BatchNorm statistics: sampling with the running ones (\`bicyclegan recalibrate --checkpoint ${c.checkpoint} --data <dataset>\` usually gives much better outputs)`);
    // the encoded z of one reference image; per batch: the statistics of that image alone
    const encodeOne = async (ref: Float32Array) => {
      if (!perBatch) return engine.encode(ref, 1);
      const imgs = new Float32Array(K * per);
      for (let i = 0; i < K; i++) imgs.set(ref, i * per);
      return (await engine.encode(imgs, K, true)).subarray(0, L);
    };
    return await evalStatsScope(engine, bn, o.folded)(async () => {
      let refImage: Float32Array | null = null;
      if (c.reference) {
        const r = await decodeAny(c.reference, S);
        refImage = new Float32Array(per);
        toModel(r.right && c.direction === 'AtoB' ? r.right : r.left, S, S, { flip: false, x: 0, y: 0 }, refImage);
      }
      const rng = new Rng(c.seed);
      const zs = new Float32Array(c.n * L);
      rng.fillNormal(zs);
      const z0 = new Float32Array(L), z1 = new Float32Array(L);
      rng.fillNormal(z0);
      rng.fillNormal(z1);
      const rows: (Float32Array | null)[][] = [];
      makeDir(c.out);
      for (const file of files) {
        let d;
        try {
          d = await decodeAny(file, S);
        } catch (e) {
          if (!c.skipBad || !(e instanceof DataError)) throw e;
          report(`skipping ${e.message}`);
          skipped.push(file);
          continue;
        }
        const a = new Float32Array(per), p = { flip: false, x: 0, y: 0 };
        let ref: Float32Array | null = refImage;
        if (d.right) {
          const s = sides({ left: d.left, right: d.right, size: S }, c.direction);
          toModel(s.a, S, S, p, a);
          if (!ref) toModel(s.b, S, S, p, (ref = new Float32Array(per)));
        } else toModel(d.left, S, S, p, a);
        const k = perBatch ? K : c.n + c.interp + (ref ? 1 : 0);
        const imgs = new Float32Array(k * per), codes = new Float32Array(k * L);
        for (let i = 0; i < k; i++) imgs.set(a, i * per);
        codes.set(zs, 0);
        for (let i = 0; i < c.interp; i++) {
          const t = c.interp === 1 ? 0 : i / (c.interp - 1);
          for (let j = 0; j < L; j++) codes[(c.n + i) * L + j] = (1 - t) * z0[j] + t * z1[j];
        }
        if (ref) codes.set(await encodeOne(ref), (k - 1) * L);
        const outs = await engine.generate(imgs, codes, k, perBatch);
        const tile = (i: number) => outs.subarray(i * per, (i + 1) * per);
        const random = Array.from({ length: c.n }, (_, i) => tile(i));
        const strip = Array.from({ length: c.interp }, (_, i) => tile(c.n + i));
        const encoded = ref ? tile(k - 1) : null;
        rows.push([a, ref, encoded, ...random]);
        if (c.interp) rows.push([null, null, null, ...strip]);
        if (c.individual) {
          const stem = join(c.out, basename(file, extname(file)));
          const put = async (suffix: string, t: Float32Array) => {
            await writePng(`${stem}_${suffix}.png`, tileGrid(t, S));
            written.push(`${stem}_${suffix}.png`);
          };
          if (encoded) await put('encoded', encoded);
          for (let i = 0; i < random.length; i++) await put(`random${i}`, random[i]);
          for (let i = 0; i < strip.length; i++) await put(`interp${i}`, strip[i]);
        }
      }
      if (!rows.length) throw new Error('no input image could be used');
      if (c.grid) {
        const path = join(c.out, 'grid.png');
        await writePng(path, makeGrid(rows, S));
        written.push(path);
      }
      return { written, skipped, bnStats: bn };
    });
  } finally {
    await engine.close();
  }
}
