"""β(t) and α(p) schedules, and the loss functions of the objective."""

from __future__ import annotations

import math

import pytest
import torch

from spektron.models.config import SpektronConfig
from spektron.models.losses import (
    barlow_invariance,
    domain_cross_entropy,
    masked_mse,
    paired_alignment,
    paired_barlow,
    paired_infonce,
    sinkhorn_domain_loss,
)
from spektron.training.schedules import beta_at, cosine_beta, cyclical_beta, grl_alpha, schedule_values


def test_cosine_beta_at_start_window_end_and_end():
    total = 1000  # anneal window: first 600 steps
    assert cosine_beta(0, total, 0.1, 0.001, 0.6) == pytest.approx(0.1)
    assert cosine_beta(300, total, 0.1, 0.001, 0.6) == pytest.approx((0.1 + 0.001) / 2)
    assert cosine_beta(600, total, 0.1, 0.001, 0.6) == pytest.approx(0.001)
    assert cosine_beta(599, total, 0.1, 0.001, 0.6) == pytest.approx(0.001, abs=1e-6)
    assert cosine_beta(999, total, 0.1, 0.001, 0.6) == pytest.approx(0.001)
    assert cosine_beta(1000, total, 0.1, 0.001, 0.6) == pytest.approx(0.001)
    values = [cosine_beta(t, total, 0.1, 0.001, 0.6) for t in range(0, 601, 50)]
    assert all(a > b for a, b in zip(values, values[1:]))


def test_cyclical_beta_shape():
    total, kw = 400, dict(beta_low=0.001, beta_high=0.1, n_cycles=4, rise=0.5, plateau=0.25)
    # one cycle = 100 steps: rise over 0..50, plateau 50..75, fall 75..100
    assert cyclical_beta(0, total, **kw) == pytest.approx(0.001)
    assert cyclical_beta(25, total, **kw) == pytest.approx(0.0505)
    assert cyclical_beta(50, total, **kw) == pytest.approx(0.1)
    assert cyclical_beta(70, total, **kw) == pytest.approx(0.1)
    assert cyclical_beta(90, total, **kw) == pytest.approx(0.001 + 0.099 * 0.4)
    assert cyclical_beta(100, total, **kw) == pytest.approx(0.001)  # the next cycle starts low
    for t in range(0, 100, 7):  # periodic
        assert cyclical_beta(t + 200, total, **kw) == pytest.approx(cyclical_beta(t, total, **kw))
    assert cyclical_beta(total, total, **kw) == pytest.approx(0.001)


@pytest.mark.parametrize("p", [0.0, 0.1, 0.5, 1.0])
def test_grl_alpha_known_values(p):
    assert grl_alpha(p, 10.0) == pytest.approx(2.0 / (1.0 + math.exp(-10.0 * p)) - 1.0)


def test_grl_alpha_endpoints_and_clipping():
    assert grl_alpha(0.0) == 0.0
    assert grl_alpha(0.5) == pytest.approx(0.986614298)
    assert grl_alpha(1.0) == pytest.approx(0.999909204)
    assert grl_alpha(2.0) == grl_alpha(1.0)
    with pytest.raises(ValueError):
        grl_alpha(float("nan"))


def test_schedules_follow_config():
    cfg = SpektronConfig(beta_schedule="cyclical", beta_cycles=2)
    assert beta_at(0, 100, cfg) == pytest.approx(cfg.beta_end)
    assert beta_at(25, 100, cfg) == pytest.approx(cfg.beta_start)
    beta, alpha = schedule_values(60, 100, SpektronConfig())
    assert beta == pytest.approx(0.001) and alpha == pytest.approx(grl_alpha(0.6))
    with pytest.raises(ValueError, match="total_steps"):
        cosine_beta(0, 0)
    with pytest.raises(ValueError, match="step"):
        cosine_beta(-1, 10)


def test_masked_mse_uses_masked_entries_only():
    pred = torch.zeros(2, 3, 4)
    target = torch.arange(24, dtype=torch.float32).reshape(2, 3, 4)
    weight = torch.zeros(2, 3, 4, dtype=torch.bool)
    weight[0, 1, :2] = True
    assert masked_mse(pred, target, weight).item() == pytest.approx((4.0**2 + 5.0**2) / 2)
    with pytest.raises(ValueError, match="no entries"):
        masked_mse(pred, target, torch.zeros_like(weight))


