"""Multi-process data-parallel training with ``torchrun`` and DistributedDataParallel.

Launch the ordinary command under torchrun and it becomes data-parallel::

    torchrun --nproc_per_node 2 -m spektron.cli.main pretrain --config run.toml

``torchrun`` sets ``RANK``/``WORLD_SIZE``/``LOCAL_RANK``/``MASTER_ADDR``/``MASTER_PORT``;
:func:`init_distributed` reads them (gloo on CPU, nccl on GPU). Without them it
is a no-op and training runs in one process. Each rank draws its own batches
(:func:`rank_seed`); DDP averages gradients, so all ranks hold identical weights
after every step. Only rank 0 logs, shows progress and writes checkpoints.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

__all__ = [
    "DistInfo",
    "all_gather_objects",
    "barrier",
    "cleanup_distributed",
    "init_distributed",
    "rank_seed",
    "unwrap",
    "wrap_model",
]


@dataclass(frozen=True)
class DistInfo:
    """Where this process sits in the job."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: str = "cpu"

    @property
    def is_main(self) -> bool:
        """Rank 0 logs, checkpoints and evaluates."""
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def init_distributed(device: str | None = None) -> DistInfo:
    """Join the process group described by torchrun's environment variables, if any.

    The backend is nccl when the device is CUDA, gloo otherwise.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    want_cuda = device == "cuda" or (device is None and torch.cuda.is_available())
    if world_size <= 1:
        return DistInfo(device="cuda" if want_cuda else "cpu")
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    if want_cuda:
        torch.cuda.set_device(local_rank)
        dev = f"cuda:{local_rank}"
    else:
        dev = "cpu"
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if want_cuda else "gloo", rank=rank, world_size=world_size)
    return DistInfo(rank=rank, world_size=world_size, local_rank=local_rank, device=dev)


def cleanup_distributed() -> None:
    """Leave the process group (safe to call when none was joined)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def wrap_model(model: nn.Module, info: DistInfo) -> nn.Module:
    """``DistributedDataParallel`` around ``model`` when running distributed; the model itself otherwise.

    ``find_unused_parameters`` is on because top-k routing can leave an expert
    without tokens in a step, so its parameters get no gradient on that rank.
    """
    if not info.enabled:
        return model
    device_ids = [info.local_rank] if info.device.startswith("cuda") else None
    return DistributedDataParallel(model, device_ids=device_ids, find_unused_parameters=True)


def unwrap(model: nn.Module) -> nn.Module:
    """The plain module inside a DDP wrapper."""
    return model.module if isinstance(model, DistributedDataParallel) else model


def rank_seed(seed: int, rank: int, step: int = 0) -> int:
    """A per-rank (and per-step) data seed, decorrelated by NumPy's SeedSequence."""
    import numpy as np

    return int(np.random.SeedSequence([seed, rank, step]).generate_state(1)[0])


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def all_gather_objects(obj: Any, info: DistInfo) -> list[Any]:
    """Every rank's ``obj`` in rank order (``[obj]`` when not distributed)."""
    if not info.enabled:
        return [obj]
    out: list[Any] = [None] * info.world_size
    dist.all_gather_object(out, obj)
    return out
