"""SpektronTransfer: fit/adapt/predict on synthetic instrument pairs, pickling, axis checks,
and the benchmark strategies."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from spektron.methods.context import TransferContext
from spektron.methods.registry import get_method
from spektron.transfer import SpektronTransfer

from instrument_pair import AXIS, TINY, synthetic_pair


def _fit(**kw):
    X, T, y = synthetic_pair()
    params = dict(model_config=TINY, steps=4, batch_size=8, seed=0)
    params.update(kw)
    est = SpektronTransfer(**params).fit(X[:24], y[:24], axis=AXIS, unit="nm",
                                         pairs=(X[:3], T[:3], y[:3]), target_unlabelled=T[:24])
    return est, X, T, y


def test_fit_predict_transform_retrieve_shapes():
    est, X, T, y = _fit()
    assert est.predict(T[24:]).shape == (6,)
    assert est.transform(T[24:]).shape == (6, 8)
    assert est.transform_instrument(T[24:]).shape == (6, 4)
    idx, dist = est.retrieve(T[:5])
    assert idx.shape == dist.shape == (5,) and idx.max() < 24
    assert 0.25 <= est.strength_ <= 4.0
    assert est.head_.head_ in ("knn", "ridge", "pls")
    assert est.history_ and np.isfinite(est.history_[-1]["total"])


def test_pickle_round_trip_gives_identical_predictions():
    est, X, T, y = _fit()
    est.adapt(T[:24])
    before = est.predict(T[24:])
    clone = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(clone.predict(T[24:]), before)
    np.testing.assert_array_equal(clone.transform(T[24:]), est.transform(T[24:]))


def test_adapt_reports_the_loss_and_changes_only_the_allowed_parameters():
    import torch

    est, X, T, y = _fit(ttt_lr=1e-2)
    model = est.model_
    allowed = {id(p) for p in model.ttt_parameters()}
    before = {id(p): p.detach().clone() for p in model.parameters()}
    est.adapt(T[:24])
    r = est.ttt_result_
    assert r.n_spectra == 10 and r.steps == 3 and np.isfinite(r.loss_before) and np.isfinite(r.loss_after)
    moved = {id(p) for p in model.parameters() if not torch.equal(p.detach(), before[id(p)])}
    assert moved and moved <= allowed


def test_wrong_length_is_a_clear_error_and_resampling_on_request():
    est, X, T, y = _fit()
    with pytest.raises(ValueError, match="99 channels but the model was fitted on 100"):
        est.predict(T[:, :99])
    other = np.linspace(1096.0, 1500.0, 120)
    T_other = np.stack([np.interp(other, AXIS, row) for row in T])
    with pytest.raises(ValueError, match="different axis.*resample=True"):
        est.predict(T_other, axis=other)
    est.set_params(resample=True)
    p = est.predict(T_other, axis=other)
    assert p.shape == (30,) and np.all(np.isfinite(p))
    # an axis outside the fitted range cannot be interpolated
    with pytest.raises(ValueError, match="outside"):
        est.predict(T[:, :50], axis=np.linspace(1000.0, 1300.0, 50))


@pytest.mark.parametrize("bad, match", [
    ("nan", "non-finite"), ("y_len", "master_y has"), ("pairs", "pairs disagree"), ("axis", "axis has"),
])
def test_bad_fit_inputs(bad, match):
    X, T, y = synthetic_pair()
    kw = dict(axis=AXIS, unit="nm")
    est = SpektronTransfer(model_config=TINY, steps=1)
    if bad == "nan":
        X = X.copy()
        X[2, 5] = np.nan
    elif bad == "y_len":
        y = y[:-1]
    elif bad == "pairs":
        kw["pairs"] = (X[:3], T[:2], y[:3])
    elif bad == "axis":
        kw["axis"] = AXIS[:-1]
    with pytest.raises(ValueError, match=match):
        est.fit(X, y, **kw)


def test_disentanglement_reports_the_three_numbers():
    est, X, T, y = _fit()
    d = est.disentanglement(X[:20], T[:20])
    assert set(d) == {"chance", "inst_acc_chem", "inst_acc_inst", "retrieval_top1"}
    assert all(0.0 <= d[k] <= 1.0 for k in ("inst_acc_chem", "inst_acc_inst", "retrieval_top1"))


def test_same_seed_same_predictions():
    a, X, T, y = _fit()
    b, *_ = _fit()
    np.testing.assert_allclose(a.predict(T[24:]), b.predict(T[24:]), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["spektron-deep", "spektron-deep-nottt", "spektron-deep-nogrl", "spektron-deep-nosplit"])
@pytest.mark.parametrize("k", [0, 2])
def test_registered_strategies_fit_a_context(name, k):
    X, T, y = synthetic_pair(20)
    ctx = TransferContext(master_X=X[:16], master_y=y[:16], axis=AXIS, unit="nm",
                          transfer_master_X=X[:k], transfer_target_X=T[:k], transfer_y=y[:k],
                          target_unlabelled_X=T[:16], seed=3)
    strategy = get_method(name, steps=2, batch_size=8, num_threads=1).fit(ctx)
    pred = strategy.predict(T[16:])
    assert pred.shape == (4,) and np.all(np.isfinite(pred))
    est = strategy.estimator_
    assert (est.ttt_result_ is not None) == (name != "spektron-deep-nottt")
    if name == "spektron-deep-nosplit":
        assert est.model_.config.split_latent is False and est.transform(T[:2]).shape[1] == 192
    if name == "spektron-deep-nogrl":
        assert est.adaptation_["lambda_adv"] == 0.0 and est.model_.config.lambda_adv == 1.0  # saved config untouched


def test_extra_loss_sees_each_batch_and_enters_the_objective():
    """adapt_to_pair's extra_loss hook (how CORAL/MMD plug in): called once per step with
    the batch's z_chem means and labels; a constant term shifts the logged total by itself."""
    import torch

    from spektron.models import SpektronModel
    from spektron.transfer.adaptation import AdaptationConfig, adapt_to_pair, default_model_config

    X, T, y = synthetic_pair()
    calls = []

    def extra(mu, labels):
        calls.append((tuple(mu.shape), sorted(set(labels.tolist()))))
        return torch.tensor(5.0)

    def run(fn):
        torch.manual_seed(0)
        model = SpektronModel(default_model_config(X.shape[1], **TINY))
        return adapt_to_pair(model, X[:24], y[:24], AXIS, "nm", pairs=(X[:3], T[:3], y[:3]), target_X=T[:24],
                             config=AdaptationConfig(steps=3, batch_size=8, seed=0), extra_loss=fn).history

    with_extra, without = run(extra), run(None)
    assert len(calls) == 3
    assert all(shape[1] == TINY["z_chem_dim"] and {0, 1} <= set(labs) for shape, labs in calls)
    assert with_extra[0]["extra"] == 5.0 and "extra" not in without[0]
    assert with_extra[0]["total"] == pytest.approx(without[0]["total"] + 5.0, rel=1e-6)


