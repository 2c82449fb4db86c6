"""PyTorch side of the benchmark (bench/run.ts runs it with /usr/bin/python3, one configuration per process, with
OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE removed from its environment). Argument: one JSON job. The last stdout
line is `@@RESULT <json>`. Jobs:
  info    torch version, BLAS library actually mapped after a matmul, OpenMP threads, the ISA of oneDNN's conv kernels.
  export  load our generator weights (safetensors, PyTorch names) into python/bicyclegan_torch/models.Generator with
          load_state_dict(strict=True) and export it in eval mode with torch.onnx.export (opset 17, dynamic batch;
          the exporter of torch 1.13 writes the protobuf itself: the `onnx` Python package is not needed).
  gen     generator inference in eval mode under torch.no_grad(); with `check`, run the given input once and
          write the output (NHWC f32) instead of timing.
  train   bicyclegan_torch.models.bicycle_step (the reference step: both branches, both D, Adam) on a random batch, with its
          test-only gradient clones turned off.
  train-profile  where that step's time goes (torch.profiler, one thread): conv forwards, conv backwards, BatchNorm,
          nearest upsampling, Adam and the rest, in ms per step, with the direct-conv FLOPs of the conv passes
          PyTorch runs (counted by hooks in an untimed step).
gen and train with "turns": after the warm-up, one timed run per `run` line on stdin (time_turns), so that
bench/run.ts can have a configuration's runtimes take turns run by run.
"""
import json
import os
import re
import resource
import statistics
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "python"))
from bicyclegan_torch import models as P  # noqa: E402
from bicyclegan_torch import safetensors_io as st  # noqa: E402

LATENT = 8


def max_rss_kb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def warm_up(fn, p):
    """The policy's warm-up runs (one only when a run already takes longer than slowRunMs); their times."""
    warm = []
    for _ in range(max(1, p["warmup"])):
        t0 = time.perf_counter()
        fn()
        warm.append((time.perf_counter() - t0) * 1e3)
        if warm[-1] > p["slowRunMs"]:
            break
    return warm


def timing_of(runs, warm, cpu):
    """The timing dict of these runs (bench/lib/timing.ts Timing)."""
    return {"medianMs": statistics.median(runs), "minMs": min(runs), "maxMs": max(runs), "runsMs": runs, "warmupMs": warm,
            "cpuMs": cpu}


def time_runs(fn, p):
    """Same policy as bench/lib/timing.ts timeRuns."""
    warm = warm_up(fn, p)
    runs, spent = [], 0.0
    c0 = time.process_time()
    while len(runs) < p["maxRuns"] and (len(runs) < p["minRuns"] or spent < p["budgetMs"]):
        t0 = time.perf_counter()
        fn()
        dt = (time.perf_counter() - t0) * 1e3
        runs.append(dt)
        spent += dt
    cpu = (time.process_time() - c0) * 1e3  # all threads of the process
    return timing_of(runs, warm, cpu)


def time_turns(fn, p):
    """Same protocol as bench/lib/timing.ts timeTurns: warm-up, @@READY, then one timed run per `run` line on stdin
    (answered with `@@RUN <ms>`) until `end`; `warm` is one more warm-up run, answered alike."""
    warm = warm_up(fn, p)
    sys.stdout.write("@@READY\n")
    sys.stdout.flush()
    runs, cpu = [], 0.0
    while True:
        line = sys.stdin.readline()
        cmd = line.strip()
        if cmd == "end" or not line:
            break
        if cmd not in ("run", "warm"):
            raise SystemExit("turns: unexpected line %r" % line)
        c0, t0 = time.process_time(), time.perf_counter()
        fn()
        dt = (time.perf_counter() - t0) * 1e3
        if cmd == "warm":
            warm.append(dt)
        else:
            cpu += (time.process_time() - c0) * 1e3
            runs.append(dt)
        sys.stdout.write("@@RUN %r\n" % dt)
        sys.stdout.flush()
    if not runs:
        raise SystemExit("turns: ended before any timed run")
    return timing_of(runs, warm, cpu)


def measure(fn, job):
    return time_turns(fn, job["policy"]) if job.get("turns") else time_runs(fn, job["policy"])


def lcg(n, seed):
    """Deterministic uniform noise in [-1, 1) for timing inputs (the values do not matter to the timing)."""
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, generator=g) * 2 - 1


