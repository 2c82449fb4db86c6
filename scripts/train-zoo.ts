// npm run train:zoo: reproduce the shipped edges2shoes-handbags model (models/, src/infer/zoo.ts) from its seed.
// 1. the split: ../shared/data/edges2shoes-handbags/train pairs 1-950 and 1001-1950 train (1,900), 951-1000 and
//    1951-2000 held out (50 shoes, 50 handbags), as symlinks under runs/zoo/data/{train,test};
// 2. training with configs/zoo-edges2shoes-handbags.json (official preset, 128 px, widths 24, batch 4, 8 epochs,
//    linear LR decay over the last 4, seed 1, one thread) into runs/zoo/run;
// 3. the held-out evaluation (20 random z per input) into runs/zoo/eval, and the int8 inference file with G and E
//    into models/edges2shoes-handbags.int8.safetensors.
// Extra arguments go to `train` (e.g. --steps 100 for a quick try). Needs ../shared/data.
import { existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { main } from '../src/cli/main.js';
import { listCheckpoints } from '../src/train/run-files.js';

const src = resolve('../shared/data/edges2shoes-handbags/train');
if (!existsSync(src)) {
  console.error(`train:zoo: ${src} is missing (the shared datasets sit beside the repository)`);
  process.exit(1);
}
const t0 = performance.now();
rmSync('runs/zoo', { recursive: true, force: true });
const held = (i: number) => (i > 950 && i <= 1000) || i > 1950;
for (const split of ['train', 'test']) mkdirSync(join('runs/zoo/data', split), { recursive: true });
for (let i = 1; i <= 2000; i++) symlinkSync(join(src, `${i}_AB.jpg`), join('runs/zoo/data', held(i) ? 'test' : 'train', `${i}_AB.jpg`));

let rc = await main(['train', '--config', 'configs/zoo-edges2shoes-handbags.json', '--data', 'runs/zoo/data', '--out', 'runs/zoo/run', ...process.argv.slice(2)]);
const last = rc === 0 ? listCheckpoints('runs/zoo/run').pop()!.path : '';
if (rc === 0) rc = await main(['eval', '--checkpoint', last, '--input', 'runs/zoo/data/test', '--direction', 'BtoA', '--n', '20', '--out', 'runs/zoo/eval']);
if (rc === 0) rc = await main(['convert', last, 'models/edges2shoes-handbags.int8.safetensors', '--storage', 'int8', '--encoder']);
if (rc === 0) console.log(`train:zoo done in ${((performance.now() - t0) / 60000).toFixed(0)} min: models/edges2shoes-handbags.int8.safetensors, runs/zoo/eval`);
process.exitCode = rc;
