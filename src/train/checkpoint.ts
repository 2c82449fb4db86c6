// BicycleGAN checkpoints as safetensors, with PyTorch-GAN's state_dict names and PyTorch layouts:
//   generator and encoder tensors unprefixed (fc.weight, down2.model.1.running_mean, feature_extractor.4.0.conv1.weight,
//   fc_mu.bias: the two name sets do not collide), discriminators under `D_VAE.` and `D_LR.`,
//   Adam state under `adam.<net>.<name>.exp_avg` / `.exp_avg_sq`; num_batches_tracked as I64; recalibrated
//   BatchNorm statistics of G and E (when computed for these weights) under `recalibrated.<name>` (recalibrate.ts).
// __metadata__: `format` (bicyclegan-wasm/1), `config` (model config JSON), `train` (steps, epoch, Adam steps,
// RNG state, trainer fields), `recalibrated` (step, batches, batch size) with those statistics.
// Bytes in, bytes out; the atomic file write is in checkpoint-file.ts.
import { checkTensors, parseSafetensors, serializeSafetensors, toF32, type Dtype, type TensorEntry, type TensorView } from '../core/safetensors.js';
import { show } from '../core/show.js';
import type { RngState } from '../core/rng.js';
import { Rng } from '../core/rng.js';
import type { ModelConfig } from '../models/config.js';
import type { ParamEntry, ParamStore } from '../nn/params.js';
import type { BicycleGAN } from './bicyclegan.js';
import { parseMetadataJson, RecalibratedMetaSchema, StoredModelConfigSchema, TrainStateSchema } from './checkpoint-schema.js';
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

/** The network a checkpoint tensor belongs to, by its name (adam.* and recalibrated.* entries: not asked here). */
export function netOfTensor(name: string): NetName {
  if (name.startsWith('D_VAE.')) return 'D_VAE';
  if (name.startsWith('D_LR.')) return 'D_LR';
  // E: pytorch-gan's ResNet-18 trunk and heads; the official E_ResNet / E_NLayers (`conv.*`, `fc.0`, `fcVar.0`)
  return /^(feature_extractor|fc_mu|fc_logvar|conv|fcVar)\.|^fc\.0\./.test(name) ? 'E' : 'G';
}

/** The model's networks by name; with the official sameD option D_LR is D_VAE and is listed once. */
export type Nets = Omit<Record<NetName, ParamStore>, 'D_LR'> & { D_LR?: ParamStore };
export function nets(m: BicycleGAN): Nets {
  const s: Nets = { G: m.G.g.store, E: m.E.g.store, D_VAE: m.D_VAE.g.store };
  if (m.D_LR !== m.D_VAE) s.D_LR = m.D_LR.g.store;
  return s;
}
const netNames = (m: BicycleGAN): NetName[] => Object.keys(nets(m)) as NetName[];

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
  for (const net of netNames(m)) all.push(...entriesOf(s[net]!, NET_PREFIX[net], true, net));
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
export function weightsBytes(m: BicycleGAN, which: NetName[] = netNames(m)): Uint8Array {
  const s = nets(m);
  const all = which.filter((net) => s[net]).flatMap((net) => entriesOf(s[net]!, NET_PREFIX[net], false, net));
  if (which.includes('G') && which.includes('E')) all.push(...evalStatsEntries(m));
  return serializeSafetensors(all, { format: FORMAT, config: JSON.stringify(m.cfg), ...evalStatsMeta(m) });
}

/** The model config stored in a checkpoint (to build a matching model before loading it), checked. */
export function checkpointConfig(bytes: Uint8Array, source = 'checkpoint'): ModelConfig {
  let meta;
  try {
    meta = parseSafetensors(bytes).metadata;
  } catch (e) {
    throw new Error(`${source}: ${(e as Error).message}`);
  }
  if (!meta.config) throw new Error(`${source}: no model config in the safetensors metadata`);
  return parseMetadataJson(meta.config, StoredModelConfigSchema, 'config', source) as ModelConfig;
}

/** The training state stored in a checkpoint, checked against its schema; null for a weights-only file. */
export function checkpointTrainState(bytes: Uint8Array, source = 'checkpoint'): TrainState | null {
  let meta;
  try {
    meta = parseSafetensors(bytes).metadata;
  } catch (e) {
    throw new Error(`${source}: ${(e as Error).message}`);
  }
  return meta.train === undefined ? null : (parseMetadataJson(meta.train, TrainStateSchema, 'train', source) as TrainState);
}

export interface LoadOptions {
  /** networks to load (default: all four) */
  nets?: NetName[];
  /** also restore Adam moments, step counters and the RNG (resume); default true when present */
  trainState?: boolean;
  source?: string;
}

/** Dtypes a parameter, an Adam moment or a BN running stat may be stored in (converted to f32 on load). */
const FLOAT_DTYPES: ReadonlySet<Dtype> = new Set(['F32', 'F16', 'BF16', 'F64']);
/** num_batches_tracked: PyTorch writes I64; any integer or float dtype holding a whole count is accepted. */
const COUNT_DTYPES: ReadonlySet<Dtype> = new Set(['I64', 'I32', 'I16', 'I8', 'U8', 'F32', 'F64']);

