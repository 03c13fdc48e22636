"""CORAL and multi-kernel MMD²: zero/near-zero for one distribution, positive for two."""

from __future__ import annotations

import pytest
import torch

from spektron.transfer.alignment import coral_loss, median_bandwidths, mmd2


def _gauss(n, d, seed, shift=0.0, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g) * scale + shift


def test_coral_is_zero_for_identical_batches():
    a = _gauss(50, 6, 0)
    assert coral_loss(a, a.clone()).item() == 0.0
    assert coral_loss(a, a.clone(), include_mean=False).item() == 0.0


def test_coral_is_positive_for_shifted_and_rescaled_batches():
    a = _gauss(200, 6, 0)
    # a pure offset: only the mean term sees it (the original deep CORAL loss is blind to it)
    shifted = a + 1.0
    assert coral_loss(a, shifted, include_mean=False).item() == pytest.approx(0.0, abs=1e-6)
    assert coral_loss(a, shifted).item() == pytest.approx(1.0, rel=1e-5)
    # a covariance change: C_b = 4 C_a, so ‖C_a − C_b‖²_F / (4d²) = 9 ‖C_a‖²_F / (4d²)
    b = 2.0 * a
    ca = torch.cov(a.T)
    expected = 9.0 * ca.pow(2).sum() / (4 * 36)
    assert coral_loss(a, b, include_mean=False).item() == pytest.approx(expected.item(), rel=1e-5)
    assert coral_loss(a, b, include_mean=False).item() > 0.1


def test_coral_gradient_pulls_statistics_together():
    a = _gauss(64, 4, 1)
    b = (_gauss(64, 4, 2) * 3.0 + 2.0).requires_grad_(True)
    opt = torch.optim.Adam([b], lr=0.05)
    before = coral_loss(a, b).item()
    for _ in range(200):
        opt.zero_grad()
        coral_loss(a, b).backward()
        opt.step()
    assert coral_loss(a, b).item() < 0.05 * before


def test_mmd_is_unbiased_near_zero_for_one_distribution():
    values = torch.tensor([mmd2(_gauss(40, 5, 2 * s), _gauss(40, 5, 2 * s + 1)).item() for s in range(30)])
    # single estimates scatter around 0 (some negative: the estimator is unbiased, not a distance)
    assert (values < 0).any()
    assert abs(values.mean().item()) < 3 * values.std().item() / 30**0.5 + 1e-3
    shifted = torch.tensor([mmd2(_gauss(40, 5, 2 * s), _gauss(40, 5, 2 * s + 1, shift=1.0)).item()
                            for s in range(5)])
    assert shifted.min().item() > 10 * values.abs().mean().item()
    assert shifted.min().item() > 0.1


def test_mmd_sees_a_change_of_scale_and_accepts_fixed_bandwidths():
    a, b = _gauss(60, 3, 0), _gauss(60, 3, 1, scale=3.0)
    assert mmd2(a, b, bandwidths=[0.5, 1.0, 2.0]).item() > 0.1
    sigma = median_bandwidths(a, b)
    assert sigma.shape == (5,) and torch.all(sigma > 0) and not sigma.requires_grad


def test_mmd_gradient_is_finite_with_duplicate_rows():
    a = _gauss(10, 3, 0)
    b = torch.cat([a[:5], a[:5]]).clone().requires_grad_(True)
    mmd2(a, b).backward()
    assert torch.isfinite(b.grad).all()


@pytest.mark.parametrize(
    "a, b, match",
    [
        (torch.zeros(1, 3), torch.zeros(4, 3), "at least 2 rows"),
        (torch.zeros(4, 3), torch.zeros(4, 2), "widths differ"),
        (torch.zeros(4), torch.zeros(4, 2), "2-D"),
    ],
)
def test_bad_inputs_are_clear_errors(a, b, match):
    with pytest.raises(ValueError, match=match):
        coral_loss(a, b)
    with pytest.raises(ValueError, match=match):
        mmd2(a, b)


def test_mmd_rejects_bad_bandwidths():
    with pytest.raises(ValueError, match="bandwidths"):
        mmd2(torch.zeros(3, 2), torch.ones(3, 2), bandwidths=[1.0, -1.0])
