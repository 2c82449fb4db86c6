"""The authors' BicycleGAN networks (junyanz/BicycleGAN models/networks.py, master) and their training step
(models/bicycle_gan_model.py at HEAD): our `official` preset in PyTorch. Spec: shared/spec/bicyclegan-reference.md
§4 (networks), §7.2 (step), §8.3 (init).

The module lists are the official ones index for index, so `state_dict()` names and shapes are exactly those of
the authors' files (their pretrained latest_net_G.pth / latest_net_E.pth load with strict=True, once the
PyTorch-0.3-era InstanceNorm running_mean/running_var entries are dropped; python/convert_official.py does that).
Where a norm is 'none' the norm module is absent and the later indices shift down, as in the official lists.

One addition: `Dropout` takes an optional seed. Unseeded it is nn.Dropout (torch's RNG); seeded it draws its mask
from our counter-based hash (assembly/act.ts hash_uniform), so bicyclegan-wasm can reproduce a PyTorch forward
exactly. Seeds per G forward: `set_dropout_seed(G, s)` gives the Dropout of the U-Net block at depth d
(outermost block d = 0, its submodule d = 1, ...) the seed s ^ ((d + 1) * 0x85ebca6b mod 2^32) (our
dropoutLayerSeed(s, d): src/nn/dropout.ts). Mask element i is the batch-global
NHWC index of the dropout's input, i = ((n*H + y)*W + x)*C + c (mod 2^32), kept when u(seed, i) >= p, kept
values scaled by 1/(1-p) (float32).

state_dict names, unet_128 where_add all (G_Unet_add_all, num_downs 7; every block is UnetBlock_with_z with
children down, submodule, up; `model` is the outermost block, each `submodule` one block deeper):
  model.down.0.{weight,bias}                               outermost Conv4s2 (input_nc + nz -> ngf)
  model.up.1.{weight,bias}                                 outermost ConvT (2 ngf -> output_nc); up = ReLU, ConvT, Tanh
  model.submodule.down.1.{weight,bias}                     depth 1 Conv (ngf + nz -> 2 ngf); down = LReLU, Conv, norm
  model.submodule.up.1.{weight,bias}                       depth 1 ConvT (4 ngf -> ngf); up = ReLU, ConvT, norm
  model.submodule.submodule.down.1 / .up.1                 depth 2 (2 ngf + nz -> 4 ngf; 8 ngf -> 2 ngf)
  model.submodule.submodule.submodule.down.1 / .up.1       depth 3 (4 ngf + nz -> 8 ngf; 16 ngf -> 4 ngf)
  model.submodule x4 .down.1 / .up.1                       depth 4 (8 ngf + nz -> 8 ngf; 16 ngf -> 8 ngf), up[3] = Dropout
  model.submodule x5 .down.1 / .up.1                       depth 5 (the same), up[3] = Dropout
  model.submodule x6 .down.1 / .up.1                       depth 6 innermost (8 ngf + nz -> 8 ngf; ConvT 8 ngf -> 8 ngf),
                                                           down = LReLU, Conv (no norm); up = ReLU, ConvT, norm
  (norm batch adds down.2.* / up.2.* weight, bias, running_mean, running_var, num_batches_tracked; norm none
  drops them and moves Dropout to up.2.) ConvT weights are [in, out, 4, 4].
unet_*, where_add input (G_Unet_add_input, UnetBlock = one Sequential `model` holding down + [submodule] + up):
  outermost model.model = [0 Conv (input_nc + nz in), 1 next block, 2 ReLU, 3 ConvT, 4 Tanh]; a middle block's
  .model = [0 LReLU, 1 Conv, 2 norm, 3 next block, 4 ReLU, 5 ConvT, 6 norm, 7 Dropout] (norm none: [LReLU, Conv,
  block, ReLU, ConvT, Dropout]); innermost [0 LReLU, 1 Conv, 2 ReLU, 3 ConvT, 4 norm]. So the depth-1 convs are
  model.model.1.model.1 and model.model.1.model.5, depth 2 model.model.1.model.3.model.{1,5}, ...
E_ResNet: conv.0 (Conv4s2), conv.{1..n_blocks-1} BasicBlock: conv.k.conv.{0 norm, 1 LReLU, 2 Conv3, 3 norm, 4 LReLU,
  5 convMeanpool: .0 Conv3, .1 AvgPool2}, conv.k.shortcut.{0 AvgPool2, 1 Conv1x1}; fc.0 and fcVar.0 (Linear).
E_NLayers: conv.{0 Conv, 1 LReLU, 2 Conv, 3 norm, 4 LReLU, ...}, fc.0, fcVar.0.
D_NLayersMulti (num_D >= 2): model_0.{0,2,5,8,...} convs, norms between; model_i uses ndf_i = int(round(ndf / 2^i))
  (Python's round: half to even, so ndf 5 gives 2 at scale 1); num_D 1: model.{...}.

Run `/usr/bin/python3 python/bicyclegan_torch/official.py --counts` to check parameter counts against spec §5.
"""
import functools
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.nn import init

# ---------------------------------------------------------------- factories (norm, nonlinearity)


