// BicycleGAN checkpoints as safetensors, with PyTorch-GAN's state_dict names and PyTorch layouts:
//   generator and encoder tensors unprefixed (fc.weight, down2.model.1.running_mean, feature_extractor.4.0.conv1.weight,
//   fc_mu.bias: the two name sets do not collide), discriminators under `D_VAE.` and `D_LR.`,
//   Adam state under `adam.<net>.<name>.exp_avg` / `.exp_avg_sq`; num_batches_tracked as I64; recalibrated
//   BatchNorm statistics of G and E (when computed for these weights) under `recalibrated.<name>` (recalibrate.ts).
// __metadata__: `format` (bicyclegan-wasm/1), `config` (model config JSON), `train` (steps, epoch, Adam steps,
// RNG state, trainer fields), `recalibrated` (step, batches, batch size) with those statistics.
// Bytes in, bytes out; the atomic file write is in checkpoint-file.ts.
import { checkTensors, parseSafetensors, serializeSafetensors, toF32, type TensorEntry } from '../core/safetensors.js';
import type { RngState } from '../core/rng.js';
import { Rng } from '../core/rng.js';
import type { ModelConfig } from '../models/config.js';
import type { ParamStore } from '../nn/params.js';
import type { BicycleGAN } from './bicyclegan.js';
import { evalStatsEntries, evalStatsMeta, evalStatsNames, RECAL_PREFIX } from './recalibrate.js';

export const FORMAT = 'bicyclegan-wasm/1';

export interface TrainState {
  steps: number;
  epoch: number;
  adamSteps: Record<string, number>;
  rng: RngState;
  /** trainer-owned state (data order position, schedule), opaque here */
  extra?: Record<string, unknown>;
}

export type NetName = 'G' | 'E' | 'D_VAE' | 'D_LR';
export const NET_PREFIX: Record<NetName, string> = { G: '', E: '', D_VAE: 'D_VAE.', D_LR: 'D_LR.' };

export function nets(m: BicycleGAN): Record<NetName, ParamStore> {
  return { G: m.G.g.store, E: m.E.g.store, D_VAE: m.D_VAE.g.store, D_LR: m.D_LR.g.store };
}

function entriesOf(store: ParamStore, prefix: string, withAdam: boolean, net: string): TensorEntry[] {
  const out = store.tensorEntries(prefix);
  if (withAdam) {
    for (const e of store.entries) {
      if (e.kind !== 'param') continue;
      out.push({ name: `adam.${net}.${e.name}.exp_avg`, dtype: 'F32', shape: e.shape, data: store.toTorch(e, 'm') });
      out.push({ name: `adam.${net}.${e.name}.exp_avg_sq`, dtype: 'F32', shape: e.shape, data: store.toTorch(e, 'v') });
    }
  }
  return out;
}

/** Serialise the whole training state (all four networks, Adam, RNG, counters). */
export function checkpointBytes(m: BicycleGAN, state: Omit<TrainState, 'adamSteps' | 'rng' | 'steps'> & Partial<TrainState>): Uint8Array {
  const all: TensorEntry[] = [];
  const s = nets(m);
  for (const net of Object.keys(s) as NetName[]) all.push(...entriesOf(s[net], NET_PREFIX[net], true, net));
  const train: TrainState = {
    steps: m.steps,
    epoch: state.epoch,
    adamSteps: { G: m.opt.G.step, E: m.opt.E.step, D_VAE: m.opt.D_VAE.step, D_LR: m.opt.D_LR.step },
    rng: m.rng.state(),
    extra: state.extra,
  };
  all.push(...evalStatsEntries(m));
  return serializeSafetensors(all, { format: FORMAT, config: JSON.stringify(m.cfg), train: JSON.stringify(train), ...evalStatsMeta(m) });
}

/** Only the networks' tensors (no Adam), e.g. for inference or PyTorch. `which` picks the networks. */
export function weightsBytes(m: BicycleGAN, which: NetName[] = ['G', 'E', 'D_VAE', 'D_LR']): Uint8Array {
  const s = nets(m);
  const all = which.flatMap((net) => entriesOf(s[net], NET_PREFIX[net], false, net));
  if (which.includes('G') && which.includes('E')) all.push(...evalStatsEntries(m));
  return serializeSafetensors(all, { format: FORMAT, config: JSON.stringify(m.cfg), ...evalStatsMeta(m) });
}

/** The model config stored in a checkpoint (to build a matching model before loading it). */
export function checkpointConfig(bytes: Uint8Array, source = 'checkpoint'): ModelConfig {
  const meta = parseSafetensors(bytes).metadata;
  if (!meta.config) throw new Error(`${source}: no model config in the safetensors metadata`);
  try {
    return JSON.parse(meta.config) as ModelConfig;
  } catch (e) {
    throw new Error(`${source}: metadata config is not valid JSON (${(e as Error).message})`);
  }
}

export interface LoadOptions {
  /** networks to load (default: all four) */
  nets?: NetName[];
  /** also restore Adam moments, step counters and the RNG (resume); default true when present */
  trainState?: boolean;
  source?: string;
}

