// npm run demo: train the small demo model on the shipped edges2shoes sample (data/demo, configs/demo.json),
// writing sample grids as it goes, then sample the test edges with random, encoded and interpolated codes.
// Everything lands in runs/demo (deleted first, so the demo always starts from scratch).
import { rmSync } from 'node:fs';
import { main } from '../src/cli/main.js';
import { listCheckpoints } from '../src/train/run-files.js';

const t0 = performance.now();
rmSync('runs/demo', { recursive: true, force: true });
const args = process.argv.slice(2);
let rc = await main(['train', '--config', 'configs/demo.json', ...args]);
if (rc === 0) {
  const last = listCheckpoints('runs/demo').pop()!.path;
  rc = await main(['sample', '--checkpoint', last, '--input', 'data/demo/edges2shoes-mini/test', '--direction', 'BtoA', '--out', 'runs/demo/sample', '--n', '4', '--interp', '6']);
}
if (rc === 0) {
  console.log(`\ndemo done in ${((performance.now() - t0) / 1000).toFixed(0)} s:`);
  console.log('  runs/demo/samples/latest.png   training grid: rows = input edges, real photo, encoded-z output, 3 random-z outputs');
  console.log('  runs/demo/sample/grid.png      per test input: input, reference, encoded-z, 4 random z; below it a z interpolation strip');
  console.log('  runs/demo/losses.html          loss curves (open in a browser)');
}
process.exitCode = rc;
