"""QM9S reader, on small files written in the published layout."""

from __future__ import annotations

import numpy as np
import pytest

from spektron.data.qm9s import QM9S_AXIS, VIB2MOL_SPLIT, iter_qm9s, load_qm9s, qm9s_split


def write_qm9s(path, X, ids=None, with_index=True):
    """pandas-style CSV: empty first header cell (index), wavenumbers ``500.0 … 4000.0``."""
    header = ([""] if with_index else []) + [f"{w:.1f}" for w in QM9S_AXIS]
    lines = [",".join(header)]
    for i, row in enumerate(X):
        cells = ([str(ids[i] if ids is not None else i)] if with_index else []) + [f"{v:.6g}" for v in row]
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def spectra():
    rng = np.random.default_rng(0)
    return np.round(rng.random((11, QM9S_AXIS.size)), 5)


def test_reads_the_published_layout(tmp_path, spectra):
    ids = [0, 1, 2, 5, 7, 8, 9, 10, 14, 15, 20]  # the IR file skips molecules
    write_qm9s(tmp_path / "ir_broaden.csv", spectra, ids)
    data = load_qm9s(tmp_path, kind="ir")
    assert data.X.shape == (11, 3501)
    assert data.unit == "cm-1" and data.axis[0] == 500 and data.axis[-1] == 4000
    np.testing.assert_allclose(data.X, spectra, rtol=1e-5)
    assert list(data.sample_ids) == [str(i) for i in ids]
    assert data.instrument == "qm9s-ir"


def test_streaming_in_chunks_equals_reading_all(tmp_path, spectra):
    path = write_qm9s(tmp_path / "raman_broaden.csv", spectra)
    chunks = list(iter_qm9s(path, kind="raman", chunk_size=4))
    assert [c.n_samples for c in chunks] == [4, 4, 3]
    whole = load_qm9s(path, kind="raman")
    np.testing.assert_array_equal(np.concatenate([c.X for c in chunks]), whole.X)
    assert list(np.concatenate([c.sample_ids for c in chunks])) == list(whole.sample_ids)
    limited = list(iter_qm9s(tmp_path, kind="raman", chunk_size=4, limit=6))
    assert [c.n_samples for c in limited] == [4, 2]
    np.testing.assert_array_equal(limited[1].X, whole.X[4:6])


def test_file_without_index_column_uses_row_numbers(tmp_path, spectra):
    path = write_qm9s(tmp_path / "x.csv", spectra[:3], with_index=False)
    data = load_qm9s(path)
    assert list(data.sample_ids) == ["0", "1", "2"]
    np.testing.assert_allclose(data.X, spectra[:3], rtol=1e-5)


def test_non_finite_rows_are_dropped_with_a_warning(tmp_path, spectra):
    path = write_qm9s(tmp_path / "ir_broaden.csv", spectra[:4])
    text = path.read_text().splitlines()
    cells = text[2].split(",")
    cells[10] = "nan"
    text[2] = ",".join(cells)
    path.write_text("\n".join(text) + "\n")
    with pytest.warns(UserWarning, match="dropped 1"):
        data = load_qm9s(path)
    assert list(data.sample_ids) == ["0", "2", "3"]


def test_errors(tmp_path, spectra):
    with pytest.raises(ValueError, match="not found"):
        load_qm9s(tmp_path, kind="ir")
    with pytest.raises(ValueError, match="kind"):
        load_qm9s(tmp_path, kind="uv")
    path = write_qm9s(tmp_path / "ir_broaden.csv", spectra[:2])
    with open(path, "a") as fh:
        fh.write("3,1.0,2.0\n")
    with pytest.raises(ValueError, match="ir_broaden.csv"):
        load_qm9s(path)
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ValueError, match="empty"):
        load_qm9s(tmp_path / "empty.csv")
    with pytest.raises(ValueError, match="chunk_size"):
        next(iter_qm9s(path, chunk_size=0))


def test_split_has_the_vib2mol_sizes_and_is_deterministic():
    n = sum(VIB2MOL_SPLIT.values())
    split = qm9s_split(n, seed=0)
    assert {k: v.size for k, v in split.items()} == VIB2MOL_SPLIT
    together = np.concatenate(list(split.values()))
    assert np.unique(together).size == n
    again = qm9s_split(n, seed=0)
    assert all(np.array_equal(split[k], again[k]) for k in split)
    assert not np.array_equal(qm9s_split(n, seed=1)["test"], split["test"])
    small = qm9s_split(1000, seed=0)
    assert {k: v.size for k, v in small.items()} == {"train": 855, "val": 45, "test": 100}
    with pytest.raises(ValueError, match="sizes"):
        qm9s_split(100, sizes={"train": 1})
