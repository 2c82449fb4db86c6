// The one training configuration schema, shared by the CLI flags, a JSON config file and the API
// (Trainer). Every field has a default except `data`; bad values are errors naming the field (and its flag).
import { z } from 'zod';
import { show } from '../core/show.js';
import { officialNets, type OfficialNets } from '../models/config.js';
import { unetDepth } from '../models/official/generator.js';

/** Default number of recalibration batches (measured: see the README's BatchNorm statistics section). */
export const RECAL_BATCHES = 25;

const posInt = (what: string) => z.number({ error: `${what} must be a number` }).int(`${what} must be a whole number`).positive(`${what} must be at least 1`);
const num = (what: string) => z.number({ error: `${what} must be a number` });
const nonNegInt = (what: string) => z.number({ error: `${what} must be a number` }).int(`${what} must be a whole number`).nonnegative(`${what} must be 0 or more`);

export const TrainConfigSchema = z
  .object({
    /** dataset root (pix2pix aligned: <data>/train/*.jpg|png, A|B side by side) or the train folder itself */
    data: z.string({ error: 'data must be a path to a dataset folder' }).min(1, 'data must be a path to a dataset folder'),
    /** AtoB: left half is the condition; BtoA: right half (facades and edges2shoes as shipped here: BtoA) */
    direction: z.enum(['AtoB', 'BtoA'], { error: 'direction must be AtoB or BtoA' }).default('AtoB'),
    /** output folder: checkpoints/, samples/, losses.jsonl, losses.html */
    out: z.string().min(1).default('runs/train'),
    /** epochs to train; with `steps` set too, training stops at whichever comes first; neither: 1 epoch */
    epochs: posInt('epochs').optional(),
    /** step budget (total steps, counting from step 0, also on resume) */
    steps: posInt('steps').optional(),
    batch: posInt('batch').default(8),
    seed: nonNegInt('seed').max(2 ** 32 - 1, 'seed must be at most 4294967295 (2^32 - 1)').default(0),
    lr: num('lr').positive('lr must be greater than 0').default(2e-4),
    beta1: num('beta1').min(0, 'beta1 must be 0 or more').max(0.999999, 'beta1 must be below 1').default(0.5),
    beta2: num('beta2').min(0, 'beta2 must be 0 or more').max(0.999999999, 'beta2 must be below 1').default(0.999),
    /** constant, or linear decay to 0 over the epochs after `decayAfter` */
    lrPolicy: z.enum(['constant', 'linear'], { error: 'lrPolicy must be constant or linear' }).default('constant'),
    decayAfter: nonNegInt('decayAfter').default(0),
    lambdaPixel: num('lambdaPixel').nonnegative('lambdaPixel must be 0 or more').default(10),
    lambdaLatent: num('lambdaLatent').nonnegative('lambdaLatent must be 0 or more').default(0.5),
    lambdaKl: num('lambdaKl').nonnegative('lambdaKl must be 0 or more').default(0.01),
    /** pytorch-gan (PyTorch-GAN's networks and step) or official (the authors' junyanz/BicycleGAN) */
    preset: z.enum(['pytorch-gan', 'official'], { error: 'preset must be pytorch-gan or official' }).default('pytorch-gan'),
    // the official preset's network options (models/config.ts OfficialNets); errors with the pytorch-gan preset
    netG: z.enum(['unet_128', 'unet_256'], { error: 'netG must be unet_128 or unet_256' }).optional(),
    whereAdd: z.enum(['all', 'input'], { error: 'whereAdd must be all or input' }).optional(),
    norm: z.enum(['instance', 'batch', 'none'], { error: 'norm must be instance, batch or none' }).optional(),
    dropout: z.boolean().optional(),
    netE: z.enum(['resnet_128', 'resnet_256', 'conv_128', 'conv_256'], { error: 'netE must be resnet_128, resnet_256, conv_128 or conv_256' }).optional(),
    netD: z.enum(['basic_128_multi', 'basic_256_multi'], { error: 'netD must be basic_128_multi or basic_256_multi' }).optional(),
    numDs: posInt('numDs').max(4, 'numDs must be at most 4').optional(),
    conditionalD: z.boolean().optional(),
    sameD: z.boolean().optional(),
    /** channels of A: 1 reads the input as luma (edges datasets, the authors' --input_nc 1) */
    inputNc: z.union([z.literal(1), z.literal(3)], { error: 'inputNc must be 1 or 3' }).optional(),
    imageSize: posInt('imageSize').refine((v) => v % 128 === 0, 'imageSize must be a multiple of 128 (the U-Net halves it 7 times)').default(128),
    /** resize each half to this side, then random-crop imageSize; default: no crop (pytorch-gan), or the official
     * 286 -> 256 ratio (143 at 128 px) for the official preset */
    loadSize: posInt('loadSize').optional(),
    flip: z.boolean().default(true),
    latentDim: posInt('latentDim').default(8),
    gBase: posInt('gBase').default(64),
    eBase: posInt('eBase').default(64),
    dBase: posInt('dBase').default(64),
    /** worker threads for the step (1 = this thread); default: number of cores */
    workers: posInt('workers').optional(),
    /** how worker threads share a step: batch (shards of the rows), branch (the pytorch-gan step's two branches
     * on 2 workers), auto (branch at batch 1 and 2, else batch) */
    parallel: z.enum(['auto', 'batch', 'branch'], { error: 'parallel must be auto, batch or branch' }).default('auto'),
    build: z.enum(['auto', 'simd', 'relaxed'], { error: 'build must be auto, simd or relaxed' }).default('auto'),
    skipBad: z.boolean().default(false),
    checkpointEvery: nonNegInt('checkpointEvery').default(500),
    /** checkpoints kept (the newest K) */
    keep: posInt('keep').default(3),
    sampleEvery: nonNegInt('sampleEvery').default(500),
    /** images in a sample grid (columns) and random-z rows */
    sampleImages: posInt('sampleImages').max(64, 'sampleImages must be at most 64').default(4),
    sampleZ: posInt('sampleZ').max(32, 'sampleZ must be at most 32').default(3),
    /** BatchNorm recalibration before each sample grid and at the end: batches of `batch` training pairs
     * (0: none; grids then use the raw running statistics). See recalibrate.ts. */
    recalBatches: nonNegInt('recalBatches').max(10000, 'recalBatches must be at most 10000').default(RECAL_BATCHES),
    logEvery: posInt('logEvery').default(10),
    /** continue from this checkpoint, or 'latest' = newest in <out>/checkpoints */
    resume: z.string().min(1).optional(),
    /** decoded batches kept ready ahead of the step */
    prefetch: nonNegInt('prefetch').max(64, 'prefetch must be at most 64').default(2),
    /** seconds a data-parallel step may take before a worker that has not answered counts as hung: the pool is
     * shut down and train() fails naming it (the last checkpoint stays); 0 = no limit. A full-size step on one
     * thread takes tens of seconds on a loaded machine, so the default leaves an order of magnitude. */
    stepTimeout: nonNegInt('stepTimeout').default(600),
  })
  .strict()
  .superRefine((c, ctx) => {
    const set = OFFICIAL_FIELDS.filter((k) => c[k] !== undefined);
    if (c.preset === 'official' && c.parallel === 'branch')
      ctx.addIssue({ code: 'custom', path: ['parallel'], message: 'branch splits the pytorch-gan step (the official preset trains on one thread)' });
    if (c.preset === 'pytorch-gan') {
      for (const k of set) ctx.addIssue({ code: 'custom', path: [k], message: `is an option of the official preset (add --preset official)` });
    } else {
      const nets = officialNets(c.imageSize, officialOverrides(c));
      const D = unetDepth(nets.netG);
      if (c.imageSize % 2 ** D !== 0)
        ctx.addIssue({ code: 'custom', path: ['imageSize'], message: `imageSize must be a multiple of ${2 ** D} for netG ${nets.netG} (it halves the image ${D} times)` });
      const depthE = nets.netE.endsWith('128') ? 4 : 5;
      if (Math.floor(c.imageSize / 2 ** depthE / 8) !== 1)
        ctx.addIssue({ code: 'custom', path: ['netE'], message: `${nets.netE} takes ${depthE === 4 ? '128..255' : '256..511'} px images (AvgPool2d(8) into its Linear heads), not ${c.imageSize}` });
      if (c.batch % 2 !== 0) ctx.addIssue({ code: 'custom', path: ['batch'], message: 'must be even for the official preset (half the batch to each branch)' });
    }
    if (c.loadSize !== undefined && c.loadSize < c.imageSize)
      ctx.addIssue({ code: 'custom', path: ['loadSize'], message: `loadSize (${c.loadSize}) must be at least imageSize (${c.imageSize})` });
    if (c.lrPolicy === 'linear' && c.epochs === undefined)
      ctx.addIssue({ code: 'custom', path: ['lrPolicy'], message: 'lrPolicy linear decays over the epochs: give epochs too' });
    else if (c.lrPolicy === 'linear' && c.decayAfter >= c.epochs!)
      ctx.addIssue({ code: 'custom', path: ['decayAfter'], message: `decayAfter (${c.decayAfter}) must be below epochs (${c.epochs}) for lrPolicy linear` });
  });

