"""Diagnostics on embeddings whose answer is known."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from spektron.training.diagnostics import (
    collapsed_fraction,
    evaluate_views,
    information_per_dimension,
    kl_per_dimension,
    probe_accuracy,
    retrieval_top1,
    routing_balance,
)

N_MOL, N_INST = 60, 4


def _views():
    molecules = np.repeat(np.arange(N_MOL), N_INST)
    instruments = np.tile(np.arange(N_INST), N_MOL)
    return molecules, instruments


def test_probe_separated_embeddings_are_perfect(rng):
    molecules, instruments = _views()
    centres = rng.normal(scale=5.0, size=(N_INST, 8))
    z_inst = centres[instruments] + 0.1 * rng.normal(size=(len(instruments), 8))
    assert probe_accuracy(z_inst, instruments, groups=molecules) >= 0.99


def test_probe_random_embeddings_are_at_chance(rng):
    molecules, instruments = _views()
    accs = [probe_accuracy(rng.normal(size=(len(instruments), 16)), instruments, groups=molecules, seed=s)
            for s in range(5)]
    assert abs(np.mean(accs) - 1 / N_INST) < 0.1


def test_retrieval_identical_views_is_perfect(rng):
    molecules, instruments = _views()
    z_mol = rng.normal(size=(N_MOL, 32))
    assert retrieval_top1(z_mol[molecules], molecules, instruments) == 1.0


def test_retrieval_ignores_same_instrument_neighbours(rng):
    # Embeddings that only encode the instrument: the nearest view on another
    # instrument is a random molecule, so retrieval is near 1 / N_MOL.
    molecules, instruments = _views()
    z = np.eye(N_INST)[instruments] + 1e-3 * rng.normal(size=(len(molecules), N_INST))
    assert retrieval_top1(z, molecules, instruments) < 0.1


def test_kl_per_dimension_closed_form():
    mu = np.array([[0.0, 1.0, 0.0], [0.0, -1.0, 0.0]])
    logvar = np.array([[0.0, 0.0, np.log(2.0)], [0.0, 0.0, np.log(2.0)]])
    kl = kl_per_dimension(mu, logvar)
    np.testing.assert_allclose(kl, [0.0, 0.5, 0.5 * (2.0 - 1.0 - np.log(2.0))])
    assert collapsed_fraction(kl) == pytest.approx(1 / 3)


def test_information_per_dimension_sees_through_a_clamped_logvar(rng):
    # sigma clamped at e^-1 (logvar_max = -2): every dimension pays ~0.57 nats of KL,
    # but only dimension 0 has means that vary more than the noise.
    n = 400
    mu = np.zeros((n, 3))
    mu[:, 0] = rng.normal(scale=2.0, size=n)
    mu[:, 1] = rng.normal(scale=0.04, size=n)  # spread 0.04 vs sigma 0.37: noise wins
    logvar = np.full((n, 3), -2.0)
    kl = kl_per_dimension(mu, logvar)
    assert (kl > 0.5).all()
    assert collapsed_fraction(kl) == 0.0  # the KL criterion alone is fooled
    info = information_per_dimension(mu, logvar)
    assert info[0] == pytest.approx(0.5 * np.log1p(mu[:, 0].var() / np.exp(-2.0)))
    assert info[2] == 0.0 and info[1] < 0.01
    assert collapsed_fraction(kl, info_dims=info) == pytest.approx(2 / 3)
    out = evaluate_views(mu, rng.normal(size=(n, 2)), np.repeat(np.arange(n // 4), 4), np.tile(np.arange(4), n // 4),
                         chem_mu=mu, chem_logvar=logvar)
    assert out["kl_chem_collapsed_frac"] == pytest.approx(2 / 3)
    assert out["kl_chem_low_kl_frac"] == 0.0
    assert out["n_chem_active"] == 1


def test_probe_on_active_dimensions_ignores_an_instrument_hidden_in_a_dead_one(rng):
    molecules, instruments = _views()
    n = len(molecules)
    mu = np.zeros((n, 3))
    mu[:, :2] = rng.normal(size=(N_MOL, 2))[molecules]  # chemistry: the same for every view of a molecule
    mu[:, 2] = 1e-4 * instruments  # instrument, far below the posterior noise (sigma = 1)
    out = evaluate_views(mu, rng.normal(size=(n, 2)), molecules, instruments,
                         chem_mu=mu, chem_logvar=np.zeros((n, 3)))
    assert out["inst_acc_chem"] > 0.9  # the standardised probe finds the dead dimension
    assert out["n_chem_active"] == 2
    assert out["inst_acc_chem_active"] < 0.45
    assert out["retrieval_top1_active"] == 1.0


def test_routing_balance_extremes():
    even = routing_balance([0.25, 0.25, 0.25, 0.25])
    assert even["moe_entropy"] == pytest.approx(1.0)
    assert even["moe_max_min_ratio"] == pytest.approx(1.0)
    skew = routing_balance([[0.25] * 4, [0.97, 0.01, 0.01, 0.01]])
    assert skew["moe_entropy"] < 0.2  # the worst layer is reported
    assert skew["moe_max_min_ratio"] == pytest.approx(97.0)


def test_evaluate_views_warns_on_collapse(rng, caplog):
    molecules, instruments = _views()
    n = len(molecules)
    mu = np.zeros((n, 10))
    mu[:, :2] = rng.normal(size=(n, 2))  # 8 of 10 dimensions carry nothing
    with caplog.at_level(logging.WARNING, logger="spektron.training.diagnostics"):
        out = evaluate_views(rng.normal(size=(n, 10)), rng.normal(size=(n, 4)), molecules, instruments,
                             chem_mu=mu, chem_logvar=np.zeros((n, 10)))
    assert out["kl_chem_collapsed_frac"] == pytest.approx(0.8)
    assert out["chance"] == pytest.approx(0.25)
    assert "posterior collapse" in caplog.text


def test_bad_inputs_are_value_errors(rng):
    with pytest.raises(ValueError, match="two distinct labels"):
        probe_accuracy(rng.normal(size=(10, 2)), np.zeros(10))
    with pytest.raises(ValueError, match="at least two instruments"):
        retrieval_top1(rng.normal(size=(10, 2)), np.arange(10), np.zeros(10))