def test_domain_cross_entropy_and_accuracy():
    logits = torch.tensor([[5.0, 0.0], [0.0, 5.0], [5.0, 0.0]])
    labels = torch.tensor([0, 1, 1])
    loss, acc = domain_cross_entropy(logits, labels)
    assert acc.item() == pytest.approx(2 / 3)
    assert loss.item() == pytest.approx(torch.nn.functional.cross_entropy(logits, labels).item())


def test_sinkhorn_domain_loss_separates_shifted_domains_and_has_gradient():
    g = torch.Generator().manual_seed(0)
    base = torch.randn(40, 3, generator=g)
    domain = torch.arange(40) % 2
    same = sinkhorn_domain_loss(base, domain)
    shifted = base + 3.0 * domain[:, None]
    z = shifted.clone().requires_grad_()
    far = sinkhorn_domain_loss(z, domain)
    assert far.item() > same.item() + 2.0  # squared shift per dimension = 9
    far.backward()
    assert z.grad is not None and torch.isfinite(z.grad).all() and z.grad.abs().sum() > 0
    assert sinkhorn_domain_loss(base, torch.zeros(40, dtype=torch.long)).item() == 0.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_sinkhorn_domain_loss_equals_pot_per_pair(seed):
    """The batched, padded iterations against POT's sinkhorn2(method="sinkhorn_log") run
    one domain pair at a time: unequal domain sizes (one domain of a single row), value
    and gradient equal to rounding in float64; and a loose threshold that stops some
    pairs early (frozen potentials) still matches POT, which stops each pair on its own."""
    import itertools

    import ot

    g = torch.Generator().manual_seed(seed)
    z = torch.randn(30, 5, generator=g, dtype=torch.float64)
    domain = torch.randint(0, 4, (30,), generator=g)
    domain[0], domain[1:4] = 4, 3  # a one-row domain beside larger ones

    def reference(x, threshold):
        costs = []
        for a, b in itertools.combinations(torch.unique(domain).tolist(), 2):
            xa, xb = x[domain == a], x[domain == b]
            cost = ot.dist(xa, xb, metric="sqeuclidean") / x.shape[-1]
            wa = torch.full((xa.shape[0],), 1.0 / xa.shape[0], dtype=x.dtype)
            wb = torch.full((xb.shape[0],), 1.0 / xb.shape[0], dtype=x.dtype)
            costs.append(ot.sinkhorn2(wa, wb, cost, 0.1, method="sinkhorn_log", numItermax=100,
                                      stopThr=threshold, warn=False))
        return torch.stack(costs).mean()

    for threshold in (1e-9, 1e-3):
        ours, theirs = z.clone().requires_grad_(), z.clone().requires_grad_()
        got = sinkhorn_domain_loss(ours, domain, stop_threshold=threshold)
        want = reference(theirs, threshold)
        got.backward()
        want.backward()
        assert abs(got.item() - want.item()) < 1e-12
        assert (ours.grad - theirs.grad).abs().max().item() < 1e-12 * theirs.grad.abs().max().item() + 1e-15


def test_paired_infonce_known_answers():
    groups = torch.tensor([0, 1, 2, 0, 1, 2])
    # identical views of orthogonal molecules: each anchor's partner has cosine 1,
    # the 4 others cosine 0, so the loss is log(1 + 4 e^(-1/τ)) -> its minimum 0 as τ -> 0
    base = torch.eye(3)
    loss, top1 = paired_infonce(torch.cat([base, base]), groups, temperature=0.1)
    assert loss.item() == pytest.approx(math.log(1 + 4 * math.exp(-10.0)), rel=1e-3)
    assert top1.item() == 1.0
    # views that all coincide: no information, loss log(5) (uniform over the 5 others)
    same = torch.ones(6, 3)
    loss, _ = paired_infonce(same, groups, temperature=0.1)
    assert loss.item() == pytest.approx(math.log(5.0), rel=1e-5)
    # swapped partners: the nearest neighbour is the wrong molecule
    loss_bad, top1_bad = paired_infonce(torch.cat([base, base[[1, 2, 0]]]), groups, temperature=0.1)
    assert loss_bad.item() > 9.0 and top1_bad.item() == 0.0


