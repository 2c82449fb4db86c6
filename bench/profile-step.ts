// Where a training step's time goes, per layer: every layer's forward/backward of a one-thread BicycleGAN step
// timed (bench/lib/step-profile.ts), the totals per layer and per network printed as a table, plus the optimizer
// time. Comparing batch 8 with batch 4 shows the layers whose cost does not halve with the rows (weight-bound: a
// data-parallel worker pays them in full for its shard), which bound worker scaling.
// Usage: tsx bench/profile-step.ts [--batch 8] [--width 64] [--size 128] [--steps 2] [--top 25] [--json out.json]
import { writeFileSync } from 'node:fs';
import { loadCore, resolveBuild } from '../src/core/load-node.js';
import { perNet, profileStep } from './lib/step-profile.js';

const argv = process.argv.slice(2);
const arg = (name: string, def: string) => (argv.includes(`--${name}`) ? argv[argv.indexOf(`--${name}`) + 1] : def);
const build = resolveBuild(arg('build', 'auto') as 'auto');
const p = await profileStep(await loadCore({ build }), { batch: Number(arg('batch', '8')), width: Number(arg('width', '64')), size: Number(arg('size', '128')), steps: Number(arg('steps', '2')) });
const top = Number(arg('top', '25'));
console.log(`step ${p.total.toFixed(0)} ms (batch ${p.batch}, widths ${p.width}, ${p.size}px, ${build}); layers+adam ${p.rows.reduce((s, r) => s + r.ms, 0).toFixed(0)} ms`);
console.log([...perNet(p)].map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', '));
for (const r of p.rows.slice(0, top)) console.log(`${r.ms.toFixed(1).padStart(8)}  ${r.pass}  ${r.net} ${r.layer}`);
if (argv.includes('--json')) writeFileSync(arg('json', 'profile.json'), JSON.stringify(p, null, 1));
