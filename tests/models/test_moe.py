"""Mixture of experts: routing, dispatch, and the Switch load-balancing loss."""

from __future__ import annotations

import pytest
import torch

from spektron.models.moe import MixtureOfExperts
from spektron.models.losses import load_balancing_loss, router_z_loss


def test_balance_loss_is_one_for_uniform_routing():
    E, N = 4, 64
    probs = torch.full((N, E), 1.0 / E)
    index = torch.stack((torch.arange(N) % E, (torch.arange(N) + 1) % E), dim=1)  # every expert equally often
    assert load_balancing_loss(probs, index, E).item() == pytest.approx(1.0, abs=1e-6)


def test_balance_loss_grows_when_routing_concentrates():
    E, N = 4, 64
    uniform = load_balancing_loss(torch.full((N, E), 0.25), torch.arange(2 * N).reshape(N, 2) % E, E)
    skewed_probs = torch.tensor([0.7, 0.1, 0.1, 0.1]).expand(N, E)
    half = load_balancing_loss(skewed_probs, torch.tensor([[0, 1]]).expand(N, 2), E)
    all_one = load_balancing_loss(torch.tensor([0.97, 0.01, 0.01, 0.01]).expand(N, E), torch.zeros(N, 1, dtype=torch.long), E)
    # E · Σ f·P: (4 · (0.5·0.7 + 0.5·0.1) = 1.6) and (4 · 0.97 = 3.88)
    assert half.item() == pytest.approx(1.6, abs=1e-6)
    assert all_one.item() == pytest.approx(3.88, abs=1e-6)
    assert uniform.item() < half.item() < all_one.item()


def test_balance_loss_rejects_bad_shape():
    with pytest.raises(ValueError, match="router_probs"):
        load_balancing_loss(torch.ones(5, 3), torch.zeros(5, 1, dtype=torch.long), 4)


def test_router_z_loss_value():
    logits = torch.zeros(3, 4)
    assert router_z_loss(logits).item() == pytest.approx(torch.log(torch.tensor(4.0)).item() ** 2)


def test_output_equals_weighted_sum_of_top_k_experts():
    torch.manual_seed(0)
    moe = MixtureOfExperts(8, n_experts=4, top_k=2, d_hidden=16).eval()
    x = torch.randn(2, 5, 8)
    y, stats = moe(x)
    assert y.shape == x.shape
    tokens = x.reshape(-1, 8)
    probs = moe.router(tokens).softmax(-1)
    expected = []
    for t in range(tokens.shape[0]):  # per-token reference, no dispatch tricks
        w, idx = probs[t].topk(2)
        w = w / w.sum()
        expected.append(sum(w[j] * moe.experts[int(idx[j])](tokens[t]) for j in range(2)))
    torch.testing.assert_close(y.reshape(-1, 8), torch.stack(expected), atol=1e-6, rtol=1e-5)
    assert int(stats["tokens"].sum()) == tokens.shape[0] * 2
    assert stats["load"].sum().item() == pytest.approx(1.0)
    assert stats["importance"].sum().item() == pytest.approx(1.0, abs=1e-6)


def test_router_and_used_experts_receive_gradients():
    torch.manual_seed(1)
    moe = MixtureOfExperts(8, n_experts=4, top_k=2)
    y, stats = moe(torch.randn(64, 8))
    (y.pow(2).mean() + 1e-2 * stats["balance"]).backward()
    assert moe.router.weight.grad is not None and moe.router.weight.grad.abs().sum() > 0
    for e, expert in enumerate(moe.experts):
        grads = [p.grad for p in expert.parameters()]
        if stats["tokens"][e] > 0:
            assert all(g is not None and torch.isfinite(g).all() for g in grads)
        else:  # an expert that saw no token legitimately has no gradient
            assert all(g is None for g in grads)


def test_top_k_must_not_exceed_experts():
    with pytest.raises(ValueError, match="top_k"):
        MixtureOfExperts(8, n_experts=2, top_k=3)
