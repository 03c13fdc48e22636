"""NuisanceTransfer (the ``spektron`` method): selection inside the protocol, TTT, errors."""

import numpy as np
import pytest

from spektron.data.corn import load_corn
from spektron.evaluation import run_benchmark
from spektron.methods import TransferContext
from spektron.methods.registry import get_method
from spektron.transfer.invariant import cv_components
from spektron.transfer.nuisance import InstrumentNuisance
from spektron.transfer.nuisance_transfer import NuisanceTransfer

from instrument_pair import AXIS, TINY, synthetic_pair

C = AXIS.size


def _world(kind: str, seed: int = 0, n=300, k=10, n_u=200):
    """Master spectra of 3 overlapping bands (y = the first concentration) and a target that
    either adds large per-sample baselines along 4 smooth directions (``"nuisance"``: the
    unlabelled covariance excess is instrument, more directions than 3 pairs can show) or
    only a mean offset (``"offset"``, no extra noise either: the excess is chemistry
    sampling noise), or is the master instrument again (``"same"``: measured again, with
    fresh noise at the master's level). Returns
    master cal (60), y, k pairs, n_u unlabelled target spectra, and the test X/y (which
    hold the unlabelled ones: the transductive setting)."""
    rng = np.random.default_rng(seed)
    t = np.linspace(-1, 1, C)
    bands = np.stack([np.exp(-0.5 * ((AXIS - c) / w) ** 2) for c, w in ((1250, 40), (1300, 50), (1400, 40))])
    conc = rng.uniform(0.2, 1.0, (n, 3))
    X = conc @ bands + 0.002 * rng.standard_normal((n, C))
    y = conc[:, 0]
    T = X + 0.1 + 0.05 * t if kind != "same" else conc @ bands + 0.002 * rng.standard_normal((n, C))
    if kind == "nuisance":
        N = np.stack([t, t**2, t**3, np.cos(3 * np.pi * t)]).T
        T = T + (rng.normal(0, 1, (n, 4)) * (0.3, 0.2, 0.1, 0.08)) @ N.T + 0.002 * rng.standard_normal((n, C))
    cal, test = np.arange(60), np.arange(60, n)
    pairs = (X[cal[:k]], T[cal[:k]], y[cal[:k]])
    return X[cal], y[cal], pairs, T[test[:n_u]], T[test], y[test]


def _rmse(est, X, y):
    return float(np.sqrt(np.mean((est.predict(X) - y) ** 2)))


def test_the_gate_sets_the_default_that_pairs_must_overturn():
    """3 pairs show 2 of the 4 nuisance directions, 200 unlabelled spectra all four (seed 4):
    the gate passes, its weight 0.1 stands against leave-one-pair-out, and the batch's
    covariance more than halves the error of the fit without it."""
    Xm, y, pairs, Xu, Xt, yt = _world("nuisance", seed=4, k=3)
    est = NuisanceTransfer().fit(Xm, y, pairs=pairs, target_unlabelled=Xu)
    assert est.gate_["passed"] and est.unlabelled_weight_ == 0.1 and est.selection_rule_ == "leave-one-pair-out"
    assert {r["unlabelled_weight"] for r in est.selection_} == {0.0, 0.1}
    without = NuisanceTransfer(unlabelled_weight=0.0).fit(Xm, y, pairs=pairs, target_unlabelled=Xu)
    assert without.unlabelled_weight_ == 0.0 and without.gate_ is None
    assert _rmse(est, Xt, yt) < 0.6 * _rmse(without, Xt, yt)


def test_leave_one_pair_out_declines_it_when_it_is_chemistry():
    Xm, y, pairs, Xu, Xt, yt = _world("offset", n_u=20)
    est = NuisanceTransfer(prior_weight=0).fit(Xm, y, pairs=pairs, target_unlabelled=Xu)
    assert est.unlabelled_weight_ == 0.0
    assert _rmse(est, Xt, yt) < 0.02  # a pure offset is fully corrected