def test_a_checkpoint_from_another_spectral_region_warns(tmp_path):
    """A model pretrained on mid-IR (500–4000 cm⁻¹) used on NIR nm data (about 6700–9100 cm⁻¹
    here): the encoder's positional code extrapolates, and the user is told."""
    import torch

    from spektron.models import SpektronModel, load_model, save_model
    from spektron.transfer.adaptation import default_model_config

    X, T, y = synthetic_pair(20)
    torch.manual_seed(0)
    path = save_model(SpektronModel(default_model_config(X.shape[1], **TINY)), tmp_path / "mir.pt",
                      meta={"axis_range_cm1": [500.0, 4000.0], "region": "mir"})
    assert load_model(path).meta["region"] == "mir"
    with pytest.warns(UserWarning, match=r"pretrained on 500–4000 cm⁻¹ but these spectra span .* \(100% outside\)"):
        SpektronTransfer(checkpoint=str(path), steps=1, batch_size=8, num_threads=1).fit(X, y, axis=AXIS, unit="nm")


def test_test_time_training_that_raises_the_loss_says_so():
    X, T, y = synthetic_pair(20)
    est = SpektronTransfer(model_config=TINY, steps=2, batch_size=8, ttt_steps=3, ttt_lr=30.0, seed=0,
                           num_threads=1).fit(X[:16], y[:16], axis=AXIS, unit="nm")
    with pytest.warns(UserWarning, match="test-time training raised the masked-reconstruction loss"):
        est.adapt(T[:16])
    assert est.ttt_result_.loss_after > est.ttt_result_.loss_before


# ------------------------------------------------- fast settings (the DA baselines' defaults)
def test_data_sized_model_follows_the_calibration_set():
    from spektron.transfer.adaptation import data_sized_model_config

    corn = data_sized_model_config(700, 64)  # corn: 700 channels, 64 calibration spectra
    assert (corn.patch_size, corn.d_model, corn.state_size, corn.n_layers, corn.moe_every) == (64, 32, 16, 1, 0)
    assert (corn.z_chem_dim, corn.z_inst_dim, corn.classifier_hidden) == (16, 16, 32)
    big = data_sized_model_config(700, 1000)
    assert (big.d_model, big.z_chem_dim + big.z_inst_dim) == (64, 128)
    small = data_sized_model_config(100, 8, n_tokens=24, z_chem_dim=4)
    assert (small.d_model, small.z_chem_dim, small.z_inst_dim, small.patch_size) == (16, 4, 8, 4)
    with pytest.raises(ValueError, match="at least 2 calibration spectra"):
        data_sized_model_config(700, 1)


