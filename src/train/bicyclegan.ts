// The BicycleGAN training step of the pytorch-gan preset (spec §7.1), as one readable function.
// PyTorch retains the generator graph of the cLR pass and backpropagates twice through it (loss_GE, then
// loss_latent after E's update). We hold one set of G activations, so we run G's cVAE pass forward and
// backward first, then the cLR pass, and sum the two upstream gradients of fake_B_random (from D_LR and from
// the latent loss through the updated E) before one backward: the same gradients up to float rounding.
// BN running statistics see the same forward passes in the same order as in the reference.
import type { Core } from '../core/loader.js';
import { Rng } from '../core/rng.js';
import type { ShardSync, Tensor } from '../nn/graph.js';
import type { SharedParams } from '../nn/params.js';
import { DEFAULT_MODEL, type ModelConfig } from '../models/config.js';
import { Generator } from '../models/generator.js';
import { Encoder } from '../models/encoder.js';
import { MultiDiscriminator } from '../models/discriminator.js';
import { initNetwork } from '../models/init.js';
import { Adam, DEFAULT_ADAM, type AdamConfig } from './adam.js';
import { LossSlot, kl, klBackward, l1, l1Backward, lsgan, lsganBackward } from './losses.js';
import type { EvalStats } from './recalibrate.js';

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

export class NonFiniteLossError extends Error {
  constructor(readonly term: string, readonly value: number, readonly step: number) {
    super(`training step ${step}: loss term ${term} is ${value}; the step was stopped and nothing was saved over the last good checkpoint`);
    this.name = 'NonFiniteLossError';
  }
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
export interface StepSync extends ShardSync {
  /** this shard's rows / the batch's rows */
  readonly share: number;
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
  private slot: LossSlot;
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
    this.slot = new LossSlot(core);
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
    this.sync = sync;
    for (const net of [this.G, this.E, this.D_VAE, this.D_LR]) net.g.sync = sync;
  }

