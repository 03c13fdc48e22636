"""InstrumentResponse: the simulated instrument's operator recovered from a few pairs, and
NuisanceTransfer mapping the master set through it only when it explains the pairs."""

from collections import OrderedDict

import numpy as np
import pytest

from spektron.data.instruments import SimulatedInstrument
from spektron.transfer.nuisance_transfer import NuisanceTransfer
from spektron.transfer.response import InstrumentResponse

AXIS = np.arange(900.0, 1800.0, 2.0)  # cm-1, 450 channels
CENTRES = np.array([[1000, 1010, 1400], [1100, 1300, 1500], [1200, 1450, 1700]], dtype=float)


def _spectra(n: int, seed: int):
    """Mixtures of three components of three narrow bands each (widths 6–10 cm⁻¹: a shift of
    a few cm⁻¹ matters); y = the first concentration."""
    rng = np.random.default_rng(seed)
    widths = (6.0, 8.0, 10.0)
    comps = np.stack([sum(np.exp(-0.5 * ((AXIS - c) / w) ** 2) for c, w in zip(row, widths)) for row in CENTRES])
    conc = rng.uniform(0.2, 1.0, (n, 3))
    return conc @ comps, conc[:, 0]


MASTER = SimulatedInstrument("m", shift_cm1=0.5, broadening_cm1=2.0, baseline_coeffs=(0.01, 0.02, 0.0), gain=1.0,
                             snr_db=50.0)
TARGET = SimulatedInstrument("t", shift_cm1=-2.0, broadening_cm1=4.0, baseline_coeffs=(0.05, -0.03, 0.02),
                             gain=0.95, snr_db=40.0)


def _pair(n=100, seed=0):
    clean, y = _spectra(n, seed)
    rng = np.random.default_rng([seed, 1])
    return MASTER.apply(clean, AXIS, "cm-1", rng), TARGET.apply(clean, AXIS, "cm-1", rng), y


def test_recovers_the_simulated_instruments_relative_operator_from_five_pairs():
    Xm, Xt, _ = _pair()
    r = InstrumentResponse().fit(Xm[:5], Xt[:5], axis=AXIS, unit="cm-1")
    # the target relative to the master: shift −2.5 cm⁻¹, resolution √(4² − 2²) = 3.46 cm⁻¹, gain 0.95
    assert r.shift_cm1_ == pytest.approx(-2.5, abs=0.15)
    assert r.gain_ == pytest.approx(0.95, abs=0.03)
    # the second-derivative term shares the blur with σ; without it σ is the Gaussian's own
    gaussian = InstrumentResponse(sharpen=False).fit(Xm[:5], Xt[:5], axis=AXIS, unit="cm-1")
    assert gaussian.broadening_cm1_ == pytest.approx(np.sqrt(12.0), abs=0.4)
    assert gaussian.sharpen_ == 0.0
    assert r.explained_ > 0.95 and r.explained_loo_ > 0.9
    # out of sample: the other 95 master spectra mapped land on their target spectra
    left = np.linalg.norm(Xt[5:] - r.transform(Xm[5:])) / np.linalg.norm(Xt[5:] - Xm[5:])
    assert left < 0.15
    # the noise it reads is the target's, not the master's (the master's is 10 dB lower)
    target_sd = np.mean(Xt.std(axis=1)) * 10 ** (-40 / 20)
    assert r.noise_sd_ == pytest.approx(target_sd, rel=0.35)


def test_refit_linear_keeps_shift_and_resolution_and_matches_the_fit_on_the_same_pairs():
    Xm, Xt, _ = _pair()
    r = InstrumentResponse().fit(Xm[:6], Xt[:6], axis=AXIS, unit="cm-1")
    same = r.refit_linear(Xm[:6], Xt[:6])
    np.testing.assert_allclose(same.coef_, r.coef_, rtol=1e-10, atol=1e-12)
    assert same.explained_loo_ == pytest.approx(r.explained_loo_, rel=1e-10)
    assert same.noise_sd_ == pytest.approx(r.noise_sd_, rel=1e-10)
    # without one pair: δ and σ as before, the gain still the instrument's, the original untouched
    fewer = r.refit_linear(Xm[1:6], Xt[1:6])
    assert (fewer.shift_cm1_, fewer.broadening_cm1_) == (r.shift_cm1_, r.broadening_cm1_)
    assert fewer.gain_ == pytest.approx(0.95, abs=0.03) and fewer.n_pairs_ == 5 and r.n_pairs_ == 6
    np.testing.assert_allclose(r.coef_, same.coef_, rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="pair spectra"):
        r.refit_linear(Xm[:5, :-1], Xt[:5, :-1])


