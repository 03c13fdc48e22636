"""Run configuration: parsing TOML/YAML, overrides, and one-line errors before training."""

from __future__ import annotations

from importlib.resources import files

import pytest

from spektron.training.config import ConfigError, TrainConfig, load_run_config

GOOD_TOML = """
steps = 20
batch_size = 8
lr = 1e-3
warmup_steps = 2
[data]
source = "synthetic"
n_instruments = 3
n_molecules = 16
n_eval_molecules = 12
[model]
d_model = 32
n_layers = 1
"""


def _write(tmp_path, text, name="run.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_toml_round_trip(tmp_path):
    config = load_run_config(_write(tmp_path, GOOD_TOML))
    assert (config.steps, config.batch_size, config.lr) == (20, 8, 1e-3)
    assert config.data.n_instruments == 3
    assert config.model.n_instruments == 3  # follows the data unless set
    assert config.model.d_model == 32
    assert TrainConfig.from_dict(config.to_dict()) == config


def test_yaml_and_overrides(tmp_path):
    text = "steps: 30\nbatch_size: 8\nwarmup_steps: 0\ndata:\n  n_molecules: 10\nmodel:\n  d_model: 16\n"
    config = load_run_config(_write(tmp_path, text, "run.yaml"),
                             {"steps": 50, "model.lambda_adv": 0.0, "data.source": None})
    assert config.steps == 50
    assert config.model.lambda_adv == 0.0
    assert config.data.source == "synthetic"
    assert config.data.n_molecules == 10


def test_packaged_small_config_is_valid():
    config = load_run_config(files("spektron") / "configs" / "small.toml")
    assert config.data.source == "synthetic"
    assert config.data.n_instruments == 4


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"stepz": 5}, "unknown config key 'stepz'"),
        ({"data.n_molecule": 5}, "unknown config key 'data.n_molecule'"),
        ({"model.d_modl": 5}, "unknown config key 'model.d_modl'"),
        ({"steps": -5}, "steps must be a positive integer, got -5"),
        ({"steps": 2.5}, "steps must be an integer, got 2.5"),
        ({"model.mask_ratio": 1.2}, "model.mask_ratio must lie in (0, 1), got 1.2"),
        ({"model.mask_ratio": 0.0}, "model.mask_ratio must lie in (0, 1)"),
        ({"model.n_instruments": 5}, "model.n_instruments (5) does not match the 3 instruments of the data"),
        ({"data.n_instruments": 1, "model.n_instruments": 1}, "data.n_instruments must be an integer ≥ 2"),
        ({"batch_size": 2}, "batch_size (2) must be at least data.n_instruments (3)"),
        ({"lr": -1e-3}, "lr must be a positive number"),
        ({"warmup_steps": 20}, "warmup_steps (20) must be smaller than steps (20)"),
        ({"data.source": "imagenet"}, "data.source must be one of synthetic, qm9s, pool"),
        ({"data.source": "qm9s"}, "data.path is required when data.source is 'qm9s'"),
        ({"data.source": "pool", "data.path": "/no/such/dir"}, "data.path does not exist"),
        ({"min_lr_ratio": 2.0}, "min_lr_ratio must lie in [0, 1]"),
    ],
)
def test_bad_values_fail_with_one_line(tmp_path, edit, message):
    with pytest.raises(ConfigError) as info:
        load_run_config(_write(tmp_path, GOOD_TOML), edit)
    text = str(info.value)
    assert message in text
    assert "\n" not in text


def test_unreadable_files(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_run_config(tmp_path / "missing.toml")
    with pytest.raises(ConfigError, match="must end in .toml, .yaml or .yml"):
        load_run_config(_write(tmp_path, "steps = 1", "run.json"))
    with pytest.raises(ConfigError, match="cannot parse run.toml"):
        load_run_config(_write(tmp_path, "steps = = 1"))
    with pytest.raises(ConfigError, match=r"\[model\] must be a table"):
        load_run_config(_write(tmp_path, "model = 3"))


def test_cli_reports_bad_config_in_one_line(tmp_path):
    from typer.testing import CliRunner

    from spektron.cli.main import app

    bad = _write(tmp_path, GOOD_TOML.replace("steps = 20", "steps = -1"), "bad.toml")
    result = CliRunner().invoke(app, ["pretrain", "--config", str(bad), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert result.output.strip() == "error: steps must be a positive integer, got -1"
    assert not (tmp_path / "out").exists()  # failed before training started
