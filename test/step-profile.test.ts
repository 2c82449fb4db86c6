// bench/lib/step-profile.ts: the per-layer training-step profile behind `npm run bench:profile` and RESULTS.md's
// comparison with PyTorch's profiler: its direct-conv FLOP counts per pass, derived here from the step's passes.
import { beforeAll, describe, expect, it } from 'vitest';
import { loadCore } from '../src/core/load-node.js';
import { profileStep, type StepProfile } from '../bench/lib/step-profile.js';
import { runPython, torchPython } from './helpers/python.js';

describe('profileStep', () => {
  let p: StepProfile;
  beforeAll(async () => {
    p = await profileStep(await loadCore(), { batch: 2, width: 4, size: 128, steps: 1 });
  });
  it('counts each conv pass\'s direct FLOPs: two forwards per network, and each backward\'s gradients', () => {
    const row = (net: string, layer: string, pass: string) => p.rows.find((r) => r.net === net && r.layer === layer && r.pass === pass);
    // D_VAE's first conv: image (2, 128, 128, 3) -> (2, 64, 64, 4), k 4: 2 N OH OW OC C k^2 per pass
    const d0 = 2 * 2 * 64 * 64 * 4 * 3 * 16;
    // forwards: the G step's on the fake (its D update reuses it) and the D update's on real_B
    expect(row('D_VAE', 'models.disc_0.0', 'fwd')!.flops).toBe(2 * d0);
    // backwards: the G step's (input gradient only), the D update's fake and real (weight gradients only: the
    // image needs none there)
    expect(row('D_VAE', 'models.disc_0.0', 'bwd')!.flops).toBe(3 * d0);
    // its second conv (64 -> 32 px, 4 -> 8 channels) takes the input gradient in all three, weights in two
    const d2 = 2 * 2 * 32 * 32 * 8 * 4 * 16;
    expect(row('D_VAE', 'models.disc_0.2', 'bwd')!.flops).toBe(5 * d2);
    // G's final fused upsample + conv (64 px x 8 channels -> 128 px x 3) as the 3x3 conv of the upsampled image:
    // two forwards (cVAE, cLR), two backwards with weight and input gradients
    const fin = 2 * 2 * 128 * 128 * 3 * 8 * 9;
    expect(row('G', 'final.1', 'fwd')!.flops).toBe(2 * fin);
    expect(row('G', 'final.1', 'bwd')!.flops).toBe(4 * fin);
    // D's convs are Sequential indices 0, 2, 5, 8 and 11 of each scale: its norms, activations and pooling, and
    // Adam, count none
    const dRows = p.rows.filter((r) => r.net === 'D_VAE');
    expect(dRows.filter((r) => r.flops > 0).map((r) => r.layer).every((l) => /^models\.disc_\d\.(0|2|5|8|11)$/.test(l))).toBe(true);
    expect(dRows.filter((r) => r.flops > 0)).toHaveLength(3 * 5 * 2);
    expect(dRows.length).toBeGreaterThan(3 * 5 * 2);
    expect(p.rows.filter((r) => r.pass === 'upd').every((r) => r.flops === 0)).toBe(true);
  });

  // bench/lib/torch_child.py train-profile counts PyTorch's passes by hooks on its modules: the same convs, and
  // PyTorch runs three forwards per D and step where ours runs two
  it.skipIf(!torchPython())('agrees with PyTorch\'s count of the same step\'s conv forwards (its D forwards three times)', () => {
    const child = (job: object) => JSON.parse(runPython([new URL('../bench/lib/torch_child.py', import.meta.url).pathname, JSON.stringify(job)])
      .trim().split('\n').pop()!.replace(/^@@RESULT /, '')) as { info: Record<string, unknown> };
    const t = child({ mode: 'train-profile', batch: 2, size: 128, steps: 1, width: 4 }) as { info: { flops: { fwd: number; bwd: number }; ms: Record<string, number> } };
    const fwd = (net: string) => p.rows.filter((r) => r.net === net && r.pass === 'fwd').reduce((a, r) => a + r.flops, 0);
    expect(t.info.flops.fwd).toBe(fwd('G') + fwd('E') + 1.5 * (fwd('D_VAE') + fwd('D_LR')));
    expect(t.info.flops.bwd).toBeGreaterThan(t.info.flops.fwd);
    for (const k of ['conv_fwd', 'conv_bwd', 'norm', 'adam', 'profiled', 'plain']) expect(t.info.ms[k]).toBeGreaterThan(0);
    // the ISA of its conv kernels comes from the info job (once a bench run)
    expect(child({ mode: 'info' }).info.onednn).toMatch(/\S/);
  });
});