def get_norm_layer(norm_type="instance"):
    """instance: no affine, no running stats (eps 1e-5); batch: affine + running stats; none: None."""
    if norm_type == "batch":
        return functools.partial(nn.BatchNorm2d, affine=True, track_running_stats=True)
    if norm_type == "instance":
        return functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)
    if norm_type == "none":
        return None
    raise ValueError("norm must be instance, batch or none, not %r" % (norm_type,))


def get_non_linearity(layer_type="relu"):
    if layer_type == "relu":
        return functools.partial(nn.ReLU, inplace=True)
    if layer_type == "lrelu":
        return functools.partial(nn.LeakyReLU, negative_slope=0.2, inplace=True)
    if layer_type == "elu":
        return functools.partial(nn.ELU, inplace=True)
    raise ValueError("nl must be relu, lrelu or elu, not %r" % (layer_type,))


# ---------------------------------------------------------------- dropout with injectable masks

_M32 = np.uint64(0xFFFFFFFF)


def hash_uniform(seed, idx):
    """u in [0, 1) for each uint32 counter in idx (numpy), the same function as assembly/act.ts hash_uniform
    (lowbias32 of seed ^ (i * 0x9e3779b9)). uint64 arithmetic masked to 32 bits = u32 wrap-around."""
    i = idx.astype(np.uint64) & _M32
    h = (np.uint64(seed & 0xFFFFFFFF) ^ ((i * np.uint64(0x9E3779B9)) & _M32)) & _M32
    h ^= h >> np.uint64(16)
    h = (h * np.uint64(0x7FEB352D)) & _M32
    h ^= h >> np.uint64(15)
    h = (h * np.uint64(0x846CA68B)) & _M32
    h ^= h >> np.uint64(16)
    return (h >> np.uint64(8)).astype(np.float64) * (1.0 / 16777216.0)  # exact: 24-bit integer times 2^-24


def dropout_mask(shape, p, seed):
    """float32 NCHW mask (0 or 1/(1-p) in float32) for an input of `shape` (N, C, H, W): element (n, c, y, x) uses
    counter ((n*H + y)*W + x)*C + c, i.e. its index in NHWC order (our runtime's layout), mod 2^32."""
    n, c, h, w = shape
    nhwc = np.arange(n * h * w * c, dtype=np.uint64).reshape(n, h, w, c)
    u = hash_uniform(seed, nhwc).transpose(0, 3, 1, 2)  # -> N, C, H, W
    p32 = float(np.float32(p))
    scale = np.float32(1.0) / (np.float32(1.0) - np.float32(p)) if p < 1 else np.float32(0.0)
    return torch.from_numpy(np.ascontiguousarray(np.where(u >= p32, scale, np.float32(0.0)).astype(np.float32)))


class Dropout(nn.Dropout):
    """nn.Dropout (same state_dict: none) whose mask comes from hash_uniform when `seed` is set.
    `last_mask` keeps the mask of the latest seeded training-mode forward (for fixtures)."""

    def __init__(self, p=0.5):
        super().__init__(p)
        self.seed = None
        self.last_mask = None

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        if self.seed is None:
            return F.dropout(x, self.p, True)
        self.last_mask = dropout_mask(tuple(x.shape), self.p, self.seed).to(x.device)
        return x * self.last_mask


# ---------------------------------------------------------------- generator: U-Net blocks (spec §4.1)


def upsample_layer(inplanes, outplanes, upsample="basic"):
    """basic: ConvTranspose 4x4 s2 p1 (exact x2); bilinear: Upsample x2, ReflectionPad 1, Conv 3x3 (3 modules)."""
    if upsample == "basic":
        return [nn.ConvTranspose2d(inplanes, outplanes, kernel_size=4, stride=2, padding=1)]
    if upsample == "bilinear":
        return [nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False), nn.ReflectionPad2d(1),
                nn.Conv2d(inplanes, outplanes, kernel_size=3, stride=1, padding=0)]
    raise ValueError("upsample must be basic or bilinear, not %r" % (upsample,))


def _block_parts(input_nc, outer_nc, inner_nc, outermost, innermost, norm_layer, nl_layer, use_dropout, upsample):
    """The official (down, up) module lists of one U-Net block, `input_nc` already including any z channels.
    outermost: down [Conv], up [nl, upconv, Tanh]; innermost: down [LReLU, Conv], up [nl, upconv, norm];
    middle: down [LReLU, Conv, norm], up [nl, upconv, norm, Dropout?]. Norms are absent with norm none."""
    conv = nn.Conv2d(input_nc, inner_nc, kernel_size=4, stride=2, padding=1)
    down_relu = nn.LeakyReLU(0.2, True)
    up_relu = nl_layer()
    if outermost:
        return [conv], [up_relu] + upsample_layer(inner_nc * 2, outer_nc, upsample) + [nn.Tanh()]
    if innermost:
        up = [up_relu] + upsample_layer(inner_nc, outer_nc, upsample)
        return [down_relu, conv], up + ([norm_layer(outer_nc)] if norm_layer is not None else [])
    down = [down_relu, conv] + ([norm_layer(inner_nc)] if norm_layer is not None else [])
    up = [up_relu] + upsample_layer(inner_nc * 2, outer_nc, upsample)
    up += [norm_layer(outer_nc)] if norm_layer is not None else []
    up += [Dropout(0.5)] if use_dropout else []
    return down, up


