"""BicycleGAN (pytorch-gan preset) in PyTorch, reading and writing bicyclegan-wasm checkpoints: for continuing a
run on PyTorch's own distributed training when one machine is not enough, then bringing the result back for
edge inference. See python/README.md."""