def test_without_pairs_the_gate_decides_whether_the_covariance_is_a_nuisance():
    """Added per-sample baselines pass the gate; a pure offset does not; an instrument that
    rescales the chemistry (gain 0.3) adds *and* loses variance and does not either."""
    Xm, y, _, Xu, Xt, yt = _world("nuisance", k=0, n_u=30)
    est = NuisanceTransfer().fit(Xm, y, target_unlabelled=Xu)
    assert est.gate_["passed"] and est.gate_["p_added"] < est.gate_level == 0.001
    assert est.unlabelled_weight_ == 0.1 and est.selection_rule_ == "covariance gate (passed)"
    first = NuisanceTransfer(unlabelled_weight=0.0).fit(Xm, y, target_unlabelled=Xu)
    assert first.unlabelled_weight_ == 0.0 and first.gate_ is None
    assert _rmse(est, Xt, yt) < 0.7 * _rmse(first, Xt, yt)
    Xm, y, _, Xu, Xt, yt = _world("offset", k=0, n_u=30)
    assert not NuisanceTransfer().fit(Xm, y, target_unlabelled=Xu).gate_["passed"]
    noise = 0.01 * np.random.default_rng(0).standard_normal(Xu.shape)
    rescaled = Xu.mean(axis=0) + 0.3 * (Xu - Xu.mean(axis=0)) + noise  # less chemistry, more noise
    gate = NuisanceTransfer().fit(Xm, y, target_unlabelled=rescaled).gate_
    assert not gate["passed"] and gate["p_lost"] < 0.01


@pytest.mark.parametrize("k", [0, 1, 5])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_same_instrument_again_is_left_alone(seed, k):
    """A target that is the master instrument again: the unlabelled mean differs from the
    calibration mean only by chemistry sampling (ȳ_u − ȳ ≈ 0.06 here, 10× the calibration's
    error), so subtracting it — meancorr's assumption — would do harm, and so would a pair's
    own noise. The James–Stein factor of the two means (T² near its null value) shrinks the
    offset towards none, with or without pairs."""
    Xm, y, pairs, Xu, Xt, yt = _world("same", seed=seed, k=k, n_u=20)
    pairs = pairs if k else None
    est = NuisanceTransfer().fit(Xm, y, pairs=pairs, target_unlabelled=Xu)
    detail = est.offset_detail_
    assert detail["source"] == ("unlabelled" if k == 0 else "both")
    assert detail["shrinkage"] < 0.5 and detail["t2"] < 30
    master_only = NuisanceTransfer().fit(Xm, y)  # no pairs, no unlabelled spectra: plain PLS
    assert _rmse(est, Xt, yt) < 1.2 * _rmse(master_only, Xt, yt)
    meancorr = est.model_.predict(Xt) - detail["unlabelled"]  # the batch's whole mean difference as the offset
    assert _rmse(est, Xt, yt) * 3 < float(np.sqrt(np.mean((meancorr - yt) ** 2)))


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_a_calibration_that_reads_a_large_target_nuisance_is_vetoed(seed):
    """The target compresses the chemistry (× 0.7: variance lost, so the gate declines the
    covariance) and adds a per-sample slope of sd 1.5. The master calibration's predictions
    on the unlabelled spectra then spread 10–20× the master's — no population of the same
    chemistry does that — and the check replaces weight 0 by 0.1, whose spread is 0.4–0.6:
    RMSEP 0.07–0.08 against 0.73–0.79 without the check (property sd 0.22–0.24)."""
    Xm, y, _, _, Xt, yt = _world("offset", seed=seed, k=0, n_u=30)
    rng = np.random.default_rng(100 + seed)
    slope = np.linspace(-1, 1, C)
    Tt = Xt.mean(axis=0) + 0.7 * (Xt - Xt.mean(axis=0)) + rng.normal(0, 1.5, (Xt.shape[0], 1)) * slope
    est = NuisanceTransfer().fit(Xm, y, target_unlabelled=Tt[:30])
    assert not est.gate_["passed"] and est.gate_["p_lost"] < 0.01
    check = est.spread_check_
    assert check["vetoed"] and check["replaced"] == 0.0 and est.unlabelled_weight_ == 0.1
    assert check["ratio"] > 9 and check["p"] < 0.001 and check["spreads"][0.1] < 1
    assert "vetoed: prediction spread" in est.selection_rule_
    unchecked = NuisanceTransfer(spread_level=None).fit(Xm, y, target_unlabelled=Tt[:30])
    assert unchecked.unlabelled_weight_ == 0.0 and unchecked.spread_check_ is None
    assert _rmse(est, Tt, yt) < 0.12 < 0.6 < _rmse(unchecked, Tt, yt)


