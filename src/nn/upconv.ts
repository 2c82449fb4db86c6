// UpsampleConv2d: nn.Upsample(scale_factor=2, mode='nearest') followed by Conv2d(C, OC, 3, stride 1, padding 1),
// as one layer that never materialises the upsampled tensor (assembly/upconv.ts: the four output phases are
// 2x2 convs of x with summed taps, 16 instead of 36 MACs per output pixel and channel pair).
// x (N, H, W, C) -> y (N, 2H, 2W, OC); y may be a channel slice of a wider tensor (zero-copy concat).
// Parameters are exactly those of the Conv2d it replaces: `${name}.weight` [OC, C, 3, 3] (HWIO in our store),
// optional `${name}.bias` [OC]; so a state_dict with `up1.model.1.weight` loads into UpsampleConv2d 'up1.model.1'.
// Saved for backward: nothing beyond x itself (not the (N, 2H, 2W, C) upsampled activation); with `packed`,
// the derived weights (16 * C * OC floats) from forward to backward-input.
import type { Graph, Layer, Tensor } from './graph.js';
import type { Param } from './params.js';

export interface UpsampleConvOptions {
  bias: boolean;
  /** write into this tensor (e.g. a slice of a concatenation) instead of a new one */
  out?: Tensor;
  /** keep the 16 derived dual taps (16/9 of the weight) in a buffer of their own, packed by each forward and
   * reused by backward-input, instead of deriving them into scratch in both passes: faster, more memory */
  packed?: boolean;
}

export class UpsampleConv2d implements Layer {
  readonly y: Tensor;
  readonly w: Param;
  readonly b: Param | null;
  /** the packed weights (o.packed), else 0 */
  private wd = 0;
  constructor(readonly g: Graph, readonly name: string, readonly x: Tensor, readonly OC: number, readonly o: UpsampleConvOptions) {
    const OH = 2 * x.H, OW = 2 * x.W;
    if (o.out && (o.out.N !== x.N || o.out.H !== OH || o.out.W !== OW || o.out.C !== OC))
      throw new Error(`${name}: output tensor ${o.out.name} is ${o.out.shape()}, expected (${x.N}, ${OH}, ${OW}, ${OC})`);
    this.y = o.out ?? g.tensor(x.N, OH, OW, OC, name);
    this.w = g.store.add(`${name}.weight`, [OC, x.C, 3, 3], 'conv');
    this.b = o.bias ? g.store.add(`${name}.bias`, [OC], 'flat') : null;
    const k = g.core.k;
    g.needScratch(k.upconv_scratch_size(x.N, x.H, x.W, x.C, OC));
    if (o.packed) {
      g.needScratch(k.upconv_packed_scratch_size(x.N, x.H, x.W, x.C, OC));
      this.wd = g.alloc(k.upconv_packed_size(x.C, OC), `${name}.packed_weight`);
    }
    g.add(this);
  }

  forward(): void {
    const { x, y, g } = this;
    const k = g.core.k, b = this.b ? this.b.ptr : 0;
    if (this.wd) {
      k.upconv_pack(this.wd, this.w.ptr, g.scratch, x.C, this.OC);
      k.upconv_forward_packed(y.ptr, x.ptr, this.w.ptr, this.wd, b, g.scratch, x.N, x.H, x.W, x.C, this.OC, y.ld, x.ld);
    } else {
      k.upconv_forward(y.ptr, x.ptr, this.w.ptr, b, g.scratch, x.N, x.H, x.W, x.C, this.OC, y.ld, x.ld);
    }
  }

  backward(params: boolean): void {
    const { x, y, g } = this;
    const k = g.core.k;
    if (params) {
      k.upconv_backward_weight(this.w.grad, this.b ? this.b.grad : 0, y.grad, x.ptr, g.scratch, x.N, x.H, x.W, x.C, this.OC, y.ld, x.ld);
    }
    if (!x.needsGrad) return;
    if (this.wd) k.upconv_backward_input_packed(x.grad, y.grad, this.w.ptr, this.wd, g.scratch, x.N, x.H, x.W, x.C, this.OC, x.ld, y.ld);
    else k.upconv_backward_input(x.grad, y.grad, this.w.ptr, g.scratch, x.N, x.H, x.W, x.C, this.OC, x.ld, y.ld);
  }
}
