// The BicycleGAN training step of both presets, each as one readable function: pytorch-gan (spec §7.1) and
// official (spec §7.2, the authors' code at HEAD; see officialStep below).
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
import { Scratch, type Tensor } from '../nn/graph.js';
import type { SharedParams } from '../nn/params.js';
import { DEFAULT_MODEL, inputChannelsOf, officialNets, type ModelConfig } from '../models/config.js';
import { Generator } from '../models/generator.js';
import { Encoder } from '../models/encoder.js';
import { MultiDiscriminator } from '../models/discriminator.js';
import { initNetwork } from '../models/init.js';
import { Reparameterize } from '../nn/reparam.js';
import { bnLayers } from '../nn/batchnorm.js';
import { Dropout } from '../nn/dropout.js';
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

/** Noise of one step: eps for the reparameterisation and z_random, each (rows of a branch) * latentDim values
 * (pytorch-gan: the batch; official: half of it), and the dropout seeds of G's two forward passes (official). */
export interface StepNoise {
  eps: Float32Array;
  zRandom: Float32Array;
  dropout?: [number, number];
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
  /** Give every network its own scratch, parameter-gradient and activation memory, so that all of a step's
   * gradients and activations can be read after it (tests). By default the step shares what it never needs
   * twice at once (see the constructor): same results, less memory. */
  separateMemory?: boolean;
  /** Branch-split worker (src/parallel): also allocate what branchStep needs (a copy of D_LR's input gradient). */
  branch?: boolean;
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

/**
 * Hooks of a branch-split step (src/parallel): two threads share the parameters and each runs one branch of the
 * pytorch-gan step on the whole batch, rank 0 the cVAE-GAN branch and D_VAE, rank 1 the cLR-GAN branch and D_LR.
 */
export interface BranchSync {
  readonly rank: 0 | 1;
  /** Wait for the other thread, then one Adam step per entry on the shared parameters, from the gradient block
   * of the given rank; returns once both threads see the new parameters. */
  update(steps: [opt: Adam, rank: 0 | 1][], lr?: number): void;
}

/** A D input: B, or (A, B) for a conditional D. */
type DInput = Tensor | { A: Tensor; B: Tensor };
/** One D pass of a D update: the input, the LSGAN target, and its name in traces. */
type DTerm = [DInput, number, string];

export class BicycleGAN {
  readonly cfg: ModelConfig;
  readonly lambdas: LossWeights;
  readonly G: Generator;
  readonly E: Encoder;
  /** D_VAE is the official netD, D_LR its netD2 (the same object with sameD) */
  readonly D_VAE: MultiDiscriminator;
  readonly D_LR: MultiDiscriminator;
  readonly opt: { G: Adam; E: Adam; D_VAE: Adam; D_LR: Adam };
  rng: Rng;
  /** completed steps */
  steps = 0;
  /** the batch: real_A (condition) and real_B (target), NHWC in [-1, 1] */
  readonly realA: Tensor;
  readonly realB: Tensor;
  /** official: the halves of the batch (A1, B1 for the cVAE branch and D; B2 (and A2) real for D2); else null */
  private readonly halves: { A1: Tensor; B1: Tensor; A2: Tensor; B2: Tensor } | null = null;
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
  /** branch-split rank 1: D_LR's input gradient from the G step, kept while D_LR's own step reuses its buffers */
  private readonly dLrInputGrad: Tensor | null = null;

