"""Our checkpoint or `bicyclegan convert --to state-dict` output -> one torch.save'd state_dict per network.

  python3 python/export_pth.py IN.safetensors OUT_DIR [--bn-stats running|recalibrated]

Builds the pytorch-gan networks from the file's model config, loads every network the file holds with
load_state_dict(strict=True) (so a name or shape that does not fit is an error here, not later), and writes
OUT_DIR/G.pth, E.pth, D_VAE.pth, D_LR.pth (those present): plain state_dicts for
`Generator(...).load_state_dict(torch.load("G.pth"))` in PyTorch-GAN's implementations/bicyclegan/models.py.
"""
import argparse
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bicyclegan_torch import models as P  # noqa: E402
from bicyclegan_torch import safetensors_io as st  # noqa: E402
from bicyclegan_torch.checkpoint import NETS, config_from_meta, split_checkpoint  # noqa: E402


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("input")
    p.add_argument("out_dir")
    p.add_argument("--bn-stats", choices=["running", "recalibrated"], default="running")
    a = p.parse_args(argv)
    tensors, meta = st.load(a.input)
    cfg = config_from_meta(meta)
    parts = split_checkpoint(tensors, a.bn_stats)
    nets = P.build_nets(cfg, 0)
    os.makedirs(a.out_dir, exist_ok=True)
    written = []
    for k in NETS:
        if not parts[k]:
            continue
        nets[k].load_state_dict(parts[k], strict=True)
        path = os.path.join(a.out_dir, "%s.pth" % k)
        torch.save(nets[k].state_dict(), path)
        written.append(path)
    if not written:
        raise SystemExit("%s: no network tensors" % a.input)
    print("wrote %s" % ", ".join(written))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
