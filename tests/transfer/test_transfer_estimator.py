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