  /** One full step on the batch already in realA/realB. Noise comes from the seeded RNG unless given. */
  step(noise?: StepNoise, lr?: number): StepLosses {
    const { G, E, D_VAE, D_LR, core, lambdas: lam, slot, sync } = this;
    const share = sync ? sync.share : 1; // weight of this shard's part of a mean loss
    const k = core.k;
    const L = this.cfg.latentDim, n = this.batch * L;
    const eps = noise?.eps ?? this.eps, zr = noise?.zRandom ?? this.zRandom;
    if (eps.length !== n || zr.length !== n) throw new Error(`step noise must have batch * latentDim = ${n} values each`);
    if (!noise) {
      this.rng.fillNormal(this.eps);
      this.rng.fillNormal(this.zRandom);
    }
    const check = (term: string, v: number) => {
      if (!Number.isFinite(v)) throw new NonFiniteLossError(term, v, this.steps + 1);
      return v;
    };
    G.g.store.zeroGrads();
    E.g.store.zeroGrads();

    // cVAE-GAN: z_enc = eps * exp(logvar / 2) + mu ~ E(B); fake_B = G(A, z_enc)
    E.image.needsGrad = false;
    copyInto(core, this.realB, E.image);
    E.g.forward(true);
    this.trace?.('mu', E.mu);
    this.trace?.('logvar', E.logvar);
    const mu = core.f32(E.mu.ptr, n).slice(), lv = core.f32(E.logvar.ptr, n).slice();
    const std = lv.map((v) => Math.exp(Math.fround(v * 0.5)));
    core.f32(G.z.ptr, n).set(std.map((s, i) => Math.fround(eps[i] * s) + mu[i]));
    this.trace?.('z_enc', G.z);
    copyInto(core, this.realA, G.image);
    G.g.forward(true);
    copyInto(core, G.out, this.fakeB);
    this.trace?.('fake_B', this.fakeB);
    D_VAE.image.needsGrad = true;
    copyInto(core, G.out, D_VAE.image);
    D_VAE.g.forward(true);
    D_VAE.outs.forEach((o, i) => this.trace?.(`D_VAE.gstep.fake_B.scale${i}`, o));
    let vaeGan = lsgan(slot, D_VAE.outs, 1), pixel = l1(slot, G.out, this.realB), klv = kl(slot, E.mu, E.logvar);
    if (sync) [vaeGan, pixel, klv] = allReduce(sync, [vaeGan * share, pixel * share, klv]); // KL is a sum
    check('vae_gan', vaeGan);
    check('pixel', pixel);
    check('kl', klv);

    // backward of loss_GE's cVAE part: D_VAE (input gradient only) -> G -> z_enc -> E
    D_VAE.g.zeroActivationGrads();
    lsganBackward(core, share, D_VAE.outs, 1);
    D_VAE.g.backward(false);
    G.g.zeroActivationGrads();
    k.copy_backward(G.out.grad, D_VAE.image.grad, G.out.P, G.out.C, G.out.ld, D_VAE.image.ld);
    l1Backward(core, lam.pixel * share, G.out, this.realB);
    G.g.backward(true);
    E.g.zeroActivationGrads();
    const dz = core.f32(G.z.grad, n).slice();
    const dmu = core.f32(E.mu.grad, n), dlv = core.f32(E.logvar.grad, n);
    for (let i = 0; i < n; i++) {
      dmu[i] += dz[i];
      dlv[i] += dz[i] * eps[i] * std[i] * 0.5;
    }
    klBackward(core, lam.kl, E.mu, E.logvar);
    E.g.backward(true);

    // cLR-GAN: fake_B_random = G(A, z_random), scored by D_LR
    core.f32(G.z.ptr, n).set(zr);
    G.g.forward(true);
    copyInto(core, G.out, this.fakeBRandom);
    this.trace?.('fake_B_random', this.fakeBRandom);
    D_LR.image.needsGrad = true;
    copyInto(core, G.out, D_LR.image);
    D_LR.g.forward(true);
    D_LR.outs.forEach((o, i) => this.trace?.(`D_LR.gstep.fake_B_random.scale${i}`, o));
    let lrGan = lsgan(slot, D_LR.outs, 1);
    if (sync) [lrGan] = allReduce(sync, [lrGan * share]);
    check('lr_gan', lrGan);
    const ge = Math.fround(Math.fround(Math.fround(vaeGan + lrGan) + Math.fround(lam.pixel * pixel)) + Math.fround(lam.kl * klv));
    D_LR.g.zeroActivationGrads();
    lsganBackward(core, share, D_LR.outs, 1);
    D_LR.g.backward(false);

    // E steps on loss_GE's gradient; then the latent loss through the UPDATED E, into G only
    this.update(this.opt.E, lr);
    E.image.needsGrad = true;
    copyInto(core, G.out, E.image);
    E.g.forward(true);
    this.trace?.('mu2', E.mu);
    this.trace?.('logvar2', E.logvar);
    const zt = G.z; // still holds z_random; same (N, 1, 1, latent) shape as E.mu
    let latentL1 = l1(slot, E.mu, zt);
    if (sync) [latentL1] = allReduce(sync, [latentL1 * share]);
    const latent = check('latent', Math.fround(lam.latent * latentL1));
    E.g.zeroActivationGrads();
    l1Backward(core, lam.latent * share, E.mu, zt);
    E.g.backward(false); // E's weight gradients from this term are dropped: only G learns from it
    G.g.zeroActivationGrads();
    k.copy_backward(G.out.grad, D_LR.image.grad, G.out.P, G.out.C, G.out.ld, D_LR.image.ld);
    k.copy_backward(G.out.grad, E.image.grad, G.out.P, G.out.C, G.out.ld, E.image.ld);
    G.g.backward(true);
    this.update(this.opt.G, lr);

    // the discriminators: real vs detached fakes (generated before G's update), separate forward passes
    const dVae = this.discriminatorStep(D_VAE, 'D_VAE', this.fakeB, 'fake_B', this.opt.D_VAE, lr);
    const dLr = this.discriminatorStep(D_LR, 'D_LR', this.fakeBRandom, 'fake_B_random', this.opt.D_LR, lr);
    check('d_vae', dVae);
    check('d_lr', dLr);
    this.steps += 1;
    return { vae_gan: vaeGan, lr_gan: lrGan, pixel, kl: klv, ge, latent, d_vae: dVae, d_lr: dLr };
  }

  private discriminatorStep(D: MultiDiscriminator, name: string, fake: Tensor, fakeName: string, opt: Adam, lr?: number): number {
    const core = this.core;
    D.g.store.zeroGrads();
    D.image.needsGrad = false;
    let loss = 0;
    for (const [img, target, what] of [[this.realB, 1, 'real_B'], [fake, 0, fakeName]] as const) {
      copyInto(core, img, D.image);
      D.g.forward(true);
      D.outs.forEach((o, i) => this.trace?.(`${name}.dstep.${what}.scale${i}`, o));
      loss = Math.fround(loss + lsgan(this.slot, D.outs, target));
      D.g.zeroActivationGrads();
      lsganBackward(core, this.sync ? this.sync.share : 1, D.outs, target);
      D.g.backward(true);
    }
    if (this.sync) [loss] = allReduce(this.sync, [loss * this.sync.share]);
    this.update(opt, lr);
    return loss;
  }

  private update(opt: Adam, lr?: number): void {
    if (this.sync) this.sync.update(opt, lr);
    else opt.update(lr);
  }
}

/** Loss values of the whole batch from the shards' weighted parts, as f32 like the single-thread values. */
function allReduce(sync: StepSync, parts: number[]): number[] {
  const a = Float64Array.from(parts);
  sync.allReduce(a);
  return Array.from(a, (v) => Math.fround(v));
}

/** Copy a whole NHWC tensor into another of the same shape (both may be views). */
export function copyInto(core: Core, src: Tensor, dst: Tensor): void {
  if (src.P !== dst.P || src.C !== dst.C) throw new Error(`cannot copy ${src.name} ${src.shape()} into ${dst.name} ${dst.shape()}`);
  core.k.copy_forward(dst.ptr, src.ptr, src.P, src.C, dst.ld, src.ld);
}