def test_the_spread_check_leaves_an_ordinary_target_alone():
    """A pure offset and the nuisance world: the chosen calibration's spread is within what
    sampling allows (p ≥ 0.2 here), nothing is vetoed and nothing else is fitted."""
    for kind in ("offset", "nuisance"):
        Xm, y, _, Xu, _, _ = _world(kind, k=0, n_u=30)
        est = NuisanceTransfer().fit(Xm, y, target_unlabelled=Xu)
        assert not est.spread_check_["vetoed"] and est.spread_check_["p"] > 0.2
        assert "spreads" not in est.spread_check_ and "vetoed" not in est.selection_rule_


def test_a_real_offset_is_kept_whole():
    """An instrument offset stands far out of the sampling of two means (T² in the
    thousands): the James–Stein factor leaves it whole."""
    Xm, y, _, Xu, Xt, yt = _world("offset", k=0, n_u=20)
    est = NuisanceTransfer().fit(Xm, y, target_unlabelled=Xu)
    assert est.offset_detail_["t2"] > 1000 and est.offset_detail_["shrinkage"] > 0.99
    assert _rmse(est, Xt, yt) < 0.1 * _rmse(NuisanceTransfer().fit(Xm, y), Xt, yt)


def test_adapt_is_test_time_training_of_the_nuisance_model():
    Xm, y, pairs, Xu, Xt, yt = _world("offset", k=0)
    est = NuisanceTransfer().fit(Xm, y, axis=AXIS, unit="nm")
    before = _rmse(est, Xt, yt)
    est.adapt(Xu)
    assert est.adaptation_["n_spectra"] == Xu.shape[0]
    assert est.adaptation_["offset_change"] != 0.0
    assert _rmse(est, Xt, yt) < 0.5 * before  # the unlabelled mean removes the offset (0.080 → 0.025)
    one_go = NuisanceTransfer().fit(Xm, y, axis=AXIS, unit="nm", target_unlabelled=Xu)
    np.testing.assert_allclose(one_go.predict(Xt), est.predict(Xt))


def _shifted_chemistry_world(seed: int, k: int = 5, n_u: int = 16):
    """A pure mean offset (clean pairs), but test samples whose first concentration lies in
    the calibration range's upper half: the unlabelled mean difference then carries
    ȳ_test − ȳ_cal of chemistry on top of the instrument offset."""
    rng = np.random.default_rng(seed)
    t = np.linspace(-1, 1, C)
    bands = np.stack([np.exp(-0.5 * ((AXIS - c) / w) ** 2) for c, w in ((1250, 40), (1300, 50), (1400, 40))])
    conc = rng.uniform(0.2, 1.0, (60 + n_u, 3))
    conc[60:, 0] = rng.uniform(0.6, 1.0, n_u)
    X = conc @ bands + 0.002 * rng.standard_normal((60 + n_u, C))
    T = X + 0.1 + 0.05 * t + 0.002 * rng.standard_normal(X.shape)
    y = conc[:, 0]
    return X[:60], y[:60], (X[:k], T[:k], y[:k]), T[60:], y[60:]


@pytest.mark.parametrize("k", [1, 5])
@pytest.mark.parametrize("seed", [1, 3, 4])
def test_a_batch_unlike_the_calibration_set_cannot_override_clean_pairs(seed, k):
    """A pure mean offset (clean pairs), but a batch from the upper half of the first
    concentration's range: its mean difference carries ȳ_u − ȳ ≈ 0.2 of chemistry on top of
    the instrument's offset. The disagreement of the two estimates is far beyond the batch's
    sampling error, so the batch's error is read off it and the pairs take ≥ 98 % of the
    weight — from one pair on. Taking the batch's mean (meancorr) costs over 10×."""
    Xm, y, pairs, Xt, yt = _shifted_chemistry_world(seed, k=k)
    est = NuisanceTransfer().fit(Xm, y, pairs=pairs, target_unlabelled=Xt)
    detail = est.offset_detail_
    assert detail["source"] == "both" and detail["pairs_share"] > 0.98
    assert detail["unlabelled_var"] > 5 * detail["unlabelled_sampling_var"]
    gap = abs(detail["unlabelled"] - detail["pairs"])  # the batch's chemistry shift, less the two errors
    assert 0.8 * gap < detail["batch_shift_sd"] <= gap
    meancorr = est.model_.predict(Xt) - detail["unlabelled"]
    assert 10 * _rmse(est, Xt, yt) < float(np.sqrt(np.mean((meancorr - yt) ** 2)))


