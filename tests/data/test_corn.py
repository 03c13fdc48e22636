"""The corn loader (read from ../shared/datasets at run time) and the fetch helper.

The fetch tests serve a synthetic ``.mat`` file written by the test from a local HTTP
server on 127.0.0.1; nothing here reaches the internet.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import shutil
import threading
import zipfile

import numpy as np
import pytest
import scipy.io

from spektron.data import corn
from spektron.data.corn import (
    DATA_DIR_ENV,
    SHA256,
    convert_corn_mat,
    fetch_corn,
    load_corn,
    resolve_corn_dir,
    user_cache_dir,
    verify_corn,
)


@pytest.fixture
def no_env(monkeypatch, tmp_path):
    """No data-dir variable and an empty cache: resolution starts from scratch."""
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(corn.sys, "platform", "linux")


# ----------------------------------------------------------------- real data
def test_load_corn_shapes_axis_properties(corn_dir):
    data = load_corn(corn_dir)
    assert data.instrument_names == ["m5", "mp5", "mp6"]
    for inst in data.instruments.values():
        assert inst.X.shape == (80, 700) and inst.unit == "nm"
        assert inst.axis[0] == 1100.0 and inst.axis[-1] == 2498.0
        np.testing.assert_allclose(np.diff(inst.axis), 2.0)
        assert inst.sample_ids.tolist() == [str(i) for i in range(1, 81)]
    assert data.property_names == ("moisture", "oil", "protein", "starch")
    moisture = data["m5"].property("moisture")
    assert moisture.mean() == pytest.approx(10.23, abs=0.01)
    assert moisture.std(ddof=1) == pytest.approx(0.38, abs=0.01)
    assert {k: v.n_samples for k, v in data.standards.items()} == {"m5": 3, "mp5": 4, "mp6": 4}
    master, target = data.pair("m5", "mp6")
    assert not np.allclose(master.X, target.X)  # different instruments, same samples


def test_load_corn_accepts_parent_folder(corn_dir):
    assert load_corn(corn_dir.parent).n_samples == 80


def test_env_var_resolution(corn_dir, monkeypatch, no_env):
    monkeypatch.setenv(DATA_DIR_ENV, str(corn_dir.parent))
    assert resolve_corn_dir() == corn_dir
    assert load_corn()["mp5"].n_samples == 80


def test_checksum_mismatch_detected(corn_dir, tmp_path):
    copy = tmp_path / "corn"
    shutil.copytree(corn_dir, copy, copy_function=shutil.copyfile)
    copy.chmod(0o755)  # the shared folder is read-only; copytree copies that mode
    verify_corn(copy)  # an exact copy passes
    target = copy / "mp5.csv"
    text = target.read_text()
    target.write_text(text.replace("0.", "0.0", 1))  # one altered value
    with pytest.raises(ValueError, match=r"mp5.csv fails its SHA-256 check"):
        load_corn(copy)
    assert load_corn(copy, verify=False).n_samples == 80
    (copy / "m5_nbs.csv").unlink()
    with pytest.raises(FileNotFoundError, match="corn file missing: .*m5_nbs.csv"):
        verify_corn(copy)


def test_shipped_checksums_cover_the_layout():
    assert sorted(SHA256) == sorted(
        [f"{i}.csv" for i in ("m5", "mp5", "mp6")] + [f"{i}_nbs.csv" for i in ("m5", "mp5", "mp6")] + ["properties.csv"]
    )
    assert all(len(h) == 64 and int(h, 16) >= 0 for h in SHA256.values())


# ---------------------------------------------------------------- resolution
def test_not_found_anywhere_explains_how_to_get(no_env, tmp_path):
    with pytest.raises(FileNotFoundError, match="spektron data fetch corn"):
        load_corn()
    with pytest.raises(FileNotFoundError, match=f"no corn data .* in {tmp_path}"):
        load_corn(tmp_path)


def test_cache_dir_conventions(monkeypatch, tmp_path):
    monkeypatch.setattr(corn.sys, "platform", "linux")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert user_cache_dir() == tmp_path / "xdg" / "spektron"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert user_cache_dir() == tmp_path / "home" / ".cache" / "spektron"
    monkeypatch.setattr(corn.sys, "platform", "darwin")
    assert user_cache_dir() == tmp_path / "home" / "Library" / "Caches" / "spektron"


# -------------------------------------------------------------------- fetch
N, P = 6, 700  # synthetic: 6 "samples" on the corn grid (numbers are random, not corn)


def synthetic_corn_mat(path, rng, with_axisscale=True):
    def ds(X):
        scale = np.empty((2, 2), dtype=object)
        scale[0, 0], scale[0, 1], scale[1, 1] = np.zeros((0, 0)), "", ""
        scale[1, 0] = np.arange(1100.0, 2500.0, 2.0)[None, :] if with_axisscale else np.zeros((0, 0))
        return {"data": X, "axisscale": scale}

    content = {f"{i}spec": ds(rng.random((N, P))) for i in ("m5", "mp5", "mp6")}
    content.update({f"{i}nbs": ds(rng.random((2, P))) for i in ("m5", "mp5", "mp6")})
    props = rng.random((N, 4)) * 10
    content["propvals"] = props  # a plain matrix: both layouts must work
    scipy.io.savemat(path, content)
    return content


@pytest.fixture
def server(tmp_path):
    """An HTTP server on 127.0.0.1 serving ``tmp_path / 'www'``."""
    root = tmp_path / "www"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):  # no request log on stderr
        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_fetch_converts_mat_into_loadable_layout(server, tmp_path, rng):
    root, base = server
    content = synthetic_corn_mat(root / "corn.mat", rng)
    digest = hashlib.sha256((root / "corn.mat").read_bytes()).hexdigest()
    folder = fetch_corn(tmp_path / "data", url=f"{base}/corn.mat", sha256=digest)
    assert folder == tmp_path / "data" / "corn"
    assert not list(folder.glob("*.part")) and not list(folder.glob(".*tmp"))
    data = load_corn(tmp_path / "data")  # verified against spektron-fetch.json
    assert data.instrument_names == ["m5", "mp5", "mp6"]
    np.testing.assert_array_equal(data["mp5"].X, content["mp5spec"]["data"])
    np.testing.assert_array_equal(data.standards["mp6"].X, content["mp6nbs"]["data"])
    np.testing.assert_array_equal(data.properties, content["propvals"])
    assert data.axis[0] == 1100.0 and data.axis[-1] == 2498.0
    # a later change to a converted file is still caught
    (folder / "m5.csv").write_text((folder / "m5.csv").read_text().replace("0.", "1.", 1))
    with pytest.raises(ValueError, match="m5.csv fails its SHA-256 check"):
        load_corn(folder)


def test_fetch_zip_without_axisscale(server, tmp_path, rng):
    root, base = server
    synthetic_corn_mat(tmp_path / "corn.mat", rng, with_axisscale=False)
    with zipfile.ZipFile(root / "corn.mat_.zip", "w") as zf:
        zf.write(tmp_path / "corn.mat", "corn.mat")
    folder = fetch_corn(tmp_path / "d", url=f"{base}/corn.mat_.zip")
    assert (folder / "corn.mat").is_file() and not (folder / "corn.mat_.zip").exists()
    data = load_corn(folder)
    np.testing.assert_array_equal(data.axis, np.arange(1100.0, 2500.0, 2.0))


def test_fetch_errors(server, tmp_path, rng):
    root, base = server
    synthetic_corn_mat(root / "corn.mat", rng)
    with pytest.raises(ValueError, match="fails its SHA-256 check"):
        fetch_corn(tmp_path / "a", url=f"{base}/corn.mat", sha256="0" * 64)
    assert not (tmp_path / "a" / "corn" / "corn.mat").exists()  # nothing half-written
    with pytest.raises(ConnectionError, match="could not download"):
        fetch_corn(tmp_path / "b", url=f"{base}/missing.mat")
    scipy.io.savemat(root / "other.mat", {"spectra": np.ones((2, 3))})
    with pytest.raises(ValueError, match="not the corn data set: missing variable"):
        fetch_corn(tmp_path / "c", url=f"{base}/other.mat")


def test_convert_refuses_bad_propvals(tmp_path, rng):
    content = synthetic_corn_mat(tmp_path / "corn.mat", rng)
    content["propvals"] = np.ones((N, 3))
    scipy.io.savemat(tmp_path / "bad.mat", content)
    with pytest.raises(ValueError, match=r"propvals has shape \(6, 3\)"):
        convert_corn_mat(tmp_path / "bad.mat", tmp_path / "out")
