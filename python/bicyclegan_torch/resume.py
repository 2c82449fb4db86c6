"""Continue a bicyclegan-wasm run on PyTorch, data-parallel over processes started by torchrun:

  torchrun --nproc_per_node 2 python/bicyclegan_torch/resume.py --checkpoint runs/x/checkpoints/step-00000500.safetensors \
      --data ../shared/data/facades --direction BtoA --steps 1000 --batch 8 --out runs/x/torch-01500.safetensors

Each of the W ranks loads the checkpoint (all four networks, Adam moments and step counts), takes batch/W rows
of every global batch (drawn from a seeded generator, the same on every rank) and runs the PyTorch-GAN step on
them; before every optimizer step the gradients are averaged over the ranks (torch.distributed.all_reduce on
gloo, or nccl on GPUs), which is DistributedDataParallel's rule. The BicycleGAN step runs the encoder twice and
steps it mid-step, which DDP's one-backward bucketing does not allow, so the average is done at each
optimizer's step instead of by the DDP wrapper. BatchNorm statistics stay per rank (as DDP without
SyncBatchNorm), so ranks' running stats differ; rank 0's are written. Parameters stay identical on every
rank (checked at the end). Rank 0 writes the result in our format: it loads with `bicyclegan info`, `sample`,
`convert` and with the TypeScript engine's restore (Adam state included); it holds no data-loader state, so
`bicyclegan train --resume` refuses it; continue on PyTorch, or start a new run from its weights.
Data: pix2pix aligned pairs (<data>/train/*.jpg|png, A|B side by side), each half resized to the model size
(PIL bicubic), random horizontal flips unless --no-flip, mapped to [-1, 1].
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.distributed as dist
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import bicyclegan_torch  # noqa: E402,F401  (puts test/fixtures on sys.path)
import ptg_models as P  # noqa: E402
import safetensors_io as st  # noqa: E402
from torch_interop import NETS, checkpoint_tensors, config_from_meta, split_checkpoint  # noqa: E402


def parse_args(argv):
    a = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    a.add_argument("--checkpoint", required=True, help="our checkpoint (.safetensors) with Adam state")
    a.add_argument("--data", required=True, help="dataset root (<data>/train) or the folder of pairs")
    a.add_argument("--direction", choices=("AtoB", "BtoA"), default="AtoB")
    a.add_argument("--steps", type=int, required=True, help="steps to run (global batches)")
    a.add_argument("--batch", type=int, default=8, help="global batch, split over the ranks")
    a.add_argument("--out", required=True, help="checkpoint to write (our format)")
    a.add_argument("--lr", type=float, default=2e-4)
    a.add_argument("--beta1", type=float, default=0.5)
    a.add_argument("--beta2", type=float, default=0.999)
    a.add_argument("--seed", type=int, default=0)
    a.add_argument("--no-flip", action="store_true")
    a.add_argument("--threads", type=int, default=1, help="torch threads per rank")
    return a.parse_args(argv)


def list_pairs(data):
    d = os.path.join(data, "train") if os.path.isdir(os.path.join(data, "train")) else data
    files = sorted(os.path.join(d, f) for f in os.listdir(d) if f.lower().endswith((".jpg", ".jpeg", ".png")))
    if not files:
        raise SystemExit("%s: no .jpg/.jpeg/.png pair files" % d)
    return files


def load_pair(path, size, direction):
    """-> (A, B) float32 CHW in [-1, 1]: A the condition (the right half for BtoA)."""
    img = Image.open(path).convert("RGB")
    w, h = img.size
    if w != 2 * h:
        raise SystemExit("%s: a pair file must be twice as wide as high, got %dx%d" % (path, w, h))
    halves = [img.crop((0, 0, h, h)), img.crop((h, 0, 2 * h, h))]
    t = [torch.from_numpy(np.asarray(x.resize((size, size), Image.BICUBIC), dtype=np.float32)).permute(2, 0, 1) / 127.5 - 1 for x in halves]
    return (t[1], t[0]) if direction == "BtoA" else (t[0], t[1])


def average_grads_at_step(opt, world):
    """Wrap opt.step: first average every parameter's gradient over the ranks (DDP's rule)."""
    step = opt.step

    def synced_step(*a, **k):
        for group in opt.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    dist.all_reduce(p.grad, op=dist.ReduceOp.SUM)
                    p.grad /= world
        return step(*a, **k)

    opt.step = synced_step


def main(argv):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    distributed = "WORLD_SIZE" in os.environ
    if distributed:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    rank, world = (dist.get_rank(), dist.get_world_size()) if distributed else (0, 1)
    if args.batch % world:
        raise SystemExit("--batch %d must be a multiple of the %d ranks" % (args.batch, world))

    tensors, meta = st.load(args.checkpoint)
    cfg = config_from_meta(meta)
    if "train" not in meta or not any(k.startswith("adam.") for k in tensors):
        raise SystemExit("%s: no training state (Adam moments); a weights file cannot be resumed" % args.checkpoint)
    train = json.loads(meta["train"])
    nets = P.build_nets(cfg, 0)
    parts = split_checkpoint(tensors)
    for k in NETS:
        nets[k].load_state_dict(parts[k], strict=True)
    opts = {k: torch.optim.Adam(nets[k].parameters(), lr=args.lr, betas=(args.beta1, args.beta2)) for k in NETS}
    for k in NETS:  # our Adam moments and step counts into torch's Adam state
        steps = float(train["adamSteps"].get(k, 0))
        for name, p in nets[k].named_parameters():
            opts[k].state[p] = {"step": torch.tensor(steps), "exp_avg": tensors["adam.%s.%s.exp_avg" % (k, name)].clone(),
                                "exp_avg_sq": tensors["adam.%s.%s.exp_avg_sq" % (k, name)].clone()}
        if distributed:
            average_grads_at_step(opts[k], world)

    files = list_pairs(args.data)
    size, L, per = cfg["height"], cfg["latentDim"], args.batch // world
    order = torch.Generator().manual_seed(args.seed * 1000003 + train["steps"])  # same on every rank
    noise = torch.Generator().manual_seed((args.seed * 1000003 + train["steps"]) * 997 + rank + 1)  # per rank
    for step in range(args.steps):
        idx = torch.randint(len(files), (args.batch,), generator=order).tolist()
        flips = torch.rand(args.batch, generator=order).tolist()
        mine = list(range(rank * per, (rank + 1) * per))
        A, B = [], []
        for i in mine:
            a, b = load_pair(files[idx[i]], size, args.direction)
            if not args.no_flip and flips[i] < 0.5:
                a, b = a.flip(2), b.flip(2)
            A.append(a)
            B.append(b)
        real_A, real_B = torch.stack(A), torch.stack(B)
        for m in nets.values():
            m.train()
        eps = torch.randn(per, L, generator=noise)
        z_random = torch.randn(per, L, generator=noise)
        r = P.bicycle_step(nets, opts, real_A, real_B, eps, z_random)
        losses = torch.stack([r["loss"][k].detach() for k in ("loss_GE", "loss_pixel", "loss_D_VAE", "loss_D_LR")])
        if distributed:
            dist.all_reduce(losses, op=dist.ReduceOp.SUM)
            losses /= world
        if rank == 0:
            print("step %d/%d ge %.4f pixel %.4f d_vae %.4f d_lr %.4f" % ((step + 1, args.steps) + tuple(losses.tolist())), flush=True)

    # every rank holds the same parameters (same start, same averaged gradients, same Adam)
    flat = torch.cat([p.detach().reshape(-1) for k in NETS for p in nets[k].parameters()])
    if distributed:
        ref = flat.clone()
        dist.broadcast(ref, 0)
        diff = torch.tensor([float((flat - ref).abs().max())])
        dist.all_reduce(diff, op=dist.ReduceOp.MAX)
        if rank == 0:
            print("ranks: %d, max |parameter difference| between ranks: %g" % (world, float(diff)), flush=True)
        if float(diff) != 0:
            raise SystemExit("ranks diverged: max |diff| %g" % float(diff))
    if rank == 0:
        out = checkpoint_tensors(nets, opts)
        new_train = {"steps": train["steps"] + args.steps, "epoch": train.get("epoch", 0),
                     "adamSteps": {k: int(float(opts[k].state[next(iter(nets[k].parameters()))]["step"])) for k in NETS},
                     "rng": train["rng"], "extra": {"torch": {"ranks": world, "batch": args.batch, "steps": args.steps, "from": args.checkpoint}}}
        meta_out = {"format": meta.get("format", "bicyclegan-wasm/1"), "config": meta["config"], "train": json.dumps(new_train)}
        tmp = args.out + ".tmp"
        st.save(tmp, out, meta_out)
        os.replace(tmp, args.out)
        print("wrote %s: step %d" % (args.out, new_train["steps"]), flush=True)
    if distributed:
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