def test_model_size_data_builds_the_data_sized_model():
    est, X, T, y = _fit(model_size="data", model_config={"n_tokens": 24})
    cfg = est.model_.config  # 24 master spectra of 100 channels
    assert (cfg.d_model, cfg.n_layers, cfg.latent_dim, cfg.patch_size) == (16, 1, 16, 4)
    with pytest.raises(ValueError, match="model_size must be"):
        _fit(model_size="large")


def test_early_stopping_stops_after_patience_checks_without_a_lower_score(monkeypatch):
    import spektron.transfer.adaptation as adaptation

    scores = iter([1.0, 0.8, 0.85, 0.8, 0.9, 0.1])  # lowest at the 2nd check; an equal score is no improvement
    seen = []

    def scripted(model, x, y, axis):
        seen.append((tuple(x.shape), len(y)))
        return next(scores)

    monkeypatch.setattr(adaptation, "calibration_error", scripted)
    est, X, T, y = _fit(steps=40, patience=3, check_every=5)
    assert est.n_steps_ == 25 and est.history_[-1]["step"] == 24
    assert est.stopping_scores_ == [(5, 1.0), (10, 0.8), (15, 0.85), (20, 0.8), (25, 0.9)]
    # scored on the head's calibration spectra: 24 master, 3 pair target views, 24 master + a difference
    assert seen[0] == ((51, 100), 51)


def test_early_stopping_checks_leave_the_training_unchanged():
    checked, X, T, y = _fit(steps=10, patience=5)  # two checks, no stop
    plain, *_ = _fit(steps=10)
    assert checked.n_steps_ == plain.n_steps_ == 10 and plain.stopping_scores_ == []
    assert [s for s, _ in checked.stopping_scores_] == [5, 10]
    np.testing.assert_array_equal(checked.transform(T[24:]), plain.transform(T[24:]))


def test_calibration_error_is_the_leave_one_out_rmse_of_ridge_on_the_codes():
    import torch
    from sklearn.linear_model import Ridge, RidgeCV
    from sklearn.model_selection import LeaveOneOut, cross_val_predict

    from spektron.models import SpektronModel
    from spektron.transfer.adaptation import calibration_error, default_model_config

    X, T, y = synthetic_pair()
    torch.manual_seed(0)
    model = SpektronModel(default_model_config(X.shape[1], **TINY)).train()
    x = torch.as_tensor(X - X.mean(axis=0), dtype=torch.float32)
    axis = torch.as_tensor(1e7 / AXIS, dtype=torch.float32)
    score = calibration_error(model, x, y, axis)
    assert model.training
    model.eval()
    Z = model.encode(x, axis)[2]["mu_chem"].detach().double().numpy()
    Z = (Z - Z.mean(axis=0)) / Z.std(axis=0)
    alpha = RidgeCV(alphas=np.logspace(-4, 4, 17)).fit(Z, y).alpha_
    pred = cross_val_predict(Ridge(alpha=alpha), Z, y, cv=LeaveOneOut())
    assert score == pytest.approx(np.sqrt(np.mean((pred - y) ** 2)), rel=1e-6)


def test_fused_optimizer_is_the_same_update_up_to_rounding():
    fused, X, T, y = _fit(fused_optimizer=True)
    loop, *_ = _fit()
    assert fused.adaptation_["fused"] and not loop.adaptation_["fused"]
    np.testing.assert_allclose(fused.transform(T[24:]), loop.transform(T[24:]), rtol=1e-4, atol=1e-5)


def test_whole_set_batches():
    est, X, T, y = _fit(batch_size=None, steps=2)
    assert est.adaptation_["batch_size"] is None and np.all(np.isfinite(est.predict(T[24:])))


def test_a_tuple_of_heads_is_chosen_by_the_auto_rule():
    auto, X, T, y = _fit()
    every, *_ = _fit(head=("knn", "ridge", "pls"))
    assert every.head_.head_ == auto.head_.head_
    assert every.head_.cv_rmse_ == pytest.approx(auto.head_.cv_rmse_)
    np.testing.assert_array_equal(every.predict(T[24:]), auto.predict(T[24:]))
    two, *_ = _fit(head=("knn", "ridge"))
    assert set(two.head_.cv_rmse_) == {"knn", "ridge"}
    assert two.head_.head_ == min(two.head_.cv_rmse_, key=two.head_.cv_rmse_.get)
    assert two.head_.cv_rmse_["knn"] == pytest.approx(auto.head_.cv_rmse_["knn"])


def test_the_head_is_calibrated_with_the_fit_threads():
    import torch

    seen = []

    class Probe(SpektronTransfer):
        def _calibrate_head(self):
            seen.append(torch.get_num_threads())
            super()._calibrate_head()

    X, T, y = synthetic_pair()
    old = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        Probe(model_config=TINY, steps=2, batch_size=8, num_threads=1).fit(X[:24], y[:24], axis=AXIS, unit="nm")
        assert seen == [1] and torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(old)