  constructor(readonly core: Core, o: BicycleGANOptions) {
    const cfg: ModelConfig = { ...DEFAULT_MODEL, ...o.model };
    if (cfg.preset === 'official') cfg.official = officialNets(cfg.imageSize, cfg.official);
    this.cfg = cfg;
    this.lambdas = { ...DEFAULT_LAMBDAS, ...o.lambdas };
    const adam = { ...DEFAULT_ADAM, ...o.adam };
    const N = o.batch, official = cfg.preset === 'official';
    if (!Number.isInteger(N) || N < 1) throw new Error(`batch size must be a positive integer, got ${N}`);
    if (official && N % 2 !== 0) throw new Error(`batch size must be even for the official preset (half to each branch), got ${N}`);
    // the networks' batch: the official step gives each branch half the batch
    const NB = official ? N / 2 : N;
    const sh = o.shared;
    // The memory plan: what the step never needs twice at once is shared (unless separateMemory). One kernel
    // scratch for the four networks (temporaries of one kernel call). The discriminators' weight gradients go
    // into G's gradient block: they live only in their own D updates, after G's update and before the next step
    // zeroes G's (the G-step passes through a D take its input gradient only). In the official step D_LR's
    // activations, saved tensors and activation gradients are D_VAE's: same topology, and the step never
    // interleaves the two. The pytorch-gan step keeps each D's G-step activations for its D update (reuseFake), so
    // the two have their own.
    // A branch-split worker (o.branch) keeps the discriminators' gradients apart: rank 0 runs D_VAE's passes
    // while G's gradients are still live (rank 1's cLR backward and G's update come after them).
    const plan = !o.separateMemory, scratch = plan ? new Scratch(core, 'networks') : undefined;
    this.G = new Generator(core, cfg, NB, 'G', { shared: sh?.G, scratch });
    this.E = new Encoder(core, cfg, NB, 'E', { shared: sh?.E, scratch });
    const gs = this.G.g.store, free = plan && !o.branch ? { ptr: gs.base.grad, floats: gs.paramFloats } : undefined;
    this.D_VAE = new MultiDiscriminator(core, cfg, NB, 'D_VAE', { shared: sh?.D_VAE, scratch, grads: free });
    const dv = this.D_VAE.g.store, used = free && dv.base.grad === free.ptr ? Math.ceil(dv.paramFloats / 16) * 16 : 0;
    const rest = free && { ptr: free.ptr + used * 4, floats: free.floats - used };
    this.D_LR = cfg.official?.sameD ? this.D_VAE
      : new MultiDiscriminator(core, cfg, NB, 'D_LR', { shared: sh?.D_LR, scratch, grads: rest, activationsOf: plan && official ? this.D_VAE.g : undefined });
    scratch?.place();
    const dVae = new Adam(this.D_VAE.g.store, adam);
    this.opt = {
      G: new Adam(this.G.g.store, adam),
      E: new Adam(this.E.g.store, adam),
      D_VAE: dVae,
      D_LR: this.D_LR === this.D_VAE ? dVae : new Adam(this.D_LR.g.store, adam),
    };
    const S = cfg.imageSize, C = cfg.channels, CA = inputChannelsOf(cfg);
    const io = this.G.g; // batch buffers live beside G; they need no gradients
    this.realA = io.tensor(N, S, S, CA, 'real_A', false);
    this.realB = io.tensor(N, S, S, C, 'real_B', false);
    if (official) {
      this.halves = {
        A1: io.tensor(NB, S, S, CA, 'real_A_encoded', false),
        B1: io.tensor(NB, S, S, C, 'real_B_encoded', false),
        A2: io.tensor(NB, S, S, CA, 'real_A_random', false),
        B2: io.tensor(NB, S, S, C, 'real_B_random', false),
      };
    }
    this.fakeB = io.tensor(NB, S, S, C, 'fake_B', false);
    this.fakeBRandom = io.tensor(NB, S, S, C, 'fake_B_random', false);
    this.loss = new Losses(core);
    this.reparam = new Reparameterize(core, this.E.mu, this.E.logvar, this.G.z);
    // a conditional D reads cat(A, B): G's output goes into its B channels
    const bSlot = (D: MultiDiscriminator) => (D.image.C === C ? D.image : D.g.slice(D.image, CA, C, 'image.B'));
    this.toDVae = new Feed(core, this.G.out, this.D_VAE, bSlot(this.D_VAE));
    this.toDLr = new Feed(core, this.G.out, this.D_LR, bSlot(this.D_LR));
    this.toE = new Feed(core, this.G.out, this.E);
    this.eps = new Float32Array(NB * cfg.latentDim);
    this.zRandom = new Float32Array(NB * cfg.latentDim);
    if (o.branch) this.dLrInputGrad = io.tensor(NB, S, S, C, 'D_LR.image.grad', false);
    this.rng = new Rng(o.seed ?? 0);
    if (sh) return; // the shared copy is initialised (or restored) by its owner
    const nets = [this.G, this.E, this.D_VAE, ...(this.D_LR === this.D_VAE ? [] : [this.D_LR])];
    const ptgScheme = (net: unknown) => (net === this.E ? 'torchvision-resnet' : 'ptg-normal');
    for (const net of nets) initNetwork(net.g.store, this.rng, official ? 'xavier' : ptgScheme(net));
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
    return this.halves ? this.officialStep(this.halves, noise, lr) : this.ptgStep(noise, lr);
  }

