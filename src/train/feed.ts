// "Feed G's output into another network": the pairs of the generator step, where a network scores or encodes
// fake_B and its loss trains G through it (D_VAE on fake_B, D_LR on fake_B_random, E on fake_B_random for the
// latent loss). The scoring network's weight gradients are not taken here: only its input gradient, which is
// added into G's output gradient.
import type { Core } from '../core/loader.js';
import type { Graph, Tensor } from '../nn/graph.js';

/** A network with one image input (a discriminator, the encoder). */
export interface ImageNet {
  readonly g: Graph;
  readonly image: Tensor;
}

export class Feed {
  /** `into`: where G's output goes in the network's input (default all of it; a conditional D's B channels) */
  constructor(readonly core: Core, readonly from: Tensor, readonly net: ImageNet, readonly into: Tensor = net.image) {}

  /** Copy G's output into the network's input and run it forward (train mode). */
  forward(): void {
    this.net.image.needsGrad = true;
    copyInto(this.core, this.from, this.into);
    this.net.g.forward(true);
  }

  /** Backward through the network to its input only; `seed` accumulates dLoss/d(outputs) after they are zeroed. */
  backward(seed: () => void): void {
    this.net.g.backwardFrom(seed, false);
  }

  /** from.grad += dLoss/d(input): call after the generator's activation gradients are zeroed. */
  addGrad(): void {
    const { from, into } = this;
    this.core.k.copy_backward(from.grad, into.grad, from.P, from.C, from.ld, into.ld);
  }
}

/** Copy a whole NHWC tensor into another of the same shape (both may be views). */
export function copyInto(core: Core, src: Tensor, dst: Tensor): void {
  if (src.P !== dst.P || src.C !== dst.C) throw new Error(`cannot copy ${src.name} ${src.shape()} into ${dst.name} ${dst.shape()}`);
  core.k.copy_forward(dst.ptr, src.ptr, src.P, src.C, dst.ld, src.ld);
}
