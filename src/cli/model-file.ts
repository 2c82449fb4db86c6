// Every kind of model file `sample` and `info` take: a training checkpoint, a weights file (our metadata, no
// training state), an inference file (f32/f16/int8, src/infer/weights.ts) or a PyTorch state_dict saved as
// safetensors (no metadata; its model config comes from --model-config). The model config, stored or given,
// is checked by one zod schema (defaults: PyTorch-GAN's), and errors name the file and the field.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { parseSafetensors, serializeSafetensors, sizeOf, type Safetensors } from '../core/safetensors.js';
import { DEFAULT_MODEL, inputChannelsOf, officialNets, type ModelConfig } from '../models/config.js';
import { lumaOf } from '../data/augment.js';
import { FORMAT, netOfTensor } from '../train/checkpoint.js';
import { readCheckpointFile } from '../train/checkpoint-file.js';
import type { EngineFactory } from '../train/trainer.js';
import type { ModelRunOptions } from '../train/sampling.js';
import type { TrainEngine } from '../train/engine.js';
import { BicycleGANInference, INFER_FORMAT, type Build, type Storage } from '../infer/index.js';
import { planOf } from '../infer/nets.js';
import { modelPathOf } from './zoo-file.js';

const posInt = (what: string) => z.number({ error: `${what} must be a number` }).int(`${what} must be a whole number`).positive(`${what} must be at least 1`);
const eps = (what: string) => z.number({ error: `${what} must be a number` }).positive(`${what} must be greater than 0`);

/** The model config of a file: the fields of ModelConfig, each defaulting to PyTorch-GAN's (DEFAULT_MODEL). */
const ModelConfigFields = z
  .object({
    preset: z.enum(['pytorch-gan', 'official'], { error: 'preset must be "pytorch-gan" or "official"' }).default(DEFAULT_MODEL.preset),
    imageSize: posInt('imageSize').default(DEFAULT_MODEL.imageSize),
    channels: z.literal(3, { error: 'channels must be 3 (RGB)' }).default(3),
    official: z
      .object({
        netG: z.enum(['unet_128', 'unet_256']),
        whereAdd: z.enum(['all', 'input']),
        norm: z.enum(['instance', 'batch', 'none']),
        dropout: z.boolean(),
        netE: z.enum(['resnet_128', 'resnet_256', 'conv_128', 'conv_256']),
        netD: z.enum(['basic_128_multi', 'basic_256_multi']),
        numDs: posInt('official.numDs'),
        conditionalD: z.boolean(),
        sameD: z.boolean(),
        inputChannels: z.union([z.literal(1), z.literal(3)], { error: 'official.inputChannels must be 1 or 3' }),
      })
      .partial()
      .strict()
      .optional(),
    latentDim: posInt('latentDim').default(DEFAULT_MODEL.latentDim),
    gBase: posInt('gBase').default(DEFAULT_MODEL.gBase),
    eBase: posInt('eBase').default(DEFAULT_MODEL.eBase),
    dBase: posInt('dBase').default(DEFAULT_MODEL.dBase),
    bnEpsG: eps('bnEpsG').default(DEFAULT_MODEL.bnEpsG),
    bnEpsD: eps('bnEpsD').default(DEFAULT_MODEL.bnEpsD),
    bnEpsE: eps('bnEpsE').default(DEFAULT_MODEL.bnEpsE),
  });

/** The checks across fields, and the official options completed by image size. */
const finish = <S extends typeof ModelConfigFields>(o: S) =>
  o.superRefine((c, ctx) => {
    if (c.preset === 'pytorch-gan' && c.official) ctx.addIssue({ code: 'custom', path: ['official'], message: 'is for the official preset (preset "official")' });
    if (c.preset === 'pytorch-gan' && c.imageSize % 128 !== 0) ctx.addIssue({ code: 'custom', path: ['imageSize'], message: 'imageSize must be a multiple of 128 (the U-Net halves it 7 times)' });
  })
  .transform((c): ModelConfig => (c.preset === 'official' ? { ...c, official: officialNets(c.imageSize, c.official) } : (c as ModelConfig)));

