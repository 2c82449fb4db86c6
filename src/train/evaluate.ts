// `bicyclegan eval`: quality of a checkpoint on held-out pairs, for each choice of BatchNorm statistics asked.
//   reconstruction: the encoded-z output G(A, mu(E(B))) against the ground truth B:
//     L1 (mean absolute difference of [0, 1] pixels), PSNR (dB, 8-bit range), SSIM (ssim.js 'original':
//     Wang et al. 2004, 11x11 Gaussian window, on luma);
//   diversity: mean L1 distance between consecutive random-z outputs of the same input (the paper's protocol,
//     with L1 in place of LPIPS), and as its ceiling the same distance between random pairs of real targets.
// Per-batch statistics run G and E in batches of `batch` different inputs (the last batch wraps around to the
// first inputs; only the real rows count), like training does.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ssim as ssimjs } from 'ssim.js';
import { z } from 'zod';
import { Rng } from '../core/rng.js';
import { sides, toModel } from '../data/augment.js';
import { decodeAny, DataError } from '../data/decode.js';
import { listImages, splitDir } from '../data/dataset.js';
import { makeGrid, writePng } from '../data/grid.js';
import { checkpointConfig } from './checkpoint.js';
import { readCheckpointFile } from './checkpoint-file.js';
import { parseWith, type FieldNames } from './config.js';
import { BN_STATS, evalStatsScope, type BnStatsChoice } from './recalibrate.js';
import { storedTrainConfig } from './recalibrate-file.js';
import { parseSafetensors } from '../core/safetensors.js';
import { type ModelRunOptions } from './sampling.js';
import { localEngine } from './trainer.js';
import { engineBatch } from './engine.js';

export const EvalConfigSchema = z
  .object({
    checkpoint: z.string({ error: 'checkpoint is required' }).min(1),
    /** a folder of pair files, or a dataset root (its test/, else val/ split) */
    input: z.string({ error: 'input is required: a folder of held-out pairs' }).min(1),
    /** default: the direction the checkpoint was trained with, else AtoB */
    direction: z.enum(['AtoB', 'BtoA'], { error: 'direction must be AtoB or BtoA' }).optional(),
    /** random-z outputs per input */
    n: z.number().int().min(2, 'n must be at least 2 (diversity compares consecutive outputs)').max(256).default(20),
    /** statistics to evaluate, each a row */
    bnStats: z.array(z.enum(BN_STATS as unknown as ['running', 'recalibrated', 'batch'])).min(1).default(['running', 'recalibrated', 'batch']),
    /** inputs per batch (per-batch statistics) */
    batch: z.number().int().min(1).max(256).default(4),
    limit: z.number().int().min(1).optional(),
    seed: z.number().int().nonnegative().default(0),
    /** folder for eval.json and a grid PNG per statistics choice (nothing written when absent) */
    out: z.string().min(1).optional(),
    build: z.enum(['auto', 'simd', 'relaxed']).default('auto'),
  })
  .strict();

export type EvalConfig = z.output<typeof EvalConfigSchema>;

export const parseEvalConfig = (input: unknown, name?: FieldNames): EvalConfig => parseWith(EvalConfigSchema, input, name);

export interface EvalRow {
  bnStats: BnStatsChoice;
  /** reconstruction of the encoded-z output, means over the inputs */
  l1: number;
  psnr: number;
  ssim: number;
  /** mean L1 between consecutive random-z outputs */
  diversity: number;
}

export interface EvalReport {
  checkpoint: string;
  inputs: number;
  n: number;
  /** mean L1 between random pairs of real targets: the diversity of the data itself */
  realDiversity: number;
  rows: EvalRow[];
  /** statistics choices that could not be evaluated, with the reason */
  skipped: { bnStats: BnStatsChoice; reason: string }[];
}

/** Mean absolute difference of two images in [-1, 1], as [0, 1] pixels. */
export function l1Distance(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i] - b[i]);
  return s / a.length / 2;
}