  /** The pytorch-gan step (spec §7.1): both branches on the whole batch, E stepped before the latent loss. */
  private ptgStep(noise?: StepNoise, lr?: number): StepLosses {
    const { G, E, D_VAE, D_LR, loss, toDVae, toDLr } = this;
    const { eps, zRandom } = this.drawNoise(noise);
    loss.step = this.steps + 1;
    G.g.store.zeroGrads();
    E.g.store.zeroGrads();

    // cVAE-GAN: (mu, logvar) = E(B), z_enc = mu + eps * exp(logvar / 2), fake_B = G(A, z_enc) scored by D_VAE
    const { gan: vaeGan, l1: pixel, kl } = this.cvae(this.realA, this.realB, eps, toDVae, D_VAE, ['z_enc', 'fake_B', 'D_VAE.gstep.fake_B']);

    // cLR-GAN: fake_B_random = G(A, z_random) scored by D_LR; G's gradient from it waits for the latent loss
    const lrGan = this.clrForward(zRandom);
    const ge = this.geOf({ vae_gan: vaeGan, lr_gan: lrGan, pixel, kl });

    // E steps on loss_GE; then the latent loss |E(fake_B_random) - z_random| through the UPDATED E, into G only
    this.update(this.opt.E, lr);
    const latent = this.latentBackward(() => toDLr.addGrad()); // the cLR-GAN term of loss_GE, held since G's cLR forward
    this.update(this.opt.G, lr);

    // the discriminators: real_B vs the detached fakes (made before G's update); each fake's forward is the G step's
    // (the same input and D weights: nothing changed D since), only real_B's runs again (see discriminatorPasses)
    const dVae = this.discriminatorStep(D_VAE, 'd_vae', [[this.realB, 1, 'real_B'], [this.fakeB, 0, 'fake_B']], this.opt.D_VAE, lr, true);
    const dLr = this.discriminatorStep(D_LR, 'd_lr', [[this.realB, 1, 'real_B'], [this.fakeBRandom, 0, 'fake_B_random']], this.opt.D_LR, lr, true);
    this.steps += 1;
    return { vae_gan: vaeGan, lr_gan: lrGan, pixel, kl, ge, latent, d_vae: dVae, d_lr: dLr };
  }

