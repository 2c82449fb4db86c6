// Entry for Deno and Bun (bundled to one ESM file): `deno run -A entry.mjs job.json` / `bun entry.mjs job.json`.
// job.json: { wasm, build, weights, image, n, seed, reps, threads, out }; writes out.floats.bin, out.png and out.json.
import { readFileSync, writeFileSync } from 'node:fs';
import { probe } from './probe.js';

const job = JSON.parse(readFileSync(process.argv[process.argv.length - 1], 'utf8'));
const bytes = (p: string) => new Uint8Array(readFileSync(p));
const r = await probe({ module: new WebAssembly.Module(bytes(job.wasm)), build: job.build, weights: bytes(job.weights), image: bytes(job.image), n: job.n, seed: job.seed, reps: job.reps, threads: job.threads });
writeFileSync(`${job.out}.floats.bin`, new Uint8Array(r.floats.buffer));
writeFileSync(`${job.out}.png`, r.png);
writeFileSync(`${job.out}.json`, JSON.stringify({ build: r.build, detected: r.detected, coldMs: r.coldMs, firstMs: r.firstMs, runMs: r.runMs, wasmBytes: r.wasmBytes, threads: r.threads, warnings: r.warnings }));