export const ModelConfigSchema = finish(ModelConfigFields.strict() as unknown as typeof ModelConfigFields);
const LooseModelConfigSchema = finish(ModelConfigFields.loose() as unknown as typeof ModelConfigFields);

/** Validate a model config (JSON-parsed); the error names `source` and every bad field. `strict` (default):
 * unknown fields are errors (a config the user writes); else kept (a file written by a newer version). */
export function parseModelConfig(input: unknown, source: string, strict = true): ModelConfig {
  const r = (strict ? ModelConfigSchema : LooseModelConfigSchema).safeParse(input);
  if (r.success) return r.data;
  const issues = r.error.issues.map((i) => (i.code === 'unrecognized_keys' ? `unknown field(s) ${i.keys.join(', ')}` : `${i.path.join('.') || 'config'}: ${i.message}`));
  throw new Error(`${source}: invalid model config:\n  ${issues.join('\n  ')}`);
}

export type ModelFileKind = 'checkpoint' | 'weights' | 'inference' | 'state_dict';

export interface ModelFile {
  path: string;
  kind: ModelFileKind;
  /** inference files: how the weights are stored */
  storage?: Storage;
  cfg: ModelConfig;
  parsed: Safetensors;
  /** the file's bytes; a state_dict's are rewritten as a weights file (our metadata, same tensors) */
  bytes: Uint8Array;
  /** size of the file on disk */
  fileBytes: number;
}

function readJson(path: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`${what} ${path}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${what} ${path}: not valid JSON (${(e as Error).message})`);
  }
}

/** Read any model file, or a shipped model by name (src/infer/zoo.ts); `modelConfig` (a JSON file) gives the
 * config of a PyTorch state_dict. */
export function readModelFile(arg: string, o: { modelConfig?: string } = {}): ModelFile {
  const path = modelPathOf(arg);
  const raw = readCheckpointFile(path);
  let parsed: Safetensors;
  try {
    parsed = parseSafetensors(raw);
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
  const m = parsed.metadata;
  if (m.config === undefined) {
    if (!o.modelConfig) throw new Error(`${path}: no model config in the metadata (a PyTorch state_dict?): pass --model-config config.json (fields of ModelConfig; missing ones default to PyTorch-GAN's)`);
    const cfg = parseModelConfig(readJson(o.modelConfig, '--model-config'), `--model-config ${o.modelConfig}`);
    const entries = [...parsed.tensors].map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape, data: t.data }));
    const bytes = serializeSafetensors(entries, { ...m, format: FORMAT, config: JSON.stringify(cfg) });
    return { path, kind: 'state_dict', cfg, parsed, bytes, fileBytes: raw.length };
  }
  if (o.modelConfig) throw new Error(`${path} has its own model config; --model-config is for a PyTorch state_dict without one`);
  let stored: unknown;
  try {
    stored = JSON.parse(m.config);
  } catch (e) {
    throw new Error(`${path}: metadata config is not valid JSON (${(e as Error).message})`);
  }
  const cfg = parseModelConfig(stored, `${path}: metadata config`, false);
  if (m.format === INFER_FORMAT) return { path, kind: 'inference', storage: m.storage as Storage, cfg, parsed, bytes: raw, fileBytes: raw.length };
  const training = m.train !== undefined || [...parsed.tensors.keys()].some((n) => n.startsWith('adam.'));
  return { path, kind: training ? 'checkpoint' : 'weights', cfg, parsed, bytes: raw, fileBytes: raw.length };
}

/** Trainable parameters per network as the training model counts them. For an inference file, from its layer
 * plan: BatchNorm is folded into the convs there, so its gamma and beta are counted back (and the folded bias
 * only where the PyTorch layer has one), which gives the checkpoint's numbers. */