  /**
   * The pytorch-gan step split over two threads by branch (src/parallel/sync.ts BranchSync), each on the whole
   * batch: the same passes, updates and BN running-stats updates as ptgStep, in an order the two can overlap.
   * rank 0: E(B) and G(A, z_enc) forward and backward (cVAE-GAN), E's update, then D_VAE's passes.
   * rank 1: G(A, z_random) forward and D_LR's G-step term, D_LR's passes (the fake is detached: D's passes need
   *   nothing from the G step), then after E's update the latent loss through the updated E and G's cLR backward.
   * G's BN running stats take the cVAE pass's update first: rank 1 defers its own until after E's update, by
   * which time rank 0's G forward and backward are long done. G's weight gradients: rank 1's G gradient block
   * IS rank 0's (the worker points it there), so its cLR backward, after E's update, accumulates onto the cVAE
   * gradients exactly as ptgStep's does; rank 0 alone zeroes it. Every pass thus runs the kernels of ptgStep on
   * the same values in the same order: the step is ptgStep's bit for bit. Last, one update of G and D_VAE (from
   * rank 0's blocks) and D_LR (rank 1's). Returns this rank's losses (ge needs both: see geOf).
   * A non-finite loss stops this rank with NonFiniteLossError before the final update (ptgStep's D terms come
   * after G's update); the other rank is released by the caller.
   */
  branchStep(b: BranchSync, noise: StepNoise, lr?: number): Partial<StepLosses> {
    const { G, E, D_VAE, D_LR, loss, toDVae, toDLr, opt } = this;
    if (this.halves) throw new Error('the branch split runs the pytorch-gan step only');
    const { eps, zRandom } = this.drawNoise(noise);
    loss.step = this.steps + 1;
    const last: [Adam, 0 | 1][] = [[opt.G, 0], [opt.D_VAE, 0], [opt.D_LR, 1]];
    if (b.rank === 0) {
      G.g.store.zeroGrads();
      E.g.store.zeroGrads();
      const { gan, l1, kl } = this.cvae(this.realA, this.realB, eps, toDVae, D_VAE, ['z_enc', 'fake_B', 'D_VAE.gstep.fake_B']);
      b.update([[opt.E, 0]], lr);
      D_VAE.g.store.zeroGrads();
      const dVae = this.discriminatorPasses(D_VAE, 'd_vae', [[this.realB, 1, 'real_B'], [this.fakeB, 0, 'fake_B']], true);
      b.update(last, lr);
      return { vae_gan: gan, pixel: l1, kl, d_vae: dVae };
    }
    const keep = this.dLrInputGrad;
    if (!keep) throw new Error('branchStep rank 1 needs a model built with branch: true');
    const bns = bnLayers(G.g);
    let lrGan: number, dLr: number;
    try {
      for (const bn of bns) bn.deferRunning = true;
      lrGan = this.clrForward(zRandom);
      for (const bn of bns) bn.deferRunning = false;
      const into = toDLr.into;
      this.core.k.copy_forward(keep.ptr, into.grad, into.P, into.C, keep.ld, into.ld);
      D_LR.g.store.zeroGrads();
      dLr = this.discriminatorPasses(D_LR, 'd_lr', [[this.realB, 1, 'real_B'], [this.fakeBRandom, 0, 'fake_B_random']], true);
      b.update([[opt.E, 0]], lr);
    } catch (e) {
      for (const bn of bns) {
        bn.deferRunning = false;
        bn.dropDeferredRunning(); // the step stopped: its running-stats update with it
      }
      throw e;
    }
    for (const bn of bns) bn.applyDeferredRunning(); // after rank 0's cVAE pass (done before E's update)
    const latent = this.latentBackward(() => this.core.k.copy_backward(G.out.grad, keep.ptr, keep.P, keep.C, G.out.ld, keep.ld));
    b.update(last, lr);
    return { lr_gan: lrGan, latent, d_lr: dLr };
  }

  /** loss_GE of ptgStep from its terms (a branch-split step has them on two threads). */
  geOf(l: Pick<StepLosses, 'vae_gan' | 'lr_gan' | 'pixel' | 'kl'>): number {
    const lam = this.lambdas;
    return this.loss.total([1, l.vae_gan], [1, l.lr_gan], [lam.pixel, l.pixel], [lam.kl, l.kl]);
  }

  /** cLR-GAN forward: fake_B_random = G(A, z_random) scored by D_LR; D_LR's input gradient of the GAN term is
   * left in its input's gradient for G's backward (latentBackward). Returns lr_gan. */
  private clrForward(zRandom: Float32Array): number {
    const { G, D_LR, loss, toDLr } = this;
    this.core.f32(G.z.ptr, zRandom.length).set(zRandom);
    this.generate(this.fakeBRandom, 'fake_B_random');
    toDLr.forward();
    this.keepStats(D_LR);
    this.traceOuts(D_LR, 'D_LR.gstep.fake_B_random');
    const lrGan = loss.lsgan('lr_gan', D_LR.outs, 1);
    toDLr.backward(() => loss.lsganBackward(1, D_LR.outs, 1));
    return lrGan;
  }

