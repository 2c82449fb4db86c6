// `bicyclegan convert IN OUT [--to inference|checkpoint|state-dict]`: one command between every kind of model
// file (src/cli/model-file.ts reads them all: checkpoint, weights, inference file, PyTorch state_dict with
// --model-config).
//   inference  (default) f32 / f16 / int8 inference file (src/infer/weights.ts), the chosen BatchNorm statistics
//              folded into the convs: the recalibrated ones where the file has them; --data recalibrates first
//              (in memory; the input file is not changed).
//   checkpoint our weights file: a PyTorch state_dict (or any of ours) checked by loading it into the networks,
//              written with our metadata (model config), so every command takes it without --model-config.
//   state-dict the networks' tensors only (PyTorch names and layouts: G and E unprefixed, D_VAE./D_LR.
//              prefixed), no Adam state; `--bn-stats recalibrated` puts the recalibrated statistics in the
//              running ones. python/export_pth.py turns it into one torch.save'd state_dict per network.
import { z } from 'zod';
import { parseSafetensors, serializeSafetensors, type TensorEntry } from '../core/safetensors.js';
import { convertWeights, readPacked, STORAGES, type InferNet } from '../infer/weights.js';
import { loadCore } from '../core/load-node.js';
import { RECALIBRATED_PREFIX } from '../nn/batchnorm.js';
import { loadCheckpoint, NET_PREFIX, netOfTensor, weightsBytes, type NetName } from '../train/checkpoint.js';
import { writeFileAtomic } from '../train/checkpoint-file.js';
import { BicycleGAN } from '../train/bicyclegan.js';
import { parseWith, RECAL_BATCHES, type FieldNames } from '../train/config.js';
import { recalibratedBytes } from '../train/recalibrate-file.js';
import type { EngineFactory } from '../train/trainer.js';
import { readModelFile } from './model-file.js';

export const CONVERT_TARGETS = ['inference', 'checkpoint', 'state-dict'] as const;

export const ConvertConfigSchema = z
  .object({
    input: z.string({ error: 'input is required: a checkpoint, weights file, inference file or PyTorch state_dict (.safetensors)' }).min(1),
    output: z.string({ error: 'output is required: the file to write' }).min(1),
    to: z.enum(CONVERT_TARGETS, { error: `to must be ${CONVERT_TARGETS.join(', ')}` }).default('inference'),
    storage: z.enum(STORAGES as unknown as ['f32', 'f16', 'int8'], { error: 'storage must be f32, f16 or int8' }).default('f16'),
    /** keep the encoder (default: when the file has one) */
    encoder: z.boolean().optional(),
    /** BatchNorm statistics to fold (inference) or write as running (state-dict): auto = recalibrated when the
     * file has them (or data is given), else running */
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
  .refine((c) => !(c.data && c.bnStats === 'running'), { message: 'data recalibrates the statistics: it does not go with bnStats running', path: ['data'] })
  .refine((c) => !(c.data && c.to === 'checkpoint'), { message: 'data recalibrates: use bicyclegan recalibrate to add the statistics to a checkpoint', path: ['data'] });

export type ConvertConfig = z.output<typeof ConvertConfigSchema>;

export const parseConvertConfig = (input: unknown, name?: FieldNames): ConvertConfig => parseWith(ConvertConfigSchema, input, name);

export interface ConvertResult {
  path: string;
  to: ConvertConfig['to'];
  /** one line saying what was written */
  summary: string;
  inBytes: number;
  outBytes: number;
}

/** The networks a file holds tensors of. */
function netsIn(names: Iterable<string>): NetName[] {
  const found = new Set<NetName>();
  for (const n of names) {
    if (n.startsWith('adam.') || n.startsWith(RECALIBRATED_PREFIX)) continue;
    found.add(netOfTensor(n));
  }
  return (['G', 'E', 'D_VAE', 'D_LR'] as NetName[]).filter((n) => found.has(n));
}

export async function convertFile(input: unknown, o: { createEngine?: EngineFactory; report?: (msg: string) => void } = {}): Promise<ConvertResult> {
  const c = parseConvertConfig(input);
  const f = readModelFile(c.input, { modelConfig: c.modelConfig });
  let bytes = f.bytes;
  const done = (out: Uint8Array, summary: string): ConvertResult => {
    writeFileAtomic(c.output, out);
    return { path: c.output, to: c.to, summary, inBytes: f.fileBytes, outBytes: out.byteLength };
  };
  if (c.to !== 'inference' && f.kind === 'inference')
    throw new Error(`${c.input}: an inference file (BatchNorm folded, kernel layout) cannot become a ${c.to}; convert the checkpoint it came from`);
  if (c.data) {
    const r = await recalibratedBytes({ checkpoint: c.input, data: c.data, batches: c.batches, batch: c.batch, direction: c.direction, build: c.build }, { ...o, bytes });
    o.report?.(`recalibrated the BatchNorm statistics over ${r.stats.batches} batches of ${r.stats.batchSize} (${r.seconds.toFixed(1)} s)`);
    bytes = r.bytes;
  }
  const p = parseSafetensors(bytes);
  const recal = [...p.tensors.keys()].some((n) => n.startsWith(RECALIBRATED_PREFIX));
  const stats = c.bnStats === 'auto' ? (recal ? 'recalibrated' : 'running') : c.bnStats;

  if (c.to === 'inference') {
    const nets: InferNet[] | undefined = c.encoder === undefined ? undefined : c.encoder ? ['G', 'E'] : ['G'];
    const out = convertWeights(bytes, { storage: c.storage, nets, bnStats: c.bnStats === 'auto' ? undefined : c.bnStats, chunkFloats: c.chunkFloats, source: c.input });
    const k = readPacked(out, c.output);
    const hasBn = [...k.layers.values()].some((l) => l.spec.bn || l.spec.layout === 'bn');
    return done(out, `${k.storage}, nets ${k.nets.join('+')}, ${k.layers.size} layers, ${hasBn ? `${k.bnStats ?? 'running'} BatchNorm statistics folded` : 'no BatchNorm'}`);
  }
  if (c.to === 'checkpoint') {
    // loading is the check: every name, shape and dtype against the networks of this config
    const nets = netsIn(p.tensors.keys());
    const m = new BicycleGAN(await loadCore({ build: c.build }), { batch: 1, model: f.cfg });
    loadCheckpoint(m, bytes, { nets, trainState: false, source: c.input });
    return done(weightsBytes(m, nets), `weights file of ${nets.join(', ')} (${f.kind} in), model config in the metadata`);
  }
  // state-dict: the networks' tensors, running statistics as chosen
  if (stats === 'recalibrated' && !recal) throw new Error(`${c.input}: no recalibrated BatchNorm statistics in this file: run \`bicyclegan recalibrate\` on it (or keep the running statistics)`);
  const entries: TensorEntry[] = [];
  for (const [name, t] of p.tensors) {
    if (name.startsWith('adam.') || name.startsWith(RECALIBRATED_PREFIX)) continue;
    const src = stats === 'recalibrated' && p.tensors.get(RECALIBRATED_PREFIX + name) ? p.tensors.get(RECALIBRATED_PREFIX + name)! : t;
    entries.push({ name, dtype: src.dtype, shape: src.shape, data: src.data });
  }
  const nets = netsIn(p.tensors.keys());
  return done(serializeSafetensors(entries, { config: p.metadata.config, bn_stats: stats }),
    `PyTorch state_dict of ${nets.map((n) => `${n}${NET_PREFIX[n] ? ` (${NET_PREFIX[n]}*)` : ''}`).join(', ')}, ${stats} BatchNorm statistics, no Adam state`);
}
