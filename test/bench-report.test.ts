// The benchmark's pure parts: the output-agreement check, the timing policy and the Markdown report
// (skipped anchors appear with their reason, ratios only between measured figures). No timing is asserted.
import { describe, expect, it } from 'vitest';
import { compareOutputs, kernelTarget, profileSection, targetRows, toMarkdown, type KernelRow, type Measurement, type Report } from '../bench/lib/report.js';
import { median, timeRuns } from '../bench/lib/timing.js';

describe('compareOutputs', () => {
  it('passes within the tolerance and reports the max difference', () => {
    const ref = Float32Array.from([0.5, -0.25, 0.1]);
    const out = Float32Array.from([0.50001, -0.25, 0.1]);
    const r = compareOutputs(ref, out, 1e-4);
    expect(r.ok).toBe(true);
    expect(r.maxAbs).toBeCloseTo(1e-5, 6);
    expect(r.refMaxAbs).toBeCloseTo(0.5, 6);
    expect(r.maxRel).toBeCloseTo(2e-5, 6);
  });
  it('fails beyond the tolerance, on NaN and on a length mismatch', () => {
    expect(compareOutputs(Float32Array.from([0, 1]), Float32Array.from([0, 1.01]), 1e-3).ok).toBe(false);
    const nan = compareOutputs(Float32Array.from([0, 1]), Float32Array.from([NaN, 1]), 1);
    expect(nan.ok).toBe(false);
    expect(nan.reason).toMatch(/NaN/);
    expect(compareOutputs(new Float32Array(3), new Float32Array(2), 1).ok).toBe(false);
  });
});

describe('timing', () => {
  it('median of odd and even counts', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    expect(Number.isNaN(median([]))).toBe(true);
  });
  it('warm-up runs are not timed and the run count follows the policy', async () => {
    let calls = 0;
    const t = await timeRuns(() => { calls++; }, { warmup: 2, minRuns: 3, maxRuns: 5, budgetMs: 0, slowRunMs: 1e9 });
    expect(t.warmupMs).toHaveLength(2);
    expect(t.runsMs).toHaveLength(3); // budget spent: stop at minRuns
    expect(calls).toBe(5);
    const u = await timeRuns(() => undefined, { warmup: 1, minRuns: 1, maxRuns: 4, budgetMs: 1e9, slowRunMs: 1e9 });
    expect(u.runsMs).toHaveLength(4); // budget left: run up to maxRuns
  });
});

function report(measurements: Measurement[]): Report {
  return {
    command: 'npm run bench -- --quick', date: '2026-01-01T00:00:00.000Z', durationS: 60, quick: true,
    machine: { cpu: 'Test CPU', cores: 2, memoryGB: 8, node: 'v20.20.0', platform: 'Linux', v8: '11' },
    versions: { ours: 'bicyclegan-wasm 0.1.0', 'onnxruntime-web': '1.30.0', PyTorch: 'missing: no python3 with torch' },
    policy: { warmup: 1 }, tolerance: 1e-4, onnx: 'test',
    agreement: [{ size: 128, n: 2, runtime: 'ort-web', reference: 'ours', maxAbs: 1e-7, refMaxAbs: 0.1, maxRel: 1e-6, ok: true }],
    measurements, kernels: { skipped: 'not run (--skip-kernels)' }, notes: ['a note'], loadStart: [1, 1, 1], loadEnd: [2, 2, 2],
  };
}

