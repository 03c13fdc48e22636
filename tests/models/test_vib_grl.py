"""Gradient reversal and the variational bottleneck."""

from __future__ import annotations

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from spektron.models.grl import GradientReversal, grad_reverse
from spektron.models.vib import VIBHead
from spektron.models.losses import gaussian_kl_per_dim


@pytest.mark.parametrize("alpha", [0.0, 0.3, 1.0, 2.5])
def test_grl_gradient_is_minus_alpha_times_identity(alpha):
    x = torch.randn(4, 6, requires_grad=True)
    upstream = torch.randn(4, 6)
    (grad_reverse(x, alpha) * upstream).sum().backward()
    torch.testing.assert_close(x.grad, -alpha * upstream)


def test_grl_forward_is_a_copy_not_a_view():
    x = torch.randn(3, 5, requires_grad=True)
    y = GradientReversal(alpha=0.7)(x)
    torch.testing.assert_close(y, x)
    assert y.data_ptr() != x.data_ptr()
    assert y.untyped_storage().data_ptr() != x.untyped_storage().data_ptr()
    with torch.no_grad():
        y.add_(1.0)  # writing to the output must leave the input alone
    assert not torch.allclose(y, x)


def test_grl_module_alpha_override():
    x = torch.ones(2, requires_grad=True)
    GradientReversal(alpha=0.5)(x, alpha=2.0).sum().backward()
    torch.testing.assert_close(x.grad, torch.full((2,), -2.0))


def test_kl_per_dim_matches_closed_form():
    g = torch.Generator().manual_seed(0)
    mu = torch.randn(16, 5, generator=g)
    logvar = torch.randn(16, 5, generator=g)
    kl = gaussian_kl_per_dim(mu, logvar)
    assert kl.shape == (5,)
    reference = kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(0.0, 1.0)).mean(0)
    torch.testing.assert_close(kl, reference, atol=1e-5, rtol=1e-5)
    # standard normal posterior ⇒ zero KL
    torch.testing.assert_close(gaussian_kl_per_dim(torch.zeros(3, 2), torch.zeros(3, 2)), torch.zeros(2))
    with pytest.raises(ValueError, match="shapes differ"):
        gaussian_kl_per_dim(mu, logvar[:, :3])


def test_vib_head_means_in_eval_samples_in_train_and_clamps():
    torch.manual_seed(0)
    head = VIBHead(6, 3, logvar_min=-2.0, logvar_max=1.0)
    with torch.no_grad():
        head.proj.weight.mul_(100.0)  # push log-variances far outside the clamp
    h = torch.randn(10, 6)
    z, mu, logvar = head.eval()(h)
    assert z.shape == mu.shape == logvar.shape == (10, 3)
    torch.testing.assert_close(z, mu)
    assert logvar.min() >= -2.0 and logvar.max() <= 1.0
    assert (logvar == -2.0).any() and (logvar == 1.0).any()
    z_train, mu_train, _ = head.train()(h)
    torch.testing.assert_close(mu_train, mu)
    assert not torch.allclose(z_train, mu)
    with pytest.raises(ValueError, match="logvar_min"):
        VIBHead(6, 3, logvar_min=1.0, logvar_max=1.0)


def test_vib_sample_statistics():
    torch.manual_seed(3)
    head = VIBHead(2, 1).train()
    with torch.no_grad():
        head.proj.weight.zero_()
        head.proj.bias.copy_(torch.tensor([1.5, 2 * torch.log(torch.tensor(0.5)).item()]))  # μ=1.5, σ=0.5
    z, _, _ = head(torch.zeros(20000, 2))
    assert z.mean().item() == pytest.approx(1.5, abs=0.02)
    assert z.std().item() == pytest.approx(0.5, abs=0.02)
