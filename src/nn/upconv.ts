// UpsampleConv2d: nn.Upsample(scale_factor=2, mode='nearest') followed by Conv2d(C, OC, 3, stride 1, padding 1),
// as one layer that never materialises the upsampled tensor (assembly/upconv.ts: the four output phases are
// 2x2 convs of x with summed taps, 16 instead of 36 MACs per input pixel and channel pair in the forward pass;
// the backward passes work on 2x2 box sums of the output gradient, 9 instead of 36).
// x (N, H, W, C) -> y (N, 2H, 2W, OC); y may be a channel slice of a wider tensor (zero-copy concat).
// Parameters are exactly those of the Conv2d it replaces: `${name}.weight` [OC, C, 3, 3] (HWIO in our store),
// optional `${name}.bias` [OC]; so a state_dict with `up1.model.1.weight` loads into UpsampleConv2d 'up1.model.1'.
// Saved for backward: nothing beyond x itself (not the (N, 2H, 2W, C) upsampled activation).
// Each pass splits the taps by parity (assembly/winograd_split.ts: 6.25 MACs per input pixel instead of 16 in the
// forward, 9 in the backward passes) where src/core/conv-dispatch.ts says it wins; the weights are transformed per call.
// At few input pixels the forward runs the same parts on w's own taps instead (assembly/upconv_parts.ts, 9 MACs).
// (Inference with fixed weights can pack them once: upconv_pack + upconv_forward_packed, see assembly/upconv.ts.)
import { UPCONV_FORWARD, upconvBackwardInput, upconvBackwardWeight, upconvForward, type UpconvBackwardKernel, type UpconvCallKernel } from '../core/conv-dispatch.js';
import type { Graph, Layer, Tensor } from './graph.js';
import type { Param } from './params.js';

export interface UpsampleConvOptions {
  bias: boolean;
  /** write into this tensor (e.g. a slice of a concatenation) instead of a new one */
  out?: Tensor;
}

export class UpsampleConv2d implements Layer {
  readonly y: Tensor;
  readonly w: Param;
  readonly b: Param | null;
  /** each pass's kernel (by shape) */
  readonly fwd: UpconvCallKernel;
  readonly bwdIn: UpconvBackwardKernel;
  readonly bwdW: UpconvBackwardKernel;
  constructor(readonly g: Graph, readonly name: string, readonly x: Tensor, readonly OC: number, readonly o: UpsampleConvOptions) {
    const OH = 2 * x.H, OW = 2 * x.W;
    if (o.out && (o.out.N !== x.N || o.out.H !== OH || o.out.W !== OW || o.out.C !== OC))
      throw new Error(`${name}: output tensor ${o.out.name} is ${o.out.shape()}, expected (${x.N}, ${OH}, ${OW}, ${OC})`);
    this.y = o.out ?? g.tensor(x.N, OH, OW, OC, name);
    this.w = g.store.add(`${name}.weight`, [OC, x.C, 3, 3], 'conv');
    this.b = o.bias ? g.store.add(`${name}.bias`, [OC], 'flat') : null;
    const k = g.core.k;
    this.fwd = upconvForward(x.N, x.H, x.W, x.C, OC);
    this.bwdIn = upconvBackwardInput(x.N, x.H, x.W, x.C, OC);
    this.bwdW = upconvBackwardWeight(x.N, x.H, x.W, x.C, OC);
    // the split forward alone packs U in groups (a few MiB); the split backward passes need their whole matrices
    const splitBwd = this.bwdIn === 'split' || this.bwdW === 'split';
    g.needScratch(Math.max(k.upconv_scratch_size(x.N, x.H, x.W, x.C, OC),
      k[UPCONV_FORWARD[this.fwd].scratch](x.N, x.H, x.W, x.C, OC),
      splitBwd ? k.upconv_split_scratch_size(x.N, x.H, x.W, x.C, OC) : 0));
    g.add(this);
  }

  forward(): void {
    const { x, y, g } = this;
    g.core.k[UPCONV_FORWARD[this.fwd].run](y.ptr, x.ptr, this.w.ptr, this.b ? this.b.ptr : 0, g.scratch, x.N, x.H, x.W, x.C, this.OC, y.ld, x.ld);
  }

  backward(params: boolean): void {
    const { x, y, g } = this;
    const k = g.core.k;
    if (params) {
      (this.bwdW === 'split' ? k.upconv_split_backward_weight : k.upconv_backward_weight)(this.w.grad, this.b ? this.b.grad : 0, y.grad, x.ptr, g.scratch, x.N, x.H, x.W, x.C, this.OC, y.ld, x.ld);
    }
    if (x.needsGrad) (this.bwdIn === 'split' ? k.upconv_split_backward_input : k.upconv_backward_input)(x.grad, y.grad, this.w.ptr, g.scratch, x.N, x.H, x.W, x.C, this.OC, x.ld, y.ld);
  }
}