  /** The latent loss |E(fake_B_random) - z_random| through the (updated) E, then G's cLR backward with the
   * GAN term's gradient (`ganGrad` adds it into G's output gradient) and the latent loss's, into G only.
   * Returns the weighted latent loss. */
  private latentBackward(ganGrad: () => void): number {
    const { G, E, lambdas: lam, loss, toE } = this;
    toE.forward();
    this.trace?.('mu2', E.mu);
    this.trace?.('logvar2', E.logvar);
    const latent = loss.total([lam.latent, loss.l1('latent', E.mu, G.z)]); // G.z still holds z_random
    toE.backward(() => loss.l1Backward(lam.latent, E.mu, G.z)); // E's weight gradients from it are not taken
    G.g.backwardFrom(() => {
      ganGrad();
      toE.addGrad();
    });
    return latent;
  }

  /**
   * The official step (spec §7.2): the first half of the batch (A1, B1) feeds the cVAE-GAN branch and, with
   * z_random, the cLR-GAN branch (A2 is unused by design, except as D2's conditional real); B2 is D2's real.
   * One G+E update on the GAN, L1 and KL terms plus the latent loss, which reaches G only (E is evaluated on
   * fake_B_random before its update and its weight gradients from that term are not taken). Then D on
   * (fake_B_encoded, B1) and D2 on (fake_B_random, B2), fake first as the reference runs them.
   * Loss names: vae_gan = G_GAN, lr_gan = G_GAN2, pixel = G_L1, kl, latent = z_L1, d_vae = D, d_lr = D2.
   */
  private officialStep(h: NonNullable<BicycleGAN['halves']>, noise?: StepNoise, lr?: number): StepLosses {
    const { G, E, D_VAE: D, D_LR: D2, lambdas: lam, loss, toDVae: toD, toDLr: toD2 } = this;
    const { eps, zRandom, dropout } = this.drawNoise(noise);
    loss.step = this.steps + 1;
    this.splitBatch(h);
    G.g.store.zeroGrads();
    E.g.store.zeroGrads();

    // cVAE-GAN: (mu, logvar) = E(B1), z_enc = mu + eps * exp(logvar / 2), fake_B_encoded = G(A1, z_enc) scored by D
    G.g.dropoutSeed = dropout[0];
    const { gan, l1, kl } = this.cvae(h.A1, h.B1, eps, toD, D, ['z_encoded', 'fake_B_encoded', 'D_VAE.gstep.fake_encoded']);

    // cLR-GAN: fake_B_random = G(A1, z_random) scored by D2, and the latent loss |mu(E(fake_B_random)) - z_random|
    this.core.f32(G.z.ptr, zRandom.length).set(zRandom);
    G.g.dropoutSeed = dropout[1];
    this.generate(this.fakeBRandom, 'fake_B_random', h.A1);
    this.condition(D2, h.A1);
    toD2.forward();
    this.traceOuts(D2, `${D2.g.name}.gstep.fake_random`);
    const gan2 = loss.lsgan('lr_gan', D2.outs, 1);
    toD2.backward(() => loss.lsganBackward(1, D2.outs, 1));
    const latent = this.latentBackward(() => toD2.addGrad()); // through E before its update (the authors' order)
    const ge = loss.total([1, gan], [1, gan2], [lam.kl, kl], [lam.pixel, l1]);
    this.update(this.opt.E, lr);
    this.update(this.opt.G, lr);

    // D on (fake_B_encoded, B1), D2 on (fake_B_random, B2); with sameD both losses into the one D before its step
    const dFake = this.conditioned(D, h.A1, this.fakeB), dReal = this.conditioned(D, h.A1, h.B1);
    const d2Fake = this.conditioned(D2, h.A1, this.fakeBRandom), d2Real = this.conditioned(D2, h.A2, h.B2);
    const dTerms: DTerm[] = [[dFake, 0, 'fake_encoded'], [dReal, 1, 'real_encoded']], d2Terms: DTerm[] = [[d2Fake, 0, 'fake_random'], [d2Real, 1, 'real_random']];
    let dLoss: number, d2Loss: number;
    if (D === D2) {
      D.g.store.zeroGrads();
      dLoss = this.discriminatorPasses(D, 'd_vae', dTerms);
      d2Loss = this.discriminatorPasses(D, 'd_lr', d2Terms);
      this.update(this.opt.D_VAE, lr);
    } else {
      dLoss = this.discriminatorStep(D, 'd_vae', dTerms, this.opt.D_VAE, lr);
      d2Loss = this.discriminatorStep(D2, 'd_lr', d2Terms, this.opt.D_LR, lr);
    }
    this.steps += 1;
    return { vae_gan: gan, lr_gan: gan2, pixel: l1, kl, ge, latent, d_vae: dLoss, d_lr: d2Loss };
  }

