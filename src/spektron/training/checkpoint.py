"""Training checkpoints: everything needed to continue a run exactly where it stopped.

A checkpoint holds the model, optimiser and scheduler states, the random-number
generator states (Python, NumPy, torch; one set per rank), the step, the run
configuration and the byte offset of the metrics log at that step (so a resumed
run can drop log lines written after the checkpoint and rewrite them).

Files are written atomically: ``torch.save`` into a temporary file in the same
directory, ``fsync``, then ``os.replace`` onto the final name. A crash or a
failing write never leaves a half-written ``ckpt-*.pt`` behind, and
``latest_checkpoint`` only ever sees complete files.
"""

from __future__ import annotations

import os
import random
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from spektron.models.io import atomic_torch_save

__all__ = [
    "CheckpointState",
    "capture_rng_state",
    "checkpoint_path",
    "latest_checkpoint",
    "load_checkpoint",
    "restore_rng_state",
    "save_checkpoint",
]

_NAME = re.compile(r"^ckpt-(\d{8})\.pt$")


@dataclass
class CheckpointState:
    """What ``load_checkpoint`` hands back besides the restored objects."""

    step: int
    config: dict[str, Any]
    log_offset: int
    rng: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


def capture_rng_state() -> dict[str, Any]:
    """Python, NumPy (legacy global) and torch CPU generator states, as checkpoint-safe values."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "python": random.getstate(),
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def restore_rng_state(state: dict[str, Any]) -> None:
    """Inverse of :func:`capture_rng_state`."""
    py = state["python"]
    random.setstate((py[0], tuple(py[1]), py[2]))
    npst = state["numpy"]
    np.random.set_state((npst["kind"], npst["keys"].numpy().astype(np.uint32), npst["pos"],
                         npst["has_gauss"], npst["cached_gaussian"]))
    torch.set_rng_state(state["torch"])
    if state.get("cuda") and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if hasattr(model, "module") else model


def checkpoint_path(directory: str | os.PathLike, step: int) -> Path:
    """``directory/ckpt-00001234.pt``: zero-padded so names sort by step."""
    return Path(directory) / f"ckpt-{step:08d}.pt"


def save_checkpoint(
    directory: str | os.PathLike,
    *,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    step: int,
    config: dict[str, Any],
    log_offset: int,
    rng: list[dict[str, Any]] | None = None,
    extra: dict[str, Any] | None = None,
    keep_last: int = 2,
) -> Path:
    """Write ``ckpt-<step>.pt`` atomically into ``directory`` and prune older ones (``keep_last``; 0 keeps all).

    ``rng`` is the list of per-rank RNG states (default: this process's).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": 1,
        "step": int(step),
        "model": _unwrap(model).state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict(),
        "rng": rng if rng is not None else [capture_rng_state()],
        "config": config,
        "log_offset": int(log_offset),
        "extra": extra or {},
    }
    final = checkpoint_path(directory, step)
    atomic_torch_save(payload, final)  # also on KeyboardInterrupt: no partial or temporary file left
    if keep_last > 0:
        for old in _checkpoints(directory)[:-keep_last]:
            old.unlink(missing_ok=True)
    return final


def _checkpoints(directory: Path) -> list[Path]:
    found = [p for p in directory.glob("ckpt-*.pt") if _NAME.match(p.name)]
    return sorted(found, key=lambda p: int(_NAME.match(p.name).group(1)))


def latest_checkpoint(directory: str | os.PathLike) -> Path | None:
    """The checkpoint with the highest step in ``directory``, or ``None`` when there is none."""
    directory = Path(directory)
    if not directory.is_dir():
        return None
    found = _checkpoints(directory)
    return found[-1] if found else None


def load_checkpoint(
    path: str | os.PathLike,
    *,
    model: nn.Module,
    optimizer: torch.optim.Optimizer | None = None,
    scheduler: Any | None = None,
    rank: int = 0,
    restore_rng: bool = True,
) -> CheckpointState:
    """Load states into ``model``/``optimizer``/``scheduler`` in place; restore this rank's RNG state."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"checkpoint not found: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - corrupt or foreign: one line, without torch's unsafe advice
        raise ValueError(f"{path} is not a Spektron training checkpoint ({exc.__class__.__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != 1:
        raise ValueError(f"{path} is not a Spektron training checkpoint")
    _unwrap(model).load_state_dict(payload["model"])
    if optimizer is not None:
        optimizer.load_state_dict(payload["optimizer"])
    if scheduler is not None:
        scheduler.load_state_dict(payload["scheduler"])
    rng = payload["rng"]
    if restore_rng and rng:
        restore_rng_state(rng[rank] if rank < len(rng) else rng[0])
    return CheckpointState(step=payload["step"], config=payload["config"], log_offset=payload["log_offset"],
                           rng=rng, extra=payload["extra"])
