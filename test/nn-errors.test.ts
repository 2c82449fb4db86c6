// Bad input to the layer builders and the core: checked once when a network is built, with errors that name
// the layer, the argument and the expected vs actual value; memory exhaustion names the requested size.
import { beforeAll, describe, expect, test } from 'vitest';
import { loadCore } from '../src/core/load-node.js';
import type { Core } from '../src/core/loader.js';
import { OutOfMemoryError } from '../src/core/memory.js';
import { Graph } from '../src/nn/graph.js';
import { Conv2d, Linear } from '../src/nn/conv2d.js';
import { Add, Copy } from '../src/nn/combine.js';
import { ReLU } from '../src/nn/activation.js';

let core: Core;
beforeAll(async () => {
  core = await loadCore({ build: 'simd' });
});

describe('layer builders', () => {
  test('a kernel larger than the padded input', () => {
    const g = new Graph(core, 'net');
    const x = g.tensor(1, 2, 2, 3, 'x');
    expect(() => new Conv2d(g, 'conv', x, 4, { k: 7, stride: 2, pad: 1, bias: false })).toThrow(/conv: input size 2 is too small for kernel 7, stride 2, padding 1/);
  });
  test('padding over half the kernel, and non-positive stride', () => {
    const g = new Graph(core, 'net');
    const x = g.tensor(1, 8, 8, 3, 'x');
    expect(() => new Conv2d(g, 'conv', x, 4, { k: 3, stride: 1, pad: 2, bias: false })).toThrow(/conv: padding 2 must be at most half the kernel size 3/);
    expect(() => new Conv2d(g, 'conv', x, 4, { k: 3, stride: 0, pad: 1, bias: false })).toThrow(/conv: invalid kernel 3, stride 0, padding 1/);
  });
  test('an output tensor of the wrong shape', () => {
    const g = new Graph(core, 'net');
    const x = g.tensor(2, 8, 8, 3, 'x'), y = g.tensor(2, 8, 8, 5, 'y');
    expect(() => new Conv2d(g, 'conv', x, 4, { k: 3, stride: 1, pad: 1, bias: false, out: y })).toThrow(/conv: output tensor net\.y is \(2, 8, 8, 5\), expected \(2, 8, 8, 4\)/);
    expect(() => new ReLU(g, 'relu', x, g.tensor(2, 4, 4, 3, 'z'))).toThrow(/relu: output net\.z \(2, 4, 4, 3\) does not match input \(2, 8, 8, 3\)/);
  });
  test('mismatched inputs of add and copy; bad slices and shapes', () => {
    const g = new Graph(core, 'net');
    const a = g.tensor(1, 4, 4, 8, 'a'), b = g.tensor(1, 4, 4, 6, 'b');
    expect(() => new Add(g, 'add', a, b)).toThrow(/add: cannot add net\.a \(1, 4, 4, 8\) and net\.b \(1, 4, 4, 6\)/);
    expect(() => new Copy(g, 'copy', a, b)).toThrow(/copy: cannot copy net\.a \(1, 4, 4, 8\) into net\.b \(1, 4, 4, 6\)/);
    expect(() => g.slice(a, 6, 4, 'half')).toThrow(/net\.half: channels \[6, 10\) outside net\.a \(1, 4, 4, 8\)/);
    expect(() => g.tensor(1, 4, 2.5, 3, 'odd')).toThrow(/net\.odd: W must be a positive integer, got 2\.5/);
    expect(() => g.reshape(g.slice(a, 0, 4, 's'), 1, 1, 1, 64, 'r')).toThrow(/net\.r: cannot reshape net\.s/);
  });
  test('layers cannot be added after the network is laid out', () => {
    const g = new Graph(core, 'net');
    const x = g.tensor(1, 1, 1, 4, 'x');
    new Linear(g, 'fc', x, 2);
    g.finalize();
    expect(() => new Linear(g, 'fc2', x, 2)).toThrow(/net: cannot add parameter fc2\.weight after the network is built/);
  });
});

describe('memory', () => {
  test('running out of wasm memory is an error with the requested size', async () => {
    const small = await loadCore({ build: 'simd', maxMemoryMB: 64 });
    let err: unknown;
    try {
      small.arena.alloc(20 * 2 ** 20, 'activations of G');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OutOfMemoryError);
    expect((err as Error).message).toMatch(/core: out of wasm memory allocating activations of G: needed 80\.\d MiB in all, the limit is 64 MiB/);
  });
  test('an invalid memory limit', async () => {
    await expect(loadCore({ build: 'simd', maxMemoryMB: 8192 })).rejects.toThrow(/maxMemoryMB must be between 1 and 4096 \(MiB\), got 8192/);
  });
});
