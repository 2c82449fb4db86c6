#!/usr/bin/env node
// `bicyclegan` bin: runs the compiled CLI (dist/, made by `npm run build`, which `npm ci` and `npm pack` run
// through `prepare`). In the repo, `node scripts/cli-dev.mjs ...` runs the TypeScript sources under tsx instead.
try {
  await import('../dist/src/cli/run.js');
} catch (e) {
  if (e?.code === 'ERR_MODULE_NOT_FOUND' && String(e.message).includes('dist/src/cli/run.js')) {
    console.error('bicyclegan: dist/ is missing; run `npm run build` (in a clone, `npm ci` builds it)');
    process.exit(1);
  }
  throw e;
}
