// The bounded, seeded fuzz run (scripts/fuzz-targets.ts): a few thousand mutated checkpoints, weight files,
// images and config objects. Zero crashes: every rejection is an Error naming the file and the field, and a
// rejected checkpoint leaves the model as it was. The long run is `npm run fuzz -- --cases 100000`.
import { beforeAll, describe, expect, test } from 'vitest';
import { classify, fuzz, makeTargets, mutate, type Target } from '../scripts/fuzz-targets.js';

const CASES: Record<string, number> = { safetensors: 600, checkpoint: 400, weights: 500, images: 800, config: 800 };
// eslint-disable-next-line @typescript-eslint/no-explicit-any
let targets: Target<any>[];
beforeAll(async () => {
  targets = await makeTargets();
});

describe('fuzz (bounded, seeded)', () => {
  for (const name of Object.keys(CASES)) {
    test(`${name}: ${CASES[name]} cases, no crash, both outcomes reached`, () => {
      const s = fuzz(targets.find((t) => t.name === name)!, CASES[name], 20261130);
      expect(s.crashes, `${s.firstCrash?.message}\n${s.firstCrash?.counterexample}`).toBe(0);
      expect(s.cases).toBe(CASES[name]);
      expect(s.rejects).toBeGreaterThan(0);
      expect(s.accepts).toBeGreaterThan(0);
    });
  }

  test('the harness can fail: raw JS messages, unnamed errors and non-Errors count as crashes', () => {
    expect(classify(new RangeError('Maximum call stack size exceeded'), 'f: ').outcome).toBe('crash');
    expect(classify(new Error('f: Cannot read properties of null'), 'f: ').outcome).toBe('crash');
    expect(classify(new Error('tensor "x": bad'), 'f: ').outcome).toBe('crash');
    expect(classify('string', 'f: ').outcome).toBe('crash');
    expect(classify(new Error('f: tensor "x": dtype U32 is not allowed'), 'f: ').outcome).toBe('reject');
    // and the mutations do change the bytes
    const b = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(mutate(b, [{ kind: 'flip', at: 9, bit: 0 }])[1]).toBe(3);
    expect(mutate(b, [{ kind: 'truncate', at: 3 }]).length).toBe(3);
  });
});
