// Which BatchNorm statistics give the best eval-mode outputs, and how many recalibration batches are enough:
// for each checkpoint, `bicyclegan eval` on held-out pairs with the running statistics, per-batch statistics,
// and the statistics recalibrated over K training batches for each K asked (same seed, same codes).
//   npx tsx bench/bn-stats.bench.ts --checkpoint a.safetensors[,b.safetensors] --data <train pairs> --heldout <pairs>
//       [--ks 1,5,10,25,75] [--batch 4] [--n 8] [--limit 20] [--out results.json]
// Prints one Markdown table per checkpoint (L1, PSNR, SSIM of the encoded-z output; diversity of random z) and
// the wall/CPU seconds of each recalibration.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { evaluate, type EvalRow } from '../src/train/evaluate.js';
import { recalibrateCheckpoint } from '../src/train/recalibrate-file.js';

const arg = (name: string, def?: string) => {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && i + 1 < process.argv.length) return process.argv[i + 1];
  if (def === undefined) throw new Error(`--${name} is required`);
  return def;
};

const checkpoints = arg('checkpoint').split(',');
const data = arg('data'), heldout = arg('heldout');
const ks = arg('ks', '1,5,10,25,75').split(',').map(Number);
const batch = Number(arg('batch', '4')), n = Number(arg('n', '8')), limit = Number(arg('limit', '20'));
const tmp = mkdtempSync(join(tmpdir(), 'bn-stats-'));
const results: Record<string, unknown>[] = [];
try {
  for (const ck of checkpoints) {
    const rows: { label: string; row: EvalRow; recalS?: number; cpuS?: number }[] = [];
    const base = await evaluate({ checkpoint: ck, input: heldout, n, bnStats: ['running', 'batch'], batch, limit });
    for (const r of base.rows) rows.push({ label: r.bnStats === 'batch' ? `per-batch (batches of ${batch})` : 'running', row: r });
    for (const K of ks) {
      const out = join(tmp, `k${K}.safetensors`);
      const c0 = process.cpuUsage();
      const rc = await recalibrateCheckpoint({ checkpoint: ck, data, out, batches: K, batch });
      const cpu = process.cpuUsage(c0);
      const r = await evaluate({ checkpoint: out, input: heldout, n, bnStats: ['recalibrated'], batch, limit });
      rows.push({ label: `recalibrated, K = ${K} batches of ${batch}`, row: r.rows[0], recalS: rc.seconds, cpuS: (cpu.user + cpu.system) / 1e6 });
    }
    console.log(`\n${ck}: ${base.inputs} held-out pairs, ${n} random z each; real-pair L1 distance ${base.realDiversity.toFixed(4)}\n`);
    console.log('| statistics | L1 | PSNR (dB) | SSIM | diversity / real | recalibration wall / CPU s |');
    console.log('|---|---|---|---|---|---|');
    for (const x of rows)
      console.log(`| ${x.label} | ${x.row.l1.toFixed(4)} | ${x.row.psnr.toFixed(2)} | ${x.row.ssim.toFixed(3)} | ${((100 * x.row.diversity) / base.realDiversity).toFixed(0)}% | ${x.recalS === undefined ? '' : `${x.recalS.toFixed(1)} / ${x.cpuS!.toFixed(1)}`} |`);
    results.push({ checkpoint: ck, inputs: base.inputs, n, realDiversity: base.realDiversity, rows });
  }
  const out = arg('out', '');
  if (out) writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
