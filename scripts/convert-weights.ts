// Convert a checkpoint or weights file (ours, or a PyTorch state_dict as safetensors) into an inference
// weight file with f32, f16 or int8 storage (BatchNorm folded, kernel layout; see src/infer/weights.ts).
//   npm run convert-weights -- <in.safetensors> <out.safetensors> [--storage f32|f16|int8] [--encoder | --no-encoder]
//                              [--config model-config.json] [--chunk-floats N]
// The function behind it is convertWeights() in src/infer/weights.ts (src/cli may wrap it).
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../src/train/checkpoint-file.js';
import { convertWeights, readPacked, STORAGES, type InferNet, type Storage } from '../src/infer/weights.js';
import type { ModelConfig } from '../src/models/config.js';

const USAGE = 'usage: convert-weights <in.safetensors> <out.safetensors> [--storage f32|f16|int8] [--encoder | --no-encoder] [--config cfg.json] [--chunk-floats N]';

export function main(argv: string[]): number {
  const pos: string[] = [];
  let storage: Storage = 'f16';
  let nets: InferNet[] | undefined;
  let config: ModelConfig | undefined;
  let chunkFloats: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value\n${USAGE}`);
      return argv[++i];
    };
    if (a === '--storage') storage = val() as Storage;
    else if (a === '--encoder') nets = ['G', 'E'];
    else if (a === '--no-encoder') nets = ['G'];
    else if (a === '--config') config = JSON.parse(readFileSync(val(), 'utf8')) as ModelConfig;
    else if (a === '--chunk-floats') chunkFloats = Number(val());
    else if (a === '-h' || a === '--help') {
      console.log(USAGE);
      return 0;
    } else if (a.startsWith('-')) throw new Error(`unknown option ${a}\n${USAGE}`);
    else pos.push(a);
  }
  if (pos.length !== 2) throw new Error(USAGE);
  if (!STORAGES.includes(storage)) throw new Error(`--storage must be one of ${STORAGES.join(', ')}, got ${storage}`);
  const [input, output] = pos;
  const bytes = new Uint8Array(readFileSync(input));
  const out = convertWeights(bytes, { storage, nets, config, chunkFloats, source: input });
  writeFileAtomic(output, out);
  const p = readPacked(out, output);
  console.log(`${output}: ${storage}, nets ${p.nets.join('+')}, ${p.layers.size} layers, ${(out.byteLength / 2 ** 20).toFixed(2)} MiB (from ${(bytes.byteLength / 2 ** 20).toFixed(2)} MiB)`);
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('convert-weights.ts')) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (e) {
    console.error(`convert-weights: ${(e as Error).message}`);
    process.exitCode = 2;
  }
}
