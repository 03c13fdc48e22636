"""Loss terms of the Spektron objective (SPEC §3), as plain functions of tensors.

``L = recon + w_kl·β·KL + λ_adv·CE(GRL(z_chem)) + λ_inst·CE(z_inst) + λ_moe·balance
[+ λ_ot·OT]``; ``SpektronModel.forward`` assembles them. This module imports nothing
from ``spektron.models`` (the models import it), so keep it that way.
"""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as nnf
from torch import Tensor


def masked_mse(pred: Tensor, target: Tensor, weight: Tensor) -> Tensor:
    """Mean squared error over the entries where ``weight`` is true (or over a
    weighted set): masked patches only, padded channels excluded."""
    weight = weight.to(pred.dtype).expand_as(pred)
    total = weight.sum()
    if total <= 0:
        raise ValueError("masked_mse: the mask selects no entries")
    return ((pred - target).pow(2) * weight).sum() / total


def gaussian_kl_per_dim(mu: Tensor, logvar: Tensor) -> Tensor:
    """KL(N(μ, σ²) ‖ N(0, 1)) per latent dimension, averaged over the batch: (D,).

    Closed form ``½ (μ² + σ² − 1 − log σ²)``; per dimension because the collapse
    diagnostic (SPEC §7) counts dimensions with KL < 0.01.
    """
    if mu.shape != logvar.shape:
        raise ValueError(f"mu and logvar shapes differ: {tuple(mu.shape)} vs {tuple(logvar.shape)}")
    kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar)
    return kl.flatten(0, -2).mean(dim=0) if kl.ndim > 1 else kl


def load_balancing_loss(router_probs: Tensor, expert_index: Tensor, n_experts: int) -> Tensor:
    """Switch load-balancing loss ``E · Σ_e f_e · P̄_e`` (Fedus et al. 2022).

    ``router_probs`` (N, E): router softmax; ``expert_index`` (N, k): chosen experts.
    ``f_e`` is the fraction of the N·k routed slots sent to expert e (a count: no
    gradient), ``P̄_e`` the mean router probability (carries the gradient). It is 1
    for uniform routing and grows as routing concentrates on few experts.
    """
    if router_probs.ndim != 2 or router_probs.shape[1] != n_experts:
        raise ValueError(f"router_probs must have shape (N, {n_experts}), got {tuple(router_probs.shape)}")
    counts = torch.bincount(expert_index.reshape(-1), minlength=n_experts).to(router_probs.dtype)
    fraction = counts / counts.sum().clamp_min(1.0)
    return n_experts * (fraction * router_probs.mean(dim=0)).sum()


def router_z_loss(router_logits: Tensor) -> Tensor:
    """ST-MoE router z-loss ``mean(logsumexp(logits)²)`` (Zoph et al. 2022)."""
    return torch.logsumexp(router_logits, dim=-1).pow(2).mean()


def domain_cross_entropy(logits: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
    """Cross-entropy and (detached) accuracy of an instrument classifier."""
    loss = nnf.cross_entropy(logits, labels)
    accuracy = (logits.argmax(dim=-1) == labels).to(logits.dtype).mean().detach()
    return loss, accuracy


def sinkhorn_domain_loss(z: Tensor, domain: Tensor, reg: float = 0.1, n_iter: int = 100) -> Tensor:
    """Mean entropic OT (Sinkhorn) cost between the latents of every pair of domains
    present in the batch (Cuturi 2013), via POT's differentiable torch backend.

    The ground cost is the squared Euclidean distance per latent dimension, so
    ``reg`` has the same meaning whatever the latent width. 0 when fewer than two
    domains are present.
    """
    import ot  # POT: imported here so the model works without touching it when λ_ot = 0

    present = torch.unique(domain)
    if present.numel() < 2:
        return z.new_zeros(())
    costs = []
    for a, b in itertools.combinations(present.tolist(), 2):
        za, zb = z[domain == a], z[domain == b]
        cost = ot.dist(za, zb, metric="sqeuclidean") / z.shape[-1]
        wa = torch.full((za.shape[0],), 1.0 / za.shape[0], dtype=z.dtype, device=z.device)
        wb = torch.full((zb.shape[0],), 1.0 / zb.shape[0], dtype=z.dtype, device=z.device)
        costs.append(ot.sinkhorn2(wa, wb, cost, reg, method="sinkhorn_log", numItermax=n_iter, warn=False))
    return torch.stack(costs).mean()
