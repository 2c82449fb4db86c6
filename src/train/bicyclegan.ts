// The BicycleGAN training step of the pytorch-gan preset (spec §7.1), as one readable function.
// PyTorch retains the generator graph of the cLR pass and backpropagates twice through it (loss_GE, then
// loss_latent after E's update). We hold one set of G activations, so we run G's cVAE pass forward and
// backward first, then the cLR pass, and sum the two upstream gradients of fake_B_random (from D_LR and from
// the latent loss through the updated E) before one backward: the same gradients up to float rounding.
// BN running statistics see the same forward passes in the same order as in the reference.
// Below the step: Losses (losses.ts) gives each term's whole-batch f32 value over data-parallel shards and
// weighs its gradient by the shard's share; Reparameterize (nn/reparam.ts) is z_enc with its backward; Feed
// (feed.ts) is a pair "G's output into D (or E)" with the gradient flowing back into G.
import type { Core } from '../core/loader.js';
import { Rng } from '../core/rng.js';
import type { Tensor } from '../nn/graph.js';
import type { SharedParams } from '../nn/params.js';
import { DEFAULT_MODEL, type ModelConfig } from '../models/config.js';
import { Generator } from '../models/generator.js';
import { Encoder } from '../models/encoder.js';
import { MultiDiscriminator } from '../models/discriminator.js';
import { initNetwork } from '../models/init.js';
import { Reparameterize } from '../nn/reparam.js';
import { Adam, DEFAULT_ADAM, type AdamConfig } from './adam.js';
import { Losses, type LossSync } from './losses.js';
import { copyInto, Feed } from './feed.js';
import type { EvalStats } from './recalibrate.js';

export { NonFiniteLossError } from './losses.js';

export interface LossWeights {
  pixel: number;
  latent: number;
  kl: number;
}
export const DEFAULT_LAMBDAS: LossWeights = { pixel: 10, latent: 0.5, kl: 0.01 };

export interface StepLosses {
  vae_gan: number;
  lr_gan: number;
  pixel: number;
  kl: number;
  ge: number;
  latent: number;
  d_vae: number;
  d_lr: number;
}

/** Noise of one step: eps for the reparameterisation and z_random, each batch * latentDim values. */
export interface StepNoise {
  eps: Float32Array;
  zRandom: Float32Array;
}

export interface BicycleGANOptions {
  model?: Partial<ModelConfig>;
  adam?: Partial<AdamConfig>;
  lambdas?: Partial<LossWeights>;
  batch: number;
  seed?: number;
  /** Data-parallel worker: place each network's parameters, Adam state and buffers in these existing blocks
   * (the shared copy, already initialised: no init here); gradients and activations stay this model's own. */
  shared?: Record<'G' | 'E' | 'D_VAE' | 'D_LR', SharedParams>;
}

/**
 * Data-parallel hooks of the step, set by a worker that runs one shard of the batch (src/parallel); null on
 * one thread. Mean losses weigh their gradients by the shard's share of the batch, loss values are summed over
 * shards, and each optimizer step goes through update(), which sums the shards' gradients first.
 */
export interface StepSync extends LossSync {
  /** Sum the gradients of `opt`'s network over all shards (fixed shard order), take one Adam step on the shared
   * parameters; returns once every shard sees the updated parameters. */
  update(opt: Adam, lr?: number): void;
}

export class BicycleGAN {
  readonly cfg: ModelConfig;
  readonly lambdas: LossWeights;
  readonly G: Generator;
  readonly E: Encoder;
  readonly D_VAE: MultiDiscriminator;
  readonly D_LR: MultiDiscriminator;
  readonly opt: { G: Adam; E: Adam; D_VAE: Adam; D_LR: Adam };
  rng: Rng;
  /** completed steps */
  steps = 0;
  /** the batch: real_A (condition) and real_B (target), NHWC in [-1, 1] */
  readonly realA: Tensor;
  readonly realB: Tensor;
  /** fake_B (cVAE) and fake_B_random (cLR), kept for the D step */
  readonly fakeB: Tensor;
  readonly fakeBRandom: Tensor;
  /** recalibrated BatchNorm statistics of G and E for eval-mode use (see recalibrate.ts); null until computed */
  evalStats: EvalStats | null = null;
  /** called with named intermediates during a step (tests compare them with PyTorch); null in training */
  trace: ((name: string, t: Tensor) => void) | null = null;
  /** data-parallel hooks (see StepSync); null on one thread */
  private sync: StepSync | null = null;
  private readonly loss: Losses;
  /** z_enc = mu + eps * exp(logvar / 2), from E's heads into G's code */
  readonly reparam: Reparameterize;
  /** G's output into D_VAE, into D_LR, and into E (the latent loss) */
  private readonly toDVae: Feed;
  private readonly toDLr: Feed;
  private readonly toE: Feed;
  private eps: Float32Array;
  private zRandom: Float32Array;

