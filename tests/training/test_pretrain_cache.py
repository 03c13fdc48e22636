"""The pretrained-model cache behind ``spektron demo``'s second run: a stored run comes
back as the same model and result, any change to the configuration misses, and a
half-written or damaged entry is never used."""

from __future__ import annotations

import pytest
import torch

from spektron.models import load_model
from spektron.training.cache import RUN_FILES, cache_key, load_cached_run, store_run
from spektron.training.config import TrainConfig
from spektron.training.trainer import pretrain

TINY = {
    "steps": 2, "batch_size": 6, "warmup_steps": 1, "eval_every": 2, "log_every": 1, "ckpt_every": 0,
    "num_threads": 1,
    "data": {"n_instruments": 3, "n_molecules": 8, "n_eval_molecules": 10},
    "model": {"patch_size": 32, "d_model": 16, "n_layers": 1, "state_size": 4, "z_chem_dim": 6,
              "z_inst_dim": 3, "classifier_hidden": 8, "moe_every": 0},
}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    config = TrainConfig.from_dict(TINY)
    run = tmp_path_factory.mktemp("run")
    return config, pretrain(config, run, progress=False)


def test_a_stored_run_comes_back_identical(trained, tmp_path):
    config, result = trained
    entry = store_run(config, result, root=tmp_path / "cache")
    assert entry is not None and entry.name == cache_key(config)
    assert not [p for p in (tmp_path / "cache").iterdir() if p.name.startswith(".tmp-")]
    out = tmp_path / "second"
    again = load_cached_run(config, out, root=tmp_path / "cache")
    assert again is not None and not again.interrupted
    assert (again.step, again.steps, again.diagnostics) == (result.step, result.steps, result.diagnostics)
    for name in RUN_FILES:
        assert (out / name).read_bytes() == (result.out_dir / name).read_bytes()
    a, b = load_model(result.model_path), load_model(again.model_path)
    for (name, p), (_, q) in zip(a.state_dict().items(), b.state_dict().items()):
        assert torch.equal(p, q), name
    # storing the same run again keeps the first entry
    assert store_run(config, result, root=tmp_path / "cache") == entry


def test_any_change_of_configuration_misses(trained, tmp_path):
    config, result = trained
    store_run(config, result, root=tmp_path)
    for change in ({"seed": 1}, {"steps": 3}, {"model": {**TINY["model"], "d_model": 8}}):
        other = TrainConfig.from_dict({**TINY, **change})
        assert cache_key(other) != cache_key(config)
        assert load_cached_run(other, tmp_path / "out", root=tmp_path) is None
    assert cache_key(TrainConfig.from_dict(TINY)) == cache_key(config)


def test_incomplete_or_damaged_entries_are_not_used(trained, tmp_path):
    config, result = trained
    entry = store_run(config, result, root=tmp_path)
    (entry / "model.pt").unlink()
    assert load_cached_run(config, tmp_path / "out", root=tmp_path) is None
    entry = store_run(config, result, root=tmp_path / "b")
    (entry / "result.json").write_text("{not json", encoding="utf-8")
    assert load_cached_run(config, tmp_path / "out", root=tmp_path / "b") is None


def test_interrupted_runs_are_not_stored(trained, tmp_path):
    import dataclasses

    config, result = trained
    assert store_run(config, dataclasses.replace(result, interrupted=True), root=tmp_path) is None
    assert not any(tmp_path.iterdir())


def test_demo_cli_offers_the_switches():
    from typer.testing import CliRunner

    from spektron.cli.main import app

    res = CliRunner().invoke(app, ["demo", "--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0
    assert "--no-cache" in res.output and "--deep" in res.output


def test_the_report_says_the_model_came_from_the_cache(tmp_path):
    from spektron.report.html import _summary_rows
    from spektron.report.run import RunData

    rows = dict(_summary_rows(RunData(tmp_path, demo={"pretrain_s": 0.2, "pretrain_from_cache": True})))
    assert rows["pretraining wall time"] == "0 s (model from the cache)"
    rows = dict(_summary_rows(RunData(tmp_path, demo={"pretrain_s": 48.6, "pretrain_from_cache": False})))
    assert rows["pretraining wall time"] == "49 s"


def test_the_trainer_writes_the_embeddings_the_report_used_to_rebuild(trained, tmp_path):
    """embeddings.npz from the trainer equals what the old path computed after the fact
    (rebuild the held-out views from config.json, encode them with model.pt), and
    ensure_embeddings recreates it for a run that lacks it."""
    import json
    import shutil

    import numpy as np

    from spektron.run_layout import CONFIG, EMBEDDING_KEYS, EMBEDDINGS, load_embeddings
    from spektron.workflows.embeddings import compute_embeddings, ensure_embeddings

    config, result = trained
    written = load_embeddings(result.out_dir / EMBEDDINGS)
    config_dict = json.loads((result.out_dir / CONFIG).read_text())
    rebuilt = compute_embeddings(result.model_path, config_dict, threads=None)
    for key in EMBEDDING_KEYS:
        np.testing.assert_allclose(written[key], rebuilt[key], rtol=1e-5, atol=1e-6, err_msg=key)
    old_run = tmp_path / "old"
    shutil.copytree(result.out_dir, old_run, ignore=shutil.ignore_patterns(EMBEDDINGS, "checkpoints"))
    assert not (old_run / EMBEDDINGS).exists()
    assert ensure_embeddings(old_run) == old_run / EMBEDDINGS
    np.testing.assert_allclose(load_embeddings(old_run / EMBEDDINGS)["mu_chem"], written["mu_chem"], rtol=1e-5,
                               atol=1e-6)
    assert ensure_embeddings(tmp_path) is None  # no model, nothing to encode
