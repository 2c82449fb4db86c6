// Entry point: `tsx src/cli/run.ts train ...` (the bin shim bin/bicyclegan.mjs imports this under tsx).
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2));