def blas_libs():
    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                path = line.split()[-1] if len(line.split()) >= 6 else ""
                base = os.path.basename(path)
                if "blas" in base or "gomp" in base or "mkl" in base.lower():
                    libs.add(os.path.realpath(path))
    except OSError:
        pass
    return sorted(libs)


def generator(size, weights):
    G = P.Generator(LATENT, (3, size, size), 64)
    tensors, _meta = st.load(weights)
    G.load_state_dict(tensors, strict=True)
    return G.eval()


def onednn_isa():
    """The ISA oneDNN (PyTorch's mkldnn convolutions) runs, from ONEDNN_VERBOSE in a child (verbose output would
    slow the timed runs of this process)."""
    import subprocess

    code = "import torch; c = torch.nn.Conv2d(64, 64, 3, 1, 1); c(torch.randn(2, 64, 32, 32))"
    env = dict(os.environ, ONEDNN_VERBOSE="1", DNNL_VERBOSE="1", OMP_NUM_THREADS="1")
    try:
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120).stdout
    except (OSError, subprocess.SubprocessError) as e:
        return "unknown (%s)" % e
    isa = re.search(r"info,cpu,isa:([^\n]+)", out)
    impl = re.search(r"exec,cpu,convolution,([^,]+),", out)
    return "%s (conv kernels %s)" % (isa.group(1).strip() if isa else "?", impl.group(1) if impl else "not oneDNN")


def job_info(job):
    a = torch.randn(256, 256)
    (a @ a).sum().item()
    show = torch.__config__.show()
    cap = re.search(r"CPU capability usage: (\w+)", show)
    blas = re.search(r"BLAS_INFO=(\w+)", show)
    return {"torch": torch.__version__, "threads": torch.get_num_threads(), "blas": blas_libs(),
            "config": ["CPU capability " + (cap.group(1) if cap else "?"), "BLAS_INFO=" + (blas.group(1) if blas else "?")],
            "onednn": onednn_isa()}


def job_export(job):
    G = generator(job["size"], job["weights"])
    x = torch.zeros(1, 3, job["size"], job["size"])
    z = torch.zeros(1, LATENT)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(G, (x, z), job["onnx"], opset_version=17, input_names=["image", "z"], output_names=["out"],
                          dynamic_axes={"image": {0: "n"}, "z": {0: "n"}, "out": {0: "n"}}, do_constant_folding=True)
    return {"onnx": job["onnx"], "bytes": os.path.getsize(job["onnx"]), "opset": 17, "exporter": "torch.onnx.export " + torch.__version__}


def read_f32(path, shape):
    import array

    a = array.array("f")
    with open(path, "rb") as f:
        a.frombytes(f.read())
    return torch.tensor(a, dtype=torch.float32).view(*shape)


def job_gen(job):
    torch.set_num_threads(job["threads"])
    size, n = job["size"], (job["check"]["n"] if job.get("check") else job["batch"])
    G = generator(size, job["weights"])
    if job.get("check"):
        c = job["check"]
        x = read_f32(c["image"], (n, size, size, 3)).permute(0, 3, 1, 2).contiguous()
        z = read_f32(c["z"], (n, LATENT))
        with torch.no_grad():
            y = G(x, z).permute(0, 2, 3, 1).contiguous()
        with open(c["out"], "wb") as f:
            f.write(y.numpy().tobytes())
        return {"threads": torch.get_num_threads()}, None
    x = lcg(n * 3 * size * size, 11).view(n, 3, size, size)
    z = lcg(n * LATENT, 12).view(n, LATENT)

    def run():
        with torch.no_grad():
            G(x, z)

    return {"threads": torch.get_num_threads()}, measure(run, job)


def train_setup(job, threads, width=64):
    """The four networks (base widths `width`) in train mode with their Adams, a random batch of job["batch"] at
    job["size"], and a noise generator: what bicycle_step runs on."""
    torch.set_num_threads(threads)
    # bicycle_step clones every gradient for the tests (r["grad.*"]); a training loop would not: skip the clones
    # so neither the time nor the peak RSS of the anchor carries that test-only copy
    P._grads = lambda m: {}
    n, size = job["batch"], job["size"]
    nets = P.build_nets(P.normalize_config({"size": size, "gBase": width, "eBase": width, "dBase": width}), 1)
    opts = P.make_adams(nets)
    for m in nets.values():
        m.train()
    real_A = lcg(n * 3 * size * size, 21).view(n, 3, size, size)
    real_B = lcg(n * 3 * size * size, 22).view(n, 3, size, size)
    return nets, opts, real_A, real_B, torch.Generator().manual_seed(3)