export function parameterCounts(f: Pick<ModelFile, 'kind' | 'cfg' | 'parsed'>): Record<'G' | 'E' | 'D_VAE' | 'D_LR', number> {
  const counts = { G: 0, E: 0, D_VAE: 0, D_LR: 0 };
  if (f.kind === 'inference') {
    const nets = (f.parsed.metadata.nets ?? 'G').split(',') as ('G' | 'E')[];
    for (const net of nets)
      for (const s of planOf(net, f.cfg)) counts[net] += s.torchShape.reduce((a, b) => a * b, 1) + (s.bias ? s.OC : 0) + (s.bn ? 2 * s.OC : 0);
    return counts;
  }
  for (const [name, t] of f.parsed.tensors) {
    if (name.startsWith('adam.') || /\.(running_mean|running_var|num_batches_tracked)$/.test(name)) continue;
    counts[netOfTensor(name)] += sizeOf(t.shape);
  }
  return counts;
}

/** The options `sample` and `eval` take for a model file: its bytes, and for an inference file its own engine
 * and the statistics folded into it; other kinds run on `engines` (the --workers choice). */
export function modelRunOptions(f: ModelFile, engines: EngineFactory, report: (msg: string) => void, threads = 1): ModelRunOptions {
  if (f.kind !== 'inference') return { bytes: f.bytes, createEngine: engines, report };
  return { bytes: f.bytes, createEngine: inferenceEngine(f, threads, report), report, folded: f.parsed.metadata.bn_stats === 'recalibrated' ? 'recalibrated' : 'running' };
}

/** `sample` on an inference file: the TrainEngine calls sample() makes (generate, encode), run by the inference
 * API on this thread (or split over `threads`); the file's weights stay compressed. */
export function inferenceEngine(f: ModelFile, threads = 1, report: (msg: string) => void = () => {}): EngineFactory {
  return async (o) => {
    const hasE = (f.parsed.metadata.nets ?? 'G').split(',').includes('E');
    const m = await BicycleGANInference.create({ weights: f.bytes, build: o.build as Build | 'auto', encoder: hasE, threads, onWarning: report });
    const S = m.cfg.imageSize, per = S * S * m.cfg.channels, L = m.cfg.latentDim;
    const refuse = (what: string) => () => {
      throw new Error(`${f.path}: an inference file cannot ${what}; use a training checkpoint`);
    };
    const engine: TrainEngine = {
      get model(): never {
        throw new Error(`${f.path}: an inference file has no training model (its BatchNorm statistics are folded in)`);
      },
      recalibrationPass: async () => refuse('be recalibrated (its BatchNorm statistics are folded in)')(),
      cfg: m.cfg,
      batch: 1,
      steps: 0,
      setBatch: refuse('train'),
      step: async () => refuse('train')(),
      checkpoint: refuse('be checkpointed'),
      restore: () => null,
      async generate(rgb, z, n) {
        // A arrives as RGB model images; a 1-channel G (official input_nc 1) takes their luma
        const images = inputChannelsOf(m.cfg) === 1 ? lumaOf(rgb) : rgb, perA = S * S * inputChannelsOf(m.cfg);
        const out = new Float32Array(n * per);
        for (let i = 0; i < n; i++) m.generate(images.subarray(i * perA, (i + 1) * perA), z.subarray(i * L, (i + 1) * L), out.subarray(i * per, (i + 1) * per));
        return out;
      },
      async encode(images, n) {
        if (!m.hasEncoder) throw new Error(`${f.path}: this inference file has no encoder (convert it with the encoder) for the encoded-z output`);
        const out = new Float32Array(n * L);
        for (let i = 0; i < n; i++) out.set(m.encodeInput(images.subarray(i * per, (i + 1) * per)).mu, i * L);
        return out;
      },
      async close() {
        await m.dispose();
      },
    };
    return engine;
  };
}
