"""How fast the model's building blocks run on this machine (``spektron bench model``).

The ways to run a D-LinOSS layer's recurrence side by side — the sequential loop (the
reference), the odd/even parallel scan, the chunked convolution and the compiled loop (CPU
only) — forward + backward at several sequence lengths, then the whole default model's
throughput for training (forward + backward) and for inference (forward, no gradients).
Each measurement runs in a forked child process so that its peak memory is its own
(Linux; elsewhere the memory columns are NaN and the timings run in-process).
"""

from __future__ import annotations

import multiprocessing as mp
import os
from typing import Any, Callable

import torch

from spektron.models.config import SpektronConfig
from spektron.models.compiled_scan import compiled_scan, compiled_scan_available
from spektron.models.dlinoss import auto_method, discretise, ring_init
from spektron.models.scan import convolution_scan, parallel_scan, sequential_scan
from spektron.models.spektron import SpektronModel
from spektron.timing import median_seconds
from spektron.training.objective import PretrainingObjective

__all__ = ["PATHS", "run_model_benchmark"]

#: ``"none"`` is the same step without the recurrence (the gain, the loss, backward): the
#: floor every path pays, which bounds the speed-up any path can show over the loop.
PATHS = ("sequential", "parallel", "convolution", "compiled", "none")
#: Paths that run only on the CPU (left out of the default list on an accelerator).
CPU_ONLY_PATHS = ("compiled",)


def _median_seconds(fn: Callable[[], Any], repeats: int, device: str = "cpu", warmup: int = 1) -> float:
    # kernels on an accelerator run asynchronously
    sync = None if device == "cpu" else (lambda: torch.cuda.synchronize(device))
    return median_seconds(fn, repeats, warmup=warmup, sync=sync)


def _rss_kib(field: str) -> float:
    """VmRSS / VmHWM of this process in KiB (NaN where /proc is missing)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return float(line.split()[1])
    except OSError:
        pass
    return float("nan")


def _isolated(task: Callable[..., float], *args, device: str = "cpu") -> tuple[float, float]:
    """(seconds, peak extra MiB) of ``task(*args)`` in a forked child, or in-process without
    fork; on an accelerator in-process, with the peak from the device's allocator."""
    if device != "cpu":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
        base = torch.cuda.memory_allocated(device)
        seconds = task(*args)
        return seconds, (torch.cuda.max_memory_allocated(device) - base) / 2**20
    if "fork" not in mp.get_all_start_methods():
        return task(*args), float("nan")
    ctx = mp.get_context("fork")
    with ctx.Pool(1) as pool:
        return pool.apply(_measure, (task, args))


def _measure(task, args) -> tuple[float, float]:
    start = _rss_kib("VmRSS")
    seconds = task(*args)
    return seconds, (_rss_kib("VmHWM") - start) / 1024.0


def _scan_task(path: str, length: int, batch: int, states: int, repeats: int, threads: int, seed: int,
               device: str = "cpu") -> float:
    torch.set_num_threads(threads)
    init = ring_init(states, generator=torch.Generator().manual_seed(seed))
    raw = [init[k].float().to(device).requires_grad_() for k in ("raw_A", "raw_G", "raw_dt")]
    u = torch.randn(batch, length, states, generator=torch.Generator().manual_seed(seed)).to(device).requires_grad_()

    def step() -> None:
        M, gains = discretise(*raw)
        if path == "convolution":
            x = convolution_scan(M, gains, u, component=1)
        elif path == "compiled":
            x = compiled_scan(M, gains, u)
        elif path == "none":
            x = u * gains[:, 1]
        else:
            x = (parallel_scan if path == "parallel" else sequential_scan)(M, u.unsqueeze(-1) * gains)[..., 1]
        x.square().mean().backward()

    return _median_seconds(step, repeats, device)


def _model_task(mode: str, scan_method: str, batch: int, channels: int, repeats: int, threads: int, seed: int,
                device: str = "cpu") -> float:
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    config = SpektronConfig()
    model = SpektronModel(config).to(device)
    model.scan_method = scan_method
    x = (torch.randn(batch, channels).cumsum(dim=1) * 0.01).to(device)
    axis = torch.linspace(4000.0, 10000.0, channels, device=device)
    data = {"x": x, "axis": axis, "instrument": (torch.arange(batch) % config.n_instruments).to(device)}

    objective = PretrainingObjective(model)

    def train_step() -> None:
        model.train()
        model.zero_grad(set_to_none=True)
        objective(data, beta=config.beta_start, alpha=0.5)["loss"].backward()

    def infer_step() -> None:
        model.eval()
        with torch.no_grad():
            model.encode(x, axis)

    return _median_seconds(train_step if mode == "train" else infer_step, repeats, device)