/** PSNR in dB of two images in [-1, 1], on 8-bit pixels (as saved). */
export function psnr(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = to8(a[i]) - to8(b[i]);
    s += d * d;
  }
  const mse = s / a.length;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

const to8 = (v: number) => Math.round((Math.max(-1, Math.min(1, v)) + 1) * 127.5);

function rgba(x: Float32Array, S: number): { data: Uint8ClampedArray; width: number; height: number } {
  const data = new Uint8ClampedArray(S * S * 4);
  for (let p = 0; p < S * S; p++) {
    for (let c = 0; c < 3; c++) data[p * 4 + c] = to8(x[p * 3 + c]);
    data[p * 4 + 3] = 255;
  }
  return { data, width: S, height: S };
}

export function ssim(a: Float32Array, b: Float32Array, S: number): number {
  return ssimjs(rgba(a, S), rgba(b, S), { ssim: 'original' }).mssim;
}

/** The pairs to evaluate: a dataset root's test/ (or val/) split, or the folder itself. */
async function heldOut(input: string, limit?: number): Promise<string[]> {
  let dir = input;
  for (const split of ['test', 'val']) {
    const d = await splitDir(input, split).catch(() => null);
    if (d && d !== input) {
      dir = d;
      break;
    }
  }
  const files = (await listImages(dir)).images;
  if (!files.length) throw new DataError(dir, 'no .jpg/.jpeg/.png pair files to evaluate');
  return limit ? files.slice(0, limit) : files;
}

