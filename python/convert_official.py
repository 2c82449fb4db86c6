"""The authors' pretrained BicycleGAN G and E (.pth state_dicts) -> one safetensors weights file of the `official`
preset, with the model options inferred from the tensor shapes.

  /usr/bin/python3 python/convert_official.py --g latest_net_G.pth [--e latest_net_E.pth] --out model.safetensors
      [--norm instance|batch|none] [--nz N] [--input-nc N] [--no-dropout] [--nl relu|lrelu|elu]

Input: the files junyanz/BicycleGAN's pretrained_models/download_model.sh gives (`latest_net_G.pth`,
`latest_net_E.pth`: plain state_dicts from torch.save(net.state_dict())). Handled on the way:
- PyTorch 0.3-era files hold `running_mean` / `running_var` for every InstanceNorm2d (it tracked them then;
  affine=False, so no weight/bias). Our InstanceNorm, like the official code since PyTorch 0.4, normalises with
  per-sample statistics in train and eval and has no buffers: those entries are dropped, and the note says how
  many. (A norm with a weight is a BatchNorm: its statistics are kept.)
- a DataParallel `module.` prefix is stripped; a pickled whole module is reduced to its state_dict.
Inferred from the shapes (and checked by loading both networks into python/bicyclegan_torch/official.py with
load_state_dict(strict=True)): where_add (G_Unet_add_all has down/submodule/up blocks, G_Unet_add_input one nested
Sequential; in add_all every inner down conv takes + nz channels), netG from the number of nested blocks (7:
unet_128, 8: unet_256), ngf, output_nc, input_nc and nz, upsample (ConvTranspose 4x4 = basic, Conv 3x3 =
bilinear), norm (BatchNorm tensors, InstanceNorm leftovers or the module indices, which shift without a norm),
netE (E_ResNet by its shortcut convs: resnet_128 with 3 blocks, resnet_256 with 4; E_NLayers: conv_128 / conv_256
by its conv count), nef. Not in the weights: use_dropout (training only; default true, as the authors' scripts) and
nl (default relu); norm instance vs none for an add_all G without E (default instance, the authors' setting) —
flags set them, and a flag that contradicts the weights is an error.

Output: safetensors (F32; BatchNorm num_batches_tracked I64) in bicyclegan-wasm's state-dict convention: G and E
tensors under their official names, unprefixed (G `model.*`, E `conv.*`, `fc.*`, `fcVar.*`: they cannot collide);
metadata `format` (bicyclegan-wasm/1), `options` (JSON: the authors' options above, camelCase as
python/bicyclegan_torch/official.py DEFAULTS, plus imageSize), `config` (our model config, preset "official",
when our networks run those options: upsample basic, nl relu), `converted_from`, `notes`.
Then: `bicyclegan convert model.safetensors g.safetensors --to inference` (or sample with it directly).
"""
import argparse
import json
import os
import re
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bicyclegan_torch import official as O  # noqa: E402
from bicyclegan_torch import safetensors_io as st  # noqa: E402

FORMAT = "bicyclegan-wasm/1"  # src/train/checkpoint.ts FORMAT
NET_PREFIX = {"G": "", "E": ""}  # our state-dict files: G and E unprefixed (src/train/checkpoint.ts NET_PREFIX)
STATS = (".running_mean", ".running_var", ".num_batches_tracked")


class ConvertError(Exception):
    pass


def load_state_dict(path, what):
    """A .pth file -> (OrderedDict name -> float tensor, notes). Accepts a state_dict, a DataParallel one, or a
    pickled nn.Module."""
    try:
        obj = torch.load(path, map_location="cpu")
    except Exception as e:  # noqa: BLE001 - torch raises many kinds for a bad file
        raise ConvertError("%s (%s): cannot load with torch.load: %s" % (path, what, e))
    notes = []
    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
        notes.append("%s: a pickled module; its state_dict is used" % path)
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise ConvertError("%s (%s): not a state_dict (a dict of tensors)" % (path, what))
    if all(k.startswith("module.") for k in obj):
        obj = {k[len("module."):]: v for k, v in obj.items()}
        notes.append("%s: DataParallel `module.` prefix stripped" % path)
    return dict(obj), notes


def drop_instance_stats(sd, path):
    """Remove the running statistics of norms without a weight (PyTorch 0.3's InstanceNorm2d); returns their
    number. A norm with a weight is a BatchNorm and keeps its statistics."""
    prefixes = {k[: -len(s)] for k in sd for s in STATS if k.endswith(s)}
    inst = sorted(p for p in prefixes if p + ".weight" not in sd)
    n = 0
    for p in inst:
        for s in STATS:
            if p + s in sd:
                del sd[p + s]
                n += 1
    return n, inst


