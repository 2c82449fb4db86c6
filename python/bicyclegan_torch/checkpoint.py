"""bicyclegan-wasm checkpoints <-> PyTorch modules and Adam optimizers (pytorch-gan preset).

Our format (safetensors, see the repo README "Checkpoints"): G and E tensors unprefixed, discriminators under
`D_VAE.` / `D_LR.`, Adam moments under `adam.<net>.<name>.exp_avg|exp_avg_sq`, recalibrated BatchNorm statistics
under `recalibrated.<name>`; metadata `config` (model config JSON), `train` (steps, epoch, adamSteps per net,
rng, trainer fields) and `recalibrated`.
"""
import json

import torch

from . import models as P
from . import safetensors_io as st

NETS = ("G", "E", "D_VAE", "D_LR")
PREFIX = {"G": "", "E": "", "D_VAE": "D_VAE.", "D_LR": "D_LR."}
E_PREFIXES = ("feature_extractor.", "fc_mu.", "fc_logvar.")
RECAL = "recalibrated."


def config_from_meta(meta):
    if "config" not in meta:
        raise SystemExit("checkpoint has no `config` in __metadata__")
    raw = json.loads(meta["config"])
    flat = {}
    for k in ("model", "net", "nets"):  # tolerate a nested model section
        if isinstance(raw.get(k), dict):
            flat.update(raw[k])
    flat.update({k: v for k, v in raw.items() if not isinstance(v, dict)})
    return P.normalize_config(flat)


def split_checkpoint(tensors, bn_stats="running"):
    """-> {net: state_dict}; adam.*, expected.* skipped; recalibrated.* replaces G's and E's running statistics
    with bn_stats="recalibrated", else skipped."""
    if bn_stats == "recalibrated":
        recal = {n[len(RECAL):]: t for n, t in tensors.items() if n.startswith(RECAL)}
        if not recal:
            raise SystemExit("checkpoint has no recalibrated.* statistics (bicyclegan recalibrate writes them)")
        tensors = {**tensors, **recal}
    parts = {k: {} for k in NETS}
    for name, t in tensors.items():
        if name.startswith("adam.") or name.startswith("expected.") or name.startswith(RECAL):
            continue
        if name.startswith("D_VAE."):
            parts["D_VAE"][name[len("D_VAE."):]] = t
        elif name.startswith("D_LR."):
            parts["D_LR"][name[len("D_LR."):]] = t
        elif name.startswith(E_PREFIXES):
            parts["E"][name] = t
        else:
            parts["G"][name] = t
    return parts


def checkpoint_tensors(nets, opts):
    """Our checkpoint tensors: every state_dict entry under its prefix, and Adam moments where a step was taken."""
    out = {}
    for k in NETS:
        for name, t in nets[k].state_dict().items():
            out[PREFIX[k] + name] = t.detach().clone()  # num_batches_tracked stays int64 (I64)
    for k in NETS:
        for name, p in nets[k].named_parameters():
            s = opts[k].state.get(p)
            if s:
                out["adam.%s.%s.exp_avg" % (k, name)] = s["exp_avg"].clone()
                out["adam.%s.%s.exp_avg_sq" % (k, name)] = s["exp_avg_sq"].clone()
    return out


def load_checkpoint(path, lr=2e-4, betas=(0.5, 0.999)):
    """-> (cfg, nets, opts, train, meta): the normalised model config, the four networks with their weights and
    buffers (strict), Adam optimizers with the checkpoint's moments and step counts, the `train` metadata (dict;
    {} for a weights-only file) and the raw metadata."""
    tensors, meta = st.load(path)
    cfg = config_from_meta(meta)
    nets = P.build_nets(cfg, 0)
    for k, sd in split_checkpoint(tensors).items():
        nets[k].load_state_dict(sd, strict=True)
    opts = P.make_adams(nets, lr=lr, betas=betas)
    train = json.loads(meta["train"]) if "train" in meta else {}
    steps = train.get("adamSteps", {})
    for k in NETS:
        for name, p in nets[k].named_parameters():
            m, v = "adam.%s.%s.exp_avg" % (k, name), "adam.%s.%s.exp_avg_sq" % (k, name)
            if m not in tensors:
                continue
            if v not in tensors:
                raise SystemExit("%s: %s without %s" % (path, m, v))
            # torch.optim.Adam's own state layout (step as a float tensor since torch 1.12)
            opts[k].state[p] = {"step": torch.tensor(float(steps.get(k, 0))), "exp_avg": tensors[m].clone(),
                                "exp_avg_sq": tensors[v].clone()}
    return cfg, nets, opts, train, meta


def save_checkpoint(path, config_json, nets, opts, train):
    """Write our format: `config_json` is the model config as bicyclegan-wasm wrote it (keep the input's),
    `train` the metadata dict to store (steps, epoch, adamSteps, rng, ...)."""
    meta = {"format": "bicyclegan-wasm/1", "config": config_json, "train": json.dumps(train)}
    st.save(path, checkpoint_tensors(nets, opts), meta)


def adam_steps(opts):
    """Step count per network, as our metadata stores it."""
    out = {}
    for k in NETS:
        steps = [int(s["step"]) for s in opts[k].state.values() if "step" in s]
        out[k] = max(steps) if steps else 0
    return out
