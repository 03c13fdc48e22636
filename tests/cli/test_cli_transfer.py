"""``spektron transfer`` on tiny synthetic CSV files."""

from __future__ import annotations

import csv
import json

import numpy as np
from typer.testing import CliRunner

from spektron.cli.main import app
from spektron.data.instruments import SimulatedInstrument

AXIS = np.arange(1100.0, 1500.0, 4.0)


def _write_spectra(path, X, axis, ids):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["sample"] + [f"{a:g}" for a in axis])
        for sid, row in zip(ids, X):
            w.writerow([sid] + [f"{v:.6g}" for v in row])


def _files(tmp_path, n=20):
    rng = np.random.default_rng(0)
    y = rng.uniform(0, 1, n)
    band = lambda c, w: np.exp(-0.5 * ((AXIS - c) / w) ** 2)  # noqa: E731
    X = y[:, None] * band(1250, 30) + (1 - y[:, None]) * band(1400, 40) + 0.005 * rng.standard_normal((n, AXIS.size))
    T = SimulatedInstrument("t", 10.0, 15.0, (0.05, 0.02)).apply(X, AXIS, "nm", rng=1)
    ids = [f"s{i}" for i in range(n)]
    _write_spectra(tmp_path / "master.csv", X[:16], AXIS, ids[:16])
    _write_spectra(tmp_path / "target.csv", T[16:], AXIS, ids[16:])
    _write_spectra(tmp_path / "pm.csv", X[:4], AXIS, ids[:4])
    _write_spectra(tmp_path / "pt.csv", T[:4], AXIS, ids[:4])
    with open(tmp_path / "props.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["sample", "moisture", "oil"])
        for sid, v in zip(ids, y):
            w.writerow([sid, f"{v:.6g}", f"{2 * v:.6g}"])
    return T


FAST = ["--steps", "3", "--ttt-steps", "1", "--threads", "1"]


def test_transfer_writes_predictions_and_diagnostics(tmp_path):
    _files(tmp_path)
    out = tmp_path / "out"
    res = CliRunner().invoke(app, [
        "transfer", "--master", str(tmp_path / "master.csv"), "--target", str(tmp_path / "target.csv"),
        "--master-properties", str(tmp_path / "props.csv"), "--property", "moisture",
        "--pairs", f"{tmp_path / 'pm.csv'}:{tmp_path / 'pt.csv'}", "--out", str(out)])
    assert res.exit_code == 0, res.output
    rows = list(csv.reader(open(out / "predictions.csv")))
    assert rows[0] == ["sample", "moisture", "T2", "Q", "domain"]
    assert [r[0] for r in rows[1:]] == ["s16", "s17", "s18", "s19"]
    assert all(np.isfinite(float(r[1])) and r[4] in ("ok", "warning", "outside") for r in rows[1:])
    diag = json.loads((out / "diagnostics.json").read_text())
    assert diag["k_pairs"] == 4 and diag["n_master"] == 16 and diag["property"] == "moisture"
    assert diag["method"] == "spektron"
    assert "outside the calibration domain" in diag["domain"] and "outside the calibration domain" in res.output
    # the target is a simulated instrument (shift 10 cm⁻¹, resolution 15 cm⁻¹): the four pairs show
    # its operator, held-out pairs agree, and the master set is mapped through it
    response = diag["response"]
    assert response["used"] and response["check"]["passed"] and response["explained_loo"] > 0.9
    assert abs(response["shift_cm1"] - 10.0) < 0.5 and abs(response["broadening_cm1"] - 15.0) < 1.5
    assert "→ master spectra mapped through it (held-out pairs' MSE" in res.output
    assert diag["selection_rule"] == "held: the master set is mapped through the instrument response"
    assert "gate" not in diag  # no covariance weight to choose: the gate is not run
    assert f"covariance weight {diag['unlabelled_weight']:g} (held: the master set is mapped" in res.output
    # the offset combines the pairs and the 4 unlabelled spectra (the batch's error read off their disagreement)
    offset = diag["offset"]
    assert offset["source"] == "both" and 0 <= offset["pairs_share"] <= 1 and offset["sd"] > 0
    assert f"prediction offset {offset['offset']:+.4g} (± {offset['sd']:.2g}): pairs" in res.output
    assert set(diag["batch_check"]) >= {"differs", "matters", "p"}
    assert "batch:" not in res.output  # with pairs, the offset line says what the batch did
    assert diag["offset_line"] in res.output and "batch_line" not in diag
    # four pairs: whether the target rescales what the calibration reads was tested too
    assert set(diag["pair_gain"]) == {"slope", "se", "p", "applied"} and 0 < diag["pair_gain"]["p"] <= 1


def test_transfer_with_the_deep_pipeline(tmp_path):
    _files(tmp_path)
    out = tmp_path / "out"
    res = CliRunner().invoke(app, [
        "transfer", "--master", str(tmp_path / "master.csv"), "--target", str(tmp_path / "target.csv"),
        "--master-properties", str(tmp_path / "props.csv"), "--property", "moisture", "--method", "spektron-deep",
        "--out", str(out), *FAST])
    assert res.exit_code == 0, res.output
    assert json.loads((out / "diagnostics.json").read_text())["method"] == "spektron-deep"
    assert len(list(csv.reader(open(out / "predictions.csv")))) == 5


def test_several_properties_need_a_choice(tmp_path):
    _files(tmp_path)
    res = CliRunner().invoke(app, [
        "transfer", "--master", str(tmp_path / "master.csv"), "--target", str(tmp_path / "target.csv"),
        "--master-properties", str(tmp_path / "props.csv"), "--out", str(tmp_path / "o"), *FAST])
    assert res.exit_code == 2
    assert "--property" in res.output


def test_other_axis_is_refused_unless_resampled(tmp_path):
    T = _files(tmp_path)
    other = np.linspace(1096.0, 1500.0, 90)
    _write_spectra(tmp_path / "t2.csv", np.stack([np.interp(other, AXIS, r) for r in T[16:]]), other,
                   ["a", "b", "c", "d"])
    args = ["transfer", "--master", str(tmp_path / "master.csv"), "--target", str(tmp_path / "t2.csv"),
            "--master-properties", str(tmp_path / "props.csv"), "--property", "oil", "--out", str(tmp_path / "o")]
    res = CliRunner().invoke(app, args)
    assert res.exit_code == 2 and "resample" in res.output
    res = CliRunner().invoke(app, args + ["--resample"])
    assert res.exit_code == 0, res.output
    assert len(list(csv.reader(open(tmp_path / "o" / "predictions.csv")))) == 5


def test_without_pairs_a_batch_of_another_grade_is_reported_by_transfer_and_predict(tmp_path):
    """k = 0, the batch the top fifth of the property's range: its mean difference along the
    calibration is chemistry as much as instrument, and both commands say Spektron cannot tell."""
    rng = np.random.default_rng(3)
    n = 50
    y = np.sort(rng.uniform(0, 1, n))
    band = lambda c, w: np.exp(-0.5 * ((AXIS - c) / w) ** 2)  # noqa: E731
    X = y[:, None] * band(1250, 30) + (1 - y[:, None]) * band(1400, 40) + 0.005 * rng.standard_normal((n, AXIS.size))
    T = X + 0.02 + 0.005 * rng.standard_normal((n, AXIS.size))  # another unit: a small offset and its noise
    ids = [f"s{i}" for i in range(n)]
    _write_spectra(tmp_path / "master.csv", X[:40], AXIS, ids[:40])
    _write_spectra(tmp_path / "batch.csv", T[40:], AXIS, ids[40:])
    with open(tmp_path / "props.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["sample", "moisture"])
        w.writerows([sid, f"{v:.6g}"] for sid, v in zip(ids, y))
    runner = CliRunner()
    res = runner.invoke(app, ["transfer", "--master", str(tmp_path / "master.csv"), "--target",
                              str(tmp_path / "batch.csv"), "--master-properties", str(tmp_path / "props.csv"),
                              "--save", str(tmp_path / "m.spk"), "--out", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert "batch: its chemistry differs from the calibration set's beyond what an instrument explains" in res.output
    assert "measure a few transfer samples on both instruments" in res.output
    diag = json.loads((tmp_path / "out" / "diagnostics.json").read_text())
    check = diag["batch_check"]
    assert check["differs"] and check["matters"] and check["p"] < 0.01 and check["spread_ratio"] < 0.3
    assert diag["batch_line"].startswith("batch: its chemistry differs")
    res = runner.invoke(app, ["predict", "--model", str(tmp_path / "m.spk"), "--spectra", str(tmp_path / "batch.csv"),
                              "--out", str(tmp_path / "p.csv")])
    assert res.exit_code == 0, res.output
    assert "when the model was fitted: batch: its chemistry differs" in res.output
