"""The domain-adaptation baselines coral/mmd/dann/lora fit and predict through the registry."""

from __future__ import annotations

import numpy as np
import pytest

from spektron.methods.context import TransferContext
from spektron.methods.registry import get_method, method_spec
from spektron.transfer.da_strategies import AlignedSpektronTransfer

from instrument_pair import AXIS, TINY, synthetic_pair


def _context(k: int, unlabelled: bool = True, seed: int = 3):
    X, T, y = synthetic_pair(28)
    return TransferContext(master_X=X[:24], master_y=y[:24], axis=AXIS, unit="nm",
                           transfer_master_X=X[:k], transfer_target_X=T[:k], transfer_y=y[:k],
                           target_unlabelled_X=T[:24] if unlabelled else None, seed=seed), T[24:]


@pytest.mark.parametrize("name", ["coral", "mmd", "dann"])
@pytest.mark.parametrize("k", [0, 2])
def test_whole_latent_methods_fit_and_predict(name, k):
    ctx, test = _context(k)
    strategy = get_method(name, steps=3, batch_size=8, num_threads=1).fit(ctx)
    pred = strategy.predict(test)
    assert pred.shape == (4,) and np.all(np.isfinite(pred))
    cfg = strategy.estimator_.model_.config
    # one latent, master and target classes only: no simulated instruments
    assert cfg.split_latent is False and cfg.n_instruments == 2
    assert strategy.estimator_.adaptation_["lambda_adv"] == (1.0 if name == "dann" else 0.0)
    if name != "dann":
        history = strategy.estimator_.align_history_
        assert len(history) == 3 and all(np.isfinite(history))
    assert not method_spec(name).requires_pairs


def test_alignment_penalty_changes_the_adapted_model_and_is_removed_after_fit():
    X, T, y = synthetic_pair(30)
    kw = dict(model_config=TINY, steps=4, batch_size=8, seed=0, split_latent=False)
    fit = lambda est: est.fit(X[:24], y[:24], axis=AXIS, unit="nm", target_unlabelled=T[:24])  # noqa: E731
    plain = fit(AlignedSpektronTransfer(alignment="coral", lambda_align=0.0, **kw))
    coral = fit(AlignedSpektronTransfer(alignment="coral", lambda_align=10.0, **kw))
    # same start and same first batch: the first penalty is the same; the weight then changes the training
    assert len(plain.align_history_) == 4 and plain.align_history_[0] == pytest.approx(coral.align_history_[0])
    assert not np.allclose(plain.transform(T[24:]), coral.transform(T[24:]))
    model = coral.model_
    assert not model._forward_hooks and not model.vib_chem._forward_hooks
    assert "alignment" in coral.get_params() and coral.get_params()["steps"] == 4


def test_lambda_align_zero_reproduces_the_plain_estimator():
    from spektron.transfer import SpektronTransfer

    X, T, y = synthetic_pair(30)
    kw = dict(model_config=TINY, steps=3, batch_size=8, seed=0)
    a = AlignedSpektronTransfer(alignment="mmd", lambda_align=0.0, **kw).fit(
        X[:24], y[:24], axis=AXIS, unit="nm", target_unlabelled=T[:24])
    b = SpektronTransfer(**kw).fit(X[:24], y[:24], axis=AXIS, unit="nm", target_unlabelled=T[:24])
    np.testing.assert_allclose(a.predict(T[24:]), b.predict(T[24:]), rtol=1e-5, atol=1e-6)


#: The settings that make coral/mmd/dann train like spektron-deep (and like they did before).
EARLIER = dict(model_size="default", steps=150, batch_size=32, fused_optimizer=False, patience=None, head="auto",
               num_threads=2)


