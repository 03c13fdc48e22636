"""Finished pretraining runs kept in the user cache, so that a second run of the same
configuration (``spektron demo`` run again) reuses the model instead of retraining it.

An entry is keyed by the whole :class:`~spektron.training.config.TrainConfig` (every
size, schedule and seed), the Spektron version and the torch version: any change to
what would be trained, or to the code that trains it, is a different key. Entries are
written into a temporary folder and renamed into place, so a reader never sees half an
entry (an interrupted writer leaves only a ``.tmp-*`` folder that the next write
ignores). The cache holds the files a run directory needs from pretraining
(``model.pt``, ``metrics.jsonl``, ``config.json``, ``instruments.json``,
``embeddings.npz``) and the result's summary; checkpoints are not kept.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch

from spektron._version import __version__
from spektron.atomic_io import atomic_write
from spektron.data.corn import user_cache_dir
from spektron.run_layout import CONFIG, EMBEDDINGS, INSTRUMENTS, METRICS, MODEL
from spektron.training.config import TrainConfig
from spektron.training.trainer import PretrainResult

__all__ = ["RUN_FILES", "cache_key", "load_cached_run", "pretrained_cache_dir", "store_run"]

#: The files of a pretraining run directory that a cache entry keeps.
RUN_FILES = (MODEL, METRICS, CONFIG, INSTRUMENTS, EMBEDDINGS)
_RESULT = "result.json"


def pretrained_cache_dir() -> Path:
    """``<user cache>/pretrained`` (``$XDG_CACHE_HOME/spektron/pretrained`` on Linux)."""
    return user_cache_dir() / "pretrained"


def cache_key(config: TrainConfig) -> str:
    """Hex digest of the configuration, the versions of Spektron and torch, and the
    source of the code that generates the data and trains the model (so that an edited
    development install does not reuse a model the edited code would not train)."""
    payload = json.dumps({"config": config.to_dict(), "spektron": __version__, "torch": torch.__version__,
                          "source": _source_digest()}, sort_keys=True, default=str)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def _source_digest() -> str:
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for sub in ("data", "models", "training"):
        for path in sorted((package / sub).glob("*.py")):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def load_cached_run(config: TrainConfig, out: str | os.PathLike, root: str | os.PathLike | None = None
                    ) -> PretrainResult | None:
    """Copy a cached run of ``config`` into ``out`` and return its result, or None if
    there is none (or the entry is incomplete)."""
    entry = Path(root or pretrained_cache_dir()) / cache_key(config)
    if not all((entry / name).is_file() for name in (*RUN_FILES, _RESULT)):
        return None
    try:
        meta = json.loads((entry / _RESULT).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name in RUN_FILES:
        _copy_atomic(entry / name, out / name)
    return PretrainResult(step=int(meta["step"]), steps=int(meta["steps"]), interrupted=False, out_dir=out,
                          log_path=out / METRICS, model_path=out / MODEL, checkpoint_path=None,
                          diagnostics=meta.get("diagnostics") or {}, wall_time_s=float(meta["wall_time_s"]))


def store_run(config: TrainConfig, result: PretrainResult, root: str | os.PathLike | None = None) -> Path | None:
    """Keep a finished run in the cache; returns the entry (None when the run was
    interrupted or lacks a file). An existing entry for the same key is left alone."""
    if result.interrupted or result.model_path is None:
        return None
    run = Path(result.out_dir)
    if not all((run / name).is_file() for name in RUN_FILES):
        return None
    root = Path(root or pretrained_cache_dir())
    entry = root / cache_key(config)
    if entry.is_dir():
        return entry
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{entry.name}-", dir=root))
    try:
        for name in RUN_FILES:
            shutil.copy2(run / name, tmp / name)
        meta: dict[str, Any] = {"step": result.step, "steps": result.steps, "wall_time_s": result.wall_time_s,
                                "diagnostics": result.diagnostics}
        (tmp / _RESULT).write_text(json.dumps(meta, default=float), encoding="utf-8")
        os.replace(tmp, entry)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if entry.is_dir():  # another process stored the same run first
            return entry
        raise
    return entry


def _copy_atomic(src: Path, dst: Path) -> None:
    with open(src, "rb") as source, atomic_write(dst, "wb") as target:
        shutil.copyfileobj(source, target)
