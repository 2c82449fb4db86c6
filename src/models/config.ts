// Model configuration: which preset, image size, channels, latent size and base widths, plus the official
// preset's network choices. The pytorch-gan defaults equal PyTorch-GAN's BicycleGAN (128x128, RGB, latent 8,
// widths 64); the official ones the authors' options (spec §8.4) at 128 px; small widths serve tests.

/** The authors' network choices (junyanz/BicycleGAN options; spec §4, §8.4). */
export interface OfficialNets {
  /** U-Net depth: unet_128 = 7 down blocks, unet_256 = 8 */
  netG: 'unet_128' | 'unet_256';
  /** z tiled and concatenated at every down block (G_Unet_add_all) or at the input only (G_Unet_add_input) */
  whereAdd: 'all' | 'input';
  /** InstanceNorm2d(affine=False), BatchNorm2d or none, in G, E and the Ds alike */
  norm: 'instance' | 'batch' | 'none';
  /** Dropout(0.5) in G's 512-channel up blocks (the training scripts pass --use_dropout) */
  dropout: boolean;
  /** E_ResNet (resnet_*: 4 or 5 blocks) or E_NLayers (conv_*: 4 or 5 layers) */
  netE: 'resnet_128' | 'resnet_256' | 'conv_128' | 'conv_256';
  /** D_NLayersMulti with 2 (basic_128_multi) or 3 (basic_256_multi) layers per scale */
  netD: 'basic_128_multi' | 'basic_256_multi';
  /** scales of each D (num_Ds) */
  numDs: number;
  /** D sees cat(A, B) instead of B */
  conditionalD: boolean;
  /** one D for both branches (use_same_D) */
  sameD: boolean;
  /** channels of the condition image A (input_nc: 1 for edges read as grayscale); B has `channels` */
  inputChannels: number;
}

export interface ModelConfig {
  preset: 'pytorch-gan' | 'official';
  /** square image side; pytorch-gan: a multiple of 128; official: a multiple of 2^(U-Net depth) */
  imageSize: number;
  /** channels of B (and of A in the pytorch-gan preset) */
  channels: number;
  latentDim: number;
  /** base widths: G's first down conv, E's first conv, each D's first conv (ngf, nef, ndf: 64 in both) */
  gBase: number;
  eBase: number;
  dBase: number;
  /** pytorch-gan BatchNorm eps: PTG passes 0.8 positionally (it is eps, not momentum) in G and D; torchvision's E 1e-5 */
  bnEpsG: number;
  bnEpsD: number;
  bnEpsE: number;
  /** the official preset's networks; absent in the pytorch-gan preset */
  official?: OfficialNets;
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

/** The official options at 128 px (the 128 configs of spec §1); the 256 ones are netG unet_256 etc. */
export const DEFAULT_OFFICIAL: OfficialNets = {
  netG: 'unet_128',
  whereAdd: 'all',
  norm: 'instance',
  dropout: true,
  netE: 'resnet_128',
  netD: 'basic_128_multi',
  numDs: 2,
  conditionalD: false,
  sameD: false,
  inputChannels: 3,
};

/** The official preset's networks for an image size: the 128 or 256 variants (spec §4), overridden by `o`. */
export function officialNets(imageSize: number, o: Partial<OfficialNets> = {}): OfficialNets {
  const s = imageSize >= 256 ? '256' : '128';
  return { ...DEFAULT_OFFICIAL, netG: `unet_${s}`, netE: `resnet_${s}`, netD: `basic_${s}_multi`, ...o };
}

/** The official networks of a config, or an error naming the preset (a pytorch-gan config has none). */
export function officialOf(cfg: ModelConfig): OfficialNets {
  if (cfg.preset !== 'official' || !cfg.official) throw new Error(`model: preset ${cfg.preset} has no official network options`);
  return cfg.official;
}

/** Channels of the condition image A. */
export const inputChannelsOf = (cfg: ModelConfig): number => cfg.official?.inputChannels ?? cfg.channels;
