"""Continue a bicyclegan-wasm training run on PyTorch's own distributed training (torchrun, gloo on CPU), then
write the result back in bicyclegan-wasm's checkpoint format for `bicyclegan sample|convert|train --resume`.

  torchrun --nproc_per_node 4 python/resume_ddp.py --checkpoint runs/x/checkpoints/step-00010000.safetensors \\
      --data ../shared/data/facades --out runs/x/torch.safetensors --steps 2000 [--batch 8] [--direction BtoA]
      [--lr 2e-4] [--seed 0] [--log-every 10]
  (one process without torchrun: python3 python/resume_ddp.py ...)

Weights, BatchNorm buffers and the Adam moments and step counts of all four networks come from the checkpoint;
the options (batch, direction, lr, betas, loss weights) default to the ones stored in it. Each step draws a
global batch (seeded, per-epoch shuffle, random flips); process r takes rows r*B/W .. (r+1)*B/W and runs the
reference step (bicyclegan_torch.models.bicycle_step); before every optimizer step the processes average that
network's gradients with all_reduce (what DistributedDataParallel does in its backward hooks: DDP's wrapper
itself does not fit BicycleGAN's two backward passes through G and its mid-step update of E). BatchNorm uses
each process's own batch statistics, as DDP does without SyncBatchNorm (which PyTorch 1.13 has only on CUDA),
so W processes are not bit-for-bit one process on the whole batch, unlike bicyclegan-wasm's data-parallel engine.
Rank 0 writes the output: step counters advanced, the data-loader position and RNG state of the input kept (a
`bicyclegan train --resume` from it continues the data order where bicyclegan-wasm stopped).
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.distributed as dist

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bicyclegan_torch import models as P  # noqa: E402
from bicyclegan_torch.checkpoint import adam_steps, load_checkpoint, save_checkpoint  # noqa: E402
from bicyclegan_torch.data import load_pair, pair_files  # noqa: E402


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--steps", type=int, required=True, help="steps to run here (0: load and write back)")
    p.add_argument("--batch", type=int, help="global batch (default: the checkpoint's)")
    p.add_argument("--direction", choices=["AtoB", "BtoA"])
    p.add_argument("--lr", type=float)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--log-every", type=int, default=10)
    a = p.parse_args(argv)
    if a.steps < 0:
        p.error("--steps must be 0 or more")
    return a


def main(argv):
    a = parse(argv)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1:
        dist.init_process_group("gloo")
    rank = dist.get_rank() if world > 1 else 0
    torch.manual_seed(a.seed)
    cfg, nets, opts, train, meta = load_checkpoint(a.checkpoint)
    stored = (train.get("extra") or {}).get("config") or {}
    batch = a.batch or stored.get("batch", 8)
    direction = a.direction or stored.get("direction", "AtoB")
    lr = a.lr or stored.get("lr", 2e-4)
    for o in opts.values():
        for g in o.param_groups:
            g["lr"] = lr
            g["betas"] = (stored.get("beta1", 0.5), stored.get("beta2", 0.999))
    lam = dict(lam_pixel=stored.get("lambdaPixel", 10.0), lam_latent=stored.get("lambdaLatent", 0.5),
               lam_kl=stored.get("lambdaKl", 0.01))
    if batch % world:
        raise SystemExit("--batch %d is not divisible by the %d processes" % (batch, world))
    per = batch // world
    files = pair_files(a.data)
    if len(files) < batch:
        raise SystemExit("%s: %d pairs, fewer than the batch %d" % (a.data, len(files), batch))
    S, L = cfg["height"], cfg["latentDim"]
    steps_per_epoch = len(files) // batch

    def average(module):
        if world == 1:
            return
        for p in module.parameters():
            if p.grad is not None:
                dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)
                p.grad /= world

    P._grads = lambda m: {}  # the step's test-only gradient copies: not needed here
    g = torch.Generator().manual_seed(a.seed)
    order = None
    t0 = time.time()
    for s in range(a.steps):
        epoch, i = divmod(s, steps_per_epoch)
        if i == 0:
            order = torch.randperm(len(files), generator=torch.Generator().manual_seed(a.seed * 100003 + epoch))
        rows = order[i * batch:(i + 1) * batch].tolist()
        flips = torch.rand(batch, generator=g) < 0.5
        eps, zr = torch.randn(batch, L, generator=g), torch.randn(batch, L, generator=g)
        mine = range(rank * per, (rank + 1) * per)
        pairs = [load_pair(files[rows[j]], S, direction, bool(flips[j])) for j in mine]
        A = torch.stack([x[0] for x in pairs])
        B = torch.stack([x[1] for x in pairs])
        for m in nets.values():
            m.train()
        r = P.bicycle_step(nets, opts, A, B, eps[mine.start:mine.stop], zr[mine.start:mine.stop], reduce_grads=average,
                           kl_scale=float(world), **lam)
        losses = torch.stack([r["loss"][k].detach() for k in ("loss_GE", "loss_latent", "loss_D_VAE", "loss_D_LR")])
        if world > 1:
            dist.all_reduce(losses)
            losses /= world
        if rank == 0 and ((s + 1) % a.log_every == 0 or s + 1 == a.steps):
            print("step %d/%d ge %.4f latent %.4f d_vae %.4f d_lr %.4f (%.2f s/step, %d processes)" % (
                s + 1, a.steps, *losses.tolist(), (time.time() - t0) / (s + 1), world), flush=True)
    if rank == 0:
        done = train.get("steps", 0) + a.steps
        out_train = dict(train, steps=done, adamSteps={k: v for k, v in adam_steps(opts).items()})
        if not train:
            out_train.update(epoch=0, rng={"s": [1, 2, 3, 4], "spare": None})
        if a.steps:
            out_train["extra"] = dict(train.get("extra") or {}, pytorch={"steps": a.steps, "processes": world, "batch": batch,
                                                                        "from": os.path.basename(a.checkpoint)})
        tmp = a.out + ".tmp"
        save_checkpoint(tmp, meta["config"], nets, opts, out_train)
        os.replace(tmp, a.out)
        print("wrote %s (step %d)" % (a.out, done), flush=True)
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