def _shape(sd, name, path, what):
    if name not in sd:
        raise ConvertError("%s: no `%s`: not an official %s state_dict" % (path, name, what))
    return list(sd[name].shape)


def infer_g(sd, path):
    """Options of a G state_dict: whereAdd, netG (numDowns), ngf, outputNc, inputNc + nz (add_input: their sum),
    nz (add_all), upsample, norm evidence."""
    names = list(sd)
    if any(n.startswith("model.down.") for n in names):
        where = "all"
        depth = 1 + max(n.count(".submodule") for n in names)
        block = lambda d: "model" + ".submodule" * d  # noqa: E731
        down = lambda d: "%s.down.%d.weight" % (block(d), 0 if d == 0 else 1)  # noqa: E731
    elif any(n.startswith("model.model.") for n in names):
        where = "input"
        depth = 1 + max(len(re.findall(r"\d\.model\.", n)) for n in names)  # one `<index>.model.` per level
        down = None
    else:
        raise ConvertError("%s: neither G_Unet_add_all (`model.down.*`) nor G_Unet_add_input (`model.model.*`) "
                           "names: not an official generator state_dict" % path)
    net = {7: "unet_128", 8: "unet_256"}.get(depth)
    if net is None:
        raise ConvertError("%s: a U-Net of %d blocks; the official generators have 7 (unet_128) or 8 (unet_256)"
                           % (path, depth))
    o = {"whereAdd": where, "netG": net}
    first = _shape(sd, "model.down.0.weight" if where == "all" else "model.model.0.weight", path, "generator")
    o["ngf"] = first[0]
    if where == "all":
        nz = _shape(sd, down(1), path, "generator")[1] - o["ngf"]
        for d in range(2, depth):  # every inner down conv takes its outer block's output + nz
            got = _shape(sd, down(d), path, "generator")[1] - _shape(sd, down(d - 1), path, "generator")[0]
            if got != nz:
                raise ConvertError("%s: `%s` takes %d extra input channels, `%s` %d: inconsistent z width"
                                   % (path, down(d), got, down(1), nz))
        o["nz"] = nz
        o["inputNc"] = first[1] - nz
        up = "model.up"
    else:
        o["inputPlusNz"] = first[1]
        up = "model.model"
    # outermost up: basic = [ReLU, ConvT 4x4] -> .1 (all) / .3 (input); bilinear = [ReLU, Upsample, Pad, Conv 3x3]
    k = {"all": (1, 3), "input": (3, 5)}[where]
    if "%s.%d.weight" % (up, k[0]) in sd and len(sd["%s.%d.weight" % (up, k[0])].shape) == 4:
        o["upsample"], w = "basic", sd["%s.%d.weight" % (up, k[0])]
        o["outputNc"] = w.shape[1]  # ConvTranspose2d weight [in, out, k, k]
    elif "%s.%d.weight" % (up, k[1]) in sd:
        o["upsample"], w = "bilinear", sd["%s.%d.weight" % (up, k[1])]
        o["outputNc"] = w.shape[0]
    else:
        raise ConvertError("%s: no outermost up-sampling conv (`%s.%d.weight`)" % (path, up, k[0]))
    # norm evidence: BatchNorm tensors; for add_input the module indices (a middle block's .model is
    # [LReLU, Conv, norm, block, ...]: its inner block sits at .3, or at .2 without a norm)
    if any(n.endswith(".weight") and sd[n].dim() == 1 for n in names):
        o["norm"] = "batch"
    elif where == "input":
        o["norm"] = "none" if any(n.startswith("model.model.1.model.2.model.") for n in names) else "instance"
    return o


