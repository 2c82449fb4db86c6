// Where a training step's time goes, per layer: wraps every layer's forward/backward of a one-thread
// BicycleGAN step with a timer and prints the totals per layer (and per network) as a table, plus the
// optimizer time. Comparing batch 8 with batch 4 shows the layers whose cost does not halve with the rows
// (weight-bound: a data-parallel worker pays them in full for its shard), which bound worker scaling.
// Usage: tsx bench/profile-step.ts [--batch 8] [--width 64] [--size 128] [--steps 2] [--top 25] [--json out.json]
import { writeFileSync } from 'node:fs';
import { loadCore, resolveBuild } from '../src/core/load-node.js';
import { Rng } from '../src/core/rng.js';
import { Adam } from '../src/train/adam.js';
import { LocalEngine } from '../src/train/engine.js';

const argv = process.argv.slice(2);
const arg = (name: string, def: string) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : def);
const batch = Number(arg('batch', '8')), width = Number(arg('width', '64')), size = Number(arg('size', '128'));
const steps = Number(arg('steps', '2')), top = Number(arg('top', '25'));
const build = resolveBuild(arg('build', 'auto') as 'auto');

const engine = new LocalEngine(await loadCore({ build }), { batch, model: { imageSize: size, gBase: width, eBase: width, dBase: width }, seed: 1 });
const m = engine.model;
const times = new Map<string, number>();
let on = false;
const add = (k: string, t: number) => on && times.set(k, (times.get(k) ?? 0) + t);
for (const net of [m.G, m.E, m.D_VAE, m.D_LR])
  for (const l of net.g.layers) {
    const f = l.forward.bind(l), b = l.backward.bind(l);
    l.forward = (train) => { const t = performance.now(); f(train); add(`${l.name}|fwd`, performance.now() - t); };
    l.backward = (p) => { const t = performance.now(); b(p); add(`${l.name}|bwd`, performance.now() - t); };
  }
const origUpdate = Adam.prototype.update;
Adam.prototype.update = function (this: Adam, ...a: Parameters<Adam['update']>) {
  const t = performance.now(); const r = origUpdate.apply(this, a); add(`adam.${this.store.net}|upd`, performance.now() - t); return r;
};
const rng = new Rng(5), n = batch * size * size * 3, A = new Float32Array(n), B = new Float32Array(n);
rng.fillUniform(A, -1, 1); rng.fillUniform(B, -1, 1);
engine.setBatch(A, B);
await engine.step();
on = true;
const t0 = performance.now();
for (let s = 0; s < steps; s++) await engine.step();
const total = (performance.now() - t0) / steps;
const rows = [...times].map(([k, v]) => ({ layer: k.split('|')[0], pass: k.split('|')[1], ms: v / steps })).sort((a, b) => b.ms - a.ms);
const net = new Map<string, number>();
for (const r of rows) net.set(r.layer.split('.')[0], (net.get(r.layer.split('.')[0]) ?? 0) + r.ms);
console.log(`step ${total.toFixed(0)} ms (batch ${batch}, widths ${width}, ${size}px, ${build}); layers+adam ${rows.reduce((s, r) => s + r.ms, 0).toFixed(0)} ms`);
console.log([...net].map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', '));
for (const r of rows.slice(0, top)) console.log(`${r.ms.toFixed(1).padStart(8)}  ${r.pass}  ${r.layer}`);
if (argv.includes('--json')) writeFileSync(arg('json', 'profile.json'), JSON.stringify({ batch, width, size, total, rows }, null, 1));
