// A self-contained HTML page (inline SVG, no scripts, no network) plotting every loss term over the steps:
// one small chart per term, raw values in light colour and a moving average on top.
import type { LossRecord } from './run-files.js';

const TERMS = ['ge', 'vae_gan', 'lr_gan', 'pixel', 'latent', 'kl', 'd_vae', 'd_lr'];

function esc(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

function smooth(v: number[], k: number): number[] {
  const out: number[] = [];
  let s = 0;
  for (let i = 0; i < v.length; i++) {
    s += v[i];
    if (i >= k) s -= v[i - k];
    out.push(s / Math.min(i + 1, k));
  }
  return out;
}

function chart(term: string, steps: number[], vals: number[]): string {
  const W = 420, H = 200, P = 36;
  const finite = vals.filter(Number.isFinite);
  if (finite.length === 0) return '';
  let lo = Math.min(...finite), hi = Math.max(...finite);
  if (hi === lo) hi = lo + 1;
  const s0 = steps[0], s1 = Math.max(steps[steps.length - 1], s0 + 1);
  const x = (s: number) => P + ((s - s0) / (s1 - s0)) * (W - P - 8);
  const y = (v: number) => H - P + 8 - ((v - lo) / (hi - lo)) * (H - P - 8);
  // at most ~1500 points per line: long runs keep the page small
  const every = Math.max(1, Math.ceil(vals.length / 1500));
  const path = (v: number[]) =>
    v
      .map((u, i) => (i % every === 0 || i === v.length - 1 ? `${i ? 'L' : 'M'}${x(steps[i]).toFixed(1)},${y(u).toFixed(1)}` : ''))
      .join('');
  const avg = smooth(vals, Math.max(1, Math.round(vals.length / 50)));
  return `<figure><figcaption>${esc(term)} (last ${vals[vals.length - 1].toPrecision(4)})</figcaption>
<svg width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" xmlns="http://www.w3.org/2000/svg" font-size="10" font-family="sans-serif">
<rect x="${P}" y="8" width="${W - P - 8}" height="${H - P}" fill="none" stroke="#ccc"/>
<text x="2" y="14">${hi.toPrecision(3)}</text><text x="2" y="${H - P + 8}">${lo.toPrecision(3)}</text>
<text x="${P}" y="${H - P + 22}">step ${s0}</text><text x="${W - 70}" y="${H - P + 22}">step ${s1}</text>
<path d="${path(vals)}" fill="none" stroke="#9ecae1" stroke-width="1"/>
<path d="${path(avg)}" fill="none" stroke="#08519c" stroke-width="1.5"/>
</svg></figure>`;
}

export function lossPlotHtml(records: LossRecord[], title: string): string {
  const steps = records.map((r) => r.step);
  const charts = records.length ? TERMS.map((t) => chart(t, steps, records.map((r) => r[t]))).join('\n') : '<p>no steps yet</p>';
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>body{font-family:sans-serif;margin:16px}figure{display:inline-block;margin:8px}figcaption{font-size:13px}</style></head>
<body><h1>${esc(title)}</h1><p>${records.length} steps; light: per step, dark: moving average. ge = total G+E loss.</p>
${charts}
</body></html>
`;
}
