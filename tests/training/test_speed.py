"""``spektron bench model`` on tiny sizes: every path is timed and the table prints."""

import math

from typer.testing import CliRunner

from spektron.cli.main import app
from spektron.training.speed import run_model_benchmark


def test_paths_side_by_side_with_memory():
    result = run_model_benchmark(lengths=(8, 70), scan_batch=2, scan_states=4, repeats=1, threads=1, model=False)
    assert [r["length"] for r in result["scan"]] == [8, 70]
    for row in result["scan"]:
        for path in ("sequential", "parallel", "convolution", "compiled", "none"):
            assert row[f"{path}_s"] > 0
            assert math.isnan(row[f"{path}_mib"]) or row[f"{path}_mib"] >= 0
        assert row["speedup_sequential"] == 1.0
    assert result["model"] == []


def test_cli_prints_the_tables():
    res = CliRunner().invoke(app, ["bench", "model", "--lengths", "8", "--states", "4", "--batch", "2", "--channels",
                                   "64", "--repeats", "1", "--threads", "1"])
    assert res.exit_code == 0, res.output
    assert "convolution" in res.output and "compiled" in res.output and "vs sequential" in res.output
    assert "infer spectra/s" in res.output
    bad = CliRunner().invoke(app, ["bench", "model", "--paths", "fft", "--no-model", "--lengths", "8"])
    assert bad.exit_code == 2 and "unknown scan path(s) fft" in bad.output


def test_bench_model_refuses_a_missing_device():
    res = CliRunner().invoke(app, ["bench", "model", "--device", "cuda:7", "--lengths", "8"])
    assert res.exit_code == 2 and "not available" in res.output
    res = CliRunner().invoke(app, ["bench", "model", "--device", "tpu-ish", "--lengths", "8"])
    assert res.exit_code == 2 and "unknown device" in res.output


def test_cpu_only_paths_are_refused_on_an_accelerator(monkeypatch):
    import spektron.training.speed as speed

    monkeypatch.setattr(speed, "_check_device", lambda device: device)
    try:
        run_model_benchmark(lengths=(8,), paths=("sequential", "compiled"), model=False, device="cuda")
    except ValueError as exc:
        assert "run on the CPU only" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("the compiled path was accepted on an accelerator")
