// python/bicyclegan_torch/resume.py: our checkpoint continued on PyTorch's distributed training (torchrun, 2 CPU
// processes on gloo) and brought back: the written checkpoint loads into our engine with its Adam state and
// trains on; with 0 steps, what PyTorch writes back equals what it read (weights, BN buffers, Adam moments and
// step counts). Skips with a message when Debian's python3-torch (with torchrun) or python3-pil is absent.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { loadCore } from '../src/core/load-node.js';
import { parseSafetensors } from '../src/core/safetensors.js';
import { LocalEngine } from '../src/train/engine.js';
import { cli, root, tmp, TINY } from './helpers/cli.js';

const PY = '/usr/bin/python3';
const have = existsSync(PY) && existsSync('/usr/bin/torchrun') && spawnSync(PY, ['-c', 'import torch, PIL, numpy'], { encoding: 'utf8' }).status === 0;
if (!have) console.warn('skipping the torchrun tests: python3-torch (with /usr/bin/torchrun) and python3-pil are needed');
const dir = have ? tmp('torch') : '';
afterAll(() => dir && rmSync(dir, { recursive: true, force: true }));
const script = join(root, 'python/bicyclegan_torch/resume.py');
const data = join(root, 'data/demo/edges2shoes-mini');

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', timeout: 180_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${r.stderr}\n${r.stdout}`);
  return r.stdout + r.stderr;
}

describe.skipIf(!have)('continuing a run on PyTorch (torchrun) and back', () => {
  let ckpt = '';
  test('torchrun on 2 processes: ranks stay identical; our engine restores the result with Adam state and trains on', async () => {
    const r = cli(['train', '--data', data, '--direction', 'BtoA', '--out', join(dir, 'run'), '--batch', '2', '--steps', '1', '--sample-every', '0', ...TINY]);
    expect(r.stderr).toMatch(/done: 1 steps/);
    ckpt = join(dir, 'run/checkpoints/step-00000001.safetensors');
    const out = join(dir, 'torch.safetensors');
    // Debian's torchrun 1.13 on Python 3.11 needs non-zero --redirects/--tee (its "0" parses to None)
    const log = run('/usr/bin/torchrun', ['--redirects', '1', '--tee', '1', '--log_dir', join(dir, 'logs'), '--nproc_per_node', '2', script,
      '--checkpoint', ckpt, '--data', data, '--direction', 'BtoA', '--steps', '2', '--batch', '2', '--out', out]);
    expect(log).toMatch(/ranks: 2, max \|parameter difference\| between ranks: 0/);
    expect(log).toMatch(/step 2\/2 ge [\d.]+ pixel [\d.]+/);
    const e = new LocalEngine(await loadCore({ build: 'simd' }), { batch: 2, model: { gBase: 2, eBase: 2, dBase: 2 } });
    const st = e.restore(new Uint8Array(readFileSync(out)), { source: out });
    expect(st?.steps).toBe(3);
    expect(st?.adamSteps).toEqual({ G: 3, E: 3, D_VAE: 3, D_LR: 3 });
    const per = 2 * 128 * 128 * 3;
    e.setBatch(new Float32Array(per).fill(0.1), new Float32Array(per).fill(-0.2));
    const losses = await e.step();
    expect(Object.values(losses).every(Number.isFinite)).toBe(true);
    expect(e.steps).toBe(4);
    expect(cli(['info', out]).stdout).toMatch(/training: step 3, epoch 0, Adam steps G 3 E 3 D_VAE 3 D_LR 3/);
  });

  test('0 steps (one process): what PyTorch writes back is what it read, tensor for tensor', () => {
    const out = join(dir, 'same.safetensors');
    run(PY, [script, '--checkpoint', ckpt, '--data', data, '--steps', '0', '--batch', '2', '--out', out]);
    const a = parseSafetensors(new Uint8Array(readFileSync(ckpt))), b = parseSafetensors(new Uint8Array(readFileSync(out)));
    expect([...b.tensors.keys()].sort()).toEqual([...a.tensors.keys()].sort());
    for (const [name, t] of a.tensors) {
      const u = b.tensors.get(name)!;
      expect({ name, dtype: u.dtype, shape: u.shape }).toEqual({ name, dtype: t.dtype, shape: t.shape });
      expect(Buffer.from(u.data).equals(Buffer.from(t.data)), name).toBe(true);
    }
    const ta = JSON.parse(a.metadata.train), tb = JSON.parse(b.metadata.train);
    expect({ steps: tb.steps, adamSteps: tb.adamSteps, rng: tb.rng }).toEqual({ steps: ta.steps, adamSteps: ta.adamSteps, rng: ta.rng });
    expect(b.metadata.config).toBe(a.metadata.config);
  });
});
