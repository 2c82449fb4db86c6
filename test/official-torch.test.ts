// The official preset's PyTorch side: python/bicyclegan_torch/official.py (the authors' networks and HEAD step)
// and its golden fixture test/fixtures/official.safetensors (written by test/fixtures/gen_official.py).
// - parameter counts at width 64 equal spec §5 (run through python3-torch);
// - the state_dict names and shapes of the full-size nets are the official ones (a sample written out from the
//   official module lists, spec §4);
// - the fixture regenerates (bit for bit on the CPU kind that wrote it, else within float32 rounding), its gradients re-derive with torch.autograd.grad and its step-1
//   weights with a textbook Adam step (gen_official.py --check);
// - the fixture's dropout masks are our wasm counter hash (hash_uniform), so the TS step can reproduce them.
// Without python3-torch the Python cases skip with a message; the mask check needs no Python.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { loadCore } from '../src/core/load-node.js';
import { parseSafetensors, tensorF32 } from '../src/core/safetensors.js';
import { root } from './helpers/cli.js';
import { dropoutLayerSeed } from '../src/nn/dropout.js';
import { runPython, torchPython } from './helpers/python.js';

const py = torchPython();
if (!py) console.warn('official-torch.test: python3-torch is not installed; the PyTorch cases skip');
const official = join(root, 'python', 'bicyclegan_torch', 'official.py');
const gen = join(root, 'test', 'fixtures', 'gen_official.py');
const fixturePath = join(root, 'test', 'fixtures', 'official.safetensors');

type NetSpec = ['G' | 'E' | 'D', object];
/** `official.py --names-json` (one Python start for all): per spec, Map name -> shape in state_dict order */
function names(...specs: NetSpec[]): Map<string, number[]>[] {
  const lists = JSON.parse(runPython([official, '--names-json', JSON.stringify(specs)], 180_000)) as [string, number[]][][];
  return lists.map((l) => new Map(l));
}

const sub = (n: number) => 'model' + '.submodule'.repeat(n);