def _auto_path(device: str, channels: int) -> str:
    """The path ``scan_method="auto"`` takes in the default model for spectra of ``channels``."""
    n_patches = -(-channels // SpektronConfig().patch_size)
    return auto_method(torch.zeros(1, n_patches, 1, device=device))


def _check_device(device: str) -> str:
    try:
        parsed = torch.device(device)
    except RuntimeError:
        raise ValueError(f"unknown device {device!r}; use 'cpu' or 'cuda'") from None
    if parsed.type == "cpu":
        return "cpu"
    if parsed.type != "cuda" or not torch.cuda.is_available():
        raise ValueError(f"device {device!r} is not available here (CUDA available: {torch.cuda.is_available()})")
    return str(parsed)


def run_model_benchmark(
    lengths: tuple[int, ...] = (64, 256, 1024, 4096),
    scan_batch: int = 32,
    scan_states: int = 128,
    batch: int = 32,
    channels: int = 700,
    repeats: int = 3,
    threads: int = 2,
    seed: int = 0,
    paths: tuple[str, ...] | None = None,
    model: bool = True,
    device: str = "cpu",
) -> dict[str, Any]:
    """Scan paths side by side per length, and the default model's spectra per second.

    Returns ``{"scan": [{"length", "<path>_s", "<path>_mib", "speedup_<path>"} …],
    "model": [{"scan_method", "train_spectra_per_s", "infer_spectra_per_s", "train_mib"} …],
    …}`` (speed-ups are against the sequential loop). ``device`` is a torch device (``"cpu"``,
    ``"cuda"``, ``"cuda:1"``); on an accelerator the runs stay in this process and the
    memory columns are the allocator's peak. ``paths=None`` times every path that runs on
    ``device`` (the compiled loop only on the CPU, and only where Numba imports).
    """
    device = _check_device(device)
    if paths is None:
        paths = tuple(p for p in PATHS if device == "cpu" or p not in CPU_ONLY_PATHS)
        if not compiled_scan_available():
            paths = tuple(p for p in paths if p != "compiled")
    unknown = [p for p in paths if p not in PATHS]
    if unknown:
        raise ValueError(f"unknown scan path(s) {', '.join(unknown)}; choose from {', '.join(PATHS)}")
    if device != "cpu" and any(p in CPU_ONLY_PATHS for p in paths):
        raise ValueError(f"path(s) {', '.join(p for p in paths if p in CPU_ONLY_PATHS)} run on the CPU only, "
                         f"not on {device}")
    scan_rows = []
    for L in lengths:
        row: dict[str, Any] = {"length": L}
        for path in paths:
            row[f"{path}_s"], row[f"{path}_mib"] = _isolated(_scan_task, path, L, scan_batch, scan_states, repeats,
                                                             threads, seed, device, device=device)
        if "sequential" in paths:
            for path in paths:
                row[f"speedup_{path}"] = row["sequential_s"] / row[f"{path}_s"]
        scan_rows.append(row)
    model_rows = []
    if model:
        for method in dict.fromkeys(("parallel", _auto_path(device, channels))):
            t_train, mib = _isolated(_model_task, "train", method, batch, channels, repeats, threads, seed,
                                     device, device=device)
            t_infer, _ = _isolated(_model_task, "infer", method, batch, channels, repeats, threads, seed,
                                   device, device=device)
            model_rows.append({"scan_method": method, "train_spectra_per_s": batch / t_train,
                               "infer_spectra_per_s": batch / t_infer, "train_mib": mib})

    config = SpektronConfig()
    return {
        "threads": threads,
        "device": device,
        "n_parameters": SpektronModel(config).n_parameters(),
        "config": f"d_model={config.d_model}, n_layers={config.n_layers}, state_size={config.state_size}"
                  f" x{2 if config.bidirectional else 1}, experts={config.moe_experts} (top {config.moe_top_k})"
                  f" in blocks {list(config.moe_layers())}",
        "scan": scan_rows,
        "paths": list(paths),
        "scan_shape": f"batch {scan_batch}, {scan_states} states",
        "model": model_rows,
        "model_batch": batch,
        "model_channels": channels,
        "pid": os.getpid(),
    }
