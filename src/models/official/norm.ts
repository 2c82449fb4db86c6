// The official preset's norm factory (networks.py get_norm_layer): InstanceNorm2d(affine=False,
// track_running_stats=False), BatchNorm2d(affine, running statistics) or nothing; eps 1e-5 either way.
// A norm that is absent still takes no module index in PyTorch's Sequential lists, so `moduleCount` tells the
// descriptions how far the next index moves.
import type { NormTail } from '../../nn/builder.js';
import type { OfficialNets } from '../config.js';

export const NORM_EPS = 1e-5;

/** The tail entry for a norm module named `name` (its parameters exist only for batch). */
export function normTail(kind: OfficialNets['norm'], name: string): NormTail {
  if (kind === 'batch') return { bn: { name, eps: NORM_EPS } };
  if (kind === 'instance') return { instanceNorm: { eps: NORM_EPS } };
  return {};
}

/** Sequential modules a norm takes: 1, or 0 for none. */
export const normModules = (kind: OfficialNets['norm']): number => (kind === 'none' ? 0 : 1);