describe('official networks in PyTorch (official.py)', () => {
  test.skipIf(!py)('parameter counts at width 64 equal spec §5', () => {
    const out = runPython([official, '--counts'], 180_000); // exits non-zero on any mismatch
    expect(out).toContain('all parameter counts match spec §5');
    expect(out).toMatch(/G unet_256 add_all in 3\s+54794627 ok/);
    expect(out).toMatch(/E resnet_256\s+2590032 ok/);
    expect(out).toMatch(/D basic_256_multi num_Ds 2\s+3458978 ok/);
  });

  test.skipIf(!py)('state_dict names: the authors defaults, and the index shifts of norm none / batch / add_input', () => {
    const [g, e, d, none, batch, input, inputNone, eNone, conv] = names(
      ['G', { netG: 'unet_256' }], ['E', { netE: 'resnet_256' }], ['D', { netD: 'basic_256_multi' }],
      ['G', { netG: 'unet_128', norm: 'none', useDropout: true }], ['G', { netG: 'unet_128', norm: 'batch' }],
      ['G', { netG: 'unet_128', whereAdd: 'input', inputNc: 1 }], ['G', { netG: 'unet_128', whereAdd: 'input', norm: 'none' }],
      ['E', { netE: 'resnet_128', norm: 'none' }], ['E', { netE: 'conv_128' }],
    );
    // unet_256 add_all: 8 blocks x (down conv + up ConvT) x (weight, bias); instance norm has no tensors
    expect(g.size).toBe(32);
    expect(g.get('model.down.0.weight')).toEqual([64, 11, 4, 4]);
    expect(g.get('model.up.1.weight')).toEqual([128, 3, 4, 4]); // ConvTranspose2d: [in, out, k, k]
    expect(g.get(`${sub(1)}.down.1.weight`)).toEqual([128, 72, 4, 4]);
    expect(g.get(`${sub(3)}.up.1.weight`)).toEqual([1024, 256, 4, 4]);
    expect(g.get(`${sub(7)}.down.1.weight`)).toEqual([512, 520, 4, 4]); // innermost: no norm, 512 + nz in
    expect(g.get(`${sub(7)}.up.1.weight`)).toEqual([512, 512, 4, 4]);
    // E_ResNet registers fc and fcVar before conv
    expect([...e.keys()].slice(0, 5)).toEqual(['fc.0.weight', 'fc.0.bias', 'fcVar.0.weight', 'fcVar.0.bias', 'conv.0.weight']);
    expect(e.get('conv.1.conv.2.weight')).toEqual([64, 64, 3, 3]);
    expect(e.get('conv.1.conv.5.0.weight')).toEqual([128, 64, 3, 3]);
    expect(e.get('conv.4.shortcut.1.weight')).toEqual([256, 256, 1, 1]);
    expect(e.get('fcVar.0.weight')).toEqual([8, 256]);
    expect([...d.keys()].filter((n) => n.endsWith('.weight'))).toEqual(
      ['model_0.0', 'model_0.2', 'model_0.5', 'model_0.8', 'model_0.11', 'model_1.0', 'model_1.2', 'model_1.5', 'model_1.8', 'model_1.11'].map((n) => `${n}.weight`),
    );
    expect(d.get('model_0.8.weight')).toEqual([512, 256, 4, 4]);
    expect(d.get('model_1.11.weight')).toEqual([1, 256, 4, 4]);
    // norm none: no norm modules, so Dropout is up.2 (no tensors); conv indices stay (norms come after them)
    expect(none.size).toBe(28);
    expect(none.get(`${sub(1)}.down.1.weight`)).toEqual([128, 72, 4, 4]);
    expect(batch.get(`${sub(1)}.down.2.running_var`)).toEqual([128]);
    expect(batch.get(`${sub(6)}.up.2.weight`)).toEqual([512]); // innermost: a norm after the ConvT only
    expect(batch.has(`${sub(6)}.down.2.weight`)).toBe(false);
    expect(input.get('model.model.0.weight')).toEqual([64, 9, 4, 4]);
    expect(input.get('model.model.1.model.1.weight')).toEqual([128, 64, 4, 4]);
    expect(input.get('model.model.1.model.5.weight')).toEqual([256, 64, 4, 4]);
    expect(input.get('model.model.3.weight')).toEqual([128, 3, 4, 4]);
    expect(inputNone.get('model.model.1.model.4.weight')).toEqual([256, 64, 4, 4]);
    expect(inputNone.get('model.model.1.model.2.model.1.weight')).toEqual([256, 128, 4, 4]);
    expect(eNone.get('conv.1.conv.3.0.weight')).toEqual([128, 64, 3, 3]);
    expect([...conv.keys()].filter((n) => n.startsWith('conv.') && n.endsWith('.weight'))).toEqual(['conv.0.weight', 'conv.2.weight', 'conv.5.weight', 'conv.8.weight']);
  });

  test.skipIf(!py)('official.safetensors regenerates (bit for bit where written, else within f32 rounding); gradients and Adam step re-derive', () => {
    const out = runPython([gen, '--check', fixturePath], 180_000);
    expect(out.trim().endsWith('OK')).toBe(true);
  });
});

describe('official.safetensors dropout masks', () => {
  test('every stored mask is the wasm hash_uniform of (dropoutLayerSeed(seed, depth), NHWC index)', async () => {
    const fx = parseSafetensors(new Uint8Array(readFileSync(fixturePath)));
    const seeds = JSON.parse(fx.metadata.dropoutSeeds) as Record<string, { encoded: number; random: number }>;
    const core = await loadCore({ build: 'simd' });
    const masks = [...fx.tensors.keys()].filter((n) => /dropout\.(\w+\.)?depth\d$/.test(n));
    expect(masks.length).toBe(6);
    let kept = 0;
    let total = 0;
    for (const name of masks) {
      const [N, C, H, W] = fx.tensors.get(name)!.shape;
      const which = name.includes('.random.') ? 'random' : 'encoded'; // the cases use s1's encoded seed
      const seed = dropoutLayerSeed(seeds.s1[which], Number(/depth(\d)$/.exec(name)![1]));
      const m = tensorF32(fx, name);
      for (let n = 0; n < N; n++)
        for (let c = 0; c < C; c++)
          for (let y = 0; y < H; y++)
            for (let x = 0; x < W; x++) {
              const want = core.k.hash_uniform(seed | 0, (((n * H + y) * W + x) * C + c) | 0) >= 0.5 ? 2 : 0;
              const got = m[((n * C + c) * H + y) * W + x];
              if (got !== want) throw new Error(`${name}[${n},${c},${y},${x}]: torch ${got}, hash ${want}`);
              kept += got === 2 ? 1 : 0;
              total++;
            }
    }
    expect(kept / total).toBeGreaterThan(0.45);
    expect(kept / total).toBeLessThan(0.55);
  });
});
