"""Save and load a :class:`SpektronModel` as one self-describing file.

The file is a ``torch.save`` dict holding the config (plain values) and the
state dict, so ``load_model`` needs nothing but the path; it is loaded with
``weights_only=True`` (no arbitrary pickle code runs). Writing goes to a
temporary file in the same directory followed by ``os.replace``, so a crash
mid-write never leaves a truncated model where a good one was.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch

from spektron.atomic_io import atomic_write
from spektron.models.config import SpektronConfig
from spektron.models.spektron import SpektronModel

FORMAT = "spektron-model"
VERSION = 1


def save_model(model: SpektronModel, path: str | os.PathLike, meta: dict | None = None) -> Path:
    """Write ``model`` (config + weights) to ``path`` atomically; returns the path.

    ``meta``: plain values describing how the model was made (e.g. the pretraining
    ``axis_range_cm1``), read back as ``model.meta`` by :func:`load_model`."""
    if not isinstance(model, SpektronModel):
        raise ValueError(f"save_model expects a SpektronModel, got {type(model).__name__}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "config": model.config.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "meta": dict(meta or getattr(model, "meta", None) or {}),
    }
    return atomic_torch_save(payload, path)


def atomic_torch_save(payload: object, path: str | os.PathLike) -> Path:
    """``torch.save`` to a temporary file beside ``path``, fsync, then rename.

    A reader (or a crash, or Ctrl-C) never sees a half-written file: either the old
    file or the complete new one is there, and the temporary file is always removed.
    """
    path = Path(path)
    with atomic_write(path, "wb", fsync=True) as fh:
        torch.save(payload, fh)
    return path


def load_model(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> SpektronModel:
    """Rebuild the model saved by :func:`save_model` (in eval mode)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {path}")
    try:
        payload = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # corrupted or foreign file: say so plainly, and only that
        # (torch's own message suggests retrying with weights_only=False: unsafe advice for
        # a file of unknown origin, so it is not passed on)
        raise ValueError(f"{path} is not a Spektron model file ({exc.__class__.__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path} is not a Spektron model file (format tag missing)")
    if payload.get("version") != VERSION:
        raise ValueError(f"{path} has model-file version {payload.get('version')!r}; this Spektron reads {VERSION}")
    model = SpektronModel(SpektronConfig.from_dict(payload["config"]))
    model.load_state_dict(payload["state_dict"], strict=True)
    model.meta = dict(payload.get("meta") or {})
    return model.to(map_location).eval()