  constructor(readonly core: Core, o: BicycleGANOptions) {
    const cfg = (this.cfg = { ...DEFAULT_MODEL, ...o.model });
    this.lambdas = { ...DEFAULT_LAMBDAS, ...o.lambdas };
    const adam = { ...DEFAULT_ADAM, ...o.adam };
    const N = o.batch;
    if (!Number.isInteger(N) || N < 1) throw new Error(`batch size must be a positive integer, got ${N}`);
    const sh = o.shared;
    this.G = new Generator(core, cfg, N, 'G', sh?.G);
    this.E = new Encoder(core, cfg, N, 'E', sh?.E);
    this.D_VAE = new MultiDiscriminator(core, cfg, N, 'D_VAE', sh?.D_VAE);
    this.D_LR = new MultiDiscriminator(core, cfg, N, 'D_LR', sh?.D_LR);
    this.opt = {
      G: new Adam(this.G.g.store, adam),
      E: new Adam(this.E.g.store, adam),
      D_VAE: new Adam(this.D_VAE.g.store, adam),
      D_LR: new Adam(this.D_LR.g.store, adam),
    };
    const S = cfg.imageSize, C = cfg.channels;
    const io = this.G.g; // batch buffers live beside G; they need no gradients
    this.realA = io.tensor(N, S, S, C, 'real_A', false);
    this.realB = io.tensor(N, S, S, C, 'real_B', false);
    this.fakeB = io.tensor(N, S, S, C, 'fake_B', false);
    this.fakeBRandom = io.tensor(N, S, S, C, 'fake_B_random', false);
    this.loss = new Losses(core);
    this.reparam = new Reparameterize(core, this.E.mu, this.E.logvar, this.G.z);
    this.toDVae = new Feed(core, this.G.out, this.D_VAE);
    this.toDLr = new Feed(core, this.G.out, this.D_LR);
    this.toE = new Feed(core, this.G.out, this.E);
    this.eps = new Float32Array(N * cfg.latentDim);
    this.zRandom = new Float32Array(N * cfg.latentDim);
    this.rng = new Rng(o.seed ?? 0);
    if (sh) return; // the shared copy is initialised (or restored) by its owner
    initNetwork(this.G.g.store, this.rng, 'ptg-normal');
    initNetwork(this.E.g.store, this.rng, 'torchvision-resnet');
    initNetwork(this.D_VAE.g.store, this.rng, 'ptg-normal');
    initNetwork(this.D_LR.g.store, this.rng, 'ptg-normal');
  }

  get batch(): number {
    return this.realA.N;
  }

  /** Make this model one shard of a data-parallel step (null: back to one thread). */
  setSync(sync: StepSync | null): void {
    this.sync = this.loss.sync = sync;
    for (const net of [this.G, this.E, this.D_VAE, this.D_LR]) net.g.sync = sync;
  }

