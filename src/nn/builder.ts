// The builder interface every network description (src/models) is written against, once per topology.
// Three builders read a description: the training builder (graph-builder.ts: layers with backward, arena,
// parameters), and the inference plan and run builders (src/infer/nets.ts: weight layers with BatchNorm folded,
// ops over f32/f16/int8 weights). The ops are the units a builder may implement its own way: a conv block is
// conv + optional BatchNorm + optional activation (one folded conv at inference), an upconv is nearest x2 +
// conv3x3 (one fused kernel wherever a builder has one). Names are PyTorch module names: they make the
// parameter names (`<name>.weight`), so the order of the calls is the order of the parameters in the blocks.
// Legend: N batch, H/W spatial, C channels; tensors NHWC, possibly channel slices of a wider buffer.

/** What a description reads of a tensor: its shape. */
export interface Shape {
  readonly N: number;
  readonly H: number;
  readonly W: number;
  readonly C: number;
}

export type Activation = 'relu' | 'tanh' | { leaky: number };

/** BatchNorm2d after a conv: its module name and eps (momentum is PyTorch's 0.1). */
export interface BatchNormSpec {
  name: string;
  eps: number;
}

/** A normalisation alone or in a tail: BatchNorm2d (running statistics, folded into the conv at inference) or
 * InstanceNorm2d(affine=False, track_running_stats=False): per-sample statistics in training and inference alike,
 * no parameters. At most one of the two. */
export interface NormTail {
  bn?: BatchNormSpec;
  instanceNorm?: { eps: number };
  act?: Activation;
}

/** The tail of a conv block and where its result goes: norm, activation, then dropout. */
export interface BlockTail<T> extends NormTail {
  bias: boolean;
  /** Dropout(p) after the rest of the tail in training mode (inverted: kept values scaled by 1 / (1 - p));
   * identity in eval mode and at inference */
  dropout?: number;
  /** the dropout layer's key k: its mask is drawn with dropoutLayerSeed(graph seed, k) (nn/dropout.ts); default:
   * its rank among the network's dropout layers. The official U-Net keys them by block depth, as the fixture. */
  dropoutKey?: number;
  /** write the block's result here (a channel slice of a concatenation: zero-copy) instead of a new tensor */
  out?: T;
}

export interface ConvSpec<T> extends BlockTail<T> {
  k: number;
  stride: number;
  pad: number;
}

export interface NetBuilder<T extends Shape> {
  /** A network input (grad false: nobody ever needs its gradient, e.g. the condition image of G). */
  input(name: string, N: number, H: number, W: number, C: number, grad?: boolean): T;
  /** A buffer that later ops fill through channel slices (a concatenation). */
  tensor(name: string, N: number, H: number, W: number, C: number): T;
  /** Channels [c0, c0 + C) of t, sharing its memory. */
  slice(t: T, c0: number, C: number, name: string): T;
  /** The same contiguous memory with another NHWC shape. */
  reshape(t: T, N: number, H: number, W: number, C: number, name: string): T;
  /** Conv2d (k x k, stride, pad) then the tail: BatchNorm2d, activation. Returns the block's result. */
  conv(name: string, x: T, OC: number, o: ConvSpec<T>): T;
  /** ConvTranspose2d (k x k, stride, pad; PyTorch weight [C][OC][k][k], output (H - 1) * stride - 2 * pad + k)
   * then the tail. */
  convT(name: string, x: T, OC: number, o: ConvSpec<T>): T;
  /** Nearest-neighbour x2 upsampling then Conv2d 3x3 stride 1 pad 1 named `name`, then the tail. */
  upconv(name: string, x: T, OC: number, o: BlockTail<T>): T;
  /** Linear over the flattened (h, w, C) input (PyTorch flattens (C, h, w): the layout takes care of it). */
  linear(name: string, x: T, OUT: number): T;
  /** y = x (y is usually a slice of a concatenation). */
  copy(name: string, x: T, y: T): void;
  /** y[n, h, w, c] = z[n, 0, 0, c]: z (N, 1, 1, C) broadcast over y's (usually a concatenation slice's) H x W. */
  tile(name: string, z: T, y: T): void;
  /** An activation alone, into `out` (a concatenation slice) or a new tensor. */
  activation(name: string, x: T, a: Activation, out?: T): T;
  /** A normalisation alone (before a conv, as in E_ResNet's pre-activation blocks) then the activation. */
  norm(name: string, x: T, o: NormTail): T;
  maxpool(name: string, x: T, k: number, stride: number, pad: number): T;
  avgpool(name: string, x: T, k: number, stride: number, pad: number, countIncludePad: boolean): T;
  /** a + b, then the activation if given (a residual join). */
  add(name: string, a: T, b: T, act?: Activation): T;
}