def _tile(z, x):
    """z (N, nz) -> (N, nz, H, W) at x's resolution."""
    return z.view(z.size(0), z.size(1), 1, 1).expand(z.size(0), z.size(1), x.size(2), x.size(3))


class UnetBlock_with_z(nn.Module):
    """A U-Net block that concatenates tiled z to its own input: children `down`, `submodule`, `up`.
    Returns up(sub(down(cat(x, z)), z)) for the outermost block, else cat([that, x]) (skip = x without z)."""

    def __init__(self, input_nc, outer_nc, inner_nc, nz=0, submodule=None, outermost=False, innermost=False,
                 norm_layer=None, nl_layer=None, use_dropout=False, upsample="basic"):
        super().__init__()
        self.outermost, self.innermost, self.nz = outermost, innermost, nz
        down, up = _block_parts(input_nc + nz, outer_nc, inner_nc, outermost, innermost, norm_layer, nl_layer,
                                use_dropout, upsample)
        self.down = nn.Sequential(*down)
        self.submodule = submodule  # None for the innermost block (then not a registered child)
        self.up = nn.Sequential(*up)

    def forward(self, x, z):
        xz = torch.cat([x, _tile(z, x)], 1) if self.nz > 0 else x
        if self.innermost:
            return torch.cat([self.up(self.down(xz)), x], 1)
        y = self.up(self.submodule(self.down(xz), z))
        return y if self.outermost else torch.cat([y, x], 1)


class G_Unet_add_all(nn.Module):
    """z into every block. Blocks built inside out: innermost 8ngf, one 8ngf block with dropout, (num_downs - 6)
    more 8ngf blocks with dropout, then 4ngf, 2ngf, ngf and the outermost."""

    def __init__(self, input_nc, output_nc, nz, num_downs, ngf=64, norm_layer=None, nl_layer=None,
                 use_dropout=False, upsample="basic"):
        super().__init__()
        self.nz = nz
        kw = dict(norm_layer=norm_layer, nl_layer=nl_layer, upsample=upsample)
        block = UnetBlock_with_z(ngf * 8, ngf * 8, ngf * 8, nz, None, innermost=True, **kw)
        for _ in range(num_downs - 5):  # the official code writes 1 + (num_downs - 6) such blocks
            block = UnetBlock_with_z(ngf * 8, ngf * 8, ngf * 8, nz, block, use_dropout=use_dropout, **kw)
        block = UnetBlock_with_z(ngf * 4, ngf * 4, ngf * 8, nz, block, **kw)
        block = UnetBlock_with_z(ngf * 2, ngf * 2, ngf * 4, nz, block, **kw)
        block = UnetBlock_with_z(ngf, ngf, ngf * 2, nz, block, **kw)
        self.model = UnetBlock_with_z(input_nc, output_nc, ngf, nz, block, outermost=True, **kw)

    def forward(self, x, z):
        return self.model(x, z)


class UnetBlock(nn.Module):
    """A U-Net block without z: one Sequential `model` = down + [submodule] + up. Non-outermost blocks return
    cat([model(x), x]); model starts with an in-place LeakyReLU on x, so the skip carries LReLU(x) (harmless:
    the consumer starts with ReLU, spec §4.1)."""

    def __init__(self, input_nc, outer_nc, inner_nc, submodule=None, outermost=False, innermost=False,
                 norm_layer=None, nl_layer=None, use_dropout=False, upsample="basic"):
        super().__init__()
        self.outermost = outermost
        down, up = _block_parts(input_nc, outer_nc, inner_nc, outermost, innermost, norm_layer, nl_layer,
                                use_dropout, upsample)
        self.model = nn.Sequential(*(down + ([] if innermost else [submodule]) + up))

    def forward(self, x):
        return self.model(x) if self.outermost else torch.cat([self.model(x), x], 1)


class G_Unet_add_input(nn.Module):
    """z tiled once and concatenated to the input; blocks: innermost, (num_downs - 5) 8ngf blocks with dropout,
    4ngf, 2ngf, ngf, outermost (input_nc + nz in)."""

    def __init__(self, input_nc, output_nc, nz, num_downs, ngf=64, norm_layer=None, nl_layer=None,
                 use_dropout=False, upsample="basic"):
        super().__init__()
        self.nz = nz
        kw = dict(norm_layer=norm_layer, nl_layer=nl_layer, upsample=upsample)
        block = UnetBlock(ngf * 8, ngf * 8, ngf * 8, innermost=True, **kw)
        for _ in range(num_downs - 5):
            block = UnetBlock(ngf * 8, ngf * 8, ngf * 8, block, use_dropout=use_dropout, **kw)
        block = UnetBlock(ngf * 4, ngf * 4, ngf * 8, block, **kw)
        block = UnetBlock(ngf * 2, ngf * 2, ngf * 4, block, **kw)
        block = UnetBlock(ngf, ngf, ngf * 2, block, **kw)
        self.model = UnetBlock(input_nc + nz, output_nc, ngf, block, outermost=True, **kw)

    def forward(self, x, z=None):
        return self.model(torch.cat([x, _tile(z, x)], 1) if self.nz > 0 else x)


