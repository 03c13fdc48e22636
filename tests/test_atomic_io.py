"""atomic_write: the target is replaced only by a complete file, never by half of one."""

from __future__ import annotations

import os

import pytest

from spektron.atomic_io import atomic_write


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text("old\n")
    with pytest.raises(RuntimeError, match="midway"):
        with atomic_write(path, "w") as fh:
            fh.write("new, half")
            raise RuntimeError("midway")
    assert path.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


def test_a_complete_write_replaces_with_plain_permissions(tmp_path):
    path = tmp_path / "model.bin"
    with atomic_write(path, "wb", fsync=True) as fh:
        fh.write(b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01"
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask  # as open() would, not mkstemp's 0600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.bin"]
