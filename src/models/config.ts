// Model configuration of the pytorch-gan preset: image size, channels, latent size and base widths.
// The defaults equal PyTorch-GAN's BicycleGAN (128x128, RGB, latent 8, widths 64); small widths serve tests.

export interface ModelConfig {
  preset: 'pytorch-gan';
  /** square image side; the U-Net needs a multiple of 128, the encoder at least 113 */
  imageSize: number;
  channels: number;
  latentDim: number;
  /** base widths: G's first down conv, E's conv1, each D scale's first conv (PTG: 64 each) */
  gBase: number;
  eBase: number;
  dBase: number;
  /** BatchNorm eps: PTG passes 0.8 positionally (it is eps, not momentum) in G and D; torchvision's E uses 1e-5 */
  bnEpsG: number;
  bnEpsD: number;
  bnEpsE: number;
}

export const DEFAULT_MODEL: ModelConfig = {
  preset: 'pytorch-gan',
  imageSize: 128,
  channels: 3,
  latentDim: 8,
  gBase: 64,
  eBase: 64,
  dBase: 64,
  bnEpsG: 0.8,
  bnEpsD: 0.8,
  bnEpsE: 1e-5,
};
