// bicyclegan train | sample | info: the command line. Errors print one message (naming the file or option
// at fault) and exit 1; SIGINT/SIGTERM during training write a checkpoint first (exit 130/143); a second
// Ctrl-C quits at once. BICYCLEGAN_DEBUG=1 prints stacks.
import { existsSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { DataError } from '../data/decode.js';
import { ConfigError, parseTrainConfig } from '../train/config.js';
import { readCheckpointFile } from '../train/checkpoint-file.js';
import { checkpointTrainState } from '../train/checkpoint.js';
import { sample, parseSampleConfig } from '../train/sampling.js';
import { convertFile, parseConvertConfig } from './convert.js';
import { evalTable, evaluate, parseEvalConfig } from '../train/evaluate.js';
import { parseRecalibrateConfig, recalibrateCheckpoint } from '../train/recalibrate-file.js';
import { train } from '../train/trainer.js';
import { listCheckpoints } from '../train/run-files.js';
import { chooseEngine, defaultWorkers, engineFactory } from './engine-choice.js';
import { checkpointInfo } from './info.js';
import { modelRunOptions, readModelFile } from './model-file.js';
import { addFlags, flagName, mergedConfig, type FlagTable } from './options.js';
import { progressReporter } from './progress.js';
import { packageVersion } from './version.js';
import { stopOnSignals } from './signals.js';

const TRAIN_FLAGS: FlagTable = [
  ['data', 'string', 'dataset root (pix2pix aligned: <data>/train/*.jpg|png, A|B side by side) or a folder of pairs'],
  ['direction', 'string', 'AtoB (left half is the input) or BtoA (facades, edges2shoes as shipped: BtoA) [AtoB]'],
  ['out', 'string', 'output folder: checkpoints/, samples/, losses.jsonl, losses.html [runs/train]'],
  ['epochs', 'number', 'epochs to train (with --steps: whichever ends first; neither: 1)'],
  ['steps', 'number', 'total step budget'],
  ['batch', 'number', 'batch size [8]'],
  ['seed', 'number', 'seed of weights, noise and data order [0]'],
  ['lr', 'number', 'Adam learning rate [0.0002]'],
  ['beta1', 'number', 'Adam beta1 [0.5]'],
  ['beta2', 'number', 'Adam beta2 [0.999]'],
  ['lrPolicy', 'string', 'constant | linear (decay to 0 after --decay-after epochs) [constant]'],
  ['decayAfter', 'number', 'epochs at full LR before the linear decay [0]'],
  ['lambdaPixel', 'number', 'weight of the L1 image loss [10]'],
  ['lambdaLatent', 'number', 'weight of the latent regression loss [0.5]'],
  ['lambdaKl', 'number', 'weight of the KL loss [0.01]'],
  ['preset', 'string', "pytorch-gan (PyTorch-GAN's networks and step) | official (the authors' junyanz/BicycleGAN: z into every layer, InstanceNorm) [pytorch-gan]"],
  ['netG', 'string', 'official: unet_128 | unet_256 [by image size]'],
  ['whereAdd', 'string', 'official: where z enters G: all (every down block) | input [all]'],
  ['norm', 'string', 'official: instance | batch | none, in G, E and the Ds [instance]'],
  ['dropout', 'negate', "official: no dropout in G's 512-channel up blocks (on by default, as the authors' scripts)"],
  ['netE', 'string', 'official: resnet_128 | resnet_256 | conv_128 | conv_256 [resnet_<size>]'],
  ['netD', 'string', 'official: basic_128_multi | basic_256_multi [basic_<size>_multi]'],
  ['numDs', 'number', 'official: scales of each discriminator [2]'],
  ['conditionalD', 'bool', 'official: the discriminators see (A, B) instead of B'],
  ['sameD', 'bool', 'official: one discriminator for both branches'],
  ['inputNc', 'number', 'official: channels of the input A: 3, or 1 to read it as luma (edges) [3]'],
  ['imageSize', 'number', 'model image side: a multiple of 128 (official unet_256: 256) [128]'],
  ['loadSize', 'number', 'resize halves to this side, then random-crop --image-size [= image size]'],
  ['flip', 'negate', 'no random horizontal flips'],
  ['latentDim', 'number', 'latent code size [8]'],
  ['gBase', 'number', 'generator base width [64]'],
  ['eBase', 'number', 'encoder base width [64]'],
  ['dBase', 'number', 'discriminator base width [64]'],
  ['workers', 'number', `threads for the step; 1 = this thread [by model size, at most the cores (${defaultWorkers()}) and the batch: 1 for widths 16 at batch 4, all for widths 64]`],
  ['parallel', 'string', "how --workers share a step: batch (rows) | branch (the step's two branches, 2 workers) | auto (branch at batch 1 and 2) [auto]"],
  ['build', 'string', 'wasm build: auto | simd | relaxed [auto]'],
  ['skipBad', 'bool', 'report and skip unreadable or malformed images instead of stopping'],
  ['checkpointEvery', 'number', 'write a checkpoint every N steps (0: only at the end and on stop) [500]'],
  ['keep', 'number', 'checkpoints kept, newest first [3]'],
  ['sampleEvery', 'number', 'write a sample grid every N steps (0: only at the end) [500]'],
  ['sampleImages', 'number', 'images (columns) in a sample grid [4]'],
  ['sampleZ', 'number', 'random-z rows in a sample grid [3]'],
  ['recalBatches', 'number', 'BatchNorm recalibration batches before each sample grid and at the end (0: off) [25]'],
  ['logEvery', 'number', 'log line every N steps when not on a TTY [10]'],
  ['prefetch', 'number', 'batches decoded ahead [2]'],
  ['stepTimeout', 'number', 'seconds a step on worker threads may take before a worker counts as hung and training stops (0: no limit) [600]'],
];

const SAMPLE_FLAGS: FlagTable = [
  ['checkpoint', 'string', 'model to sample from: a checkpoint, weights or inference file (.safetensors), or a shipped model by name (edges2shoes-handbags)'],
  ['input', 'string', 'an image or a folder of images: pair files (A|B) or single condition images'],
  ['out', 'string', 'output folder [runs/samples]'],
  ['direction', 'string', 'AtoB | BtoA: which half of a pair file is the input [AtoB]'],
  ['reference', 'string', 'image whose style (encoded z) is applied to every input [the target half of each pair]'],
  ['n', 'number', 'random-z outputs per input [5]'],
  ['interp', 'number', 'images in the z interpolation strip (0: none) [8]'],
  ['seed', 'number', 'seed of the random codes [0]'],
  ['grid', 'negate', 'do not write grid.png'],
  ['individual', 'bool', 'also write every output as its own PNG'],
  ['skipBad', 'bool', 'report and skip unreadable inputs'],
  ['limit', 'number', 'use at most N inputs of a folder'],
  ['build', 'string', 'wasm build: auto | simd | relaxed [auto]'],
  ['bnStats', 'string', 'BatchNorm statistics: auto (recalibrated when the checkpoint has them, else running) | running | recalibrated | batch [auto]'],
  ['threads', 'number', "threads for one image (each layer's channels split over them; same outputs) with an inference file [1]"],
];

const RECALIBRATE_FLAGS: FlagTable = [
  ['checkpoint', 'string', 'checkpoint (.safetensors) whose G and E statistics to recalibrate'],
  ['data', 'string', 'dataset root or folder of pairs: the training pairs to average the statistics over'],
  ['out', 'string', 'write here instead of updating the checkpoint in place (atomically)'],
  ['direction', 'string', 'AtoB | BtoA [the direction the checkpoint was trained with]'],
  ['batches', 'number', 'batches averaged over [25]'],
  ['batch', 'number', "pairs per batch [the checkpoint's training batch]"],
  ['seed', 'number', 'seed of the batch order, flips and noise [0]'],
  ['workers', 'number', 'threads (the parallel engine sums the statistics over shards) [1]'],
  ['skipBad', 'bool', 'report and skip unreadable images'],
  ['build', 'string', 'wasm build: auto | simd | relaxed [auto]'],
];

const CONVERT_FLAGS: FlagTable = [
  ['to', 'string', 'inference (f32/f16/int8, BatchNorm folded) | checkpoint (our weights file) | state-dict (PyTorch names, no Adam) [inference]'],
  ['storage', 'string', 'f32 | f16 | int8 [f16]'],
  ['encoder', 'bool', 'keep the encoder [when the file has one]'],
  ['bnStats', 'string', 'BatchNorm statistics to fold: auto | running | recalibrated [auto: recalibrated when present]'],
  ['data', 'string', 'recalibrate the statistics on this dataset first (the input file is not changed)'],
  ['batches', 'number', 'recalibration batches, with --data [25]'],
  ['batch', 'number', "recalibration batch size, with --data [the checkpoint's training batch]"],
  ['direction', 'string', 'AtoB | BtoA, with --data [the checkpoint\'s]'],
  ['modelConfig', 'string', 'JSON file with the model config, for a PyTorch state_dict without our metadata'],
  ['chunkFloats', 'number', 'cap on one weight chunk in floats [524288]'],
  ['build', 'string', 'wasm build: auto | simd | relaxed [auto]'],
];

const EVAL_FLAGS: FlagTable = [
  ['checkpoint', 'string', 'model to evaluate: a checkpoint, weights or inference file, or a shipped model by name'],
  ['input', 'string', 'held-out pairs: a folder of pair files, or a dataset root (its test/ or val/ split)'],
  ['direction', 'string', 'AtoB | BtoA [the direction the checkpoint was trained with]'],
  ['n', 'number', 'random-z outputs per input [20]'],
  ['batch', 'number', 'inputs per batch for per-batch statistics [4]'],
  ['limit', 'number', 'use at most N inputs'],
  ['seed', 'number', 'seed of the random codes [0]'],
  ['out', 'string', 'folder for eval.json and grid-<stats>.png'],
  ['json', 'bool', 'print JSON instead of the table'],
  ['build', 'string', 'wasm build: auto | simd | relaxed [auto]'],
];

const err = (s: string) => process.stderr.write(s + '\n');

/** The training options stored in the checkpoint a --resume names: the defaults of the resumed run (null when
 * there are none). A file that exists but cannot be read or fails its metadata checks is reported here, naming
 * it and the field. */
function storedOptions(resume: string, out: string): Record<string, unknown> | null {
  const path = resume === 'latest' ? listCheckpoints(out).pop()?.path : resume;
  if (!path || !existsSync(path)) return null; // the trainer reports the missing checkpoint
  const st = checkpointTrainState(readCheckpointFile(path), path);
  if (!st) throw new Error(`${path}: no training state in the checkpoint (a weights-only file cannot be resumed)`);
  const stored = st.extra?.config as Record<string, unknown> | undefined;
  if (stored === undefined) return null;
  if (stored === null || typeof stored !== 'object' || Array.isArray(stored)) throw new Error(`${path}: metadata train.extra.config: must be an object of training options`);
  const { resume: _r, ...rest } = stored;
  void _r;
  return rest;
}

async function trainCommand(cmd: Command): Promise<number> {
  let raw = mergedConfig(cmd, TRAIN_FLAGS);
  if (cmd.opts().resume !== undefined) raw.resume = cmd.opts().resume === true ? 'latest' : cmd.opts().resume;
  const stored = typeof raw.resume === 'string' ? storedOptions(raw.resume, typeof raw.out === 'string' ? raw.out : 'runs/train') : null;
  if (stored) raw = { ...stored, ...raw };
  const parsed = parseTrainConfig(raw, flagName);
  const c = { ...parsed, ...chooseEngine(parsed, stored, err) }; // stored in the checkpoints: resume needs both
  const stop = stopOnSignals(err);
  const rep = progressReporter({ tty: Boolean(process.stderr.isTTY), logEvery: c.logEvery });
  try {
    const r = await train(c, { signal: stop.signal, onEvent: rep.onEvent, createEngine: engineFactory((m) => rep.onEvent({ type: 'message', text: m })) });
    rep.stop();
    if (r.stopped) {
      err(`stopped at step ${r.steps}; resume with: --resume ${r.checkpoint ?? 'latest'}`);
      return stop.received === 'SIGTERM' ? 143 : 130;
    }
    err(`done: ${r.steps} steps; checkpoint ${r.checkpoint}; samples in ${r.out}/samples; losses ${r.out}/losses.html`);
    return 0;
  } finally {
    rep.stop();
    stop.dispose();
  }
}

async function sampleCommand(cmd: Command): Promise<number> {
  const raw = mergedConfig(cmd, SAMPLE_FLAGS);
  const threads = raw.threads ?? 1;
  delete raw.threads; // the inference engine's option, not the sampling schema's
  if (typeof threads !== 'number' || !Number.isInteger(threads) || threads < 1 || threads > 64)
    throw new ConfigError([`--threads: must be an integer in 1..64 (got ${JSON.stringify(threads)})`]);
  const c = parseSampleConfig(raw, flagName);
  const f = readModelFile(c.checkpoint, { modelConfig: cmd.opts().modelConfig });
  if (threads > 1 && f.kind !== 'inference')
    throw new ConfigError([`--threads: ${c.checkpoint} is a ${f.kind.replace('_', ' ')} file; threads run an inference file (make one with \`bicyclegan convert ${c.checkpoint} model.safetensors\`)`]);
  const r = await sample(c, modelRunOptions(f, engineFactory(err), err, threads));
  for (const w of r.written.filter((p) => p.endsWith('grid.png'))) err(`wrote ${w}`);
  err(`${r.written.length} file${r.written.length === 1 ? '' : 's'} written to ${c.out} (${r.bnStats} BatchNorm statistics)${r.skipped.length ? `, ${r.skipped.length} input(s) skipped` : ''}`);
  return 0;
}

async function recalibrateCommand(cmd: Command): Promise<number> {
  const r = await recalibrateCheckpoint(parseRecalibrateConfig(mergedConfig(cmd, RECALIBRATE_FLAGS), flagName), { report: err, createEngine: engineFactory(err) });
  err(`recalibrated the BatchNorm statistics of G and E over ${r.stats.batches} batches of ${r.stats.batchSize} (${r.pairs} pairs, ${r.seconds.toFixed(1)} s): wrote ${r.path}`);
  return 0;
}

async function convertCommand(cmd: Command, input: string, output: string): Promise<number> {
  const r = await convertFile(parseConvertConfig({ ...mergedConfig(cmd, CONVERT_FLAGS), input, output }, flagName), { report: err, createEngine: engineFactory(err) });
  err(`${r.path}: ${r.summary}, ${(r.outBytes / 2 ** 20).toFixed(2)} MiB (from ${(r.inBytes / 2 ** 20).toFixed(2)} MiB)`);
  return 0;
}

async function evalCommand(cmd: Command): Promise<number> {
  const raw = mergedConfig(cmd, EVAL_FLAGS);
  const json = raw.json === true;
  delete raw.json;
  if (typeof cmd.opts().bnStats === 'string') raw.bnStats = String(cmd.opts().bnStats).split(',').map((v) => v.trim());
  const c = parseEvalConfig(raw, flagName);
  const f = readModelFile(c.checkpoint, { modelConfig: cmd.opts().modelConfig });
  const r = await evaluate(c, modelRunOptions(f, engineFactory(err), err));
  process.stdout.write((json ? JSON.stringify(r, null, 2) : evalTable(r)) + '\n');
  return 0;
}

export function program(): Command {
  const p = new Command('bicyclegan')
    .description('BicycleGAN (multimodal image-to-image translation) on the CPU: train, sample, evaluate, recalibrate, convert, inspect checkpoints')
    .showHelpAfterError('(add --help for the options)')
    .version(packageVersion(), '-V, --version', 'print the version')
    .exitOverride();
  const t = p.command('train').description('train on a pix2pix-style aligned dataset').option('--config <file.json>', 'JSON file of options (flags given here override it)');
  addFlags(t, TRAIN_FLAGS).option('--resume [checkpoint]', 'continue a run from a checkpoint (no value: the newest in <out>/checkpoints)').exitOverride();
  t.action(async () => {
    process.exitCode = await trainCommand(t);
  });
  const s = p.command('sample').description('random-z, encoded-z and interpolated outputs for input images').option('--config <file.json>', 'JSON file of options')
    .option('--model-config <file.json>', 'model config of a PyTorch state_dict (--checkpoint without our metadata); missing fields: PyTorch-GAN defaults');
  addFlags(s, SAMPLE_FLAGS).exitOverride();
  s.action(async () => {
    process.exitCode = await sampleCommand(s);
  });
  const r = p.command('recalibrate')
    .description("recompute a checkpoint's G and E BatchNorm statistics over training pairs (for eval-mode sampling and inference files)")
    .option('--config <file.json>', 'JSON file of options');
  addFlags(r, RECALIBRATE_FLAGS).exitOverride();
  r.action(async () => {
    process.exitCode = await recalibrateCommand(r);
  });
  const cv = p.command('convert')
    .description('between model files: -> inference file (f32 | f16 | int8, BatchNorm folded), our weights file, or a PyTorch state_dict')
    .argument('<input>', 'checkpoint / weights / inference file / PyTorch state_dict (.safetensors; a state_dict needs --model-config)')
    .argument('<output>', 'file to write')
    .option('--config <file.json>', 'JSON file of options');
  addFlags(cv, CONVERT_FLAGS).option('--no-encoder', 'drop the encoder').exitOverride();
  cv.action(async (input: string, output: string) => {
    process.exitCode = await convertCommand(cv, input, output);
  });
  const ev = p.command('eval')
    .description('reconstruction (L1, PSNR, SSIM) and diversity of a checkpoint on held-out pairs')
    .option('--config <file.json>', 'JSON file of options')
    .option('--bn-stats <list>', 'comma-separated BatchNorm statistics to evaluate: running,recalibrated,batch [all three]')
    .option('--model-config <file.json>', 'model config of a PyTorch state_dict (--checkpoint without our metadata)');
  addFlags(ev, EVAL_FLAGS).exitOverride();
  ev.action(async () => {
    process.exitCode = await evalCommand(ev);
  });
  p.command('info')
    .description("print a model file's kind, model config, training state and parameter counts")
    .argument('<file>', 'checkpoint, weights, inference (f32/f16/int8) or PyTorch state_dict (.safetensors)')
    .option('--json', 'print JSON')
    .option('--model-config <file.json>', 'model config of a PyTorch state_dict')
    .exitOverride()
    .action((file: string, o: { json?: boolean; modelConfig?: string }) => {
      process.stdout.write(checkpointInfo(readModelFile(file, { modelConfig: o.modelConfig }), Boolean(o.json)) + '\n');
    });
  return p;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv, { from: 'user' });
    return Number(process.exitCode ?? 0);
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2; // commander printed the message
    if (e instanceof ConfigError || e instanceof DataError) err(`bicyclegan: ${e.message}`);
    else err(`bicyclegan: error: ${(e as Error)?.message ?? String(e)}`);
    if (process.env.BICYCLEGAN_DEBUG) err(String((e as Error)?.stack));
    return 1;
  }
}