def infer_e(sd, path):
    names = list(sd)
    o = {}
    fc = _shape(sd, "fc.0.weight", path, "encoder")
    if "fcVar.0.weight" not in sd:
        raise ConvertError("%s: no `fcVar.0.weight`: BicycleGAN's E returns (mu, logvar)" % path)
    o["nz"] = fc[0]
    c0 = _shape(sd, "conv.0.weight", path, "encoder")
    o["nef"], o["outputNc"] = c0[0], c0[1]
    if any(".shortcut." in n for n in names):
        blocks = 1 + max(int(m.group(1)) for m in (re.match(r"conv\.(\d+)\.shortcut", n) for n in names) if m)
        o["netE"] = {4: "resnet_128", 5: "resnet_256"}.get(blocks)
        if o["netE"] is None:
            raise ConvertError("%s: E_ResNet with %d blocks; resnet_128 has 4, resnet_256 5" % (path, blocks))
        if any(n.endswith(".weight") and sd[n].dim() == 1 for n in names):
            o["norm"] = "batch"
        else:  # BasicBlock conv = [norm, nl, conv3, ...]: the first conv is .2, or .1 without a norm
            o["norm"] = "none" if "conv.1.conv.1.weight" in sd else "instance"
    else:
        convs = [n for n in names if re.fullmatch(r"conv\.\d+\.weight", n) and sd[n].dim() == 4]
        o["netE"] = {4: "conv_128", 5: "conv_256"}.get(len(convs))
        if o["netE"] is None:
            raise ConvertError("%s: neither E_ResNet (shortcut convs) nor E_NLayers (4 or 5 convs): not an official "
                               "encoder state_dict" % path)
        if any(n.endswith(".weight") and sd[n].dim() == 1 for n in names):
            o["norm"] = "batch"
        else:  # [conv, nl, conv, norm, nl, ...]: the second conv is .2 either way; the third is .5 or .4 (none)
            o["norm"] = "none" if "conv.4.weight" in sd else "instance"
    return o


def convert(g_path, e_path=None, norm=None, nz=None, input_nc=None, use_dropout=True, nl="relu"):
    """-> (tensors dict with our names, config dict, notes list). Raises ConvertError with a message naming the
    file and the problem."""
    notes = []
    gsd, n1 = load_state_dict(g_path, "generator")
    notes += n1
    dropped, _ = drop_instance_stats(gsd, g_path)
    ev = {"instance_stats": dropped > 0}
    if dropped:
        notes.append("%s: dropped %d InstanceNorm running_mean/running_var entries (PyTorch 0.3 era; instance norm "
                     "uses per-sample statistics)" % (g_path, dropped))
    g = infer_g(gsd, g_path)
    esd, e = None, {}
    if e_path:
        esd, n2 = load_state_dict(e_path, "encoder")
        notes += n2
        d2, _ = drop_instance_stats(esd, e_path)
        ev["instance_stats"] |= d2 > 0
        if d2:
            notes.append("%s: dropped %d InstanceNorm running_mean/running_var entries (PyTorch 0.3 era)" % (e_path, d2))
        e = infer_e(esd, e_path)

    cfg = dict(O.DEFAULTS)
    for k in ("ndf", "netD", "netD2", "numDs", "conditionalD", "useSameD", "initType", "initGain"):
        del cfg[k]  # training-only options of nets not in the file
    cfg.update({k: v for k, v in g.items() if k in cfg})
    # nz and input_nc: add_all knows both; add_input only their sum, so E's nz (or --nz, default 8) splits it
    if g["whereAdd"] == "input":
        z = e.get("nz", nz if nz is not None else (g["inputPlusNz"] - input_nc if input_nc is not None else 8))
        if e and nz is not None and nz != e["nz"]:
            raise ConvertError("--nz %d: %s has nz %d" % (nz, e_path, e["nz"]))
        cfg["nz"], cfg["inputNc"] = z, g["inputPlusNz"] - z
        if cfg["inputNc"] < 1:
            raise ConvertError("%s: first conv takes %d channels, fewer than nz %d + 1" % (g_path, g["inputPlusNz"], z))
        if not e and nz is None and input_nc is None:
            notes.append("where_add input without E: nz 8 assumed (the official default); pass --nz otherwise")
    for flag, val, key in (("--nz", nz, "nz"), ("--input-nc", input_nc, "inputNc")):
        if val is not None and val != cfg[key]:
            raise ConvertError("%s %d: %s implies %s %d" % (flag, val, g_path, key, cfg[key]))
    if e:
        for k in ("nz", "outputNc"):
            if e[k] != cfg[k]:
                raise ConvertError("%s: %s %d, but the generator %s has %s %d: not a pair"
                                   % (e_path, k, e[k], g_path, k, cfg[k]))
        cfg["nef"], cfg["netE"] = e["nef"], e["netE"]
    else:
        del cfg["nef"], cfg["netE"]
    # norm: BatchNorm tensors / module indices / InstanceNorm leftovers; else the flag or the authors' instance
    seen = {x for x in (g.get("norm"), e.get("norm")) if x}
    if ev["instance_stats"]:
        seen.add("instance")
    if len(seen) > 1:
        raise ConvertError("the files disagree on the norm layer: %s" % ", ".join(sorted(seen)))
    found = seen.pop() if seen else None
    if norm is not None and found is not None and norm != found:
        raise ConvertError("--norm %s: the weights have %s norm layers" % (norm, found))
    cfg["norm"] = found or norm or "instance"
    if found is None and norm is None:
        notes.append("norm instance assumed (instance and none hold the same tensors in an add_all G): pass --norm")
    cfg["useDropout"], cfg["nl"] = bool(use_dropout), nl
    cfg["imageSize"] = {"unet_128": 128, "unet_256": 256}[cfg["netG"]]

    # the check: every name and shape loads into the official networks
    G = O.define_G(cfg["inputNc"], cfg["outputNc"], cfg["nz"], cfg["ngf"], cfg["netG"], cfg["norm"], nl,
                   cfg["useDropout"], None, where_add=cfg["whereAdd"], upsample=cfg["upsample"])
    nets = [("G", G, gsd, g_path)]
    if esd is not None:
        E = O.define_E(cfg["outputNc"], cfg["nz"], cfg["nef"], cfg["netE"], cfg["norm"], None)
        nets.append(("E", E, esd, e_path))
    out = {}
    for k, net, sd, path in nets:
        try:
            net.load_state_dict(sd, strict=True)
        except RuntimeError as err:
            raise ConvertError("%s: does not fit the official %s inferred as %s:\n%s" % (path, k, json.dumps(cfg), err))
        for name, t in net.state_dict().items():  # official order; floats as F32
            out[NET_PREFIX[k] + name] = t.detach().clone() if t.dtype == torch.int64 else t.detach().float().clone()
    return out, cfg, notes