def test_defaults_are_the_fast_ones_and_the_earlier_settings_match_the_spektron_strategy():
    shared = ("steps", "lr", "batch_size", "lambda_pair", "lambda_y", "head", "checkpoint", "num_threads")
    ref = get_method("spektron-deep").get_params()
    lora = get_method("lora").get_params()
    assert {k: lora[k] for k in shared if k in lora} == {k: ref[k] for k in shared if k in lora}
    assert lora["rank"] == 4
    fast = dict(model_size="data", steps=60, batch_size=None, fused_optimizer=True, patience=3, head=("knn", "ridge"),
                num_threads=1)
    for name in ("coral", "mmd", "dann"):
        params = get_method(name).get_params()
        assert {k: params[k] for k in fast} == fast
        earlier = get_method(name, **EARLIER).get_params()
        assert {k: earlier[k] for k in shared} == {k: ref[k] for k in shared}


def test_the_earlier_settings_train_the_default_model_and_the_defaults_a_data_sized_one():
    from spektron.transfer.adaptation import default_model_config

    ctx, test = _context(2)
    earlier = get_method("dann", **{**EARLIER, "steps": 2, "num_threads": 1}).fit(ctx).estimator_
    assert earlier.model_.config == default_model_config(100, n_instruments=2, split_latent=False)
    assert (earlier.adaptation_["batch_size"], earlier.adaptation_["patience"], earlier.adaptation_["fused"]) == (
        32, None, False)
    fast = get_method("dann", steps=2).fit(ctx).estimator_  # 24 calibration spectra
    cfg = fast.model_.config
    assert (cfg.d_model, cfg.n_layers, cfg.latent_dim, cfg.moe_every, cfg.n_instruments) == (16, 1, 16, 0, 2)
    assert fast.adaptation_["batch_size"] is None and fast.head_.head_ in ("knn", "ridge")


def test_dann_stops_early_on_the_calibration_codes():
    ctx, test = _context(2)
    est = get_method("dann", steps=30, check_every=3, patience=1).fit(ctx).estimator_
    n, scores = est.n_steps_, est.stopping_scores_
    assert n <= 30 and n % 3 == 0 and [s for s, _ in scores] == list(range(3, n + 1, 3))
    assert all(np.isfinite(v) and v > 0 for _, v in scores)
    if n < 30:  # stopped: the last check did not lower the score
        assert scores[-1][1] >= min(v for _, v in scores[:-1])


def test_alignment_without_target_data_is_a_clear_error():
    ctx, _ = _context(0, unlabelled=False)
    with pytest.raises(ValueError, match="needs unlabelled target spectra"):
        get_method("coral", steps=1, num_threads=1).fit(ctx)
    with pytest.raises(ValueError, match="alignment must be one of"):
        AlignedSpektronTransfer(alignment="wasserstein", model_config=TINY, steps=1).fit(
            ctx.master_X, ctx.master_y, axis=AXIS)


def test_lora_fits_on_pairs_and_refuses_k0():
    assert method_spec("lora").requires_pairs
    ctx0, _ = _context(0)
    with pytest.raises(ValueError, match=r"'lora' needs at least 1 transfer sample"):
        get_method("lora", steps=2, lora_steps=2, num_threads=1).fit(ctx0)
    ctx, test = _context(3)
    strategy = get_method("lora", steps=2, lora_steps=5, batch_size=8, num_threads=1).fit(ctx)
    pred = strategy.predict(test)
    assert pred.shape == (4,) and np.all(np.isfinite(pred))
    # the adapters were trained (the loss moved) and merged back: a plain model remains
    assert strategy.history_[0]["loss"] != strategy.history_[-1]["loss"]
    from spektron.transfer.lora import LoRALinear

    assert not any(isinstance(m, LoRALinear) for m in strategy.estimator_.model_.modules())
    # the master-adapted model is shared across k: a second fit reuses it and differs only by the adapters
    ctx5, _ = _context(5)
    other = get_method("lora", steps=2, lora_steps=5, batch_size=8, num_threads=1).fit(ctx5)
    assert np.all(np.isfinite(other.predict(test)))
    with pytest.raises(ValueError, match="rank"):
        get_method("lora", rank=0, steps=2, num_threads=1).fit(ctx)
