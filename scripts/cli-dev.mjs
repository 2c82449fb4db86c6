#!/usr/bin/env node
// The CLI from the TypeScript sources, for tests and development (`npm run bicyclegan -- ...`); the package's
// bin (bin/bicyclegan.mjs) runs the compiled dist/ instead. Registers tsx's ESM loader in this process (no
// child process, so Ctrl-C and SIGTERM reach the trainer directly) and runs src/cli/run.ts.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/run.ts');