  /**
   * The cVAE-GAN branch of both steps, forward and backward: (mu, logvar) = E(B), z_enc = mu + eps *
   * exp(logvar / 2), fake = G(A, z_enc) (kept in fakeB), scored by D; the GAN, pixel L1 and KL terms' gradients
   * accumulate into G (through D's input gradient only) and E (through z_enc). `names`: the traces of z_enc, the
   * fake and D's outputs.
   */
  private cvae(A: Tensor, B: Tensor, eps: Float32Array, toD: Feed, D: MultiDiscriminator, names: [string, string, string]): { gan: number; l1: number; kl: number } {
    const { G, E, loss, reparam, lambdas: lam } = this;
    this.encode(B);
    reparam.forward(eps);
    this.trace?.(names[0], G.z);
    this.generate(this.fakeB, names[1], A);
    this.condition(D, A);
    toD.forward();
    if (!this.halves) this.keepStats(D);
    this.traceOuts(D, names[2]);
    const gan = loss.lsgan('vae_gan', D.outs, 1), l1 = loss.l1('pixel', G.out, B), kl = loss.kl('kl', E.mu, E.logvar);
    toD.backward(() => loss.lsganBackward(1, D.outs, 1));
    G.g.backwardFrom(() => {
      toD.addGrad();
      loss.l1Backward(lam.pixel, G.out, B);
    });
    E.g.backwardFrom(() => {
      reparam.backward();
      loss.klBackward(lam.kl, E.mu, E.logvar);
    });
    return { gan, l1, kl };
  }

  /** official: the batch's halves into A1, B1, A2, B2 (rows [0, N/2) and [N/2, N)). */
  private splitBatch(h: NonNullable<BicycleGAN['halves']>): void {
    const k = this.core.k;
    for (const [src, a, b] of [[this.realA, h.A1, h.A2], [this.realB, h.B1, h.B2]] as const) {
      const P = a.P, C = a.C;
      k.copy_forward(a.ptr, src.ptr, P, C, C, C);
      k.copy_forward(b.ptr, src.ptr + P * C * 4, P, C, C, C);
    }
  }

  /** A conditional D's A channels (cat(A, B)): A goes into its first channels; nothing for an unconditional D. */
  private condition(D: MultiDiscriminator, A: Tensor): void {
    if (D.image.C === this.cfg.channels) return;
    copyInto(this.core, A, D.g.slice(D.image, 0, A.C, 'image.A'));
  }

  /** What a D step feeds D: B, or (A, B) for a conditional D. */
  private conditioned(D: MultiDiscriminator, A: Tensor, B: Tensor): DInput {
    return D.image.C === this.cfg.channels ? B : { A, B };
  }