def model_config(o):
    """bicyclegan-wasm's model config (src/models/config.ts ModelConfig, preset official) for the authors' options
    `o`, or None where our networks cannot run them (bilinear up-sampling, a non-ReLU up path). The file holds no
    discriminator: dBase and netD are the 128/256 defaults, unused by inference."""
    if o["upsample"] != "basic" or o["nl"] != "relu":
        return None
    size = o["imageSize"]
    return {
        "preset": "official", "imageSize": size, "channels": o["outputNc"], "latentDim": o["nz"],
        "gBase": o["ngf"], "eBase": o.get("nef", o["ngf"]), "dBase": 64,
        "bnEpsG": 1e-5, "bnEpsD": 1e-5, "bnEpsE": 1e-5,
        "official": {
            "netG": o["netG"], "whereAdd": o["whereAdd"], "norm": o["norm"], "dropout": o["useDropout"],
            "netE": o.get("netE", "resnet_%d" % size), "netD": "basic_%d_multi" % size, "numDs": 2,
            "conditionalD": False, "sameD": False, "inputChannels": o["inputNc"],
        },
    }


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--g", required=True, help="the generator's .pth (latest_net_G.pth)")
    p.add_argument("--e", help="the encoder's .pth (latest_net_E.pth); without it the file has G only")
    p.add_argument("--out", required=True, help="the safetensors file to write")
    p.add_argument("--norm", choices=["instance", "batch", "none"], help="when the weights cannot tell")
    p.add_argument("--nz", type=int, help="latent size (needed only for a where_add input G without E)")
    p.add_argument("--input-nc", type=int, help="input channels (same case)")
    p.add_argument("--no-dropout", action="store_true", help="the model was trained without --use_dropout")
    p.add_argument("--nl", choices=["relu", "lrelu", "elu"], default="relu", help="the G up-path nonlinearity")
    a = p.parse_args(argv)
    try:
        tensors, cfg, notes = convert(a.g, a.e, a.norm, a.nz, a.input_nc, not a.no_dropout, a.nl)
    except ConvertError as err:
        print("convert_official: %s" % err, file=sys.stderr)
        return 1
    meta = {"format": FORMAT, "options": json.dumps(cfg, sort_keys=True),
            "converted_from": json.dumps([os.path.basename(x) for x in (a.g, a.e) if x]), "notes": json.dumps(notes)}
    model = model_config(cfg)
    if model is None:
        notes.append("upsample %s / nl %s: bicyclegan-wasm runs upsample basic with nl relu, so the file has no model "
                     "config (it converts for the record, but cannot be run)" % (cfg["upsample"], cfg["nl"]))
        meta["notes"] = json.dumps(notes)
    else:
        meta["config"] = json.dumps(model, sort_keys=True)
    tmp = a.out + ".tmp"
    st.save(tmp, tensors, meta)
    os.replace(tmp, a.out)  # nothing half-written under the output name
    for n in notes:
        print("note: %s" % n)
    nets = "G + E" if a.e else "G"
    print("wrote %s: %s, %d tensors; config %s" % (a.out, nets, len(tensors), json.dumps(cfg, sort_keys=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
