// `bicyclegan info`: a model file's kind (checkpoint, weights, inference f32/f16/int8, PyTorch state_dict),
// model config, training state (step, epoch, Adam steps, training options) and trainable parameter counts per
// network (as the training model counts them, for every kind; no model is built).
import { parseMetadataJson, RecalibratedMetaSchema, TrainStateSchema } from '../train/checkpoint-schema.js';
import type { TrainState } from '../train/checkpoint.js';
import { parameterCounts, type ModelFile } from './model-file.js';

export function checkpointInfo(f: ModelFile, json: boolean): string {
  const p = f.parsed;
  // checked like a load: a malformed field is an error naming the file and the field
  const train = p.metadata.train ? (parseMetadataJson(p.metadata.train, TrainStateSchema, 'train', f.path) as TrainState) : null;
  const counts = parameterCounts(f);
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const hasAdam = [...p.tensors.keys()].some((n) => n.startsWith('adam.'));
  const resumable = hasAdam && Boolean(train?.extra?.loader);
  const recal = p.metadata.recalibrated ? (parseMetadataJson(p.metadata.recalibrated, RecalibratedMetaSchema, 'recalibrated', f.path) as { step: number; batches: number; batchSize: number }) : null;
  const bnStats = f.kind === 'inference' ? `${p.metadata.bn_stats ?? 'running'} statistics folded into the convs`
    : recal ? `recalibrated for step ${recal.step} over ${recal.batches} batches of ${recal.batchSize} (used by sample, eval, convert), and running`
    : 'running only (bicyclegan recalibrate adds recalibrated ones)';
  const kind = f.kind === 'inference' ? `inference (${f.storage}, ${p.metadata.nets ?? 'G'})` : f.kind;
  if (json)
    return JSON.stringify({ file: f.path, bytes: f.fileBytes, kind: f.kind, storage: f.storage ?? null, format: p.metadata.format ?? null, config: f.cfg, train: train && { steps: train.steps, epoch: train.epoch, adamSteps: train.adamSteps, options: train.extra?.config ?? null }, parameters: { ...counts, total }, tensors: p.tensors.size, resumable, recalibrated: recal }, null, 2);
  const fmt = (n: number) => n.toLocaleString('en-US');
  const lines = [
    `${f.path}: ${(f.fileBytes / 1e6).toFixed(2)} MB, ${kind}, ${p.tensors.size} tensors, format ${p.metadata.format ?? '(none)'}`,
    `model: ${Object.entries(f.cfg).map(([k, v]) => (v !== null && typeof v === 'object' ? `${k} {${Object.entries(v).map(([a, b]) => `${a} ${b}`).join(', ')}}` : `${k} ${v}`)).join(', ')}${f.kind === 'state_dict' ? ' (from --model-config)' : ''}`,
  ];
  if (train) {
    lines.push(`training: step ${train.steps}, epoch ${train.epoch}, Adam steps ${Object.entries(train.adamSteps ?? {}).map(([k, v]) => `${k} ${v}`).join(' ')}`);
    const o = train.extra?.config as Record<string, unknown> | undefined;
    if (o) lines.push(`options: data ${o.data}, direction ${o.direction}, batch ${o.batch}, seed ${o.seed}, lr ${o.lr} (${o.lrPolicy}), lambdas pixel ${o.lambdaPixel} latent ${o.lambdaLatent} kl ${o.lambdaKl}`);
  } else lines.push('training: none (weights only)');
  lines.push(`parameters: G ${fmt(counts.G)}, E ${fmt(counts.E)}, D_VAE ${fmt(counts.D_VAE)}, D_LR ${fmt(counts.D_LR)}; total ${fmt(total)}`);
  lines.push(`resumable: ${resumable ? 'yes' : 'no'}`);
  lines.push(`BatchNorm statistics: ${bnStats}`);
  return lines.join('\n');
}