describe('toMarkdown', () => {
  const g = (runtime: Measurement['runtime'], size: number, batch: number, threads: number, ms?: number, reason?: string): Measurement =>
    ms === undefined ? { kind: 'gen', runtime, size, batch, threads, status: 'skipped', reason } : { kind: 'gen', runtime, size, batch, threads, status: 'ok', medianMs: ms, maxRssMB: 100 };
  const md = toMarkdown(report([
    { ...g('ours', 128, 1, 1, 100), runsMs: [90, 100, 110], cpuPerWall: 0.5 }, { ...g('ort-web', 128, 1, 1, 200), runsMs: [200, 200, 200], cpuPerWall: 1 }, g('ort-node', 128, 1, 1, 50), g('torch', 128, 1, 1, undefined, 'no python3 with torch'),
    g('ours', 128, 1, 2, undefined, 'data-parallel engine not merged yet'), g('ort-web', 128, 1, 2, 120),
    g('ours', 256, 1, 1, 400), g('ort-web', 256, 1, 1, 900), g('ours', 128, 8, 1, 720),
    { kind: 'train', runtime: 'ours', size: 128, batch: 8, threads: 1, status: 'ok', medianMs: 8000, maxRssMB: 900 },
    { kind: 'train', runtime: 'torch', size: 128, batch: 8, threads: 1, status: 'skipped', reason: 'no python3 with torch' },
  ]));

  it('quotes the command, the machine and every version', () => {
    expect(md).toContain('`npm run bench -- --quick`');
    expect(md).toContain('Test CPU, 2 logical cores');
    expect(md).toContain('Node v20.20.0');
    expect(md).toContain('onnxruntime-web 1.30.0');
    expect(md).toContain('PyTorch missing: no python3 with torch');
  });
  it('computes ratios only between measured figures and footnotes every skip with its reason', () => {
    const row = md.split('\n').find((l) => l.startsWith('| 128 | 1 | 1 |'))!;
    expect(row).toContain('| 100 | 200 | 50.0 | skipped [');
    expect(row).toContain('2.00x'); // ort-web 200 ms / ours 100 ms
    expect(row).toContain('0.50x'); // ort-node 50 ms / ours 100 ms
    expect(md).toMatch(/- \[\d\] skipped: no python3 with torch/);
    expect(md).toMatch(/- \[\d\] skipped: data-parallel engine not merged yet/);
    expect(md).not.toContain('NaN');
  });
  it('renders training throughput, growth with size and batch, and the agreement table', () => {
    expect(md).toMatch(/\| 8 \| 1 \| 1\.00 \| skipped \[\d\] \| - \|/); // 8 images / 8 s, no PyTorch: no ratio
    expect(md).toContain('## Cost growth with image size');
    expect(md).toContain('400 (4.0x)');
    expect(md).toContain('## Cost growth with batch');
    expect(md).toContain('90.0 (7.20x)'); // 720 ms / 8 images; 7.2x the batch-1 time
    expect(md).toContain('| 128 | 2 | onnxruntime-web (wasm) | ours (wasm) | 1.00e-7 |');
    expect(md).toContain('skipped: not run (--skip-kernels)');
  });
  it('warns when the machine was loaded beyond its cores, and only then', () => {
    expect(md).not.toContain('machine was shared');
    const loaded = toMarkdown({ ...report([]), loadStart: [3.5, 3, 3] });
    expect(loaded).toContain('**The machine was shared during this run**');
  });
  it('says for each ANCHORS.md target whether this run met it; a skipped configuration is not measured', () => {
    const t = (target: RegExp) => targetRows(report([
      g('ours', 128, 1, 1, 100), g('ort-web', 128, 1, 1, 300), g('ort-node', 128, 1, 1, 90), g('ours', 128, 1, 2, undefined, 'no threads'), g('ort-node', 128, 1, 2, 50),
      { kind: 'train', runtime: 'ours', size: 128, batch: 8, threads: 1, status: 'ok', medianMs: 6000, maxRssMB: 700 },
      { kind: 'train', runtime: 'torch', size: 128, batch: 8, threads: 1, status: 'ok', medianMs: 7800, maxRssMB: 1000 },
    ])).find((x) => target.test(x.target))!;
    expect(t(/128 px, batch 1, 1 thread: >= 1.0x onnxruntime-node/)).toEqual({ target: expect.any(String), figure: 'ort-node / ours 0.90x', met: false });
    expect(t(/128 px, batch 1, 1 thread: >= 3x onnxruntime-web/).met).toBe(true); // 300 / 100 = 3.00
    expect(t(/128 px, batch 1, 2 threads/)).toMatchObject({ met: null, figure: 'ort-node / ours: not measured' });
    expect(t(/batch 8, 1 thread: >= 1.3x/)).toMatchObject({ met: true, figure: 'ours / PyTorch 1.30x' }); // 7.8 s / 6 s
    expect(t(/peak RSS/)).toMatchObject({ met: true, figure: 'worst ours / PyTorch 0.70' });
    expect(md).toContain('## Targets (shared/spec/ANCHORS.md)');
  });
  it('kernel target per row: every pass >= 70% of the peak, or a tiny layer whose best forward (packed where measured) beats tfjs', () => {
    const row = (o: Partial<KernelRow>): KernelRow => ({ name: 'l', kind: 'conv', shape: 's', count: 1, gflop: 1, fwd: 40, bwdIn: 40, bwdW: 40, tfjs: 30, ...o });
    expect(kernelTarget(row({}), 50)).toEqual({ met: true, text: 'yes (>= 70% of peak)' }); // 40 >= 35
    expect(kernelTarget(row({ bwdW: 30 }), 50).met).toBe(false); // not tiny: tfjs does not count
    expect(kernelTarget(row({ bwdW: 30, tiny: true, fwd: 20, fwdPacked: 45 }), 50)).toEqual({ met: true, text: 'yes (tiny, 1.50x tfjs)' });
    expect(kernelTarget(row({ bwdW: 30, tiny: true, fwd: 20, fwdPacked: null }), 50).met).toBe(false); // 20 < 30
    expect(kernelTarget(row({ fwd: 20, fwdPacked: 36 }), 50).met).toBe(true); // the packed forward reaches 70%
    // rated against the peak probed beside each pass where the run measured it, not the run's one peak
    const probed = { fwd: 0.85, fwdPacked: 0.8, bwdIn: 0.75, bwdW: 0.72 };
    expect(kernelTarget(row({ bwdW: 30, ofPeak: probed }), 50).met).toBe(true); // 30 / 50 = 60%, but 72% of its moment's peak
    expect(kernelTarget(row({ ofPeak: { ...probed, bwdIn: 0.69 } }), 50).met).toBe(false); // 80% of 50, but 69% beside it
    expect(kernelTarget(row({ fwd: 20, ofPeak: { ...probed, fwd: 0.4, fwdPacked: null } }), 50).met).toBe(false);
    expect(kernelTarget(row({ fwd: 20, ofPeak: { ...probed, fwd: 0.4, fwdPacked: 0.7 } }), 50).met).toBe(true);
    const kernels = { peak: 50, peaks: { relaxed: 50 }, build: 'relaxed', tfjs: 'tfjs', totals: {} as never,
      rows: [row({ name: 'a' }), row({ name: 'b', bwdIn: 10 }), row({ name: 'c', bwdIn: 10, tiny: true, fwdPacked: 60 })] };
    const r = { ...report([]), kernels };
    expect(targetRows(r).find((x) => /kernel table/.test(x.target))).toMatchObject({ met: false, figure: '2 of 3 rows; not: b' });
    const md = toMarkdown(r);
    expect(md).toContain('| c | s | 40.0 (80%) | 60.0 (120%) | 10.0 (20%) | 40.0 (80%) | 30.0 | 2.00x | yes (tiny, 2.00x tfjs) |');
  });
  it('compares 1-thread figures by CPU time per run where the CPU share was measured', () => {
    // ours: 0.5 x mean(90, 100, 110) = 50 CPU ms; ort-web: 200 CPU ms -> 4x
    expect(md).toContain('| generator | 128 | 1 | 50.0 | 200 | - | - | 4.00x | - | - |');
  });
});

