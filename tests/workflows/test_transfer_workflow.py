"""A user's transfer workflow end to end through the CLI: benchmark → transfer --method auto
--save → predict on new spectra, against the same fit in-process; outlier flags."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from typer.testing import CliRunner

import spektron
from spektron.cli.main import app
from spektron.data.instruments import SimulatedInstrument
from spektron.data.readers import read_spectra
from spektron.transfer.saved import fit_transfer_model, load_model

AXIS = np.arange(1100.0, 1700.0, 4.0)  # nm, 150 channels
BANDS = np.stack([np.exp(-0.5 * ((AXIS - c) / w) ** 2) for c, w in ((1250, 30), (1400, 40), (1550, 35))])
TARGET = SimulatedInstrument("handheld", shift_cm1=6.0, broadening_cm1=10.0, baseline_coeffs=(0.04, 0.02, 0.01),
                             gain=1.03, snr_db=45.0)


def _write(path, X, ids):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["sample"] + [f"{a:g}" for a in AXIS])
        for sid, row in zip(ids, X):
            w.writerow([sid] + [f"{v:.7g}" for v in row])


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A folder in the corn layout (master, handheld, properties), the transfer-pair files,
    and next week's spectra: 100 from the calibration population, 10 built to be outliers."""
    tmp = tmp_path_factory.mktemp("workflow")
    rng = np.random.default_rng(0)
    conc = rng.uniform(0.2, 1.0, (60, 3))
    X = conc @ BANDS + 0.002 * rng.standard_normal((60, AXIS.size))
    T = TARGET.apply(X, AXIS, "nm", rng=1)
    ids = [f"s{i}" for i in range(60)]
    folder = tmp / "lab"
    folder.mkdir()
    _write(folder / "benchtop.csv", X, ids)
    _write(folder / "handheld.csv", T, ids)
    with open(folder / "properties.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["sample", "glucose"])
        w.writerows([[sid, f"{v:.6g}"] for sid, v in zip(ids, conc[:, 0])])
    # the user's files: master calibration (40), pairs (5 of them on both), target spectra to predict (20)
    _write(tmp / "master.csv", X[:40], ids[:40])
    _write(tmp / "pm.csv", X[:5], ids[:5])
    _write(tmp / "pt.csv", T[:5], ids[:5])
    _write(tmp / "target.csv", T[40:], ids[40:])
    new_conc = rng.uniform(0.2, 1.0, (110, 3))
    new_conc[100:105] = rng.uniform(2.0, 2.5, (5, 3))  # far outside the calibrated range: T²
    new = new_conc @ BANDS + 0.002 * rng.standard_normal((110, AXIS.size))
    new[105:] += 0.3 * np.exp(-0.5 * ((AXIS - 1330) / 15) ** 2)  # a band the calibration never saw: Q
    _write(tmp / "new.csv", TARGET.apply(new, AXIS, "nm", rng=2), [f"n{i}" for i in range(110)])
    return tmp


def test_benchmark_transfer_save_predict(workspace):
    tmp, runner = workspace, CliRunner()
    res = runner.invoke(app, ["benchmark", str(tmp / "lab"), "--methods", "none,target,meancorr,sbc,spektron",
                              "--k", "0,5", "--repeats", "1", "--no-plots", "--no-progress", "--out",
                              str(tmp / "bench")])
    assert res.exit_code == 0, res.output
    assert "Where `spektron` stands" in (tmp / "bench" / "summary.md").read_text()

    args = ["--master", str(tmp / "master.csv"), "--master-properties", str(tmp / "lab" / "properties.csv"),
            "--target", str(tmp / "target.csv"), "--pairs", f"{tmp / 'pm.csv'}:{tmp / 'pt.csv'}"]
    res = runner.invoke(app, ["transfer", *args, "--method", "auto", "--save", str(tmp / "model.spk"),
                              "--out", str(tmp / "out")])
    assert res.exit_code == 0, res.output
    diag = json.loads((tmp / "out" / "diagnostics.json").read_text())
    assert diag["requested_method"] == "auto" and diag["auto_rule"] == "leave-one-pair-out over 5 pairs"
    assert {row["method"] for row in diag["auto_table"]} == {"spektron", "meancorr", "augment", "ds", "pds", "sbc"}
    chosen = diag["method"]
    assert chosen == min(diag["auto_table"], key=lambda r: r["loo_rmse"])["method"]

    res = runner.invoke(app, ["predict", "--model", str(tmp / "model.spk"), "--spectra", str(tmp / "new.csv"),
                              "--out", str(tmp / "new_predictions.csv")])
    assert res.exit_code == 0, res.output
    rows = list(csv.reader(open(tmp / "new_predictions.csv")))
    assert rows[0] == ["sample", "glucose", "T2", "Q", "domain"] and len(rows) == 111
    from_cli = np.array([float(r[1]) for r in rows[1:]])

    # the same fit in-process gives the same predictions (the CSV keeps 6 significant digits)
    master = read_spectra(tmp / "master.csv")
    y = np.array([float(r[1]) for r in list(csv.reader(open(tmp / "lab" / "properties.csv")))[1:41]])
    pm, pt, target, new = (read_spectra(tmp / f).X for f in ("pm.csv", "pt.csv", "target.csv", "new.csv"))
    model = fit_transfer_model("auto", master.X, y, axis=master.axis, unit="nm", property_name="glucose",
                               pairs=(pm, pt, y[:5]), target_unlabelled=target)
    assert model.method == chosen
    np.testing.assert_allclose(from_cli, model.predict(new), rtol=1e-5, atol=1e-6)
    loaded = spektron.load_model(tmp / "model.spk")
    np.testing.assert_array_equal(loaded.predict(new), model.predict(new))  # bit for bit after the round trip
    assert loaded.summary["method"] == chosen and loaded.spektron_version == spektron.__version__

    # outlier flags: the 10 built outliers are outside; the 100 ordinary spectra mostly not
    flags = [r[4] for r in rows[1:]]
    assert all(f == "outside" for f in flags[100:])
    assert sum(f == "outside" for f in flags[:100]) <= 5
    assert "outside the calibration domain" in res.output


def test_saved_model_refuses_other_files_and_axes(workspace, tmp_path):
    tmp, runner = workspace, CliRunner()
    model = load_model(tmp / "model.spk") if (tmp / "model.spk").exists() else None
    if model is None:
        pytest.skip("runs after the workflow test")
    bogus = tmp_path / "bogus.spk"
    bogus.write_text("not a model")
    with pytest.raises(ValueError, match="is not a Spektron transfer model"):
        load_model(bogus)
    res = runner.invoke(app, ["predict", "--model", str(bogus), "--spectra", str(tmp / "new.csv"), "--out",
                              str(tmp_path / "p.csv")])
    assert res.exit_code == 2 and res.output.strip().splitlines() == [
        f"error: {bogus} is not a Spektron transfer model"]
    new = read_spectra(tmp / "new.csv")
    with pytest.raises(ValueError, match="resample them"):
        model.predict(new.X[:, :100], axis=new.axis[:100])
    res = runner.invoke(app, ["transfer", "--master", str(tmp / "master.csv"), "--master-properties",
                              str(tmp / "lab" / "properties.csv"), "--target", str(tmp / "target.csv"),
                              "--out", str(tmp / "master.csv")])
    assert res.exit_code == 2 and "is an existing file, not a folder" in res.output


def test_the_unlabelled_line_says_what_the_tests_reported():
    """A gate that could not run (two target spectra: too few) has a verdict but no p-values."""
    from types import SimpleNamespace

    from spektron.workflows.transfer import Predictions

    summary = {"selection_rule": "single candidate", "unlabelled_weight": 0.0, "n_components": 3,
               "gate": {"passed": False}}
    line = Predictions(SimpleNamespace(summary=summary), "y", [], np.zeros(0), *(np.zeros(0),) * 3).unlabelled_line
    assert line == ("unlabelled target spectra: covariance gate not passed → covariance weight 0 (single candidate), "
                    "3 PLS components")
    summary["gate"] = {"passed": True, "p_added": 0.0033, "p_lost": 0.4}
    line = Predictions(SimpleNamespace(summary=summary), "y", [], np.zeros(0), *(np.zeros(0),) * 3).unlabelled_line
    assert "covariance gate passed (added p = 0.0033, lost p = 0.4)" in line
    summary.update(spread_check={"ratio": 14.8, "p": 2e-6, "vetoed": True}, unlabelled_weight=0.1,
                   selection_rule="covariance gate (not passed), vetoed: prediction spread 14.8× the master's (p = 2e-06)")
    line = Predictions(SimpleNamespace(summary=summary), "y", [], np.zeros(0), *(np.zeros(0),) * 3).unlabelled_line
    assert "; predictions spread 14.8× the master's (p = 2e-06) → covariance weight 0.1 (covariance gate (not " \
           "passed), vetoed: prediction spread" in line
    assert Predictions(SimpleNamespace(summary={}), "y", [], np.zeros(0), *(np.zeros(0),) * 3).unlabelled_line == ""


def test_the_views_line_names_the_averaged_views(workspace):
    """A fitted ``spektron`` keeps its views in the summary; the line names them, and the
    diagnostics below it are the first view's."""
    from types import SimpleNamespace

    from spektron.workflows.transfer import Predictions

    master = read_spectra(workspace / "master.csv")
    y = np.array([float(r[1]) for r in list(csv.reader(open(workspace / "lab" / "properties.csv")))[1:41]])
    target = read_spectra(workspace / "target.csv").X
    model = fit_transfer_model("spektron", master.X, y, axis=master.axis, unit="nm", property_name="glucose",
                               target_unlabelled=target)
    assert model.summary["views"] == ["none", "sg1:15:2"] and "dropped_views" not in model.summary
    assert model.summary["unlabelled_weight"] == model.strategy.estimator_.primary_.unlabelled_weight_

    def line(summary):
        return Predictions(SimpleNamespace(summary=summary), "y", [], np.zeros(0), *(np.zeros(0),) * 3).views_line

    assert line(model.summary) == ("calibration: the mean of 2 views (the spectra, sg1:15:2), each with its own "
                                   "nuisance model; the lines below describe the first")
    assert line({"views": ["none", "sg1:15:2"], "dropped_views": ["sg2:21:3"]}).endswith(
        "; dropped, too wide for these spectra: sg2:21:3; the lines below describe the first")
    assert line({"views": ["none"]}) == line({}) == ""


def test_the_offset_line_says_where_the_offset_came_from():
    from types import SimpleNamespace

    from spektron.workflows.transfer import Predictions

    def line(detail):
        return Predictions(SimpleNamespace(summary={"offset": detail} if detail else {}), "y", [], np.zeros(0),
                           *(np.zeros(0),) * 3).offset_line

    both = {"source": "both", "offset": 0.12, "sd": 0.018, "pairs": 0.1, "pairs_var": 0.0004, "unlabelled": 0.2,
            "unlabelled_var": 0.0025, "unlabelled_sampling_var": 0.0025, "pairs_share": 0.8, "batch_shift_sd": 0.0}
    assert line(both) == ("prediction offset +0.12 (± 0.018): pairs +0.1 (± 0.02) and unlabelled +0.2 (± 0.05), "
                          "the pairs' share 0.80")
    shifted = dict(both, unlabelled=0.9, unlabelled_var=0.64, pairs_share=0.999, offset=0.1, batch_shift_sd=0.798)
    assert line(shifted).endswith("the pairs' share 1.00; the batch's chemistry differs from the calibration set's "
                                  "by about 0.8 beyond sampling, read off the two estimates' disagreement")
    alone = {"source": "unlabelled", "offset": 0.05, "sd": 0.05, "unlabelled": 0.2, "shrinkage": 0.25}
    assert line(alone) == ("prediction offset +0.05 (± 0.05) (from the unlabelled spectra, shrunk to 25% of their mean "
                           "difference +0.2: the two means differ little beyond sampling)")
    assert line(dict(alone, shrinkage=1.0, offset=0.2)).endswith("(from the unlabelled spectra)")
    assert line({"source": "pairs", "offset": 0.1, "pairs": 0.1}) == "prediction offset +0.1 (from the pairs)"
    assert line(None) == ""
    # a gain the pairs showed comes first: it changed the model the offset is read along
    gain = {"slope": 0.871, "se": 0.012, "p": 3e-5, "applied": True}
    summary = {"offset": {"source": "pairs", "offset": 0.1, "pairs": 0.1}, "pair_gain": gain}
    gained = Predictions(SimpleNamespace(summary=summary), "y", [], np.zeros(0), *(np.zeros(0),) * 3).offset_line
    assert gained == ("the pairs' gain 0.871 (± 0.012, p = 3e-05) divides the coefficients; "
                      "prediction offset +0.1 (from the pairs)")
    summary["pair_gain"] = dict(gain, applied=False)
    assert Predictions(SimpleNamespace(summary=summary), "y", [], np.zeros(0),
                       *(np.zeros(0),) * 3).offset_line == "prediction offset +0.1 (from the pairs)"


def test_the_response_line_says_what_operator_the_pairs_showed_and_whether_it_was_used():
    from types import SimpleNamespace

    from spektron.workflows.transfer import Predictions

    def line(response):
        return Predictions(SimpleNamespace(summary={"response": response} if response else {}), "y", [], np.zeros(0),
                           *(np.zeros(0),) * 3).response_line

    used = {"used": True, "explained": 0.963, "explained_loo": 0.9, "shift_cm1": -2.5, "broadening_cm1": 3.46,
            "gain": 0.95, "noise_sd": 1e-3}
    assert line(used) == ("instrument response from the pairs: shift -2.5 cm⁻¹, resolution 3.46 cm⁻¹, gain 0.95; "
                          "explains 96% of the pairs' differences, 90% out of sample → master spectra mapped through it")
    assert line(dict(used, used=False, explained=0.4, explained_loo=-1.2)).endswith(
        "explains 40% of the pairs' differences, -120% out of sample → not used (explains too little and leaves "
        "more than white noise)")
    # a grating unit's shift, in the axis's nm (the cm⁻¹ keys alone: a model saved before)
    nm = dict(used, shift=-0.8, broadening=0.3, shift_unit="nm", floor_ratio=1.1)
    assert line(nm).startswith("instrument response from the pairs: shift -0.8 nm, resolution 0.3 nm, gain 0.95;")
    assert line(dict(nm, stretch=0.0, axis_unit="nm")) == line(nm)  # no stretch fitted: not mentioned
    assert line(dict(nm, shift=-0.2, stretch=-0.6, axis_unit="nm")).startswith(
        "instrument response from the pairs: shift -0.2 nm plus a stretch of -0.6 nm at the axis's high end (the "
        "opposite at its low end), resolution 0.3 nm, gain 0.95;")
    check = {"mse_mapped": 0.5, "mse_unmapped": 0.25, "difference": 0.25, "difference_se": 0.1, "passed": False}
    assert line(dict(used, used=False, check=check)).endswith(
        "→ not used (it predicts held-out pairs worse: held-out pairs' MSE 0.5 mapped, 0.25 unmapped)")
    assert line(dict(used, check=dict(check, mse_mapped=0.1, passed=True))).endswith(
        "→ master spectra mapped through it (held-out pairs' MSE 0.1 mapped, 0.25 unmapped)")
    assert line(None) == ""
