"""Test-time training: only LayerNorm affine parameters and the VIB heads may move."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from spektron.models import SpektronConfig, SpektronModel
from spektron.transfer.ttt import TTTConfig, run_test_time_training

AXIS_CM1 = np.linspace(4000.0, 9000.0, 96)


def _model(seed: int = 0) -> SpektronModel:
    torch.manual_seed(seed)
    cfg = SpektronConfig(patch_size=8, d_model=16, n_layers=2, state_size=4, z_chem_dim=8, z_inst_dim=4,
                         classifier_hidden=8, moe_experts=2, moe_top_k=1, moe_every=2, dropout=0.0)
    return SpektronModel(cfg)


def _spectra(n: int = 12, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.uniform(5000, 8000, size=(n, 1))
    return np.exp(-0.5 * ((AXIS_CM1 - centres) / 300.0) ** 2) + 0.01 * rng.standard_normal((n, AXIS_CM1.size))


def test_only_ttt_parameters_change():
    model = _model()
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    allowed = {id(p) for p in model.ttt_parameters()}
    allowed_names = {name for name, p in model.named_parameters() if id(p) in allowed}
    result = run_test_time_training(model, _spectra(), AXIS_CM1, TTTConfig(steps=3, lr=1e-2))
    changed = {name for name, p in model.named_parameters() if not torch.equal(p.detach(), before[name])}
    assert changed, "test-time training changed nothing"
    assert changed <= allowed_names, f"frozen parameters moved: {sorted(changed - allowed_names)}"
    # the VIB projections and the backbone's LayerNorms are among what moved
    assert {"vib_chem.proj.weight", "vib_inst.proj.weight", "norm.weight"} <= changed
    assert any(name.startswith("blocks.") for name in changed)
    # everything else is bit-for-bit unchanged, and trainability flags are restored
    frozen = set(before) - allowed_names
    assert len(frozen) > 10
    assert all(p.requires_grad for p in model.parameters())
    assert result.n_parameters == sum(p.numel() for p in model.ttt_parameters())
    assert result.steps == 3 and result.n_spectra == 10  # default K = 10 of the 12 given


def test_defaults_follow_the_spec():
    cfg = TTTConfig()
    assert (cfg.n_spectra, cfg.steps, cfg.lr, cfg.mask_ratio) == (10, 3, 1e-5, 0.35)


def test_loss_decreases_with_enough_steps():
    model = _model(1)
    X = _spectra(8, seed=1)
    result = run_test_time_training(model, X, AXIS_CM1, TTTConfig(steps=25, lr=5e-3))
    assert np.isfinite(result.loss_before) and np.isfinite(result.loss_after)
    assert result.loss_after < result.loss_before


def test_zero_steps_is_a_no_op():
    model = _model(2)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    result = run_test_time_training(model, _spectra(4), AXIS_CM1, TTTConfig(steps=0))
    assert result.loss_before == result.loss_after
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())


@pytest.mark.parametrize("field, value", [("steps", -1), ("lr", 0.0), ("mask_ratio", 1.0), ("n_spectra", 0)])
def test_bad_settings_are_refused(field, value):
    with pytest.raises(ValueError, match=field):
        run_test_time_training(_model(), _spectra(4), AXIS_CM1, TTTConfig(**{field: value}))


def test_bad_spectra_are_refused():
    X = _spectra(4)
    X[1, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        run_test_time_training(_model(), X, AXIS_CM1)
