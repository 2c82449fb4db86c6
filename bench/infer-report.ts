// Inference weight formats: file sizes, output error of f16 and int8 against f32 on real facades inputs, and
// peak memory (wasm + weights + JS heap) per format against a Cloudflare Worker's 128 MB.
//   npm run report:infer [-- --quick] [-- --weights ckpt.safetensors]
// Without --weights the full pytorch-gan G and E are seeded inits (no trained checkpoint ships with the repo).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { compiledModule, loadCore } from '../src/core/load-node.js';
import { BicycleGANInference, convertWeights, crop, decodeImage, fromModelOutput, toModelInput, type RGBAImage, type Storage } from '../src/infer/index.js';
import { fullWeights } from './infer-model.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const wArg = args.includes('--weights') ? args[args.indexOf('--weights') + 1] : undefined;
const root = resolve(new URL('..', import.meta.url).pathname);
const MiB = 2 ** 20;
const STORAGES: Storage[] = ['f32', 'f16', 'int8'];
const WORKER_MB = 128;
const WASM_BUDGET_MB = 48; // examples/worker: the core's maxMemoryMB

async function main() {
  const core = await loadCore({ build: 'simd' });
  const raw = wArg ? new Uint8Array(readFileSync(wArg)) : fullWeights(core, { encoder: true });
  console.log(wArg ? `weights: ${wArg}` : 'weights: seeded pytorch-gan G + E (128 px, widths 64; no trained checkpoint ships here)');
  const dir = mkdtempSync(join(tmpdir(), 'bicyclegan-report-'));
  try {
    const files: Record<string, Uint8Array> = {}, gOnly: Record<string, Uint8Array> = {};
    for (const s of STORAGES) {
      files[s] = convertWeights(raw, { storage: s });
      gOnly[s] = convertWeights(raw, { storage: s, nets: ['G'] });
    }
    console.log('\nfile sizes (MiB)          G only    G + E');
    for (const s of STORAGES) console.log(`  ${s.padEnd(22)} ${(gOnly[s].byteLength / MiB).toFixed(2).padStart(8)} ${(files[s].byteLength / MiB).toFixed(2).padStart(8)}`);

    // error against f32 on facades label maps (right half; the photo is on the left)
    const facades = join(process.env.BICYCLEGAN_DATA ?? '../shared/data', 'facades/test');
    if (!existsSync(facades)) console.log(`\n${facades} is absent: skipping the error report`);
    else {
      const names = readdirSync(facades).filter((f) => f.endsWith('.jpg')).sort((a, b) => parseInt(a) - parseInt(b)).slice(0, quick ? 5 : 20);
      const seeds = quick ? [1, 2] : [1, 2, 3, 4];
      const ms = await Promise.all(STORAGES.map((s) => BicycleGANInference.create({ module: compiledModule('simd'), build: 'simd', weights: files[s] })));
      const stat = { f16: { max: 0, sum: 0, n: 0, pmax: 0, psum: 0, mu: 0 }, int8: { max: 0, sum: 0, n: 0, pmax: 0, psum: 0, mu: 0 } };
      for (const f of names) {
        const img = decodeImage(new Uint8Array(readFileSync(join(facades, f))));
        const label: RGBAImage = crop(img, img.width / 2, 0, img.width / 2, img.height);
        const photo: RGBAImage = crop(img, 0, 0, img.width / 2, img.height);
        const x = toModelInput(label, 128);
        const mu = ms.map((m) => m.encode(photo).mu);
        for (const seed of seeds) {
          const z = ms[0].codes(1, seed)[0];
          const [a, ...rest] = ms.map((m) => m.generate(x, z));
          const pa = fromModelOutput(a, 128).data;
          rest.forEach((o, i) => {
            const st = stat[(['f16', 'int8'] as const)[i]];
            const po = fromModelOutput(o, 128).data;
            for (let j = 0; j < a.length; j++) {
              const d = Math.abs(o[j] - a[j]);
              st.max = Math.max(st.max, d);
              st.sum += d;
            }
            for (let j = 0; j < po.length; j++) {
              const d = Math.abs(po[j] - pa[j]);
              st.pmax = Math.max(st.pmax, d);
              st.psum += d;
            }
            st.n += a.length;
          });
        }
        (['f16', 'int8'] as const).forEach((s, i) => {
          for (let j = 0; j < mu[0].length; j++) stat[s].mu = Math.max(stat[s].mu, Math.abs(mu[i + 1][j] - mu[0][j]));
        });
      }
      console.log(`\nG output vs f32 on ${names.length} facades label maps x ${seeds.length} seeds (128 px; values in [-1, 1], pixels 0..255):`);
      console.log('  storage   max |diff|   mean |diff|   max px   mean px (RGBA)   E mu max |diff|');
      for (const s of ['f16', 'int8'] as const) {
        const st = stat[s];
        console.log(`  ${s.padEnd(8)} ${st.max.toExponential(2).padStart(11)} ${(st.sum / st.n).toExponential(2).padStart(13)} ${String(st.pmax).padStart(8)} ${(st.psum / (st.n / 3 * 4)).toFixed(4).padStart(10)} ${st.mu.toExponential(2).padStart(18)}`);
      }
    }

    // memory, one child process per format (generator only, as the Worker runs it)
    console.log(`\npeak memory, generator only at 128 px, sample n=4 + PNG grid, wasm budget ${WASM_BUDGET_MB} MiB (node --expose-gc):`);
    console.log('  storage   wasm MiB  weights MiB  JS heap MiB (peak / idle)   total MiB   fits 128 MB?');
    for (const s of STORAGES) {
      const p = join(dir, `g-${s}.safetensors`);
      writeFileSync(p, gOnly[s]);
      const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', join(root, 'bench/infer-memory-child.ts'), p, String(WASM_BUDGET_MB)], { cwd: root, encoding: 'utf8' });
      if (r.status !== 0) {
        console.log(`  ${s}: child failed: ${r.stderr.slice(0, 400)}`);
        continue;
      }
      const m = JSON.parse(r.stdout.trim().split('\n').pop()!);
      const total = m.wasmBytes + m.weightBytes + m.heapPeak;
      const fits = total <= WORKER_MB * 1e6 * 0.95 ? 'yes' : total <= WORKER_MB * 1e6 ? 'barely' : 'no';
      console.log(`  ${s.padEnd(8)} ${(m.wasmBytes / MiB).toFixed(1).padStart(9)} ${(m.weightBytes / MiB).toFixed(1).padStart(12)} ${(m.heapPeak / MiB).toFixed(1).padStart(14)} / ${(m.heapBaseline / MiB).toFixed(1).padStart(5)} ${(total / MiB).toFixed(1).padStart(14)}   ${fits} (${(total / 1e6).toFixed(0)} MB)`);
    }
    console.log('  (JS heap is Node + tsx, whose idle heap is larger than a Worker isolate\'s; "barely": within 5% of 128 MB)');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