def test_a_batch_that_samples_the_calibration_population_refines_the_pairs():
    """The same world with a random batch: the two estimates agree within their errors and
    the batch's sampling variance stands — it takes a share of the offset."""
    Xm, y, pairs, Xu, Xt, yt = _world("nuisance", seed=0, k=2, n_u=30)
    est = NuisanceTransfer().fit(Xm, y, pairs=pairs, target_unlabelled=Xu)
    detail = est.offset_detail_
    assert detail["unlabelled_var"] == detail["unlabelled_sampling_var"]
    assert 0.0 < detail["pairs_share"] < 0.9 and detail["batch_shift_sd"] == 0.0


def test_the_pairs_nuisance_is_read_on_models_refitted_without_each_pair():
    """offset_detail_'s pair nuisance is the mean square of (dᵢ − d̄₋ᵢ)·b₋ᵢ × (k − 1)/k, b₋ᵢ the
    calibration refitted without pair i and its master sample."""
    Xm, y, pairs, Xu, _, _ = _world("nuisance", k=4, n_u=30)
    est = NuisanceTransfer(unlabelled_weight=0.0).fit(Xm, y, pairs=pairs, target_unlabelled=Xu)
    d = pairs[1] - pairs[0]
    readings = []
    for i in range(4):  # the pairs are the first four calibration samples
        rest = np.arange(4) != i
        Xi, yi = np.delete(Xm, i, axis=0), np.delete(y, i)
        nuis = InstrumentNuisance.estimate(Xi, pairs=(pairs[0][rest], pairs[1][rest]), target_unlabelled=Xu)
        L = nuis.covariance_factor(0.0) * np.sqrt(Xi.shape[0])
        fit = cv_components(Xi, yi, L, n_components=est.n_components_)
        readings.append((d[i] - d[rest].mean(axis=0)) @ fit.coef)
    nuis = np.mean(np.square(readings)) * 3 / 4
    assert est.offset_detail_["pair_nuisance"] == pytest.approx(nuis, rel=1e-8)
    mse = est.model_.cv_mse
    assert est.offset_detail_["pairs_var"] == pytest.approx(nuis / 4 + (nuis + mse) / 30, rel=1e-8)


def test_errors_are_one_clear_line():
    Xm, y, pairs, Xu, Xt, _ = _world("offset")
    with pytest.raises(ValueError, match="master_y has 3 values for 60 master spectra"):
        NuisanceTransfer().fit(Xm, y[:3])
    with pytest.raises(ValueError, match="master_y contains NaN"):
        NuisanceTransfer().fit(Xm, np.where(np.arange(60) == 2, np.nan, y))
    with pytest.raises(ValueError, match="need at least 4 master calibration spectra"):
        NuisanceTransfer().fit(Xm[:3], y[:3])
    with pytest.raises(ValueError, match="pairs disagree"):
        NuisanceTransfer().fit(Xm, y, pairs=(pairs[0], pairs[1][:4], pairs[2]))
    with pytest.raises(ValueError, match="unlabelled target spectra have 50 channels but the master spectra have 100"):
        NuisanceTransfer().fit(Xm, y, target_unlabelled=Xu[:, :50])
    with pytest.raises(ValueError, match="spread_level must lie strictly between 0 and 1"):
        NuisanceTransfer(spread_level=1.5).fit(Xm, y)
    with pytest.raises(ValueError, match="gate_lost_level must lie strictly between 0 and 1"):
        NuisanceTransfer(gate_lost_level=0.0).fit(Xm, y)
    with pytest.raises(ValueError, match="unlabelled_weight must be a number ≥ 0"):
        NuisanceTransfer(unlabelled_weight=-1.0).fit(Xm, y)
    with pytest.raises(ValueError, match="gate_level must lie strictly between 0 and 1, got None"):
        NuisanceTransfer(gate_level=None).fit(Xm, y)
    with pytest.raises(ValueError, match="response must be 'auto' or 'off'"):
        NuisanceTransfer(response="on").fit(Xm, y)
    with pytest.raises(ValueError, match="cv_folds must be ≥ 1"):
        NuisanceTransfer(cv_folds=0).fit(Xm, y)
    with pytest.raises(ValueError, match="master axis"):
        NuisanceTransfer().fit(Xm, y, axis=AXIS[:10])
    est = NuisanceTransfer().fit(Xm, y)
    with pytest.raises(ValueError, match="target spectra have 99 channels"):
        est.predict(Xt[:, 1:])
    with pytest.raises(ValueError, match="NaN"):
        est.predict(np.full((2, C), np.nan))