def test_per_sample_baselines_are_not_explained():
    """A target that adds a random baseline to each sample (no operator on the chemistry)."""
    Xm, _, _ = _pair()
    rng = np.random.default_rng(3)
    t = np.linspace(-1, 1, AXIS.size)
    Xt = Xm + 0.02 + rng.normal(0, 0.05, (len(Xm), 3)) @ np.stack([np.ones_like(t), t, t**2])
    r = InstrumentResponse().fit(Xm[:10], Xt[:10], axis=AXIS, unit="cm-1")
    assert r.explained_ < 0.5 and r.explained_loo_ < r.explained_
    assert np.isnan(InstrumentResponse().fit(Xm[:2], Xt[:2], axis=AXIS, unit="cm-1").explained_loo_)


def test_nuisance_transfer_maps_the_master_set_only_when_the_operator_explains_the_pairs():
    Xm, Xt, y = _pair(120, seed=1)
    cal, test = np.arange(90), np.arange(90, 120)
    pairs = (Xm[:5], Xt[:5], y[:5])
    kw = dict(axis=AXIS, unit="cm-1", pairs=pairs, target_unlabelled=Xt[test])
    on = NuisanceTransfer(response="auto").fit(Xm[cal], y[cal], **kw)
    off = NuisanceTransfer(response="off").fit(Xm[cal], y[cal], **kw)
    assert NuisanceTransfer().response == "auto"  # the default
    rmsep = {name: float(np.sqrt(np.mean((est.predict(Xt[test]) - y[test]) ** 2))) for name, est in
             (("on", on), ("off", off))}
    assert on.response_used_ and not off.response_used_ and off.response_ is None
    assert rmsep["on"] < 0.6 * rmsep["off"]
    # the held-out pairs agreed: the mapped calibration predicted them better
    check = on.response_check_
    assert check["passed"] and check["mse_mapped"] < check["mse_unmapped"] and off.response_check_ is None
    # below response_min_pairs nothing is fitted
    two = NuisanceTransfer(response="auto").fit(Xm[cal], y[cal], axis=AXIS, unit="cm-1",
                                                pairs=(Xm[:2], Xt[:2], y[:2]))
    assert two.response_ is None and not two.response_used_
    # nor on an axis of channel indices (no shift in cm⁻¹ to fit on it)
    index = NuisanceTransfer().fit(Xm[cal], y[cal], axis=np.arange(AXIS.size, dtype=float), pairs=pairs)
    assert index.response_ is None and not index.response_used_
    # a response that does not explain the pairs is fitted, reported and left unused
    t = np.linspace(-1, 1, AXIS.size)
    noisy = Xm[:5] + np.random.default_rng(0).normal(0, 0.05, (5, 2)) @ np.stack([np.ones_like(t), t])
    est = NuisanceTransfer(response="auto").fit(Xm[cal], y[cal], axis=AXIS, unit="cm-1", pairs=(Xm[:5], noisy, y[:5]))
    assert est.response_ is not None and not est.response_used_
    same = NuisanceTransfer(response="off").fit(Xm[cal], y[cal], axis=AXIS, unit="cm-1", pairs=(Xm[:5], noisy, y[:5]))
    np.testing.assert_array_equal(est.predict(Xt[test]), same.predict(Xt[test]))


