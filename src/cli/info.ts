// `bicyclegan info`: a checkpoint's model config, training state (step, epoch, Adam steps, training options)
// and trainable parameter counts per network, counted from the tensors in the file (no model is built).
import { sizeOf, type Safetensors } from '../core/safetensors.js';
import { RECALIBRATED_PREFIX } from '../nn/batchnorm.js';
import { parseMetadataJson, RecalibratedMetaSchema, StoredModelConfigSchema, TrainStateSchema } from '../train/checkpoint-schema.js';
import type { TrainState } from '../train/checkpoint.js';

function netOf(name: string): string {
  if (name.startsWith('D_VAE.')) return 'D_VAE';
  if (name.startsWith('D_LR.')) return 'D_LR';
  if (/^(feature_extractor|fc_mu|fc_logvar)\./.test(name)) return 'E';
  return 'G';
}

export function parameterCounts(p: Safetensors): Record<string, number> {
  const counts: Record<string, number> = { G: 0, E: 0, D_VAE: 0, D_LR: 0 };
  for (const [name, t] of p.tensors) {
    if (name.startsWith('adam.') || name.startsWith(RECALIBRATED_PREFIX) || /\.(running_mean|running_var|num_batches_tracked)$/.test(name)) continue;
    counts[netOf(name)] += sizeOf(t.shape);
  }
  return counts;
}

export function checkpointInfo(file: string, bytes: number, p: Safetensors, json: boolean): string {
  // checked like a load: a malformed field is an error naming the file and the field
  const config = p.metadata.config ? parseMetadataJson(p.metadata.config, StoredModelConfigSchema, 'config', file) : null;
  const train = p.metadata.train ? (parseMetadataJson(p.metadata.train, TrainStateSchema, 'train', file) as TrainState) : null;
  const counts = parameterCounts(p);
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const hasAdam = [...p.tensors.keys()].some((n) => n.startsWith('adam.'));
  const recal = p.metadata.recalibrated ? (parseMetadataJson(p.metadata.recalibrated, RecalibratedMetaSchema, 'recalibrated', file) as { step: number; batches: number; batchSize: number }) : null;
  if (json) return JSON.stringify({ file, bytes, format: p.metadata.format ?? null, config, train: train && { steps: train.steps, epoch: train.epoch, adamSteps: train.adamSteps, options: train.extra?.config ?? null }, parameters: { ...counts, total }, tensors: p.tensors.size, resumable: hasAdam && Boolean(train?.extra?.loader), recalibrated: recal }, null, 2);
  const fmt = (n: number) => n.toLocaleString('en-US');
  const lines = [
    `${file}: ${(bytes / 1e6).toFixed(2)} MB, ${p.tensors.size} tensors, format ${p.metadata.format ?? '(none)'}`,
    `model: ${config ? Object.entries(config).map(([k, v]) => `${k} ${v}`).join(', ') : '(no config in metadata)'}`,
  ];
  if (train) {
    lines.push(`training: step ${train.steps}, epoch ${train.epoch}, Adam steps ${Object.entries(train.adamSteps ?? {}).map(([k, v]) => `${k} ${v}`).join(' ')}`);
    const o = train.extra?.config as Record<string, unknown> | undefined;
    if (o) lines.push(`options: data ${o.data}, direction ${o.direction}, batch ${o.batch}, seed ${o.seed}, lr ${o.lr} (${o.lrPolicy}), lambdas pixel ${o.lambdaPixel} latent ${o.lambdaLatent} kl ${o.lambdaKl}`);
  } else lines.push('training: none (weights only)');
  lines.push(`parameters: G ${fmt(counts.G)}, E ${fmt(counts.E)}, D_VAE ${fmt(counts.D_VAE)}, D_LR ${fmt(counts.D_LR)}; total ${fmt(total)}`);
  lines.push(`resumable: ${hasAdam && train?.extra?.loader ? 'yes' : 'no'}`);
  lines.push(`BatchNorm statistics: ${recal ? `recalibrated for step ${recal.step} over ${recal.batches} batches of ${recal.batchSize} (used by sample, eval, convert), and running` : 'running only (bicyclegan recalibrate adds recalibrated ones)'}`);
  return lines.join('\n');
}
