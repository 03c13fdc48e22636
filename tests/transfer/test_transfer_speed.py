"""``spektron bench transfer`` on tiny sizes: both ways of the covariance excess agree, every
size and k is timed, and the tables print."""

import pytest
from typer.testing import CliRunner

from spektron.cli.main import app
from spektron.transfer.speed import run_transfer_benchmark


def test_the_shared_basis_is_timed_beside_the_fresh_svd_and_agrees():
    seen = []
    result = run_transfer_benchmark(samples=(30, 40), ks=(0, 3), repeats=1, progress=seen.append)
    assert [row["samples"] for row in result["excess"]] == [30, 40]
    assert [(row["samples"], row["k"]) for row in result["fits"]] == [(30, 0), (30, 3), (40, 0), (40, 3)]
    assert seen == ["30 samples, k = 0", "30 samples, k = 3", "40 samples, k = 0", "40 samples, k = 3"]
    assert result["channels"] == 700
    for row in result["excess"]:
        assert row["max_difference"] < 1e-10 and row["fresh_s"] > 0 and row["shared_s"] > 0
    assert all(row["fit_predict_s"] > 0 for row in result["fits"])


def test_bad_sizes_are_one_clear_line():
    with pytest.raises(ValueError, match="samples must be integers ≥ 10"):
        run_transfer_benchmark(samples=(5,))
    with pytest.raises(ValueError, match="k = 30 needs more than 22 calibration samples"):
        run_transfer_benchmark(samples=(30,), ks=(30,))


def test_the_cli_prints_both_tables():
    res = CliRunner().invoke(app, ["bench", "transfer", "--samples", "30", "--k", "0,3", "--repeats", "1"])
    assert res.exit_code == 0, res.output
    assert "Covariance excess" in res.output and "speed-up" in res.output and "seconds" in res.output
    bad = CliRunner().invoke(app, ["bench", "transfer", "--samples", "ten"])
    assert bad.exit_code != 0 and "comma-separated integers" in bad.output
