"""Metrics log: one JSON object per line, plus TensorBoard when it is installed.

JSON lines are greppable, append-only and trivially re-read for plots
(:func:`read_metrics`). The logger knows its byte offset so a checkpoint can
record it; resuming truncates the file back to that offset, so the lines for
steps that are re-run after a resume are not duplicated.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

__all__ = ["MetricsLogger", "read_metrics"]


def _jsonable(value: Any) -> Any:
    """Floats for tensors/NumPy scalars; NaN/inf as strings so every line stays valid JSON."""
    if hasattr(value, "item") and callable(value.item):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


class MetricsLogger:
    """Append metrics records (``{"step": ..., "kind": ..., **values}``) to ``path``.

    Parameters
    ----------
    path : path of the ``.jsonl`` file (parent directories are created).
    offset : when resuming, the byte offset recorded in the checkpoint; the file
        is truncated to it before appending. ``None`` starts a new file.
    tensorboard_dir : if given and ``tensorboard`` is importable, scalars are also
        written there with ``torch.utils.tensorboard.SummaryWriter``.
    """

    def __init__(self, path: str | os.PathLike, *, offset: int | None = None,
                 tensorboard_dir: str | os.PathLike | None = None) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if offset is None:
            self._handle = self.path.open("w", encoding="utf-8")
        else:
            self._handle = self.path.open("a+", encoding="utf-8")
            self._handle.truncate(min(offset, self.path.stat().st_size))
            self._handle.seek(0, os.SEEK_END)
        self._writer = _tensorboard_writer(tensorboard_dir) if tensorboard_dir is not None else None

    def log(self, step: int, kind: str, values: dict[str, Any]) -> None:
        """Write one record and flush it (a killed run keeps everything logged so far)."""
        record = {"step": int(step), "kind": kind, **_jsonable(values)}
        self._handle.write(json.dumps(record) + "\n")
        self._handle.flush()
        if self._writer is not None:
            for key, value in record.items():
                if key not in ("step", "kind") and isinstance(value, int | float):
                    self._writer.add_scalar(f"{kind}/{key}", value, step)

    @property
    def offset(self) -> int:
        """Byte offset of the end of the log (store it in checkpoints)."""
        self._handle.flush()
        return self._handle.tell()

    def close(self) -> None:
        self._handle.close()
        if self._writer is not None:
            self._writer.close()

    def __enter__(self) -> MetricsLogger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _tensorboard_writer(log_dir: str | os.PathLike):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:  # tensorboard is optional
        return None
    return SummaryWriter(log_dir=str(log_dir))


def read_metrics(path: str | os.PathLike, kind: str | None = None) -> list[dict[str, Any]]:
    """All records of a metrics log (optionally only those of one ``kind``), in file order."""
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"metrics log not found: {path}")
    records = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if line:
                record = json.loads(line)
                if kind is None or record.get("kind") == kind:
                    records.append(record)
    return records