export type TrainConfigInput = z.input<typeof TrainConfigSchema>;

/** Fields that exist only in the official preset. */
const OFFICIAL_FIELDS = ['netG', 'whereAdd', 'norm', 'dropout', 'netE', 'netD', 'numDs', 'conditionalD', 'sameD', 'inputNc'] as const;

/** The official network options a config sets (the rest default by image size). */
export function officialOverrides(c: Partial<Record<(typeof OFFICIAL_FIELDS)[number], unknown>>): Partial<OfficialNets> {
  // inputNc is the authors' name of OfficialNets.inputChannels
  return Object.fromEntries(OFFICIAL_FIELDS.filter((k) => c[k] !== undefined).map((k) => [k === 'inputNc' ? 'inputChannels' : k, c[k]])) as Partial<OfficialNets>;
}
export type TrainConfig = z.output<typeof TrainConfigSchema>;

/** Field name -> how the user spells it (a CLI flag); messages name both. */
export type FieldNames = (field: string) => string;

export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`invalid configuration:\n  ${issues.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Validate a config object (merged from file and flags) against a command's schema; throws ConfigError
 * listing every problem, each named as the user spells it (`name`: field -> flag). */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown, name: FieldNames = (f) => f): z.output<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  throw new ConfigError(r.error.issues.map((i) => formatIssue(i, input, name)));
}

export const parseTrainConfig = (input: unknown, name?: FieldNames): TrainConfig => parseWith(TrainConfigSchema, input, name);

export function formatIssue(i: z.core.$ZodIssue, input: unknown, name: FieldNames): string {
  if (i.code === 'unrecognized_keys') return `unknown option${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => name(k)).join(', ')}`;
  const field = i.path.join('.');
  const got = i.path.length ? (input as Record<string, unknown>)?.[String(i.path[0])] : undefined;
  const shown = got === undefined ? '' : ` (got ${typeof got === 'number' ? String(got) : show(got)})`;
  let msg = i.message;
  if (i.code === 'invalid_type' && got === undefined) msg = field === 'data' ? 'required: the dataset folder' : 'required';
  return `${name(field)}: ${msg}${shown}`;
}

/** The effective loadSize: as given, else the official data defaults (load 286, crop 256: the same ratio at 128,
 * 143) for the official preset, no crop for pytorch-gan. */
export function loadSizeOf(c: Pick<TrainConfig, 'loadSize' | 'imageSize' | 'preset'>): number {
  return c.loadSize ?? (c.preset === 'official' ? Math.round((c.imageSize * 286) / 256) : c.imageSize);
}

/** Total steps of a run for a dataset of `stepsPerEpoch` batches. */
export function totalSteps(c: TrainConfig, stepsPerEpoch: number): number {
  if (c.steps !== undefined && c.epochs === undefined) return c.steps;
  return Math.min(c.steps ?? Infinity, (c.epochs ?? 1) * stepsPerEpoch);
}

/** Learning rate for an epoch (0-based): constant, or linear decay to 0 after `decayAfter` epochs (pix2pix's 'linear'). */
export function lrAt(c: TrainConfig, epoch: number): number {
  if (c.lrPolicy === 'constant') return c.lr;
  const n = (c.epochs ?? 1) - c.decayAfter;
  return c.lr * (1 - Math.max(0, epoch + 1 - c.decayAfter) / (n + 1));
}