  /** The step's noise: given, or eps, z_random and the dropout seeds drawn from the seeded RNG. */
  private drawNoise(noise?: StepNoise): Required<StepNoise> {
    const n = this.eps.length;
    const eps = noise?.eps ?? this.eps, zRandom = noise?.zRandom ?? this.zRandom;
    if (eps.length !== n || zRandom.length !== n) throw new Error(`step noise must have (rows of a branch) * latentDim = ${n} values each`);
    if (!noise) {
      this.rng.fillNormal(eps);
      this.rng.fillNormal(zRandom);
    }
    // drawn only where G has dropout, so the pytorch-gan preset's RNG stream is unchanged
    const dropout = noise?.dropout ?? (this.G.g.layers.some((l) => l instanceof Dropout) ? [this.rng.u32(), this.rng.u32()] as [number, number] : [0, 0] as [number, number]);
    return { eps, zRandom, dropout };
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

  /** G(A, G.z) in train mode (A: real_A, or A1 in the official step); the output is also kept in `keep` for
   * the discriminator step. */
  private generate(keep: Tensor, name: string, A = this.realA): void {
    const G = this.G;
    copyInto(this.core, A, G.image);
    G.g.forward(true);
    copyInto(this.core, G.out, keep);
    this.trace?.(name, keep);
  }

  private traceOuts(D: MultiDiscriminator, name: string): void {
    D.outs.forEach((o, i) => this.trace?.(`${name}.scale${i}`, o));
  }

  /** One D update: LSGAN on each (image, target) pair (real_B 1, the detached fake 0), one forward/backward each. */
  private discriminatorStep(D: MultiDiscriminator, term: string, terms: DTerm[], opt: Adam, lr?: number, reuseFake = false): number {
    D.g.store.zeroGrads();
    const v = this.discriminatorPasses(D, term, terms, reuseFake);
    this.update(opt, lr);
    return v;
  }

  /** A D's BatchNorm batch sums of the G step's forward on a fake, for the D update that reuses it. */
  private keepStats(D: MultiDiscriminator): void {
    for (const bn of bnLayers(D.g)) bn.keepStats();
  }

  /**
   * The forward/backward passes of a D update (gradients accumulate); returns the summed loss. `reuseFake`: the
   * last term is the fake whose forward D ran in the G step, with the same weights, and whose activations are
   * still in D (the pytorch-gan step: D changes only in its own update, after both). Its backward runs first, on
   * those activations; then the other terms' passes; then the fake forward's BatchNorm running-stats update once
   * more (keepStats, replayRunning), so the running stats see the reference's three forwards in its order (G step
   * fake, real, fake). The weight gradients add the fake's part before the real's instead of after: the same sum,
   * rounded in the other order. One D forward fewer per D and step.
   */
  private discriminatorPasses(D: MultiDiscriminator, term: string, terms: DTerm[], reuseFake = false): number {
    D.image.needsGrad = false;
    const parts: [number, number][] = [];
    const fresh = reuseFake ? terms.slice(0, -1) : terms;
    let fake: [number, number] | null = null;
    if (reuseFake) {
      const [, target, what] = terms[terms.length - 1];
      this.traceOuts(D, `${D.g.name}.dstep.${what}`);
      fake = [1, this.loss.lsgan(term, D.outs, target)];
      D.g.backwardFrom(() => this.loss.lsganBackward(1, D.outs, target));
    }
    for (const [img, target, what] of fresh) {
      if ('A' in img) {
        copyInto(this.core, img.A, D.g.slice(D.image, 0, img.A.C, 'image.A'));
        copyInto(this.core, img.B, D.g.slice(D.image, img.A.C, img.B.C, 'image.B'));
      } else copyInto(this.core, img, D.image);
      D.g.forward(true);
      this.traceOuts(D, `${D.g.name}.dstep.${what}`);
      parts.push([1, this.loss.lsgan(term, D.outs, target)]);
      D.g.backwardFrom(() => this.loss.lsganBackward(1, D.outs, target));
    }
    if (fake) {
      parts.push(fake);
      for (const bn of bnLayers(D.g)) bn.replayRunning();
    }
    return this.loss.total(...parts);
  }

  private update(opt: Adam, lr?: number): void {
    if (this.sync) this.sync.update(opt, lr);
    else opt.update(lr);
  }
}
