"""Files written atomically: a temporary file beside the target, renamed onto it only
when the write completed. A reader, a crash or Ctrl-C never sees half a file; on any
error the temporary file is removed and the old file (if any) stays as it was."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Iterator

__all__ = ["atomic_write"]


@contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "wb", *, fsync: bool = False, suffix: str = ".tmp",
                 **open_kwargs) -> Iterator[IO]:
    """``with atomic_write(path, "w", newline="") as fh: ...`` — ``fh`` is a temporary
    file in ``path``'s folder; it replaces ``path`` when the block ends without an error.
    ``fsync`` flushes it to disk first (checkpoints and models: survive a power cut). The
    file gets the permissions a plain ``open`` would give it (``mkstemp``'s are 0600)."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix, dir=path.parent)
    try:
        with os.fdopen(fd, mode, **open_kwargs) as fh:
            yield fh
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