@pytest.mark.parametrize("name", ["spektron", "spektron-nottt"])
@pytest.mark.parametrize("k", [0, 1, 4])
def test_registered_strategies(name, k):
    X, T, y = synthetic_pair(30)
    ctx = TransferContext(master_X=X[:24], master_y=y[:24], axis=AXIS, unit="nm",
                          transfer_master_X=X[:k], transfer_target_X=T[:k], transfer_y=y[:k],
                          target_unlabelled_X=T[24:], seed=3)
    strategy = get_method(name).fit(ctx)
    pred = strategy.predict(T[24:])
    assert pred.shape == (6,) and np.all(np.isfinite(pred))
    assert strategy.estimator_.views_ == ("none", "sg1:15:2")
    assert np.allclose(pred, strategy.estimator_.view_predictions(T[24:]).mean(axis=0))
    est = strategy.estimator_.primary_
    assert (est.nuisance_.n_unlabelled > 0) == (name == "spektron")
    if k >= 3 and name == "spektron":  # the weight is held where the master set was mapped
        assert est.selection_rule_ == ("held: the master set is mapped through the instrument response"
                                       if est.response_used_ else "leave-one-pair-out")


def test_codes_features_run_on_a_tiny_encoder():
    X, T, y = synthetic_pair(30)
    ctx = TransferContext(master_X=X[:24], master_y=y[:24], axis=AXIS, unit="nm", transfer_master_X=X[:3],
                          transfer_target_X=T[:3], transfer_y=y[:3], target_unlabelled_X=T[24:], seed=0)
    strategy = get_method("spektron-codes", steps=2, encoder_config=TINY, num_threads=1).fit(ctx)
    pred = strategy.predict(T[24:])
    assert pred.shape == (6,) and np.all(np.isfinite(pred))
    assert strategy.estimator_.views_ == ("none",)  # the codes are one view
    assert strategy.estimator_.n_features_in_ == TINY["z_chem_dim"] + TINY["z_inst_dim"]
    with pytest.raises(ValueError, match="features must be one of 'spectra', 'codes', 'auto'"):
        get_method("spektron", features="pixels").fit(ctx)


@pytest.mark.parametrize("k", [0, 4])
def test_auto_features_choose_inside_the_protocol(k):
    X, T, y = synthetic_pair(30)
    ctx = TransferContext(master_X=X[:24], master_y=y[:24], axis=AXIS, unit="nm", transfer_master_X=X[:k],
                          transfer_target_X=T[:k], transfer_y=y[:k], target_unlabelled_X=T[24:], seed=0)
    strategy = get_method("spektron-auto", steps=2, encoder_config=TINY, num_threads=1).fit(ctx)
    assert strategy.features_ in ("spectra", "codes")
    assert strategy.feature_choice_["rule"] == ("leave-one-pair-out" if k >= 3 else "master CV")
    assert (strategy.encoder_ is None) == (strategy.features_ == "spectra")
    assert np.all(np.isfinite(strategy.predict(T[24:])))