/**
 * Load a checkpoint (ours, or a PyTorch state_dict saved as safetensors with the same names) into a model.
 * Every expected tensor must be present with PyTorch's shape; a config mismatch or a missing, extra or
 * misshapen tensor is an error naming it. Nothing is modified unless the whole file checks out.
 */
export function loadCheckpoint(m: BicycleGAN, bytes: Uint8Array, o: LoadOptions = {}): TrainState | null {
  const source = o.source ?? 'checkpoint';
  let parsed;
  try {
    parsed = parseSafetensors(bytes);
  } catch (e) {
    throw new Error(`${source}: ${(e as Error).message}`);
  }
  const which = o.nets ?? (['G', 'E', 'D_VAE', 'D_LR'] as NetName[]);
  if (parsed.metadata.config) {
    const cfg = JSON.parse(parsed.metadata.config) as Partial<ModelConfig>;
    const ours = new Map<string, unknown>(Object.entries(m.cfg));
    for (const [k, v] of Object.entries(cfg)) {
      const mine = ours.get(k);
      if (mine !== undefined && mine !== v) throw new Error(`${source}: model config ${k} is ${JSON.stringify(v)} in the checkpoint but ${JSON.stringify(mine)} in this model`);
    }
  }
  const s = nets(m);
  const hasTrain = parsed.metadata.train !== undefined && [...parsed.tensors.keys()].some((n) => n.startsWith('adam.'));
  const withTrain = (o.trainState ?? hasTrain) && hasTrain;
  const expected = which.flatMap((net) =>
    s[net].entries.flatMap((e) => {
      const base = { name: NET_PREFIX[net] + e.name, shape: e.shape };
      if (!withTrain || e.kind !== 'param') return [base];
      return [base, { name: `adam.${net}.${e.name}.exp_avg`, shape: e.shape }, { name: `adam.${net}.${e.name}.exp_avg_sq`, shape: e.shape }];
    }),
  );
  // a file with all four networks may be loaded for a subset; anything else unexpected is an error
  const known = new Set<string>();
  for (const net of Object.keys(s) as NetName[])
    for (const e of s[net].entries) {
      known.add(NET_PREFIX[net] + e.name);
      known.add(`adam.${net}.${e.name}.exp_avg`);
      known.add(`adam.${net}.${e.name}.exp_avg_sq`);
    }
  const recal = evalStatsNames(m);
  for (const r of recal) known.add(r.name);
  const extra = [...parsed.tensors.keys()].filter((n) => !known.has(n));
  // recalibrated statistics: all of G's and E's or none
  const hasRecal = recal.some((r) => parsed.tensors.has(r.name));
  if (hasRecal) expected.push(...recal.map((r) => ({ name: r.name, shape: [r.size] })));
  if (extra.length) throw new Error(`${source}: unexpected tensor${extra.length > 1 ? 's' : ''} ${extra.slice(0, 5).map((n) => JSON.stringify(n)).join(', ')}${extra.length > 5 ? ', ...' : ''}`);
  try {
    checkTensors(parsed, expected, { allowExtra: true });
  } catch (e) {
    throw new Error(`${source}: ${(e as Error).message}`);
  }
  // checked before anything is written: finite statistics, variances >= 0
  let recalValues: Map<string, Float32Array> | null = null;
  let recalMeta: { batches?: number; batchSize?: number } = {};
  if (hasRecal) {
    recalValues = new Map(recal.map((r) => {
      const v = Float32Array.from(toF32(parsed.tensors.get(r.name)!, r.name));
      const bad = v.findIndex((x) => !Number.isFinite(x) || (r.name.endsWith('running_var') && x < 0));
      if (bad >= 0) throw new Error(`${source}: ${r.name}[${bad}] is ${v[bad]} (recalibrated statistics must be finite, variances >= 0)`);
      return [r.name.slice(RECAL_PREFIX.length), v];
    }));
    try {
      recalMeta = JSON.parse(parsed.metadata.recalibrated ?? '{}') as typeof recalMeta;
    } catch (e) {
      throw new Error(`${source}: metadata recalibrated is not valid JSON (${(e as Error).message})`);
    }
  }
  for (const net of which) {
    const store = s[net];
    for (const e of store.entries) {
      const name = NET_PREFIX[net] + e.name;
      const t = parsed.tensors.get(name)!;
      store.fromTorch(e, toF32(t, name));
      if (withTrain && e.kind === 'param') {
        store.fromTorch(e, toF32(parsed.tensors.get(`adam.${net}.${e.name}.exp_avg`)!, name), 'm');
        store.fromTorch(e, toF32(parsed.tensors.get(`adam.${net}.${e.name}.exp_avg_sq`)!, name), 'v');
      }
    }
  }
  let train: TrainState | null = null;
  if (withTrain) {
    train = JSON.parse(parsed.metadata.train) as TrainState;
    for (const net of which) m.opt[net].step = train.adamSteps[net] ?? 0;
    m.steps = train.steps;
    m.rng = Rng.fromState(train.rng);
  }
  // written only for the weights they were computed for, so they belong to the weights just loaded
  m.evalStats = recalValues && { step: m.steps, batches: recalMeta.batches ?? 0, batchSize: recalMeta.batchSize ?? 0, values: recalValues };
  return train;
}
