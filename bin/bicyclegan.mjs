#!/usr/bin/env node
// `bicyclegan` bin shim: registers tsx's ESM loader in this process (no child process, so Ctrl-C and SIGTERM
// reach the trainer directly) and runs the TypeScript CLI in src/cli/run.ts.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/run.ts');
