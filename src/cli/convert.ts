// `bicyclegan convert`: a checkpoint, weights file or PyTorch state_dict (safetensors) -> an inference file of
// f32, f16 or int8 storage (src/infer/weights.ts), folding the chosen BatchNorm statistics into the convs:
// the recalibrated ones by default where the file has them. With --data, the statistics are recalibrated
// first (in memory; the input file is not changed), so one command gives an inference file with fresh ones.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { ModelConfig } from '../models/config.js';
import { convertWeights, readPacked, STORAGES, type InferNet, type PackedWeights } from '../infer/weights.js';
import { readCheckpointFile, writeFileAtomic } from '../train/checkpoint-file.js';
import { parseWith, RECAL_BATCHES, type FieldNames } from '../train/config.js';
import { recalibratedBytes } from '../train/recalibrate-file.js';
import type { EngineFactory } from '../train/trainer.js';

export const ConvertConfigSchema = z
  .object({
    input: z.string({ error: 'input is required: a checkpoint, weights file or PyTorch state_dict (.safetensors)' }).min(1),
    output: z.string({ error: 'output is required: the inference file to write' }).min(1),
    storage: z.enum(STORAGES as unknown as ['f32', 'f16', 'int8'], { error: 'storage must be f32, f16 or int8' }).default('f16'),
    /** keep the encoder (default: when the file has one) */
    encoder: z.boolean().optional(),
    /** BatchNorm statistics to fold: auto = recalibrated when the file has them (or --data is given), else running */
    bnStats: z.enum(['auto', 'running', 'recalibrated'], { error: 'bnStats must be auto, running or recalibrated' }).default('auto'),
    /** recalibrate on this dataset's training pairs first */
    data: z.string().min(1).optional(),
    batches: z.number().int().min(1).max(10000).default(RECAL_BATCHES),
    batch: z.number().int().min(1).max(1024).optional(),
    direction: z.enum(['AtoB', 'BtoA']).optional(),
    /** a JSON file with the model config, for a PyTorch state_dict that has none in its metadata */
    modelConfig: z.string().min(1).optional(),
    chunkFloats: z.number().int().min(64).optional(),
    build: z.enum(['auto', 'simd', 'relaxed']).default('auto'),
  })
  .strict()
  .refine((c) => !(c.data && c.bnStats === 'running'), { message: 'data recalibrates the statistics: it does not go with bnStats running', path: ['data'] });

export type ConvertConfig = z.output<typeof ConvertConfigSchema>;

export const parseConvertConfig = (input: unknown, name?: FieldNames): ConvertConfig => parseWith(ConvertConfigSchema, input, name);

function readModelConfig(path: string): ModelConfig {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as ModelConfig;
  } catch (e) {
    throw new Error(`--model-config ${path}: ${(e as Error).message}`);
  }
}

export async function convertFile(input: unknown, o: { createEngine?: EngineFactory; report?: (msg: string) => void } = {}): Promise<{ path: string; packed: PackedWeights; inBytes: number; outBytes: number }> {
  const c = parseConvertConfig(input);
  let bytes = readCheckpointFile(c.input);
  const inBytes = bytes.byteLength;
  if (c.data) {
    const r = await recalibratedBytes({ checkpoint: c.input, data: c.data, batches: c.batches, batch: c.batch, direction: c.direction, build: c.build }, o);
    o.report?.(`recalibrated the BatchNorm statistics over ${r.stats.batches} batches of ${r.stats.batchSize} (${r.seconds.toFixed(1)} s)`);
    bytes = r.bytes;
  }
  const nets: InferNet[] | undefined = c.encoder === undefined ? undefined : c.encoder ? ['G', 'E'] : ['G'];
  const out = convertWeights(bytes, {
    storage: c.storage, nets, bnStats: c.bnStats === 'auto' ? undefined : c.bnStats, chunkFloats: c.chunkFloats,
    config: c.modelConfig ? readModelConfig(c.modelConfig) : undefined, source: c.input,
  });
  writeFileAtomic(c.output, out);
  return { path: c.output, packed: readPacked(out, c.output), inBytes, outBytes: out.byteLength };
}
