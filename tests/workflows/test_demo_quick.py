"""Pieces of ``spektron demo`` and ``spektron sweep vib`` (the full quick demo takes ~2 min,
too long for the test suite; it is run by hand, see the issue's closing note)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from spektron.cli.main import app
from spektron.data.synthetic_pairs import synthetic_transfer_dataset
from spektron.workflows.demo import DemoPlan, _demo_instruments, demo_plan
from spektron.workflows.sweep import parse_weights, select_weight, sweep_vib


def test_synthetic_transfer_dataset_is_paired_with_known_properties():
    master, target = _demo_instruments(4, seed=0)
    data = synthetic_transfer_dataset(30, 4, 2, master=master, target=target, seed=3, reference_noise=0.0)
    assert data.instrument_names == [master.name, target.name] == ["sim0", "new"]
    assert data.property_names == ("conc_1", "conc_2")
    A, B = data.pair("sim0", "new")
    assert A.X.shape == B.X.shape == (30, 875) and A.unit == "cm-1"
    assert np.array_equal(A.properties, B.properties)
    assert np.all((A.properties >= 0) & (A.properties <= 1))
    # the instruments differ (shift, broadening, baseline), but the chemistry is shared
    assert not np.allclose(A.X, B.X, atol=1e-3)
    assert np.corrcoef(A.X.mean(0), B.X.mean(0))[0, 1] > 0.9
    # Beer-Lambert: with noiseless references a linear model on the master is near exact
    from sklearn.linear_model import LinearRegression

    fit = LinearRegression().fit(A.X[:, ::5], A.property("conc_1"))
    assert fit.score(A.X[:, ::5], A.property("conc_1")) > 0.99


def test_master_is_a_pretraining_instrument_and_target_is_new():
    from spektron.data.instruments import draw_instruments

    master, target = _demo_instruments(4, seed=0)
    pretraining = draw_instruments(4, seed=0)
    assert master.to_dict() == pretraining[0].to_dict()
    assert all(target.shift_cm1 != p.shift_cm1 for p in pretraining)


def test_reference_noise_and_bad_arguments():
    master, target = _demo_instruments(4, seed=0)
    clean = synthetic_transfer_dataset(20, 3, 1, master=master, target=target, reference_noise=0.0)
    noisy = synthetic_transfer_dataset(20, 3, 1, master=master, target=target, reference_noise=0.05)
    diff = noisy.properties - clean.properties
    assert 0.01 < diff.std() < 0.1
    with pytest.raises(ValueError, match="n_properties"):
        synthetic_transfer_dataset(20, 2, 3, master=master, target=target)
    with pytest.raises(ValueError, match="unknown demo data set"):
        demo_plan("qm9")


def test_quick_plan_is_smaller_than_default():
    quick, full = demo_plan(quick=True), demo_plan()
    assert isinstance(quick, DemoPlan) and quick.ks == full.ks == (0, 5, 10)
    assert quick.pretrain["steps"] < full.pretrain["steps"]
    assert "spektron" in quick.methods and "target" in quick.methods
    assert demo_plan("corn").pretrain["data.region"] == "nir"


def test_sweep_selection_and_parsing():
    assert parse_weights("1e-2, 1e-4,1e-3,1e-2") == [1e-4, 1e-3, 1e-2]
    with pytest.raises(ValueError, match="comma-separated numbers"):
        parse_weights("1e-3,abc")
    with pytest.raises(ValueError, match="positive"):
        parse_weights("0,1e-3")
    runs = [{"w_kl": 1e-4, "retrieval_top1": 0.6, "inst_acc_chem": 0.3, "final_loss": 1.0},
            {"w_kl": 1e-2, "retrieval_top1": 0.8, "inst_acc_chem": 0.5, "final_loss": 3.0},
            {"w_kl": 1e-1, "retrieval_top1": 0.8, "inst_acc_chem": 0.3, "final_loss": 5.0}]
    # retrieval, not loss; ties go to the lower z_chem leakage
    assert select_weight(runs) == 1e-1


def test_sweep_trains_one_run_per_weight(tmp_path):
    from spektron.training.config import TrainConfig

    config = TrainConfig.from_dict({
        "steps": 2, "batch_size": 6, "warmup_steps": 1, "eval_every": 2, "log_every": 1, "ckpt_every": 0,
        "num_threads": 1,
        "data": {"n_instruments": 3, "n_molecules": 8, "n_eval_molecules": 10},
        "model": {"patch_size": 32, "d_model": 16, "n_layers": 1, "state_size": 4, "z_chem_dim": 6,
                  "z_inst_dim": 3, "classifier_hidden": 8, "moe_every": 0},
    })
    sweep = sweep_vib([1e-3, 1e-1], tmp_path, config, progress=False, echo=lambda s: None)
    assert [r["w_kl"] for r in sweep["runs"]] == [1e-3, 1e-1]
    for r in sweep["runs"]:
        assert json.loads((tmp_path / f"w_kl={r['w_kl']:g}" / "config.json").read_text())["model"]["w_kl"] == r["w_kl"]
    assert sweep["selected"] == select_weight(sweep["runs"])
    assert json.loads((tmp_path / "sweep.json").read_text())["selected"] == sweep["selected"]
    from spektron.models.config import SpektronConfig

    assert config.model.w_kl == SpektronConfig().w_kl  # the caller's config is not modified


def test_cli_help_pages():
    runner = CliRunner()
    for args in (["demo", "--help"], ["report", "--help"], ["sweep", "vib", "--help"], ["check", "--help"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert "Example" in result.output
    bad = runner.invoke(app, ["demo", "--dataset", "qm9"])
    assert bad.exit_code == 2 and "--dataset" in bad.output