def test_a_modest_spread_is_not_vetoed_however_many_unlabelled_spectra():
    """300 master and 200 unlabelled spectra of a target that scales the chemistry by 1.3:
    the predictions spread 1.65× the master's — significant (p ≈ 5e-5) with that many
    spectra, though within what a gain does; below the ratio floor (2) nothing is vetoed."""
    parts = [_world("offset", seed=seed, k=0, n_u=200) for seed in range(5)]
    Xm, y = np.vstack([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    Xt = parts[0][4]
    gained = Xt.mean(axis=0) + 1.3 * (Xt - Xt.mean(axis=0))
    est = NuisanceTransfer().fit(Xm, y, target_unlabelled=gained[:200])
    check = est.spread_check_
    assert 1.5 < check["ratio"] < 2.0 and check["p"] < 1e-4 and not check["vetoed"]
    assert "vetoed" not in est.selection_rule_


def test_on_corn_moisture_the_spread_check_takes_the_covariance_the_gate_declined(corn_dir):
    """Real data: m5 → mp6 moisture at k = 0, four random splits (the test spectra as the
    unlabelled set). The gate declines the unlabelled covariance in all four, but in splits 0
    and 3 the master calibration's predictions spread 2–2.2× the master's on the 16 target
    spectra: beyond sampling at the 5 % level, not at the old 0.001 (which asks for 3.0×).
    Measured with this code: RMSEP 0.328 → 0.259 and 0.311 → 0.218 there; the other two
    splits are untouched."""
    data = load_corn(corn_dir)
    common = dict(split="random", selection="random", repeats=4, progress=False)
    new = run_benchmark(data, ["spektron"], "m5:mp6", ["moisture"], [0], **common)
    old = run_benchmark(data, ["spektron"], "m5:mp6", ["moisture"], [0],
                        method_params={"spektron": {"spread_level": 0.001}}, **common)
    ratio = {r["repeat"]: r["rmsep"] / o["rmsep"] for r, o in zip(new, old)}
    assert ratio[1] == ratio[2] == 1.0
    assert 0.65 < ratio[0] < 0.85 and 0.65 < ratio[3] < 0.85


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_target_that_rescales_the_chemistry_is_read_off_the_pairs(seed):
    """The target reads every sample's deviation from the master mean at 0.85 × (a gain
    on the chemistry) plus an offset. Five pairs put the slope of their target-side
    predictions on the master-side ones at 0.85 (± 0.01, p < 0.001). The additive model
    alone reads the pairs' gain-made scatter as nuisance and its offset is right at one
    composition only: RMSEP 0.039–0.042 (property sd 0.23); with the gain divided out and
    the pairs taken net of it, 0.0009–0.002. (In 3 of the first 8 seeds the calibration,
    penalised with that scatter, has become blind to the gain — slope 0.99 — and the
    additive fit stands: the gain is measured along the calibration that is used.)"""
    Xm, y, pairs, _, Xt, yt = _world("same", seed=seed, k=5, n_u=30)
    centre = Xm.mean(axis=0)
    rescale = lambda X: centre + 0.85 * (X - centre) + 0.1  # noqa: E731
    pairs, Tt = (pairs[0], rescale(pairs[1]), pairs[2]), rescale(Xt)
    est = NuisanceTransfer().fit(Xm, y, pairs=pairs, target_unlabelled=Tt[:30])
    gain = est.pair_gain_
    assert gain["applied"] and abs(gain["slope"] - 0.85) < 0.01 and gain["p"] < 1e-3
    additive = NuisanceTransfer(gain_level=None).fit(Xm, y, pairs=pairs, target_unlabelled=Tt[:30])
    assert additive.pair_gain_ is None
    assert _rmse(est, Tt, yt) < 0.005 < 0.03 < _rmse(additive, Tt, yt)


@pytest.mark.parametrize("kind", ["offset", "nuisance", "same"])
def test_without_a_gain_the_pairs_slope_leaves_the_calibration_alone(kind):
    """No gain on the chemistry: the slope is one within a few standard errors and, applied
    or not, changes the predictions by under 1 %; with fewer than three pairs it is not tried."""
    Xm, y, pairs, Xu, Xt, yt = _world(kind, k=5, n_u=30)
    est = NuisanceTransfer().fit(Xm, y, pairs=pairs, target_unlabelled=Xu)
    additive = NuisanceTransfer(gain_level=None).fit(Xm, y, pairs=pairs, target_unlabelled=Xu)
    gain = est.pair_gain_
    assert abs(gain["slope"] - 1) < 4 * gain["se"] + 0.01
    assert np.allclose(est.predict(Xt), additive.predict(Xt), rtol=0, atol=0.01 * np.std(yt))
    two = NuisanceTransfer().fit(Xm, y, pairs=tuple(p[:2] for p in pairs), target_unlabelled=Xu)
    assert two.pair_gain_ is None


def test_the_estimator_keeps_to_twelve_public_parameters_with_their_documented_defaults():
    params = NuisanceTransfer().get_params()
    assert len(params) <= 12
    assert params == {"unlabelled_weight": 0.1, "prior_weight": 0.0, "max_components": 20, "cv_folds": 5,
                      "cv_repeats": 3, "gate_level": 0.001, "gate_lost_level": 0.01, "spread_level": 0.05,
                      "gain_level": 0.01, "response": "auto", "seed": 0}
    doc = NuisanceTransfer.__doc__
    assert all(name in doc for name in params)  # each one documented in the class docstring
