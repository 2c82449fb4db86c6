"""PyTorch side of bicyclegan-wasm: continue a run from our checkpoint on PyTorch's distributed training
(torchrun, gloo or nccl), Adam state included, and write the result back in our checkpoint format.

The networks and the BicycleGAN step are the PyTorch-GAN reference the TypeScript port is tested against
(test/fixtures/ptg_models.py, same state_dict names), and safetensors I/O is test/fixtures/safetensors_io.py
(Debian has no python3-safetensors); this package imports them from there rather than keeping a copy.
"""
import os
import sys

_FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "fixtures")
if _FIXTURES not in sys.path:
    sys.path.insert(0, os.path.normpath(_FIXTURES))
