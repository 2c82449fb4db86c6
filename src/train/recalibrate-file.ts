// `bicyclegan recalibrate`: recompute the BatchNorm statistics of a checkpoint's G and E over K batches of a
// dataset's training pairs (recalibrate.ts) and write them into the checkpoint as `recalibrated.<name>`
// tensors. Every other tensor and metadata entry is kept as it is, so the file still resumes bit for bit and
// still loads into PyTorch (the python helpers skip the `recalibrated.` prefix). Written atomically: in place
// by default, or to --out.
import { z } from 'zod';
import { parseSafetensors, serializeSafetensors, type TensorEntry } from '../core/safetensors.js';
import { splitDir, scanPairs } from '../data/dataset.js';
import { BatchLoader } from '../data/loader.js';
import { checkpointConfig } from './checkpoint.js';
import { readCheckpointFile, writeFileAtomic } from './checkpoint-file.js';
import { parseWith, RECAL_BATCHES, type FieldNames } from './config.js';
import { RECAL_PREFIX, recalibrate, type EvalStats } from './recalibrate.js';
import { localEngine, type EngineFactory } from './trainer.js';

const int = (what: string, min: number, max: number) =>
  z.number({ error: `${what} must be a number` }).int(`${what} must be a whole number`).min(min, `${what} must be at least ${min}`).max(max, `${what} must be at most ${max}`);

export const RecalibrateConfigSchema = z
  .object({
    checkpoint: z.string({ error: 'checkpoint is required' }).min(1),
    /** dataset root or folder of pairs: the training pairs the statistics are averaged over */
    data: z.string({ error: 'data is required: the training pairs to average the statistics over' }).min(1),
    /** where to write (default: the checkpoint itself, atomically) */
    out: z.string().min(1).optional(),
    /** default: the direction the checkpoint was trained with, else AtoB */
    direction: z.enum(['AtoB', 'BtoA'], { error: 'direction must be AtoB or BtoA' }).optional(),
    batches: int('batches', 1, 10000).default(RECAL_BATCHES),
    /** default: the checkpoint's training batch size, else 8 */
    batch: int('batch', 1, 1024).optional(),
    seed: int('seed', 0, 2 ** 32 - 1).default(0),
    workers: int('workers', 1, 64).default(1),
    skipBad: z.boolean().default(false),
    build: z.enum(['auto', 'simd', 'relaxed']).default('auto'),
  })
  .strict();

export type RecalibrateConfig = z.output<typeof RecalibrateConfigSchema>;

export const parseRecalibrateConfig = (input: unknown, name?: FieldNames): RecalibrateConfig => parseWith(RecalibrateConfigSchema, input, name);

/** The training options stored in a checkpoint (trainer's `extra.config`), or {}. */
export function storedTrainConfig(meta: Record<string, string>): Record<string, unknown> {
  try {
    return (JSON.parse(meta.train ?? '{}').extra?.config as Record<string, unknown> | undefined) ?? {};
  } catch {
    return {};
  }
}

/** `bytes` with its recalibrated statistics replaced by `stats` (everything else kept as it is). */
export function withRecalibrated(bytes: Uint8Array, stats: EvalStats, source: string): Uint8Array {
  const p = parseSafetensors(bytes);
  const kept: TensorEntry[] = [...p.tensors].filter(([n]) => !n.startsWith(RECAL_PREFIX)).map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape, data: t.data }));
  const added: TensorEntry[] = [...stats.values].map(([name, data]) => ({ name: RECAL_PREFIX + name, dtype: 'F32', shape: [data.length], data }));
  if (!added.length) throw new Error(`${source}: the model has no BatchNorm layers to recalibrate`);
  const train = p.metadata.train ? (JSON.parse(p.metadata.train) as { steps?: number }) : {};
  const meta = { ...p.metadata, recalibrated: JSON.stringify({ step: train.steps ?? 0, batches: stats.batches, batchSize: stats.batchSize }) };
  return serializeSafetensors([...kept, ...added], meta);
}

export interface RecalibrateFileResult {
  /** the checkpoint's bytes with the new statistics */
  bytes: Uint8Array;
  stats: EvalStats;
  pairs: number;
  seconds: number;
}

/** Recalibrate a checkpoint's statistics over a dataset; returns the new file's bytes (nothing is written). */
export async function recalibratedBytes(input: unknown, o: { createEngine?: EngineFactory; report?: (msg: string) => void; bytes?: Uint8Array } = {}): Promise<RecalibrateFileResult> {
  const c = parseRecalibrateConfig(input);
  const report = o.report ?? (() => {});
  const t0 = performance.now();
  // `bytes`: the checkpoint's contents already read (e.g. a PyTorch state_dict given its config by the CLI)
  const bytes = o.bytes ?? readCheckpointFile(c.checkpoint);
  const cfg = checkpointConfig(bytes, c.checkpoint);
  const stored = storedTrainConfig(parseSafetensors(bytes).metadata);
  const batch = c.batch ?? (typeof stored.batch === 'number' ? stored.batch : 8);
  const direction = c.direction ?? (stored.direction === 'BtoA' ? 'BtoA' : 'AtoB');
  const loadSize = typeof stored.loadSize === 'number' ? stored.loadSize : cfg.imageSize;
  const flip = stored.flip !== false;
  const dir = await splitDir(c.data, 'train');
  const { files, heights } = await scanPairs(dir, { skipBad: c.skipBad, report });
  if (files.length < batch) throw new Error(`${dir}: ${files.length} usable pairs, fewer than the batch size ${batch}`);
  const engine = await (o.createEngine ?? localEngine)({ batch, model: cfg, seed: 0, build: c.build, workers: c.workers });
  try {
    engine.restore(bytes, { source: c.checkpoint, trainState: false, nets: ['G', 'E'] });
    const loader = new BatchLoader(files, { imageSize: cfg.imageSize, loadSize, flip, direction }, batch, { seed: (c.seed ^ 0x7f4a7c15) >>> 0 }, Math.min(2, c.batches - 1), heights);
    const stats = await recalibrate(engine, () => loader.next(), { batches: c.batches, seed: c.seed });
    return { bytes: withRecalibrated(bytes, stats, c.checkpoint), stats, pairs: files.length, seconds: (performance.now() - t0) / 1000 };
  } finally {
    await engine.close();
  }
}

/** Recalibrate and write the checkpoint (in place, or to `out`), atomically; returns where. */
export async function recalibrateCheckpoint(input: unknown, o: { createEngine?: EngineFactory; report?: (msg: string) => void } = {}): Promise<RecalibrateFileResult & { path: string }> {
  const c = parseRecalibrateConfig(input);
  const r = await recalibratedBytes(c, o);
  const path = c.out ?? c.checkpoint;
  writeFileAtomic(path, r.bytes);
  return { ...r, path };
}