  /** One full step on the batch already in realA/realB. Noise comes from the seeded RNG unless given. */
  step(noise?: StepNoise, lr?: number): StepLosses {
    const { G, E, D_VAE, D_LR, lambdas: lam, loss, reparam, toDVae, toDLr, toE } = this;
    const { eps, zRandom } = this.drawNoise(noise);
    loss.step = this.steps + 1;
    G.g.store.zeroGrads();
    E.g.store.zeroGrads();

    // cVAE-GAN: (mu, logvar) = E(B), z_enc = mu + eps * exp(logvar / 2), fake_B = G(A, z_enc) scored by D_VAE
    this.encode(this.realB);
    reparam.forward(eps);
    this.trace?.('z_enc', G.z);
    this.generate(this.fakeB, 'fake_B');
    toDVae.forward();
    this.traceOuts(D_VAE, 'D_VAE.gstep.fake_B');
    const vaeGan = loss.lsgan('vae_gan', D_VAE.outs, 1), pixel = loss.l1('pixel', G.out, this.realB), kl = loss.kl('kl', E.mu, E.logvar);
    // its part of loss_GE backward: D_VAE (input gradient only) -> G -> z_enc -> E
    toDVae.backward(() => loss.lsganBackward(1, D_VAE.outs, 1));
    G.g.backwardFrom(() => {
      toDVae.addGrad();
      loss.l1Backward(lam.pixel, G.out, this.realB);
    });
    E.g.backwardFrom(() => {
      reparam.backward();
      loss.klBackward(lam.kl, E.mu, E.logvar);
    });

    // cLR-GAN: fake_B_random = G(A, z_random) scored by D_LR; G's gradient from it waits for the latent loss
    this.core.f32(G.z.ptr, zRandom.length).set(zRandom);
    this.generate(this.fakeBRandom, 'fake_B_random');
    toDLr.forward();
    this.traceOuts(D_LR, 'D_LR.gstep.fake_B_random');
    const lrGan = loss.lsgan('lr_gan', D_LR.outs, 1);
    const ge = loss.total([1, vaeGan], [1, lrGan], [lam.pixel, pixel], [lam.kl, kl]);
    toDLr.backward(() => loss.lsganBackward(1, D_LR.outs, 1));

    // E steps on loss_GE; then the latent loss |E(fake_B_random) - z_random| through the UPDATED E, into G only
    this.update(this.opt.E, lr);
    toE.forward();
    this.trace?.('mu2', E.mu);
    this.trace?.('logvar2', E.logvar);
    const latent = loss.total([lam.latent, loss.l1('latent', E.mu, G.z)]); // G.z still holds z_random
    toE.backward(() => loss.l1Backward(lam.latent, E.mu, G.z)); // E's weight gradients from it are not taken
    G.g.backwardFrom(() => {
      toDLr.addGrad(); // the cLR-GAN term of loss_GE, held since G's cLR forward
      toE.addGrad();
    });
    this.update(this.opt.G, lr);

    // the discriminators: real_B vs the detached fakes (made before G's update), separate forward passes
    const dVae = this.discriminatorStep(D_VAE, 'd_vae', this.fakeB, 'fake_B', this.opt.D_VAE, lr);
    const dLr = this.discriminatorStep(D_LR, 'd_lr', this.fakeBRandom, 'fake_B_random', this.opt.D_LR, lr);
    this.steps += 1;
    return { vae_gan: vaeGan, lr_gan: lrGan, pixel, kl, ge, latent, d_vae: dVae, d_lr: dLr };
  }

  /** The step's noise: given, or eps and z_random drawn from the seeded RNG. */
  private drawNoise(noise?: StepNoise): StepNoise {
    const n = this.batch * this.cfg.latentDim;
    const eps = noise?.eps ?? this.eps, zRandom = noise?.zRandom ?? this.zRandom;
    if (eps.length !== n || zRandom.length !== n) throw new Error(`step noise must have batch * latentDim = ${n} values each`);
    if (!noise) {
      this.rng.fillNormal(eps);
      this.rng.fillNormal(zRandom);
    }
    return { eps, zRandom };
  }

  /** E(image) in train mode, no gradient into the image. */
  private encode(image: Tensor): void {
    const E = this.E;
    E.image.needsGrad = false;
    copyInto(this.core, image, E.image);
    E.g.forward(true);
    this.trace?.('mu', E.mu);
    this.trace?.('logvar', E.logvar);
  }

  /** G(real_A, G.z) in train mode; the output is also kept in `keep` for the discriminator step. */
  private generate(keep: Tensor, name: string): void {
    const G = this.G;
    copyInto(this.core, this.realA, G.image);
    G.g.forward(true);
    copyInto(this.core, G.out, keep);
    this.trace?.(name, keep);
  }

  private traceOuts(D: MultiDiscriminator, name: string): void {
    D.outs.forEach((o, i) => this.trace?.(`${name}.scale${i}`, o));
  }

  /** One D update: LSGAN on real_B (target 1) and on the detached fake (target 0), one forward/backward each. */
  private discriminatorStep(D: MultiDiscriminator, term: string, fake: Tensor, fakeName: string, opt: Adam, lr?: number): number {
    D.g.store.zeroGrads();
    D.image.needsGrad = false;
    const parts: [number, number][] = [];
    for (const [img, target, what] of [[this.realB, 1, 'real_B'], [fake, 0, fakeName]] as const) {
      copyInto(this.core, img, D.image);
      D.g.forward(true);
      this.traceOuts(D, `${D.g.name}.dstep.${what}`);
      parts.push([1, this.loss.lsgan(term, D.outs, target)]);
      D.g.backwardFrom(() => this.loss.lsganBackward(1, D.outs, target));
    }
    this.update(opt, lr);
    return this.loss.total(...parts);
  }

  private update(opt: Adam, lr?: number): void {
    if (this.sync) this.sync.update(opt, lr);
    else opt.update(lr);
  }
}
