"""``spektron benchmark`` end to end on a small synthetic folder in the corn layout."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from spektron.baselines.calibration import PLSCalibration
from spektron.methods.base import TransferStrategy
from spektron.cli.main import app

runner = CliRunner()


def _write(path, ids, axis, X):
    lines = ["sample," + ",".join(f"{a:g}" for a in axis)]
    lines += [f"{s}," + ",".join(f"{v:.8g}" for v in row) for s, row in zip(ids, X)]
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def paired_dir(tmp_path):
    rng = np.random.default_rng(0)
    n, axis = 30, np.arange(1000.0, 1100.0, 2.0)
    bands = np.stack([np.exp(-((axis - c) ** 2) / 50.0) for c in (1020, 1050, 1080)])
    C = rng.uniform(0.5, 1.5, size=(n, 3))
    Xa = C @ bands + 0.01 * rng.normal(size=(n, axis.size))
    Xb = 1.1 * Xa + 0.05 + 0.001 * rng.normal(size=(n, axis.size))
    ids = [f"s{i}" for i in range(n)]
    _write(tmp_path / "alpha.csv", ids, axis, Xa)
    _write(tmp_path / "beta.csv", ids, axis, Xb)
    y = C @ np.array([1.0, 2.0, -1.0])
    fat = C[:, 0] * 3
    fat[2] = np.nan
    (tmp_path / "properties.csv").write_text(
        "sample,conc,fat\n" + "\n".join(f"{s},{a:.6f},{'' if np.isnan(b) else f'{b:.6f}'}" for s, a, b in zip(ids, y, fat)) + "\n")
    return tmp_path


def test_benchmark_on_a_folder(paired_dir, tmp_path):
    out = tmp_path / "out"
    res = runner.invoke(app, ["benchmark", str(paired_dir), "--methods", "none,target,ds,sbc", "--k", "0,3,8",
                              "--selection", "random", "--repeats", "2", "--out", str(out), "--no-progress"])
    assert res.exit_code == 0, res.output
    records = json.loads((out / "results.json").read_text())
    assert {r["target"] for r in records} == {"beta"} and {r["property"] for r in records} == {"conc", "fat"}
    assert {r["repeat"] for r in records} == {0, 1}
    assert {r["n_test"] for r in records if r["property"] == "fat"} == {6}  # 29 rows with fat → 23/6
    assert (out / "summary.md").exists() and (out / "results.csv").exists()
    assert sorted(p.name for p in out.glob("*.png")) == ["rmsep_vs_k_alpha_beta_conc.png", "rmsep_vs_k_alpha_beta_fat.png"]
    ds = np.mean([r["rmsep"] for r in records if r["method"] == "ds" and r["k"] == 8 and r["property"] == "conc"])
    none = np.mean([r["rmsep"] for r in records if r["method"] == "none" and r["property"] == "conc"])
    assert ds < 0.3 * none
    assert "k = 0 skipped for ds, sbc" in res.output


def test_ks_repeats_run_with_distinct_seeds_and_say_so(paired_dir, tmp_path):
    out = tmp_path / "out"
    res = runner.invoke(app, ["benchmark", str(paired_dir), "--methods", "none,target", "--k", "0",
                              "--properties", "conc", "--repeats", "2", "--threads", "1", "--jobs", "2", "--out", str(out),
                              "--no-progress", "--no-plots"])
    assert res.exit_code == 0, res.output
    records = json.loads((out / "results.json").read_text())
    assert sorted(r["repeat"] for r in records if r["method"] == "none") == [0, 1]
    assert "differ only in each method's random seed" in " ".join(res.output.split())


def test_thread_option_reaches_only_methods_that_take_it():
    from spektron.cli.benchmark import _thread_params

    params = _thread_params(["ds", "spektron", "coral", "lora"], 1)
    assert params == {"spektron": {"num_threads": 1}, "coral": {"num_threads": 1}, "lora": {"num_threads": 1}}
    assert _thread_params(["spektron"], None) == {}


@pytest.mark.parametrize("args,message", [
    (["--methods", "nope"], "unknown method 'nope'"),
    (["--methods", "ds", "--k", "0"], "method 'ds' needs at least 1 transfer sample (k ≥ 1)"),
    (["--k", "1,40"], "k = 40 transfer samples requested"),
    (["--pairs", "alpha:gamma"], "unknown target instrument 'gamma'"),
    (["--properties", "sugar"], "unknown property 'sugar'"),
    (["--k", "a,b"], "--k must be comma-separated integers"),
])
def test_bad_arguments_give_one_error_line(paired_dir, tmp_path, args, message):
    res = runner.invoke(app, ["benchmark", str(paired_dir), "--out", str(tmp_path / "o"), "--no-progress", *args])
    assert res.exit_code == 2
    lines = [line for line in res.output.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert "Traceback" not in res.output


def test_help_and_list_methods():
    res = runner.invoke(app, ["benchmark", "--help"])
    assert res.exit_code == 0 and "--selection" in res.output and "corn layout" in res.output
    res = runner.invoke(app, ["benchmark", "x", "--out", "y", "--list-methods"])
    assert res.exit_code == 0 and "ds" in res.output and "augment" in res.output


class _ScaledMaster(TransferStrategy):
    """A method registered by the test itself: the workers must still find it."""

    name = "test-scaled-master"

    def __init__(self, factor: float = 1.0):
        self.factor = factor

    def _fit(self, context):
        self.model_ = context.fit_master(PLSCalibration())

    def _predict(self, X):
        return self.factor * self.model_.predict(X)


def test_parallel_jobs_give_the_same_records_in_the_same_order(paired_dir):
    from spektron.data.paired import load_paired_directory
    from spektron.evaluation import run_benchmark
    from spektron.methods.registry import register_method

    register_method("test-scaled-master", _ScaledMaster, requires_pairs=False)
    data = load_paired_directory(paired_dir)
    args = dict(methods=["none", "target", "meancorr", "ds", "test-scaled-master"], pairs="alpha:beta",
                ks=[0, 3], selection="random", repeats=2, progress=False, on_note=lambda m: None,
                method_params={"test-scaled-master": {"factor": 1.1}})
    serial = run_benchmark(data, **args)
    parallel = run_benchmark(data, n_jobs=2, **args)
    strip = lambda recs: [{k: v for k, v in r.items() if k != "seconds"} for r in recs]  # noqa: E731
    assert strip(parallel) == strip(serial)
    assert len(serial) == 2 * 2 * (4 + 5)  # repeats × properties × (k=0: 4 methods, k=3: 5)
    with pytest.raises(ValueError, match="n_jobs must be a positive integer"):
        run_benchmark(data, n_jobs=0, **args)


class _FailsAtSmallK(_ScaledMaster):
    """Fails below k = 3, like a method whose maths needs several pairs."""

    name = "test-fails-small-k"

    def _fit(self, context):
        if context.k < 3:
            raise ValueError("needs three pairs")
        super()._fit(context)


def test_a_failing_method_is_recorded_reported_and_the_run_goes_on(paired_dir, tmp_path):
    from spektron.data.paired import load_paired_directory
    from spektron.evaluation import run_benchmark, write_results
    from spektron.methods.registry import register_method

    register_method("test-fails-small-k", _FailsAtSmallK, requires_pairs=False)
    data = load_paired_directory(paired_dir)
    notes = []
    args = dict(methods=["none", "test-fails-small-k"], pairs="alpha:beta", properties=["conc"], ks=[0, 3],
                repeats=1, progress=False)
    records = run_benchmark(data, on_error="record", on_note=notes.append, **args)
    failed = [r for r in records if "error" in r]
    assert [(r["method"], r["k"]) for r in failed] == [("test-fails-small-k", 0)]
    assert failed[0]["error"] == "ValueError: needs three pairs" and np.isnan(failed[0]["rmsep"])
    assert any("test-fails-small-k failed on alpha→beta conc k=0" in n for n in notes)
    ok = [r for r in records if r["method"] == "test-fails-small-k" and r["k"] == 3]
    assert np.isfinite(ok[0]["rmsep"])
    write_results(records, tmp_path, plots=True)
    assert "| test-fails-small-k | failed |" in (tmp_path / "summary.md").read_text()
    assert "error" in (tmp_path / "results.csv").read_text().splitlines()[0]
    with pytest.raises(ValueError, match="needs three pairs"):
        run_benchmark(data, on_note=lambda m: None, **args)
    with pytest.raises(ValueError, match="on_error must be"):
        run_benchmark(data, on_error="ignore", on_note=lambda m: None, **args)


def test_an_existing_file_as_out_is_refused_before_the_run(paired_dir, tmp_path):
    """benchmark, pretrain, report and transfer take an output *folder*: a file there is one
    error line, before any work (no half-written outputs)."""
    taken = tmp_path / "taken"
    taken.write_text("keep me")
    for args in (["benchmark", str(paired_dir), "--methods", "none", "--k", "0", "--no-progress"],
                 ["pretrain", "--steps", "1"],
                 ["report", str(tmp_path)]):
        res = runner.invoke(app, [*args, "--out", str(taken)])
        assert res.exit_code == 2, (args, res.output)
        assert res.output.strip().splitlines() == [f"error: --out {taken} is an existing file, not a folder"]
    assert taken.read_text() == "keep me"


def test_progress_is_never_silent_outside_a_terminal(paired_dir, capsys):
    from spektron.data.paired import load_paired_directory
    from spektron.evaluation import run_benchmark

    data = load_paired_directory(paired_dir)
    run_benchmark(data, ["none", "target", "meancorr"], "alpha:beta", ["conc"], [0], repeats=2, progress=True,
                  on_note=lambda m: None)
    lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("benchmark: ")]
    assert lines and lines[-1].startswith("benchmark: 6/6 cells (100%)")


def test_null_adds_a_remeasured_twin_and_benchmarks_against_it(paired_dir, tmp_path):
    """--null alpha: the pair alpha → alpha-again (alpha + 0.1 % noise); the master calibration
    (none) is then as good as the twin's own (target), and meancorr pays the sampling error
    of two means on top of it."""
    out = tmp_path / "out"
    res = runner.invoke(app, ["benchmark", str(paired_dir), "--null", "alpha", "--methods", "none,target,meancorr",
                              "--k", "0", "--split", "random", "--selection", "random", "--repeats", "3",
                              "--properties", "conc", "--out", str(out), "--no-progress"])
    assert res.exit_code == 0, res.output
    assert "alpha-again is alpha measured again" in res.output
    records = json.loads((out / "results.json").read_text())
    assert {(r["master"], r["target"]) for r in records} == {("alpha", "alpha-again")}
    mean = {m: np.mean([r["rmsep"] for r in records if r["method"] == m]) for m in ("none", "target", "meancorr")}
    assert mean["none"] == pytest.approx(mean["target"], rel=0.05)
    assert mean["meancorr"] > mean["none"]
    res = runner.invoke(app, ["benchmark", str(paired_dir), "--null", "gamma", "--out", str(tmp_path / "o2"),
                              "--no-progress"])
    assert res.exit_code == 2 and "unknown instrument 'gamma'" in res.output and "Traceback" not in res.output


def test_null_shift_makes_the_twin_a_second_unit_whose_axis_scale_is_off(paired_dir, tmp_path):
    """--null alpha --null-shift 2: the twin is alpha with its axis scale 2 units off; the
    master calibration no longer fits it as well as the twin's own, and the shift is stated."""
    out = tmp_path / "out"
    args = ["benchmark", str(paired_dir), "--null", "alpha", "--methods", "none,target", "--k", "0", "--split",
            "random", "--selection", "random", "--repeats", "2", "--properties", "conc", "--no-progress"]
    res = runner.invoke(app, args + ["--null-shift", "2", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "axis scale off by 2" in res.output
    records = json.loads((out / "results.json").read_text())
    mean = {m: np.mean([r["rmsep"] for r in records if r["method"] == m]) for m in ("none", "target")}
    assert mean["none"] > 1.5 * mean["target"]
    res = runner.invoke(app, ["benchmark", str(paired_dir), "--null-shift", "2", "--out", str(tmp_path / "o2"),
                              "--no-progress"])
    assert res.exit_code == 2 and "--null-shift" in res.output and "Traceback" not in res.output
    # a stretch on top: stated with the shift at the two ends, and the twin differs from the shifted one
    res = runner.invoke(app, args + ["--null-shift", "2", "--null-stretch", "1", "--out", str(tmp_path / "o3")])
    assert res.exit_code == 0, res.output
    assert "axis scale off by 2" in res.output and "1 to 3 at its ends" in res.output
    stretched = json.loads((tmp_path / "o3" / "results.json").read_text())
    assert [r["rmsep"] for r in stretched if r["method"] == "none"] != [r["rmsep"] for r in records
                                                                      if r["method"] == "none"]