describe('profileSection', () => {
  it('lists the generator layers of >= 1% by time with their shares, and per training batch the networks and the 12 largest layer passes', () => {
    const layers = [{ name: 'down1.model.0', ms: 0.5 }, { name: 'up4.model.1', ms: 60 }, { name: 'up5.model.1', ms: 39.5 }, { name: 'final.1', ms: 0.1 }];
    const rows = Array.from({ length: 14 }, (_, i) => ({ net: i === 0 ? 'adam' : 'G', layer: i === 0 ? 'G' : `l${i}`, pass: (i === 0 ? 'upd' : 'fwd') as 'upd' | 'fwd', ms: 14 - i, flops: 0 }));
    const md = profileSection({ gen: { size: 128, layers }, train: [{ batch: 8, width: 64, size: 128, total: 120, rows }] }).join('\n');
    expect(md).toMatch(/sum 100\.1 ms/);
    expect(md).toMatch(/\| up4\.model\.1 \| 60\.00 \| 60% \|\n\| up5\.model\.1 \| 39\.50 \| 39% \|/);
    expect(md).not.toMatch(/final\.1/); // under 1%
    expect(md).toMatch(/batch 8.*Adam \(all four\) 14 ms \(13%\), G 91 ms \(87%\)/);
    expect(md.split('\n').filter((l) => /^\| (G|adam) \|/.test(l))).toHaveLength(12);
    expect(profileSection({ skipped: 'not run in the quick pass' }).join('\n')).toMatch(/skipped: not run in the quick pass/);
    expect(md).not.toMatch(/onnxruntime-node|PyTorch/); // no anchor profiles given
  });
  it('sets the generator blocks beside onnxruntime-node\'s nodes, and the training conv passes beside PyTorch\'s', () => {
    const layers = [{ name: 'down1.model.0', ms: 0.5 }, { name: 'up4.model.1', ms: 6 }, { name: 'final.1', ms: 1 }];
    const nodes = [{ name: '/down1/model/model.1/LeakyRelu_output_0_nchwc', ms: 0.25 }, { name: '/up4/model/model.3/Relu_output_0_nchwc', ms: 6.5 },
      { name: '/up4/model/model.0/Resize_output_0_nchwc', ms: 0.5 }, { name: '/final/final.0/Resize_output_0_nchwc', ms: 0.5 }, { name: 'out_nchwc', ms: 4.5 },
      { name: '/fc/Gemm', ms: 0.05 }, { name: 'ReorderOutput', ms: 0.05 }];
    // ours: 2 GFLOP of conv forward in 40 ms, 6 of backward in 100, 60 ms of the rest
    const rows = [{ net: 'G', layer: 'up4.model.1', pass: 'fwd' as const, ms: 40, flops: 2e9 }, { net: 'G', layer: 'up4.model.1', pass: 'bwd' as const, ms: 100, flops: 6e9 },
      { net: 'G', layer: 'up4.model.2', pass: 'bwd' as const, ms: 30, flops: 0 }, { net: 'adam', layer: 'G', pass: 'upd' as const, ms: 20, flops: 0 }];
    const torchTrain = [{ batch: 8, size: 128, flops: { fwd: 3e9, bwd: 9e9 }, onednn: 'AVX-512 (conv kernels jit:avx512_core)',
      ms: { conv_fwd: 30, conv_bwd: 90, norm: 5, upsample: 4, adam: 6, profiled: 150, plain: 140 } }];
    const md = profileSection({ gen: { size: 128, layers }, train: [{ batch: 8, width: 64, size: 128, total: 200, rows }], torchTrain,
      ortGen: { size: 128, runMs: 12.5, nodes } }).join('\n');
    expect(md).toMatch(/profiler on 12\.5 ms/);
    expect(md).toContain('| down1 | 0.50 | 0.25 | 0.50x |\n| up4 | 6.00 | 7.00 | 1.17x |\n| final | 1.00 | 5.00 | 5.00x |\n| other (concat of z, reshapes, reorders) | - | 0.10 | - |\n| **sum** | 7.50 | 12.35 | 1.65x |');
    expect(md).toContain('| conv forward passes | 40 | 2.0 | 50.0 | 30 | 3.0 | 100.0 |');
    expect(md).toContain('| conv backward passes | 100 | 6.0 | 60.0 | 90 | 9.0 | 100.0 |');
    expect(md).toContain('| everything else | 60 |  |  | 30 |  |  |');
    expect(md).toContain('| step | 200 | 8.0 |  | 150 | 12.0 |  |');
    expect(md).toMatch(/150 ms with the profiler on, 140 without; BatchNorm 5 ms, nearest upsampling 4, Adam 6/);
    expect(md).toMatch(/oneDNN's: AVX-512 \(conv kernels jit:avx512_core\)/);
    const skipped = profileSection({ gen: { size: 128, layers }, train: [{ batch: 8, width: 64, size: 128, total: 200, rows }], torchTrain: { skipped: 'no torch' },
      ortGen: { skipped: 'onnxruntime-node is not installed' } }).join('\n');
    expect(skipped).toMatch(/onnxruntime-node's profile of the same generator: skipped: onnxruntime-node is not installed/);
    expect(skipped).toMatch(/PyTorch's profile of the same step: skipped: no torch/);
  });
});
