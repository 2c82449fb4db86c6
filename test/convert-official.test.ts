// python/convert_official.py: the authors' pretrained latest_net_G.pth / latest_net_E.pth -> one safetensors weights
// file (our state-dict convention: G and E under their official names, unprefixed) with the model options inferred
// from the shapes. The .pth files are made here by test/fixtures/official_pth.py from the official networks
// (python/bicyclegan_torch/official.py) with random weights, in the variants real files come in (PyTorch 0.3
// InstanceNorm statistics, a DataParallel prefix, batch / none norms, where_add input, bilinear up-sampling, E_NLayers).
// Skips with a message without python3-torch.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, test } from 'vitest';
import { parseSafetensors, tensorF32, type Safetensors } from '../src/core/safetensors.js';
import { BicycleGANInference } from '../src/infer/index.js';
import { close, nchwToNhwc } from './helpers/layout.js';
import { cli, root, tmp } from './helpers/cli.js';
import { runPython, torchPython } from './helpers/python.js';

const py = torchPython();
if (!py) console.warn('convert-official.test: python3-torch is not installed; the converter tests skip');
const converter = join(root, 'python', 'convert_official.py');
const maker = join(root, 'test', 'fixtures', 'official_pth.py');
const dir = tmp('convert-official');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const read = (p: string): Safetensors => parseSafetensors(new Uint8Array(readFileSync(p)));

/** Make the .pth pair of `cfg` in dir/name, convert it, and return the output, the expectation and stdout. */
function roundTrip(name: string, cfg: object, makeFlags: string[] = [], convertFlags: string[] = []) {
  const d = join(dir, name);
  runPython([maker, d, JSON.stringify(cfg), ...makeFlags]);
  const hasE = !makeFlags.includes('--no-e');
  const out = join(d, 'out.safetensors');
  const stdout = runPython([converter, '--g', join(d, 'latest_net_G.pth'), ...(hasE ? ['--e', join(d, 'latest_net_E.pth')] : []), '--out', out, ...convertFlags]);
  return { out: read(out), expected: read(join(d, 'expected.safetensors')), stdout, dir: d };
}

/** Every expected `G.<name>` / `E.<name>` is in the output as `<name>`, same dtype, shape and bytes; nothing else. */
function expectSameTensors(out: Safetensors, expected: Safetensors): void {
  const want = new Map([...expected.tensors].map(([n, t]) => [n.replace(/^[GE]\./, ''), t]));
  expect([...out.tensors.keys()].sort()).toEqual([...want.keys()].sort());
  for (const [n, t] of want) {
    const o = out.tensors.get(n)!;
    expect(o.dtype, n).toBe(t.dtype);
    expect(o.shape, n).toEqual(t.shape);
    expect(Buffer.from(o.data).equals(Buffer.from(t.data)), n).toBe(true);
  }
}

function convertFails(args: string[]): string {
  const r = spawnSync(py!, [converter, ...args], { encoding: 'utf8', timeout: 120_000 });
  expect(r.status).toBe(1);
  return r.stderr;
}

