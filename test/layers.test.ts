// The layering rule of spec/DESIGN.md, checked rather than remembered: a module under src/ imports only from
// its own layer or the layers before it (core, nn, models, data, train, parallel, infer, cli); src/infer
// imports nothing from data, train or parallel; src/core and src/infer import no node: modules (except
// core/load-node.ts, the Node-only loader, which src/infer must not use); assembly/ imports only assembly/.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve, dirname } from 'node:path';
import { describe, expect, test } from 'vitest';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const ORDER = ['core', 'nn', 'models', 'data', 'train', 'parallel', 'infer', 'cli'];

function files(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

function imports(file: string): string[] {
  const src = readFileSync(file, 'utf8');
  return [...src.matchAll(/^\s*(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]/gm), ...src.matchAll(/import\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]);
}

const layerOf = (abs: string) => relative(join(root, 'src'), abs).split('/')[0];

describe('imports point one way', () => {
  const violations: string[] = [];
  for (const f of files(join(root, 'src'))) {
    const from = layerOf(f);
    for (const spec of imports(f)) {
      const rel = relative(root, f);
      if (spec.startsWith('node:')) {
        if ((from === 'core' && !f.endsWith('load-node.ts')) || from === 'infer') violations.push(`${rel} imports ${spec}`);
        continue;
      }
      if (!spec.startsWith('.')) continue; // packages
      const target = resolve(dirname(f), spec);
      if (!target.startsWith(join(root, 'src'))) {
        violations.push(`${rel} imports ${spec} from outside src/`);
        continue;
      }
      const to = layerOf(target);
      if (ORDER.indexOf(to) > ORDER.indexOf(from)) violations.push(`${rel} (${from}) imports ${spec} (${to}), a later layer`);
      if (from === 'infer' && (['data', 'train', 'parallel'].includes(to) || target.endsWith('load-node.js'))) violations.push(`${rel} imports ${spec}: src/infer must run without Node or threads`);
    }
  }
  for (const f of files(join(root, 'assembly')))
    for (const spec of imports(f)) if (!spec.startsWith('.')) violations.push(`${relative(root, f)} imports ${spec}: assembly/ stands alone`);

  test('no layer imports a later one', () => {
    expect(violations).toEqual([]);
  });
  test('every folder under src/ is a known layer', () => {
    const dirs = readdirSync(join(root, 'src'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    expect(dirs.filter((d) => !ORDER.includes(d))).toEqual([]);
  });
});