def unet_blocks(G):
    """The U-Net blocks of a G, outermost first (index = depth)."""
    out, b = [], G.model
    while b is not None:
        out.append(b)
        if isinstance(b, UnetBlock_with_z):
            b = b.submodule
        else:
            b = next((m for m in b.model if isinstance(m, UnetBlock)), None)
    return out


def dropouts(G):
    """[(depth, Dropout)] of a G, outermost first."""
    out = []
    for d, b in enumerate(unet_blocks(G)):
        mods = b.up if isinstance(b, UnetBlock_with_z) else b.model
        out += [(d, m) for m in mods if isinstance(m, Dropout)]
    return out


def set_dropout_seed(G, seed):
    """Seeded masks for the next G forwards: the Dropout at block depth d gets seed ^ ((d + 1) * 0x85ebca6b mod 2^32)
    (src/nn/dropout.ts dropoutLayerSeed with the depth as key); None: torch RNG."""
    for d, m in dropouts(G):
        m.seed = None if seed is None else (int(seed) ^ (((d + 1) * 0x85EBCA6B) & 0xFFFFFFFF)) & 0xFFFFFFFF


# ---------------------------------------------------------------- encoders (spec §4.3)


def conv3x3(in_planes, out_planes):
    return nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=1, padding=1, bias=True)


def meanpoolConv(inplanes, outplanes):
    return nn.Sequential(nn.AvgPool2d(kernel_size=2, stride=2),
                         nn.Conv2d(inplanes, outplanes, kernel_size=1, stride=1, padding=0, bias=True))


def convMeanpool(inplanes, outplanes):
    return nn.Sequential(conv3x3(inplanes, outplanes), nn.AvgPool2d(kernel_size=2, stride=2))


class BasicBlock(nn.Module):
    """conv = [norm, nl, Conv3 (in -> in), norm, nl, convMeanpool (in -> out)]; shortcut = meanpoolConv; sum."""

    def __init__(self, inplanes, outplanes, norm_layer=None, nl_layer=None):
        super().__init__()
        norm = (lambda c: [norm_layer(c)]) if norm_layer is not None else (lambda c: [])
        self.conv = nn.Sequential(*(norm(inplanes) + [nl_layer(), conv3x3(inplanes, inplanes)] + norm(inplanes)
                                    + [nl_layer(), convMeanpool(inplanes, outplanes)]))
        self.shortcut = meanpoolConv(inplanes, outplanes)

    def forward(self, x):
        return self.conv(x) + self.shortcut(x)


class E_ResNet(nn.Module):
    """Conv4s2 (input_nc -> ndf), n_blocks - 1 BasicBlocks (ndf * min(4, n) -> ndf * min(4, n + 1)), nl,
    AvgPool(8); fc (mu) and fcVar (logvar) Linear heads. fc/fcVar are registered before conv (official order)."""

    def __init__(self, input_nc=3, output_nc=1, ndf=64, n_blocks=4, norm_layer=None, nl_layer=None, vaeLike=False):
        super().__init__()
        self.vaeLike = vaeLike
        layers = [nn.Conv2d(input_nc, ndf, kernel_size=4, stride=2, padding=1, bias=True)]
        out_ndf = ndf
        for n in range(1, n_blocks):
            in_ndf, out_ndf = ndf * min(4, n), ndf * min(4, n + 1)
            layers.append(BasicBlock(in_ndf, out_ndf, norm_layer, nl_layer))
        layers += [nl_layer(), nn.AvgPool2d(8)]
        self.fc = nn.Sequential(nn.Linear(out_ndf, output_nc))
        if vaeLike:
            self.fcVar = nn.Sequential(nn.Linear(out_ndf, output_nc))
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        flat = self.conv(x).view(x.size(0), -1)
        return (self.fc(flat), self.fcVar(flat)) if self.vaeLike else self.fc(flat)


class E_NLayers(nn.Module):
    """Conv4s2 (-> ndf), nl; n_layers - 1 x [Conv4s2 (-> ndf * min(2^n, 4)), norm, nl]; AvgPool(8); fc, fcVar."""

    def __init__(self, input_nc, output_nc=1, ndf=64, n_layers=3, norm_layer=None, nl_layer=None, vaeLike=False):
        super().__init__()
        self.vaeLike = vaeLike
        seq = [nn.Conv2d(input_nc, ndf, kernel_size=4, stride=2, padding=1), nl_layer()]
        mult = 1
        for n in range(1, n_layers):
            prev, mult = mult, min(2 ** n, 4)
            seq.append(nn.Conv2d(ndf * prev, ndf * mult, kernel_size=4, stride=2, padding=1))
            seq += [norm_layer(ndf * mult)] if norm_layer is not None else []
            seq.append(nl_layer())
        seq.append(nn.AvgPool2d(8))
        self.conv = nn.Sequential(*seq)
        self.fc = nn.Sequential(nn.Linear(ndf * mult, output_nc))
        if vaeLike:
            self.fcVar = nn.Sequential(nn.Linear(ndf * mult, output_nc))

    def forward(self, x):
        flat = self.conv(x).view(x.size(0), -1)
        return (self.fc(flat), self.fcVar(flat)) if self.vaeLike else self.fc(flat)


# ---------------------------------------------------------------- discriminators (spec §4.2)


