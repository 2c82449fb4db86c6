// Outgrowing one machine: a run continues on PyTorch's own distributed training (python/resume_ddp.py under
// torchrun, 2 CPU processes over gloo) from our checkpoint, Adam state included, and comes back: the result loads
// here, samples, and `train --resume` continues it. torchrun's rendezvous store listens on every interface, so
// the processes run in a private network namespace whose only interface is loopback (unshare -n); where that is
// not allowed, or python3-torch is missing, the torchrun case skips with a message.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { loadCore } from '../src/core/load-node.js';
import { parseSafetensors } from '../src/core/safetensors.js';
import { LocalEngine } from '../src/train/engine.js';
import { checkpointConfig } from '../src/train/checkpoint.js';
import { cli, makeDataset, root, tmp } from './helpers/cli.js';
import { torchPython } from './helpers/python.js';

const py = torchPython();
const script = join(root, 'python', 'resume_ddp.py');
const dir = tmp('ddp');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Can this process make a network namespace with a working loopback? (root, unshare, iproute2) */
function privateNetwork(): string | null {
  const r = spawnSync('unshare', ['-n', 'sh', '-c', 'ip link set lo up && ip -o addr show lo | grep -q 127.0.0.1'], { encoding: 'utf8', timeout: 10_000 });
  return r.status === 0 ? null : `no private network namespace here (unshare -n + ip: ${(r.stderr || r.error?.message || '').trim().slice(0, 120)})`;
}
const noNet = py ? privateNetwork() : 'no python3-torch';
if (!py) console.warn('python-ddp.test: python3-torch is not installed; the PyTorch continuation tests skip');
else if (noNet) console.warn(`python-ddp.test: ${noNet}; the torchrun test skips`);

let made: { data: string; ck: string } | null = null;
async function tinyRun() {
  if (made) return made;
  const data = await makeDataset(join(dir, 'data'), 4);
  const out = join(dir, 'run');
  const t = cli(['train', '--data', data, '--direction', 'BtoA', '--out', out, '--steps', '2', '--batch', '2', '--sample-every', '0', '--recal-batches', '2',
    '--g-base', '2', '--e-base', '2', '--d-base', '2', '--workers', '1', '--build', 'simd']);
  expect(t.code, t.stderr).toBe(0);
  made = { data, ck: join(out, 'checkpoints', 'step-00000002.safetensors') };
  return made;
}

function run(cmd: string, args: string[], timeout = 240_000) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout, cwd: dir });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout + r.stderr;
}

describe('continue a run on PyTorch (python/resume_ddp.py)', () => {
  test.skipIf(!py)('load and write back with no step: every weight, buffer and Adam moment byte for byte', async () => {
    const { data, ck } = await tinyRun();
    const out = join(dir, 'roundtrip.safetensors');
    run(py!, [script, '--checkpoint', ck, '--data', data, '--out', out, '--steps', '0']);
    const a = parseSafetensors(new Uint8Array(readFileSync(ck))), b = parseSafetensors(new Uint8Array(readFileSync(out)));
    const names = [...a.tensors.keys()].filter((n) => !n.startsWith('recalibrated.'));
    expect(names.some((n) => n.startsWith('adam.G.') && n.endsWith('.exp_avg_sq'))).toBe(true);
    expect([...b.tensors.keys()].sort()).toEqual(names.sort()); // stale recalibrated statistics are dropped
    for (const n of names) {
      expect(b.tensors.get(n)!.dtype, n).toBe(a.tensors.get(n)!.dtype);
      expect(Buffer.from(b.tensors.get(n)!.data).equals(Buffer.from(a.tensors.get(n)!.data)), n).toBe(true);
    }
    expect(JSON.parse(b.metadata.train)).toEqual(JSON.parse(a.metadata.train));
    expect(b.metadata.config).toBe(a.metadata.config);
  }, 180_000);

  test.skipIf(!py || noNet !== null)('torchrun, 2 processes (gloo): 2 steps; the result loads here, samples, and train --resume continues it', async () => {
    const { data, ck } = await tinyRun();
    const out = join(dir, 'run', 'checkpoints', 'step-00000004.safetensors');
    const port = 29500 + (process.pid % 400);
    const log = run('unshare', ['-n', 'sh', '-c',
      `ip link set lo up && GLOO_SOCKET_IFNAME=lo OMP_NUM_THREADS=1 torchrun --redirects 2 --tee 2 --log_dir ${join(dir, 'logs')} --nnodes 1 --nproc_per_node 2 ` +
      `--master_addr 127.0.0.1 --master_port ${port} ${script} --checkpoint ${ck} --data ${data} --out ${out} --steps 2 --log-every 1`]);
    expect(log).toMatch(/step 2\/2 ge [\d.]+ .*\(.* s\/step, 2 processes\)/);
    const a = parseSafetensors(new Uint8Array(readFileSync(ck))), b = parseSafetensors(new Uint8Array(readFileSync(out)));
    const train = JSON.parse(b.metadata.train);
    expect(train.steps).toBe(4);
    expect(train.adamSteps).toEqual({ G: 4, E: 4, D_VAE: 4, D_LR: 4 });
    expect(train.extra.pytorch).toMatchObject({ steps: 2, processes: 2, batch: 2 });
    expect(train.extra.loader).toEqual(JSON.parse(a.metadata.train).extra.loader);
    // weights and Adam moments moved, and stayed finite
    for (const n of ['down2.model.0.weight', 'adam.G.down2.model.0.weight.exp_avg', 'D_LR.models.disc_0.0.weight', 'fc_mu.weight']) {
      expect(Buffer.from(b.tensors.get(n)!.data).equals(Buffer.from(a.tensors.get(n)!.data)), n).toBe(false);
    }
    const core = await loadCore({ build: 'simd' });
    const e = new LocalEngine(core, { batch: 2, model: checkpointConfig(new Uint8Array(readFileSync(out))) });
    const st = e.restore(new Uint8Array(readFileSync(out)), { source: out });
    expect(st?.steps).toBe(4);
    expect(e.model.opt.G.step).toBe(4);
    for (const s of [e.model.G.g.store, e.model.D_VAE.g.store]) expect(s.block('value').every(Number.isFinite)).toBe(true);
    const smp = cli(['sample', '--checkpoint', out, '--input', join(data, 'test'), '--out', join(dir, 'smp'), '--n', '2', '--interp', '0', '--build', 'simd']);
    expect(smp.code, smp.stderr).toBe(0);
    const resumed = cli(['train', '--out', join(dir, 'run'), '--resume', '--steps', '5', '--workers', '1', '--build', 'simd']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/steps 4 -> 5, engine LocalEngine, resumed from .*step-00000004/);
  }, 300_000);

  test.skipIf(!py)('bad input: a missing data folder, a negative step count', async () => {
    const { data, ck } = await tinyRun();
    const bad = spawnSync(py!, [script, '--checkpoint', ck, '--data', join(dir, 'nope'), '--out', join(dir, 'x'), '--steps', '1'], { encoding: 'utf8' });
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/nope: no such directory/);
    const neg = spawnSync(py!, [script, '--checkpoint', ck, '--data', data, '--out', join(dir, 'x'), '--steps', '-1'], { encoding: 'utf8' });
    expect(neg.stderr).toMatch(/--steps must be 0 or more/);
  }, 60_000);
});
