"""Deployment checklist on a tiny untrained model: the lines, their statuses, the exit code."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from spektron.cli.main import app

TINY = {
    "steps": 2, "batch_size": 6, "warmup_steps": 1, "eval_every": 1, "seed": 0,
    "data": {"source": "synthetic", "region": "mir", "n_instruments": 3, "n_molecules": 16, "n_eval_molecules": 10},
    "model": {"patch_size": 32, "d_model": 16, "n_layers": 1, "state_size": 4, "z_chem_dim": 6, "z_inst_dim": 3,
              "classifier_hidden": 8, "moe_every": 0, "n_instruments": 3},
}


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """model.pt (untrained) + config.json + target/master spectra files."""
    import torch

    from spektron.data.instruments import draw_instruments
    from spektron.data.synthetic import default_axis, mixtures
    from spektron.models import SpektronModel, save_model
    from spektron.training.config import TrainConfig

    torch.set_num_threads(1)
    root = tmp_path_factory.mktemp("check")
    config = TrainConfig.from_dict(TINY)
    torch.manual_seed(0)
    save_model(SpektronModel(config.model), root / "model.pt")
    (root / "config.json").write_text(json.dumps(config.to_dict()))
    axis = default_axis("mir")
    clean, conc = mixtures(24, 3, seed=1, axis=axis, unit="cm-1", region="mir")
    master, target = draw_instruments(2, seed=5)
    Xm = master.apply(clean, axis, "cm-1", rng=0)
    Xt = target.apply(clean, axis, "cm-1", rng=1)
    np.savez(root / "master.npz", X=Xm, wavenumber=axis, properties=conc[:, :1], property_names=np.array(["c1"]))
    np.savez(root / "target.npz", X=Xt, wavenumber=axis)
    return root


def test_checklist_without_target(run_dir):
    from spektron.workflows.check import run_checks
    from spektron.models import load_model
    from spektron.models.encode import encode_views
    from spektron.training.config import TrainConfig
    from spektron.training.data import PretrainData
    from spektron.training.diagnostics import evaluate_views

    checks = run_checks(run_dir, threads=1)
    names = [c.name for c in checks]
    assert names[:4] == ["posterior collapse of z_chem", "instrument leakage in z_chem",
                         "cross-instrument retrieval from z_chem", "disentanglement verdict"]
    assert [c.status for c in checks[-3:]] == ["n/a"] * 3
    # the numbers are those of the trainer's own diagnostics on the run's held-out views
    config = TrainConfig.from_dict(TINY)
    views = PretrainData(config.data, seed=0, batch_size=6).eval_views()
    emb = encode_views(load_model(run_dir / "model.pt"), views["x"], views["axis"], views["instrument"],
                       views["molecule"])
    diag = evaluate_views(emb["z_chem"], emb["z_inst"], emb["molecule"], emb["instrument"], seed=0)
    assert f"top-1 {100 * diag['retrieval_top1']:.1f}%" in checks[2].detail
    assert f"probe accuracy {100 * diag['inst_acc_chem']:.1f}%" in checks[1].detail
    assert checks[3].status == ("pass" if checks[1].status == checks[2].status == "pass" else "fail")


def test_checklist_with_target_and_master(run_dir):
    from spektron.workflows.check import run_checks

    checks = run_checks(run_dir, target=run_dir / "target.npz", master=run_dir / "master.npz",
                        adaptation_steps=2, threads=1)
    by_name = {c.name.split(" (")[0]: c for c in checks}
    ttt = by_name["test-time training decreased the loss"]
    assert ttt.status in ("pass", "warn", "fail") and "→" in ttt.detail
    recon = by_name["reconstruction error on the target within the master's range"]
    assert recon.status in ("pass", "fail") and "95th percentile" in recon.detail
    pred = by_name["predictions within the calibration range"]
    assert pred.status in ("pass", "fail") and "% of 24 predictions" in pred.detail


def test_reconstruction_errors_are_per_spectrum_and_deterministic(run_dir):
    from spektron.workflows.check import reconstruction_errors
    from spektron.data.readers import read_spectra
    from spektron.models import load_model

    model = load_model(run_dir / "model.pt")
    data = read_spectra(run_dir / "target.npz")
    a = reconstruction_errors(model, data.X[:5], data.axis)
    b = reconstruction_errors(model, data.X[:5], data.axis)
    assert a.shape == (5,) and np.all(a > 0) and np.array_equal(a, b)


def test_cli_exit_codes(run_dir, tmp_path, monkeypatch):
    import spektron.workflows.check
    from spektron.report.verdict import Check

    runner = CliRunner()
    result = runner.invoke(app, ["check", str(run_dir), "--threads", "1"])
    failed = result.output.count("[FAIL]")
    assert result.exit_code == (1 if failed else 0), result.output
    assert "cross-instrument retrieval" in result.output and "checks without failure" in result.output

    monkeypatch.setattr(spektron.workflows.check, "run_checks", lambda *a, **k: [Check("a", "pass", "ok"), Check("b", "n/a", "-")])
    assert runner.invoke(app, ["check", str(run_dir)]).exit_code == 0
    monkeypatch.setattr(spektron.workflows.check, "run_checks", lambda *a, **k: [Check("a", "pass", "ok"), Check("b", "fail", "x")])
    bad = runner.invoke(app, ["check", str(run_dir)])
    assert bad.exit_code == 1 and "[FAIL] b: x" in bad.output
    monkeypatch.undo()
    missing = runner.invoke(app, ["check", str(tmp_path / "nothing.pt")])
    assert missing.exit_code == 2 and "no model file" in missing.output


def test_master_properties_from_a_separate_table(run_dir, tmp_path):
    """Spectra without values + a properties CSV matched by sample id: the prediction-range
    check runs (it said n/a before --master-properties existed)."""
    import csv

    from spektron.workflows.check import run_checks

    data = np.load(run_dir / "master.npz")
    with open(tmp_path / "master.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["sample"] + [f"{a:g}" for a in data["wavenumber"]])
        w.writerows([[f"s{i}"] + [f"{v:.6g}" for v in row] for i, row in enumerate(data["X"])])
    with open(tmp_path / "props.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["sample", "c1"])
        w.writerows([[f"s{i}", f"{v:.6g}"] for i, v in enumerate(data["properties"][:, 0])])
    target = np.load(run_dir / "target.npz")
    with open(tmp_path / "target.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([f"{a:g}" for a in target["wavenumber"]])
        w.writerows([[f"{v:.6g}" for v in row] for row in target["X"]])
    checks = run_checks(run_dir, target=tmp_path / "target.csv", master=tmp_path / "master.csv",
                        master_properties=tmp_path / "props.csv", adaptation_steps=1, threads=1)
    (line,) = [c for c in checks if c.name.startswith("predictions within the calibration range")]
    assert line.name == "predictions within the calibration range (c1)" and line.status in ("pass", "fail")