/** One tensor's values as f32, after checking its dtype and that every value is finite (errors name the tensor). */
function checkedValues(t: TensorView, name: string, count: boolean): Float32Array {
  const ok = count ? COUNT_DTYPES : FLOAT_DTYPES;
  if (!ok.has(t.dtype)) throw new Error(`tensor ${JSON.stringify(name)}: dtype ${t.dtype} is not allowed here (expected ${[...ok].join(', ')})`);
  const v = toF32(t, name);
  for (let i = 0; i < v.length; i++) {
    if (!Number.isFinite(v[i])) throw new Error(`tensor ${JSON.stringify(name)}: value ${i} is ${v[i]} (a checkpoint holds only finite numbers)`);
    if (count && (v[i] < 0 || !Number.isInteger(v[i]))) throw new Error(`tensor ${JSON.stringify(name)}: value ${i} is ${v[i]}, not a count`);
  }
  return v;
}

/**
 * Load a checkpoint (ours, or a PyTorch state_dict saved as safetensors with the same names) into a model.
 * Validate, then commit: the whole file is parsed and checked first (tensor names, dtypes, shapes, every value
 * finite, the `config` and `train` metadata against their schemas, the config against this model), and only
 * then is the model written. A file that fails any check throws an Error naming the file and the tensor or
 * metadata field, and leaves the model exactly as it was.
 */
export function loadCheckpoint(m: BicycleGAN, bytes: Uint8Array, o: LoadOptions = {}): TrainState | null {
  const source = o.source ?? 'checkpoint';
  const at = (e: unknown) => new Error(`${source}: ${(e as Error).message}`);
  let parsed;
  try {
    parsed = parseSafetensors(bytes);
  } catch (e) {
    throw at(e);
  }
  const s = nets(m);
  // with sameD there is no separate D_LR: asking for it loads the one D once
  const which = (o.nets ?? netNames(m)).filter((net) => s[net]);
  if (parsed.metadata.config !== undefined) {
    const cfg = parseMetadataJson(parsed.metadata.config, StoredModelConfigSchema, 'config', source);
    const ours = new Map<string, unknown>(Object.entries(m.cfg));
    for (const [k, v] of Object.entries(cfg)) {
      const mine = ours.get(k);
      if (mine !== undefined && JSON.stringify(mine) !== JSON.stringify(v)) throw new Error(`${source}: model config ${k} is ${show(v)} in the checkpoint but ${JSON.stringify(mine)} in this model`);
    }
  }
  const hasTrain = parsed.metadata.train !== undefined && [...parsed.tensors.keys()].some((n) => n.startsWith('adam.'));
  const withTrain = (o.trainState ?? hasTrain) && hasTrain;
  const train = withTrain ? (parseMetadataJson(parsed.metadata.train, TrainStateSchema, 'train', source) as TrainState) : null;
  const expected = which.flatMap((net) =>
    s[net]!.entries.flatMap((e) => {
      const base = { name: NET_PREFIX[net] + e.name, shape: e.shape };
      if (!withTrain || e.kind !== 'param') return [base];
      return [base, { name: `adam.${net}.${e.name}.exp_avg`, shape: e.shape }, { name: `adam.${net}.${e.name}.exp_avg_sq`, shape: e.shape }];
    }),
  );
  // a file with all four networks may be loaded for a subset; anything else unexpected is an error
  const known = new Set<string>();
  for (const net of netNames(m))
    for (const e of s[net]!.entries) {
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
    throw at(e);
  }
  // validate: every value converted and checked before the first write
  const staged: { store: ParamStore; e: ParamEntry; which: 'value' | 'm' | 'v'; data: Float32Array }[] = [];
  try {
    for (const net of which) {
      const store = s[net]!;
      for (const e of store.entries) {
        const name = NET_PREFIX[net] + e.name;
        staged.push({ store, e, which: 'value', data: checkedValues(parsed.tensors.get(name)!, name, e.dtype === 'I64') });
        if (withTrain && e.kind === 'param') {
          for (const [key, w] of [['exp_avg', 'm'], ['exp_avg_sq', 'v']] as const) {
            const an = `adam.${net}.${e.name}.${key}`;
            const data = checkedValues(parsed.tensors.get(an)!, an, false);
            if (key === 'exp_avg_sq') {
              const i = data.findIndex((x) => x < 0);
              if (i >= 0) throw new Error(`tensor ${JSON.stringify(an)}: value ${i} is ${data[i]}, but Adam's second moment is never negative`);
            }
            staged.push({ store, e, which: w, data });
          }
        }
      }
    }
  } catch (e) {
    throw at(e);
  }
  // recalibrated statistics, checked too: finite, variances >= 0, metadata against its schema
  let recalValues: Map<string, Float32Array> | null = null;
  let recalMeta: { batches?: number; batchSize?: number } = {};
  if (hasRecal) {
    try {
      recalValues = new Map(recal.map((r) => {
        const v = Float32Array.from(checkedValues(parsed.tensors.get(r.name)!, r.name, false));
        const bad = v.findIndex((x) => r.name.endsWith('running_var') && x < 0);
        if (bad >= 0) throw new Error(`tensor ${JSON.stringify(r.name)}: value ${bad} is ${v[bad]} (recalibrated variances are >= 0)`);
        return [r.name.slice(RECAL_PREFIX.length), v];
      }));
    } catch (e) {
      throw at(e);
    }
    recalMeta = parseMetadataJson(parsed.metadata.recalibrated ?? '{}', RecalibratedMetaSchema, 'recalibrated', source);
  }
  // commit
  for (const t of staged) t.store.fromTorch(t.e, t.data, t.which);
  if (train) {
    for (const net of which) m.opt[net].step = train.adamSteps[net] ?? 0;
    m.steps = train.steps;
    m.rng = Rng.fromState(train.rng);
  }
  // written only for the weights they were computed for, so they belong to the weights just loaded
  m.evalStats = recalValues && { step: m.steps, batches: recalMeta.batches ?? 0, batchSize: recalMeta.batchSize ?? 0, values: recalValues };
  return train;
}