def test_paired_infonce_without_pairs_and_gradient():
    loss, top1 = paired_infonce(torch.randn(4, 3), torch.arange(4))
    assert loss.item() == 0.0 and math.isnan(top1.item())
    z = torch.randn(8, 5, requires_grad=True)
    loss, _ = paired_infonce(z, torch.tensor([0, 1, 2, 3, 0, 1, 2, 3]))
    loss.backward()
    assert torch.isfinite(z.grad).all() and z.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="temperature"):
        paired_infonce(z, torch.arange(8), temperature=0.0)


def test_paired_alignment_is_zero_for_identical_views_and_scale_free():
    groups = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])
    a = torch.randn(4, 6, generator=torch.Generator().manual_seed(0))
    assert paired_alignment(torch.cat([a, a]), groups).item() == pytest.approx(0.0, abs=1e-12)
    shifted = torch.cat([a, a + 0.5])  # an instrument offset on the second views
    value = paired_alignment(shifted, groups)
    assert value.item() > 0
    # scale-free: shrinking the latent does not lower it
    assert paired_alignment(0.01 * shifted, groups).item() == pytest.approx(value.item(), rel=1e-4)
    assert paired_alignment(a, torch.arange(4)).item() == 0.0


def test_barlow_invariance_known_answers():
    g = torch.Generator().manual_seed(0)
    a = torch.randn(4096, 8, generator=g)
    # identical views (and any per-dimension affine map of them): every C_ii = 1
    assert barlow_invariance(a, a).item() == pytest.approx(0.0, abs=1e-6)
    assert barlow_invariance(a, 3.0 * a - 2.0).item() == pytest.approx(0.0, abs=1e-6)
    # independent views: C_ii ≈ 0, so the loss ≈ number of dimensions
    b = torch.randn(4096, 8, generator=g)
    assert barlow_invariance(a, b).item() == pytest.approx(8.0, abs=0.2)
    # anti-correlated views: C_ii = -1, (1 - (-1))² = 4 per dimension
    assert barlow_invariance(a, -a).item() == pytest.approx(32.0, rel=1e-4)
    # correlation ρ per dimension: (1 - ρ)² each
    mixed = 0.6 * a + 0.8 * b  # corr(a, mixed) = 0.6
    assert barlow_invariance(a, mixed).item() == pytest.approx(8 * 0.4**2, abs=0.1)


def test_barlow_invariance_is_scale_free_per_dimension_and_redundancy_term():
    g = torch.Generator().manual_seed(1)
    a = torch.randn(256, 4, generator=g, dtype=torch.float64)
    b = a + 0.5 * torch.randn(256, 4, generator=g, dtype=torch.float64)  # an instrument-dependent part
    value = barlow_invariance(a, b)
    # one dimension nearly switched off (tiny spread): it still counts fully
    scale = torch.tensor([1.0, 1.0, 1.0, 1e-2], dtype=torch.float64)
    assert barlow_invariance(a * scale, b * scale).item() == pytest.approx(value.item(), rel=1e-3)
    # redundancy: copies of one dimension are maximally redundant
    col = a[:, :1].expand(-1, 3)
    assert barlow_invariance(col, col).item() == pytest.approx(0.0, abs=1e-5)
    assert barlow_invariance(col, col, redundancy_weight=0.5).item() == pytest.approx(0.5 * 6, rel=1e-4)
    z = torch.randn(8, 4, requires_grad=True)
    paired_barlow(z, torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])).backward()
    assert torch.isfinite(z.grad).all() and z.grad.abs().sum() > 0
    # fewer than two pairs: nothing to standardise over
    assert paired_barlow(z, torch.tensor([0, 0, 1, 2, 3, 4, 5, 6])).item() == 0.0
    with pytest.raises(ValueError, match="shape"):
        barlow_invariance(a, b[:, :3])
    with pytest.raises(ValueError, match="at least 2"):
        barlow_invariance(a[:1], b[:1])
