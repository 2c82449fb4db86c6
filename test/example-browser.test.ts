// examples/browser in headless Chromium (Debian's /usr/bin/chromium via playwright-core): the page served by
// examples/browser/serve.ts is cross-origin isolated, loads a small model in its Web Worker, samples N outputs
// for an uploaded image and for a drawing, and the z slider changes the walk output; the second tab trains a
// tiny model on data/demo in its own Web Worker and refreshes its sample grid. Element screenshots are checked
// for non-blank, varying outputs.
import { describe, expect, test } from 'vitest';
import { loadCore } from '../src/core/load-node.js';
import { decodePng, encodePng, type RGBAImage } from '../src/infer/index.js';
import { startServer } from '../examples/browser/serve.js';
import { smallWeights, testPicture } from './helpers/infer-model.js';
import { CHROMIUM, haveChromium, launchChromium } from './helpers/edge.js';

const have = haveChromium;
if (!have) console.warn(`skipping the browser example test: ${CHROMIUM} is absent (apt-get install -y chromium)`);

/** Spread of the RGB values: 0 for a blank (one-colour) image. */
function spread(img: RGBAImage): number {
  let lo = 255, hi = 0;
  for (let i = 0; i < img.data.length; i++) if (i % 4 !== 3) (lo = Math.min(lo, img.data[i])), (hi = Math.max(hi, img.data[i]));
  return hi - lo;
}
function meanDiff(a: RGBAImage, b: RGBAImage): number {
  expect([a.width, a.height]).toEqual([b.width, b.height]);
  let s = 0;
  for (let i = 0; i < a.data.length; i++) s += Math.abs(a.data[i] - b.data[i]);
  return s / a.data.length;
}

describe('examples/browser', () => {
  test.skipIf(!have)('upload and drawing give N non-blank, different outputs; the z slider moves the walk output; training refreshes the grid', async () => {
    const core = await loadCore({ build: 'simd' });
    const server = await startServer({ weights: smallWeights(core, 5, ['G', 'E'], { gBase: 8, eBase: 4, dBase: 2 }) });
    const res = await fetch(server.url);
    expect(res.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(res.headers.get('cross-origin-embedder-policy')).toBe('require-corp');
    const { ctx, close: closeChromium } = await launchChromium();
    try {
      const page = await ctx.newPage();
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(server.url);
      await page.waitForSelector('body[data-ready]', { timeout: 60_000 }).catch(() => {
        throw new Error(`the model did not load: ${errors.join('; ')} ${page.url()}`);
      });
      expect(await page.evaluate('crossOriginIsolated')).toBe(true);
      // served cross-origin isolated: the worker splits each layer over threads (up to 4)
      expect(await page.textContent('#status')).toMatch(/model ready: 128x128, relaxed build, with encoder, [2-4] threads/);

      const shots = async (sel: string) => Promise.all((await page.locator(sel).all()).map(async (l) => decodePng(new Uint8Array(await l.screenshot()))));
      // upload: the page centre-crops, samples n = 6 and renders the walk at t = 0
      await page.setInputFiles('#upload', { name: 'edges.png', mimeType: 'image/png', buffer: Buffer.from(encodePng(testPicture(200, 150, 4))) });
      await page.waitForSelector('body[data-samples="1"][data-walks="1"]', { timeout: 60_000 });
      const outs = await shots('.out');
      expect(outs.length).toBe(6);
      for (const o of outs) expect(spread(o)).toBeGreaterThan(20);
      for (let i = 1; i < outs.length; i++) expect(meanDiff(outs[0], outs[i])).toBeGreaterThan(0.1); // mean 8-bit levels: a barely trained model varies little with z
      const walk0 = (await shots('#walk-out'))[0];
      await page.fill('#t', '100'); // fires 'input': the walk to t = 1
      await page.waitForFunction('Number(document.body.dataset.walks) >= 2');
      expect(meanDiff(walk0, (await shots('#walk-out'))[0])).toBeGreaterThan(0.1); // mean 8-bit levels: a barely trained model varies little with z

      // drawing on the pad, then generate with n = 3
      await page.click('#clear');
      const box = (await page.locator('#pad').boundingBox())!;
      await page.mouse.move(box.x + 30, box.y + 30);
      await page.mouse.down();
      for (let i = 1; i <= 10; i++) await page.mouse.move(box.x + 30 + i * 18, box.y + 30 + i * 12);
      await page.mouse.up();
      await page.fill('#n', '3');
      await page.click('#generate');
      await page.waitForSelector('body[data-samples="2"]', { timeout: 60_000 });
      const drawn = await shots('.out');
      expect(drawn.length).toBe(3);
      for (const o of drawn) expect(spread(o)).toBeGreaterThan(20);
      expect(meanDiff(drawn[0], drawn[1])).toBeGreaterThan(0.1); // mean 8-bit levels: a barely trained model varies little with z
      expect(errors).toEqual([]);

      // the training tab: tiny widths, a grid every 2 steps; the grid is non-blank and changes as it learns
      await page.goto(`${server.url}?widths=4&batch=2&refresh=2`);
      await page.waitForSelector('body[data-ready]', { timeout: 60_000 });
      await page.click('#tab-train');
      await page.click('#train-start');
      // the grid is replaced as new ones arrive: screenshot its container (always attached)
      await page.waitForFunction('Number(document.body.dataset.trainGrids) >= 1', undefined, { timeout: 120_000 });
      expect(await page.evaluate("document.querySelectorAll('#train-grid canvas').length")).toBe(3 * 4); // 3 codes x 4 test inputs
      const g1 = (await shots('#train-grid'))[0];
      expect(spread(g1)).toBeGreaterThan(20);
      const seen = Number(await page.evaluate('document.body.dataset.trainGrids'));
      await page.waitForFunction(`Number(document.body.dataset.trainGrids) >= ${seen + 2}`, undefined, { timeout: 120_000 });
      await page.click('#train-stop');
      const g2 = (await shots('#train-grid'))[0];
      expect(meanDiff(g1, g2)).toBeGreaterThan(0.02); // four steps later the outputs moved (0.08 seen: lr 2e-4, widths 4; the mean includes the gaps)
      expect(Number(await page.evaluate('document.body.dataset.trainSteps'))).toBeGreaterThanOrEqual(4);
      expect(await page.textContent('#train-status')).toMatch(/^step \d+, [\d.]+ img\/s, G [\d.]+ pixel [\d.]+$/);
      expect(errors).toEqual([]);
    } finally {
      await closeChromium();
      await server.close();
    }
  });
});