def job_train(job):
    nets, opts, real_A, real_B, g = train_setup(job, job["threads"])
    n = job["batch"]
    last = {}

    def run():
        eps = torch.randn(n, LATENT, generator=g)
        z_random = torch.randn(n, LATENT, generator=g)
        r = P.bicycle_step(nets, opts, real_A, real_B, eps, z_random)
        last.update({k: float(v) for k, v in r["loss"].items()})

    t = measure(run, job)
    for k, v in last.items():
        if v != v or v in (float("inf"), float("-inf")):
            raise SystemExit("train: loss %s = %r" % (k, v))
    return {"threads": torch.get_num_threads(), "losses": last}, t


def conv_flops(nets, step):
    """Direct-conv FLOPs (2 per multiply-add) of one step's conv passes as PyTorch runs them: each forward, and on
    each backward through it the weight gradient and, where its input requires grad, the input gradient (a conv
    backpropagated twice, as the cLR-GAN generator pass is, counts twice). Counted by hooks around one step."""
    count = {"fwd": 0, "bwd": 0}
    handles = []

    def hook(mod, inp, out):
        x = inp[0]
        f = 2 * out.numel() * mod.in_channels * mod.kernel_size[0] * mod.kernel_size[1] // mod.groups
        count["fwd"] += f
        if out.requires_grad:
            grads = (1 if mod.weight.requires_grad else 0) + (1 if x.requires_grad else 0)
            out.register_hook(lambda g: count.__setitem__("bwd", count["bwd"] + f * grads))

    for m in nets.values():
        for mod in m.modules():
            if isinstance(mod, torch.nn.Conv2d):
                handles.append(mod.register_forward_hook(hook))
    try:
        step()
    finally:
        for h in handles:
            h.remove()
    return count


def job_train_profile(job):
    """Where one-thread bicycle_step's time goes, by op class (see the module docstring), median of `steps`."""
    from torch.profiler import ProfilerActivity, profile

    nets, opts, real_A, real_B, g = train_setup(job, 1, job.get("width", 64))  # tests run narrow networks
    n, size = job["batch"], job["size"]

    def step():
        P.bicycle_step(nets, opts, real_A, real_B, torch.randn(n, LATENT, generator=g), torch.randn(n, LATENT, generator=g))

    step()
    flops = conv_flops(nets, step)
    # op classes by the profiler's inclusive time of their top op (disjoint subtrees); the rest is everything else
    classes = {"conv_fwd": ["aten::conv2d"], "conv_bwd": ["aten::convolution_backward"],
               "norm": ["aten::batch_norm", "aten::native_batch_norm_backward"],
               "upsample": ["aten::upsample_nearest2d", "aten::upsample_nearest2d_backward"], "adam": ["Optimizer.step#Adam.step"]}
    per = []
    for _ in range(job["steps"]):
        t0 = time.perf_counter()
        step()
        plain = (time.perf_counter() - t0) * 1e3
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            t0 = time.perf_counter()
            step()
            wall = (time.perf_counter() - t0) * 1e3
        avg = {e.key: e for e in prof.key_averages()}
        ms = {k: sum(avg[o].cpu_time_total for o in ops if o in avg) / 1e3 for k, ops in classes.items()}
        ms["profiled"] = wall  # the step with the profiler on (its per-op overhead in every class)
        ms["plain"] = plain  # the step without it
        per.append(ms)
    med = {k: statistics.median(p[k] for p in per) for k in per[0]}
    return {"batch": n, "size": size, "ms": med, "flops": flops, "steps": job["steps"]}


def main():
    job = json.loads(sys.argv[1])
    mode = job["mode"]
    res = {}
    if mode == "info":
        res["info"] = job_info(job)
    elif mode == "export":
        res["info"] = job_export(job)
    elif mode == "gen":
        res["info"], timing = job_gen(job)
        if timing:
            res["timing"] = timing
    elif mode == "train":
        res["info"], res["timing"] = job_train(job)
    elif mode == "train-profile":
        res["info"] = job_train_profile(job)
    else:
        raise SystemExit("unknown mode %r" % mode)
    res["maxRssKB"] = max_rss_kb()
    sys.stdout.write("@@RESULT " + json.dumps(res) + "\n")


if __name__ == "__main__":
    main()