describe('python/convert_official.py', () => {
  test.skipIf(!py)('pretrained-style unet_256 + resnet_256, input_nc 1, PyTorch 0.3 InstanceNorm statistics dropped', () => {
    const r = roundTrip('shoes', { netG: 'unet_256', netE: 'resnet_256', ngf: 4, nef: 3, inputNc: 1 }, ['--legacy-instance-stats', '--forward']);
    expectSameTensors(r.out, r.expected);
    expect(r.out.metadata.format).toBe('bicyclegan-wasm/1');
    expect(JSON.parse(r.out.metadata.options)).toEqual({
      preset: 'official', imageSize: 256, inputNc: 1, outputNc: 3, nz: 8, ngf: 4, nef: 3, netG: 'unet_256', netE: 'resnet_256',
      whereAdd: 'all', upsample: 'basic', norm: 'instance', nl: 'relu', useDropout: true,
    });
    // G: 7 non-outermost blocks x 2 norms (the innermost has 1) = 13 InstanceNorms x 2 statistics; E: 4 blocks x 2 x 2
    expect(r.stdout).toContain('latest_net_G.pth: dropped 26 InstanceNorm running_mean/running_var entries');
    expect(r.stdout).toContain('latest_net_E.pth: dropped 16 InstanceNorm');
    expect(JSON.parse(r.out.metadata.notes).length).toBe(2);
    expect(r.out.tensors.get('model.submodule.submodule.submodule.submodule.submodule.submodule.submodule.down.1.weight')!.shape).toEqual([32, 40, 4, 4]);
  });

  test.skipIf(!py)('the converted file runs: bicyclegan convert to an inference file, whose G and E equal the PyTorch port in eval mode', async () => {
    const d = join(dir, 'shoes'), inf = join(d, 'infer.safetensors');
    const r = cli(['convert', join(d, 'out.safetensors'), inf, '--storage', 'f32', '--encoder']);
    expect(r.code, r.stderr).toBe(0);
    const m = await BicycleGANInference.create({ weights: new Uint8Array(readFileSync(inf)), build: 'simd' });
    expect(m.cfg).toMatchObject({ preset: 'official', imageSize: 256, official: { netG: 'unet_256', netE: 'resnet_256', inputChannels: 1 } });
    const fwd = read(join(d, 'forward.safetensors'));
    const S = 256, f = (n: string) => tensorF32(fwd, n);
    const out = m.generate(nchwToNhwc(f('A'), 1, 1, S, S), f('z'));
    const want = nchwToNhwc(f('fake_B'), 1, 3, S, S);
    // random N(0, 1) weights through 8 InstanceNorm levels amplify float32 rounding: within 1e-4 of the output
    // range (1/40 of an 8-bit level)
    const c = close(out, want, 1e-3, 0.1);
    expect(c.ok, `fake_B worst at ${c.index}: ${c.actual} vs torch ${c.expected}`).toBe(true);
    const e = m.encodeInput(nchwToNhwc(f('B'), 1, 3, S, S));
    expect(close(e.mu, f('mu'), 1e-3).ok).toBe(true);
    expect(close(e.logvar, f('logvar'), 1e-3).ok).toBe(true);
  }, 120_000);

  test.skipIf(!py)('where_add input + E_NLayers, norm batch (statistics kept), nz 5 from E, DataParallel prefix stripped', () => {
    const r = roundTrip('batch', { netG: 'unet_128', whereAdd: 'input', netE: 'conv_128', norm: 'batch', nz: 5, ngf: 3, nef: 4 }, ['--data-parallel']);
    expectSameTensors(r.out, r.expected);
    expect(r.out.tensors.get('model.model.1.model.2.num_batches_tracked')!.dtype).toBe('I64');
    expect(JSON.parse(r.out.metadata.options)).toMatchObject({ netG: 'unet_128', whereAdd: 'input', inputNc: 3, nz: 5, ngf: 3, nef: 4, netE: 'conv_128', norm: 'batch', imageSize: 128 });
    expect(r.stdout).toContain('DataParallel `module.` prefix stripped');
  });

  test.skipIf(!py)('norm none read from the module indices (add_input G, resnet E); bilinear up-sampling', () => {
    const r = roundTrip('none', { netG: 'unet_128', whereAdd: 'input', netE: 'resnet_128', norm: 'none', upsample: 'bilinear', ngf: 2, nef: 2 });
    expectSameTensors(r.out, r.expected);
    expect(JSON.parse(r.out.metadata.options)).toMatchObject({ whereAdd: 'input', norm: 'none', upsample: 'bilinear', netE: 'resnet_128', inputNc: 3, nz: 8 });
    expect(r.out.metadata.config).toBeUndefined(); // our networks run upsample basic only: no model config, a note says so
    expect(r.stdout).toMatch(/upsample bilinear \/ nl relu: bicyclegan-wasm runs upsample basic/);
  });

  test.skipIf(!py)('G alone, add_all: instance vs none is not in the weights (note, or --norm); a contradicting flag is an error', () => {
    const r = roundTrip('gonly', { netG: 'unet_128', norm: 'none', ngf: 2, nz: 3, inputNc: 2 }, ['--no-e'], ['--norm', 'none']);
    expectSameTensors(r.out, r.expected);
    const cfg = JSON.parse(r.out.metadata.options);
    expect(cfg).toMatchObject({ norm: 'none', nz: 3, inputNc: 2, netG: 'unet_128', whereAdd: 'all' });
    expect(cfg.netE).toBeUndefined();
    const out2 = join(r.dir, 'assumed.safetensors');
    const s = runPython([converter, '--g', join(r.dir, 'latest_net_G.pth'), '--out', out2]);
    expect(s).toContain('norm instance assumed');
    expect(JSON.parse(read(out2).metadata.options).norm).toBe('instance');
    const shoes = join(dir, 'shoes');
    expect(convertFails(['--g', join(shoes, 'latest_net_G.pth'), '--out', join(dir, 'x.safetensors'), '--norm', 'batch'])).toContain('--norm batch: the weights have instance norm layers');
  });

  test.skipIf(!py)('bad input: a clear error naming the file; nothing is written', () => {
    const shoes = join(dir, 'shoes'), batch = join(dir, 'batch');
    expect(existsSync(join(shoes, 'latest_net_G.pth')) && existsSync(join(batch, 'latest_net_E.pth'))).toBe(true);
    const out = join(dir, 'bad.safetensors');
    // an E passed as G
    expect(convertFails(['--g', join(shoes, 'latest_net_E.pth'), '--out', out])).toMatch(/latest_net_E\.pth: neither G_Unet_add_all .* not an official generator state_dict/);
    // G and E of different models (input 1 / nz 8 vs nz 5)
    expect(convertFails(['--g', join(shoes, 'latest_net_G.pth'), '--e', join(batch, 'latest_net_E.pth'), '--out', out])).toMatch(/batch\/latest_net_E\.pth: nz 5, but the generator .* has nz 8: not a pair/);
    // not a torch file at all
    expect(convertFails(['--g', join(shoes, 'expected.safetensors'), '--out', out])).toMatch(/expected\.safetensors \(generator\): cannot load with torch\.load/);
    expect(existsSync(out)).toBe(false);
  });
});
