// The checkpoint's __metadata__ as zod schemas: `config` (the model config JSON) and `train` (TrainState
// JSON: counters, Adam steps, RNG state, the trainer's `extra`). loadCheckpoint checks both against these
// before it changes anything, so a malformed field is an error naming the file and the field
// ("metadata train.rng.spare: ..."), not a NaN loss three steps later. Unknown keys are kept (newer
// writers may add fields); known ones must have the right type and range.
import { z } from 'zod';
import { show } from '../core/show.js';

const u32 = z.number().int().min(0).max(2 ** 32 - 1);
const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const posInt = z.number().int().min(1).max(1 << 16);
const eps = z.number().positive().finite();

export const StoredModelConfigSchema = z
  .object({
    preset: z.string().optional(),
    imageSize: posInt.optional(),
    channels: posInt.optional(),
    latentDim: posInt.optional(),
    gBase: posInt.optional(),
    eBase: posInt.optional(),
    dBase: posInt.optional(),
    bnEpsG: eps.optional(),
    bnEpsD: eps.optional(),
    bnEpsE: eps.optional(),
  })
  .loose();

export const RngStateSchema = z
  .object({
    s: z.tuple([u32, u32, u32, u32]).refine((s) => s.some((x) => x !== 0), 'xoshiro128** state must not be all zero'),
    /** the cached second Box-Muller normal: a finite number or null */
    spare: z.number().finite().nullable(),
  })
  .strict();

export const TrainStateSchema = z
  .object({
    steps: count,
    epoch: count,
    adamSteps: z.object({ G: count.optional(), E: count.optional(), D_VAE: count.optional(), D_LR: count.optional() }).strict(),
    rng: RngStateSchema,
    extra: z.record(z.string(), z.unknown()).optional(),
  })
  .loose();

/** `recalibrated` metadata: what the recalibrated BatchNorm statistics were computed from (recalibrate.ts). */
export const RecalibratedMetaSchema = z.object({ step: count.optional(), batches: count.optional(), batchSize: count.optional() }).loose();

/** The trainer's part of TrainState.extra: the data loader's position and RNG, the file count, the options. */
export const TrainerExtraSchema = z
  .object({
    loader: z.object({ epoch: count, index: count, rng: RngStateSchema }).strict(),
    files: count,
    config: z.record(z.string(), z.unknown()),
  })
  .loose();

/** JSON text of a metadata field checked against a schema; errors name the source and the field path. */
export function parseMetadataJson<T>(text: string, schema: z.ZodType<T>, field: string, source: string): T {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: metadata ${field} is not valid JSON (${(e as Error).message})`);
  }
  return checkMetadata(v, schema, field, source);
}

/** A parsed metadata value checked against a schema; the error names the source and the field path. */
export function checkMetadata<T>(v: unknown, schema: z.ZodType<T>, field: string, source: string): T {
  const r = schema.safeParse(v);
  if (r.success) return r.data;
  const i = r.error.issues[0];
  const path = [field, ...i.path.map(String)].join('.');
  let got: unknown = v;
  for (const k of i.path) got = got !== null && typeof got === 'object' ? (got as Record<PropertyKey, unknown>)[k as PropertyKey] : undefined;
  const more = r.error.issues.length > 1 ? ` (and ${r.error.issues.length - 1} more problem${r.error.issues.length > 2 ? 's' : ''})` : '';
  throw new Error(`${source}: metadata ${path}: ${i.message} (got ${show(got)})${more}`);
}