def test_the_operator_is_fitted_once_per_pair_set_and_each_fit_gets_its_own_copy(monkeypatch):
    from spektron.transfer import nuisance_transfer

    Xm, Xt, y = _pair(60, seed=2)
    calls = []
    real_fit = InstrumentResponse.fit

    def counting_fit(self, *args, **kwargs):
        calls.append(1)
        return real_fit(self, *args, **kwargs)

    monkeypatch.setattr(InstrumentResponse, "fit", counting_fit)
    monkeypatch.setattr(nuisance_transfer, "_RESPONSES", OrderedDict())
    kw = dict(axis=AXIS, unit="cm-1", pairs=(Xm[:5], Xt[:5], y[:5]))
    a = NuisanceTransfer().fit(Xm[5:50], y[5:50], **kw)
    b = NuisanceTransfer().fit(Xm[5:50], 2.0 * y[5:50], **dict(kw, pairs=(Xm[:5], Xt[:5], 2.0 * y[:5])))
    assert len(calls) == 1 and a.response_ is not b.response_  # another property, the same pairs
    np.testing.assert_array_equal(a.response_.coef_, b.response_.coef_)
    np.testing.assert_allclose(b.predict(Xt[50:]), 2.0 * a.predict(Xt[50:]), rtol=1e-6, atol=1e-9)
    NuisanceTransfer().fit(Xm[5:50], y[5:50], **dict(kw, pairs=(Xm[:6], Xt[:6], y[:6])))
    assert len(calls) == 2  # other pairs: fitted again


class _WrongResponse(InstrumentResponse):
    """An operator that claims to explain the pairs but stretches the chemistry by 1.5."""

    def fit(self, master_X, target_X, *, axis, unit="nm"):
        super().fit(master_X, target_X, axis=axis, unit=unit)
        self.explained_loo_ = 1.0
        return self

    def transform(self, X):
        X = np.asarray(X, dtype=float)
        return super().transform(X) + 0.5 * (X - X.mean(axis=0))


def test_a_mapping_that_worsens_held_out_pairs_is_not_used(monkeypatch):
    Xm, Xt, y = _pair(120, seed=1)
    cal, test = np.arange(90), np.arange(90, 120)
    kw = dict(axis=AXIS, unit="cm-1", pairs=(Xm[:8], Xt[:8], y[:8]), target_unlabelled=Xt[test])
    monkeypatch.setattr("spektron.transfer.nuisance_transfer.InstrumentResponse", _WrongResponse)
    monkeypatch.setattr("spektron.transfer.nuisance_transfer._RESPONSES", OrderedDict())  # no operator kept from before
    est = NuisanceTransfer(response="auto").fit(Xm[cal], y[cal], **kw)
    check = est.response_check_
    assert not est.response_used_ and not check["passed"]
    assert check["difference"] > check["difference_se"] > 0
    assert check["mse_mapped"] > 2 * check["mse_unmapped"]
    # not used means the fit is the unmapped one, exactly
    off = NuisanceTransfer(response="off").fit(Xm[cal], y[cal], **kw)
    np.testing.assert_array_equal(est.predict(Xt[test]), off.predict(Xt[test]))


def test_bad_input_is_named():
    Xm, Xt, _ = _pair(10)
    with pytest.raises(ValueError, match="differ in shape"):
        InstrumentResponse().fit(Xm[:5], Xt[:4], axis=AXIS, unit="cm-1")
    with pytest.raises(ValueError, match="pair axis"):
        InstrumentResponse().fit(Xm[:5], Xt[:5], axis=AXIS[:-1], unit="cm-1")
    with pytest.raises(ValueError, match="positive wavelengths or wavenumbers"):
        InstrumentResponse().fit(Xm[:5], Xt[:5], axis=np.arange(AXIS.size, dtype=float), unit="nm")
    with pytest.raises(ValueError, match="baseline_order"):
        InstrumentResponse(baseline_order=-1).fit(Xm[:5], Xt[:5], axis=AXIS, unit="cm-1")
    r = InstrumentResponse().fit(Xm[:5], Xt[:5], axis=AXIS, unit="cm-1")
    with pytest.raises(ValueError, match="channels"):
        r.transform(Xm[:, :-1])
    with pytest.raises(ValueError, match="response must be"):
        NuisanceTransfer(response="yes").fit(Xm, np.arange(10.0))