/** `o.folded`: an inference file's statistics, the only row it can give. */
export async function evaluate(input: unknown, o: ModelRunOptions = {}): Promise<EvalReport> {
  const c = parseEvalConfig(input);
  const bytes = o.bytes ?? readCheckpointFile(c.checkpoint);
  const cfg = checkpointConfig(bytes, c.checkpoint);
  const stored = storedTrainConfig(parseSafetensors(bytes).metadata);
  const direction = c.direction ?? (stored.direction === 'BtoA' ? 'BtoA' : 'AtoB');
  const S = cfg.imageSize, L = cfg.latentDim, per = S * S * 3;
  const files = await heldOut(c.input, c.limit);
  const M = files.length, B = Math.min(c.batch, M);
  const A = new Float32Array(M * per), T = new Float32Array(M * per);
  const at = (x: Float32Array, i: number) => x.subarray(i * per, (i + 1) * per);
  for (let i = 0; i < M; i++) {
    const d = await decodeAny(files[i], S);
    if (!d.right) throw new DataError(files[i], 'not a pair file (A|B side by side): eval needs the ground truth');
    const s = sides({ left: d.left, right: d.right, size: S }, direction), p = { flip: false, x: 0, y: 0 };
    toModel(s.a, S, S, p, at(A, i));
    toModel(s.b, S, S, p, at(T, i));
  }
  // codes: n per input, the same for every statistics choice
  const rng = new Rng(c.seed);
  const codes = Array.from({ length: c.n }, () => {
    const zc = new Float32Array(M * L);
    rng.fillNormal(zc);
    return zc;
  });
  let realDiversity = 0;
  const pairs = Math.max(1, Math.min(200, (M * (M - 1)) / 2));
  for (let k = 0; k < pairs; k++) {
    const i = rng.int(M);
    const j = (i + 1 + rng.int(Math.max(1, M - 1))) % M;
    realDiversity += l1Distance(at(T, i), at(T, j)) / pairs;
  }

  const engine = await (o.createEngine ?? localEngine)({ batch: engineBatch(cfg, B), model: cfg, seed: 0, build: c.build, workers: 1 });
  const rows: EvalRow[] = [], skipped: EvalReport['skipped'] = [];
  try {
    engine.restore(bytes, { source: c.checkpoint, trainState: false, nets: ['G', 'E'] });
    // whole batches: the last one wraps around to the first inputs
    const Mp = Math.ceil(M / B) * B;
    const wrap = (x: Float32Array, w: number) => {
      const out = new Float32Array(Mp * w);
      for (let i = 0; i < Mp; i++) out.set(x.subarray((i % M) * w, (i % M + 1) * w), i * w);
      return out;
    };
    const Aw = wrap(A, per), Tw = wrap(T, per);
    for (const bn of c.bnStats) {
      if (cfg.preset === 'official' && bn !== 'running') {
        // the authors' test.py: eval mode (dropout off; InstanceNorm per sample, --norm batch its running statistics)
        skipped.push({ bnStats: bn, reason: 'the official preset evaluates in eval mode as the authors\' test.py (the "running" row)' });
        continue;
      }
      if (o.folded && bn !== o.folded) {
        skipped.push({ bnStats: bn, reason: `an inference file has the ${o.folded} statistics folded into its convs` });
        continue;
      }
      if (!o.folded && bn === 'recalibrated' && !engine.model.evalStats) {
        skipped.push({ bnStats: bn, reason: 'the checkpoint has no recalibrated statistics (bicyclegan recalibrate)' });
        continue;
      }
      const batchStats = bn === 'batch';
      await evalStatsScope(engine, bn, o.folded)(async () => {
        const mu = await engine.encode(Tw, Mp, batchStats);
        const enc = await engine.generate(Aw, mu, Mp, batchStats);
        const outs: Float32Array[] = [];
        for (const zc of codes) outs.push(await engine.generate(Aw, wrap(zc, L), Mp, batchStats));
        let l1 = 0, ps = 0, ss = 0, div = 0;
        for (let i = 0; i < M; i++) {
          l1 += l1Distance(at(enc, i), at(T, i)) / M;
          ps += psnr(at(enc, i), at(T, i)) / M;
          ss += ssim(at(enc, i), at(T, i), S) / M;
          for (let j = 1; j < c.n; j++) div += l1Distance(at(outs[j - 1], i), at(outs[j], i)) / (M * (c.n - 1));
        }
        rows.push({ bnStats: bn, l1, psnr: ps, ssim: ss, diversity: div });
        if (c.out) {
          mkdirSync(c.out, { recursive: true });
          const shown = Math.min(M, 8);
          const grid = Array.from({ length: shown }, (_, i) => [at(A, i), at(T, i), at(enc, i), ...outs.slice(0, 5).map((x) => at(x, i))]);
          await writePng(join(c.out, `grid-${bn}.png`), makeGrid(grid, S));
        }
      });
      o.report?.(`${bn}: done`);
    }
  } finally {
    await engine.close();
  }
  const report: EvalReport = { checkpoint: c.checkpoint, inputs: M, n: c.n, realDiversity, rows, skipped };
  if (c.out) writeFileSync(join(c.out, 'eval.json'), JSON.stringify(report, null, 2) + '\n');
  return report;
}

/** The report as a Markdown table. */
export function evalTable(r: EvalReport): string {
  const lines = [
    `${r.checkpoint}: ${r.inputs} held-out pairs, ${r.n} random z each; real-pair distance (diversity ceiling) ${r.realDiversity.toFixed(4)}`,
    '',
    '| BN statistics | L1 | PSNR (dB) | SSIM | diversity (L1) | diversity / real |',
    '|---|---|---|---|---|---|',
    ...r.rows.map((x) => `| ${x.bnStats} | ${x.l1.toFixed(4)} | ${x.psnr.toFixed(2)} | ${x.ssim.toFixed(3)} | ${x.diversity.toFixed(4)} | ${((100 * x.diversity) / r.realDiversity).toFixed(0)}% |`),
    ...r.skipped.map((s) => `| ${s.bnStats} | skipped: ${s.reason} | | | | |`),
  ];
  return lines.join('\n');
}
