"""pix2pix aligned pairs (<data>/train/*.jpg|jpeg|png, A|B side by side) as PyTorch tensors, with PIL.

Each half is resized to the model size with PIL's BICUBIC filter (what bicyclegan-wasm's sharp `cubic` kernel
matches to a few levels), flipped horizontally when asked, and mapped to [-1, 1], NCHW.
"""
import os
import re

import numpy as np
import torch
from PIL import Image

IMAGE = re.compile(r"\.(jpe?g|png)$", re.I)


def natural_key(name):
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def pair_files(root):
    """The train split's pair files in natural name order (`<root>/train`, else `root` itself)."""
    d = os.path.join(root, "train") if os.path.isdir(os.path.join(root, "train")) else root
    if not os.path.isdir(d):
        raise SystemExit("%s: no such directory" % d)
    files = sorted((f for f in os.listdir(d) if IMAGE.search(f)), key=natural_key)
    if not files:
        raise SystemExit("%s: no .jpg/.jpeg/.png pair files" % d)
    return [os.path.join(d, f) for f in files]


def load_pair(path, size, direction="AtoB", flip=False):
    """-> (A, B) float tensors (3, size, size) in [-1, 1]: condition and target."""
    try:
        img = Image.open(path).convert("RGB")
    except Exception as e:  # noqa: BLE001 - PIL raises several types; name the file either way
        raise SystemExit("%s: cannot decode (%s)" % (path, e))
    w, h = img.size
    if w != 2 * h:
        raise SystemExit("%s: %dx%d is not a pair (width must be twice the height)" % (path, w, h))
    left, right = img.crop((0, 0, h, h)), img.crop((h, 0, w, h))
    a, b = (left, right) if direction == "AtoB" else (right, left)

    def tensor(x):
        x = x.resize((size, size), Image.BICUBIC)
        if flip:
            x = x.transpose(Image.FLIP_LEFT_RIGHT)
        arr = np.asarray(x, dtype=np.float32) / 127.5 - 1.0
        return torch.from_numpy(arr.transpose(2, 0, 1).copy())

    return tensor(a), tensor(b)