def _d_layers(input_nc, ndf, n_layers, norm_layer):
    """One PatchGAN scale of D_NLayersMulti: Conv4s2 + LReLU; (n_layers - 1) x [Conv4s2, norm, LReLU];
    Conv4s1, norm, LReLU; Conv4s1 -> 1. Every conv has a bias. The official code calls norm_layer
    unconditionally here, so norm none is not a valid D (it raises there too)."""
    if norm_layer is None:
        raise ValueError("D_NLayersMulti needs a norm (the official code cannot build it with norm none)")
    seq = [nn.Conv2d(input_nc, ndf, kernel_size=4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
    mult = 1
    for n in range(1, n_layers):
        prev, mult = mult, min(2 ** n, 8)
        seq += [nn.Conv2d(ndf * prev, ndf * mult, kernel_size=4, stride=2, padding=1), norm_layer(ndf * mult),
                nn.LeakyReLU(0.2, True)]
    prev, mult = mult, min(2 ** n_layers, 8)
    seq += [nn.Conv2d(ndf * prev, ndf * mult, kernel_size=4, stride=1, padding=1), norm_layer(ndf * mult),
            nn.LeakyReLU(0.2, True)]
    seq.append(nn.Conv2d(ndf * mult, 1, kernel_size=4, stride=1, padding=1))
    return seq


class D_NLayersMulti(nn.Module):
    """num_D PatchGAN scales (model_0, model_1, ...; scale i has ndf_i = int(round(ndf / 2^i))), the input
    average-pooled (3x3, s2, p1, count_include_pad=False) between scales. Returns a list of maps; with
    num_D == 1 a single Sequential `model` and a bare tensor (spec §10.3 Q3)."""

    def __init__(self, input_nc, ndf=64, n_layers=3, norm_layer=nn.BatchNorm2d, num_D=1):
        super().__init__()
        self.num_D = num_D
        if num_D == 1:
            self.model = nn.Sequential(*_d_layers(input_nc, ndf, n_layers, norm_layer))
            return
        self.add_module("model_0", nn.Sequential(*_d_layers(input_nc, ndf, n_layers, norm_layer)))
        self.down = nn.AvgPool2d(3, stride=2, padding=[1, 1], count_include_pad=False)
        for i in range(1, num_D):
            ndf_i = int(round(ndf / (2 ** i)))
            self.add_module("model_%d" % i, nn.Sequential(*_d_layers(input_nc, ndf_i, n_layers, norm_layer)))

    def forward(self, x):
        if self.num_D == 1:
            return self.model(x)
        out = []
        for i in range(self.num_D):
            out.append(getattr(self, "model_%d" % i)(x))
            if i != self.num_D - 1:
                x = self.down(x)
        return out


class D_NLayers(nn.Module):
    """Single-scale PatchGAN (basic_128 / basic_256): convs drop their bias before a BatchNorm."""

    def __init__(self, input_nc, ndf=64, n_layers=3, norm_layer=nn.BatchNorm2d):
        super().__init__()
        if norm_layer is None:
            raise ValueError("D_NLayers needs a norm (the official code cannot build it with norm none)")
        base = norm_layer.func if isinstance(norm_layer, functools.partial) else norm_layer
        bias = base != nn.BatchNorm2d
        seq = [nn.Conv2d(input_nc, ndf, kernel_size=4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers):
            prev, mult = mult, min(2 ** n, 8)
            seq += [nn.Conv2d(ndf * prev, ndf * mult, kernel_size=4, stride=2, padding=1, bias=bias),
                    norm_layer(ndf * mult), nn.LeakyReLU(0.2, True)]
        prev, mult = mult, min(2 ** n_layers, 8)
        seq += [nn.Conv2d(ndf * prev, ndf * mult, kernel_size=4, stride=1, padding=1, bias=bias),
                norm_layer(ndf * mult), nn.LeakyReLU(0.2, True)]
        seq.append(nn.Conv2d(ndf * mult, 1, kernel_size=4, stride=1, padding=1))
        self.model = nn.Sequential(*seq)

    def forward(self, x):
        return self.model(x)


# ---------------------------------------------------------------- init and define_* (spec §8.3)


def init_weights(net, init_type="xavier", init_gain=0.02):
    """Official init_func over net.apply (post-order, children in registration order: the RNG order of the
    official code): Conv*/Linear weights (class name contains Conv or Linear, weight present) by init_type with
    init_gain, their biases 0; BatchNorm2d gamma ~ N(1, init_gain), beta 0."""
    def fn(m):
        name = m.__class__.__name__
        if hasattr(m, "weight") and ("Conv" in name or "Linear" in name):
            if init_type == "normal":
                init.normal_(m.weight.data, 0.0, init_gain)
            elif init_type == "xavier":
                init.xavier_normal_(m.weight.data, gain=init_gain)
            elif init_type == "kaiming":
                init.kaiming_normal_(m.weight.data, a=0, mode="fan_in")
            elif init_type == "orthogonal":
                init.orthogonal_(m.weight.data, gain=init_gain)
            else:
                raise ValueError("init_type must be normal, xavier, kaiming or orthogonal, not %r" % (init_type,))
            if getattr(m, "bias", None) is not None:
                init.constant_(m.bias.data, 0.0)
        elif "BatchNorm2d" in name:
            init.normal_(m.weight.data, 1.0, init_gain)
            init.constant_(m.bias.data, 0.0)
    net.apply(fn)
    return net


G_DEPTH = {"unet_128": 7, "unet_256": 8}
E_KIND = {"resnet_128": (E_ResNet, 4), "resnet_256": (E_ResNet, 5), "conv_128": (E_NLayers, 4),
          "conv_256": (E_NLayers, 5)}
D_KIND = {"basic_128": (D_NLayers, 2), "basic_256": (D_NLayers, 3), "basic_128_multi": (D_NLayersMulti, 2),
          "basic_256_multi": (D_NLayersMulti, 3)}


def define_G(input_nc, output_nc, nz, ngf, netG="unet_256", norm="instance", nl="relu", use_dropout=False,
             init_type="xavier", init_gain=0.02, where_add="all", upsample="basic"):
    if netG not in G_DEPTH:
        raise ValueError("netG must be unet_128 or unet_256, not %r" % (netG,))
    if nz == 0:
        where_add = "input"
    cls = {"input": G_Unet_add_input, "all": G_Unet_add_all}.get(where_add)
    if cls is None:
        raise ValueError("where_add must be input or all, not %r" % (where_add,))
    net = cls(input_nc, output_nc, nz, G_DEPTH[netG], ngf, norm_layer=get_norm_layer(norm),
              nl_layer=get_non_linearity(nl), use_dropout=use_dropout, upsample=upsample)
    return init_weights(net, init_type, init_gain) if init_type else net


def define_D(input_nc, ndf, netD="basic_256_multi", norm="instance", init_type="xavier", init_gain=0.02, num_Ds=2):
    if netD not in D_KIND:
        raise ValueError("netD must be one of %s, not %r" % (", ".join(D_KIND), netD))
    cls, n_layers = D_KIND[netD]
    kw = dict(num_D=num_Ds) if cls is D_NLayersMulti else {}
    net = cls(input_nc, ndf, n_layers=n_layers, norm_layer=get_norm_layer(norm), **kw)
    return init_weights(net, init_type, init_gain) if init_type else net


def define_E(input_nc, output_nc, ndf, netE="resnet_256", norm="instance", init_type="xavier", init_gain=0.02,
             vaeLike=True):
    if netE not in E_KIND:
        raise ValueError("netE must be one of %s, not %r" % (", ".join(E_KIND), netE))
    cls, n = E_KIND[netE]
    net = cls(input_nc, output_nc, ndf, n, norm_layer=get_norm_layer(norm), nl_layer=get_non_linearity("lrelu"),
              vaeLike=vaeLike)
    return init_weights(net, init_type, init_gain) if init_type else net


# Model options, official names -> our config keys (camelCase, as the fixtures' metadata stores them).
DEFAULTS = {
    "preset": "official", "inputNc": 3, "outputNc": 3, "nz": 8, "ngf": 64, "nef": 64, "ndf": 64,
    "netG": "unet_256", "netE": "resnet_256", "netD": "basic_256_multi", "netD2": "basic_256_multi", "numDs": 2,
    "norm": "instance", "nl": "relu", "upsample": "basic", "whereAdd": "all", "useDropout": False,
    "conditionalD": False, "useSameD": False, "initType": "xavier", "initGain": 0.02,
}


def build_nets(cfg, seed=None, init=True):
    """{G, E, D_VAE, D_LR} from a config (keys of DEFAULTS; missing ones default). D_VAE = the official netD,
    D_LR = netD2 (absent with useSameD). Made in the official order G, D, D2, E under torch.manual_seed(seed)."""
    c = dict(DEFAULTS)
    c.update(cfg)
    if seed is not None:
        torch.manual_seed(seed)
    it = c["initType"] if init else None
    nets = {"G": define_G(c["inputNc"], c["outputNc"], c["nz"], c["ngf"], c["netG"], c["norm"], c["nl"],
                          c["useDropout"], it, c["initGain"], c["whereAdd"], c["upsample"])}
    d_in = c["inputNc"] + c["outputNc"] if c["conditionalD"] else c["outputNc"]
    nets["D_VAE"] = define_D(d_in, c["ndf"], c["netD"], c["norm"], it, c["initGain"], c["numDs"])
    if not c["useSameD"]:
        nets["D_LR"] = define_D(d_in, c["ndf"], c["netD2"], c["norm"], it, c["initGain"], c["numDs"])
    nets["E"] = define_E(c["outputNc"], c["nz"], c["nef"], c["netE"], c["norm"], it, c["initGain"])
    return {k: nets[k] for k in ("G", "E", "D_VAE", "D_LR") if k in nets}


# ---------------------------------------------------------------- the training step (spec §7.2, HEAD)

HYPER = {"lambdaL1": 10.0, "lambdaGAN": 1.0, "lambdaGAN2": 1.0, "lambdaZ": 0.5, "lambdaKl": 0.01,
         "adam": {"lr": 2e-4, "beta1": 0.5, "beta2": 0.999, "eps": 1e-8, "weightDecay": 0.0}}


def make_adams(nets, adam=None):
    a = adam or HYPER["adam"]
    return {k: torch.optim.Adam(m.parameters(), lr=a["lr"], betas=(a["beta1"], a["beta2"]), eps=a["eps"])
            for k, m in nets.items()}


def gan_loss(preds, real):
    """GANLoss('lsgan'): sum over the scales of MSE(pred, 1 or 0). A bare tensor (num_D 1) is iterated over its
    batch dimension, as the official __call__ does (spec §10.3 Q3)."""
    t = 1.0 if real else 0.0
    return sum(F.mse_loss(p, torch.full_like(p, t)) for p in preds)


def _requires_grad(net, flag):
    if net is not None:
        for p in net.parameters():
            p.requires_grad_(flag)


def _grads(m):
    return {n: (p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p)) for n, p in m.named_parameters()}


def official_step(nets, opts, real_A, real_B, eps, z_random, seeds=(None, None), hyper=None, conditional_D=False):
    """One BicycleGAN iteration with HEAD semantics; all nets stay in their current (train) mode.
    real_A, real_B: the full batch (even); half 1 (A1, B1) feeds the cVAE branch and both G forwards, B2 is the
    real image of D_LR. eps: (half, nz) reparameterisation noise, z_random: (half, nz). seeds: dropout seeds of
    G(A1, z_encoded) and G(A1, z_random). With no D_LR in nets (use_same_D) both D losses go into D_VAE.
    Returns {"loss": {...}, "t": {intermediates}, "grad.<net>": {...}} (gradients as stepped)."""
    h = dict(HYPER)
    h.update(hyper or {})
    G, E, D, D2 = nets["G"], nets["E"], nets["D_VAE"], nets.get("D_LR")
    same_D = D2 is None
    half = real_A.size(0) // 2
    A1, A2, B1, B2 = real_A[:half], real_A[half:], real_B[:half], real_B[half:]
    t, loss = {}, {}

    # forward(): E(B1) -> z_encoded; G twice on A1; E(fake_B_random) (E before its step)
    mu, logvar = E(B1)
    z_encoded = eps * logvar.mul(0.5).exp() + mu
    set_dropout_seed(G, seeds[0])
    fake_B_encoded = G(A1, z_encoded)
    masks_enc = {d: m.last_mask for d, m in dropouts(G) if m.seed is not None}
    set_dropout_seed(G, seeds[1])
    fake_B_random = G(A1, z_random)
    masks_rand = {d: m.last_mask for d, m in dropouts(G) if m.seed is not None}
    if conditional_D:
        fake_enc, real_enc = torch.cat([A1, fake_B_encoded], 1), torch.cat([A1, B1], 1)
        fake_rand, real_rand = torch.cat([A1, fake_B_random], 1), torch.cat([A2, B2], 1)
    else:
        fake_enc, real_enc, fake_rand, real_rand = fake_B_encoded, B1, fake_B_random, B2
    mu2, logvar2 = E(fake_B_random)

    # update_G_and_E(): D frozen; loss_G backward (retain); z_L1 backward with E frozen (G only); E, G step
    _requires_grad(D, False)
    _requires_grad(D2, False)
    opts["E"].zero_grad()
    opts["G"].zero_grad()
    pred_enc = D(fake_enc)
    pred_rand = (D if same_D else D2)(fake_rand)
    loss["G_GAN"] = gan_loss(pred_enc, True) * h["lambdaGAN"]
    loss["G_GAN2"] = gan_loss(pred_rand, True) * h["lambdaGAN2"]
    loss["kl"] = torch.sum(1 + logvar - mu.pow(2) - logvar.exp()) * (-0.5 * h["lambdaKl"])
    loss["G_L1"] = F.l1_loss(fake_B_encoded, B1) * h["lambdaL1"]
    loss["G"] = loss["G_GAN"] + loss["G_GAN2"] + loss["G_L1"] + loss["kl"]
    loss["G"].backward(retain_graph=True)
    grad_E = _grads(E)
    _requires_grad(E, False)
    loss["z_L1"] = F.l1_loss(mu2, z_random) * h["lambdaZ"]
    loss["z_L1"].backward()
    _requires_grad(E, True)
    out = {"grad.E": grad_E, "grad.G": _grads(G)}
    opts["E"].step()
    opts["G"].step()

    # update_D(): fake (detached) then real; D_VAE on the cVAE pair, D_LR (or D_VAE again) on the cLR pair
    _requires_grad(D, True)
    _requires_grad(D2, True)
    opts["D_VAE"].zero_grad()
    dv_fake, dv_real = D(fake_enc.detach()), D(real_enc)
    loss["D"] = gan_loss(dv_fake, False) + gan_loss(dv_real, True)
    loss["D"].backward()
    dl = D if same_D else D2
    if not same_D:
        opts["D_VAE"].step()
        out["grad.D_VAE"] = _grads(D)
        opts["D_LR"].zero_grad()
    dl_fake, dl_real = dl(fake_rand.detach()), dl(real_rand)
    loss["D2"] = gan_loss(dl_fake, False) + gan_loss(dl_real, True)
    loss["D2"].backward()
    if same_D:
        out["grad.D_VAE"] = _grads(D)
        opts["D_VAE"].step()
    else:
        out["grad.D_LR"] = _grads(D2)
        opts["D_LR"].step()

    as_list = lambda p: p if isinstance(p, (list, tuple)) else [p]  # noqa: E731
    t.update({"mu": mu, "logvar": logvar, "z_encoded": z_encoded, "fake_B_encoded": fake_B_encoded,
              "fake_B_random": fake_B_random, "mu2": mu2, "logvar2": logvar2})
    d2n = "D_VAE" if same_D else "D_LR"
    for name, preds in (("D_VAE.gstep.fake_encoded", pred_enc), (d2n + ".gstep.fake_random", pred_rand),
                        ("D_VAE.dstep.fake_encoded", dv_fake), ("D_VAE.dstep.real_encoded", dv_real),
                        (d2n + ".dstep.fake_random", dl_fake), (d2n + ".dstep.real_random", dl_real)):
        for k, p in enumerate(as_list(preds)):
            t["%s.scale%d" % (name, k)] = p
    for d, m in masks_enc.items():
        t["dropout.encoded.depth%d" % d] = m
    for d, m in masks_rand.items():
        t["dropout.random.depth%d" % d] = m
    out["loss"] = loss
    out["t"] = {k: v.detach().clone() for k, v in t.items()}
    return out


# ---------------------------------------------------------------- parameter counts (spec §5)

def count_params(m):
    return sum(p.numel() for p in m.parameters())


COUNTS = [  # (what, builder, expected) at the official widths (64)
    ("G unet_256 add_all in 3", lambda: define_G(3, 3, 8, 64, "unet_256", init_type=None), 54794627),
    ("G unet_256 add_all in 1", lambda: define_G(1, 3, 8, 64, "unet_256", init_type=None), 54792579),
    ("G unet_256 add_all in 3 batch", lambda: define_G(3, 3, 8, 64, "unet_256", "batch", init_type=None), 54794627 + 9856),
    ("G unet_256 add_input in 3", lambda: define_G(3, 3, 8, 64, "unet_256", where_add="input", init_type=None), 54417795),
    ("G unet_128 add_all in 3", lambda: define_G(3, 3, 8, 64, "unet_128", init_type=None), 42145155),
    ("G unet_128 add_all in 1", lambda: define_G(1, 3, 8, 64, "unet_128", init_type=None), 42143107),
    ("G unet_128 add_input in 3", lambda: define_G(3, 3, 8, 64, "unet_128", where_add="input", init_type=None), 41833859),
    ("E resnet_256", lambda: define_E(3, 8, 64, "resnet_256", init_type=None), 2590032),
    ("E resnet_128", lambda: define_E(3, 8, 64, "resnet_128", init_type=None), 1344080),
    ("E conv_256", lambda: define_E(3, 8, 64, "conv_256", init_type=None), 2760656),
    ("E conv_128", lambda: define_E(3, 8, 64, "conv_128", init_type=None), 1711824),
    ("D basic_256_multi num_Ds 2", lambda: define_D(3, 64, "basic_256_multi", init_type=None), 3458978),
    ("D basic_256_multi num_Ds 2 batch", lambda: define_D(3, 64, "basic_256_multi", "batch", init_type=None), 3458978 + 2688),
    ("D basic_128_multi num_Ds 2", lambda: define_D(3, 64, "basic_128_multi", init_type=None), 830626),
]


def check_counts():
    bad = 0
    for what, make, want in COUNTS:
        got = count_params(make())
        ok = got == want
        bad += not ok
        print("%-34s %11d %s" % (what, got, "ok" if ok else "EXPECTED %d" % want))
    return bad


def _bare(net, cfg):
    """One network (G, E or D) of a config, not initialised (names and shapes only)."""
    c = dict(DEFAULTS)
    c.update(cfg)
    if net == "G":
        return define_G(c["inputNc"], c["outputNc"], c["nz"], c["ngf"], c["netG"], c["norm"], c["nl"], c["useDropout"],
                        None, where_add=c["whereAdd"], upsample=c["upsample"])
    if net == "E":
        return define_E(c["outputNc"], c["nz"], c["nef"], c["netE"], c["norm"], None)
    if net == "D":
        d_in = c["inputNc"] + c["outputNc"] if c["conditionalD"] else c["outputNc"]
        return define_D(d_in, c["ndf"], c["netD"], c["norm"], None, num_Ds=c["numDs"])
    raise ValueError("net must be G, E or D, not %r" % (net,))


def _main(argv):
    if argv[:1] == ["--counts"]:
        torch.set_num_threads(1)
        bad = check_counts()
        print("all parameter counts match spec §5" if not bad else "%d count(s) differ from spec §5" % bad)
        return 1 if bad else 0
    if argv[:1] in (["--names"], ["--names-json"]):
        # --names G|E|D [CONFIG_JSON]: state_dict names and shapes, one a line;
        # --names-json '[["G", CONFIG], ...]': a JSON list (one per net) of [name, shape] lists
        import json
        specs = json.loads(argv[1]) if argv[0] == "--names-json" else [[argv[1], json.loads(argv[2]) if len(argv) > 2 else {}]]
        lists = [[[n, list(v.shape)] for n, v in _bare(net, cfg).state_dict().items()] for net, cfg in specs]
        if argv[0] == "--names-json":
            print(json.dumps(lists))
        else:
            print("\n".join("%s %s" % (n, shape) for n, shape in lists[0]))
        return 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
