"""Loss terms of the Spektron objective (SPEC §3), as plain functions of tensors.

``L = recon + w_kl·β·KL + λ_adv·CE(GRL(z_chem)) + λ_inst·CE(z_inst) + λ_moe·balance
[+ λ_ot·OT] [+ λ_pair·InfoNCE(z_chem of one molecule through two instruments)]``; ``SpektronModel.forward`` assembles them. Plain functions of tensors that import
nothing else of the package: the model, its mixture-of-experts layer, the transfer
adaptation and the tests all use them.
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


#: Stand-in for log(0) in the padded entries of a batch of transport problems: finite, so
#: that no ``-inf - (-inf)`` appears, and so negative that ``exp`` of it is exactly 0.
_LOG_ZERO = -1e30


def sinkhorn_domain_loss(z: Tensor, domain: Tensor, reg: float = 0.1, n_iter: int = 100,
                         stop_threshold: float = 1e-9) -> Tensor:
    """Mean entropic OT (Sinkhorn) cost between the latents of every pair of domains
    present in the batch (Cuturi 2013), differentiable through the iterations.

    The ground cost is the squared Euclidean distance per latent dimension, so
    ``reg`` has the same meaning whatever the latent width. 0 when fewer than two
    domains are present.

    The algorithm is POT's ``sinkhorn2(method="sinkhorn_log")`` — uniform weights,
    log-domain updates of the column then the row potential, the right marginal's
    error checked every tenth iteration against ``stop_threshold``, cost ``Σ M ⊙ P`` —
    run on all domain pairs at once: the problems are padded to one size (padded
    entries weigh ``exp(-1e30) = 0``) and a pair that has converged keeps its
    potentials. One problem at a time through POT cost about half of a pretraining
    step of the small model (a few thousand tiny operations and their backward);
    batched, the same iterations cost one operation per step for all pairs. Equal to
    POT per pair up to rounding (tested).
    """
    present = torch.unique(domain)
    if present.numel() < 2:
        return z.new_zeros(())
    members = [torch.nonzero(domain == d).squeeze(1) for d in present.tolist()]
    pairs = list(itertools.combinations(range(len(members)), 2))
    size = max(m.numel() for m in members)
    # (n_domains, size) row indices and validity, then per pair (P, size) for each side
    index = torch.stack([nnf.pad(m, (0, size - m.numel())) for m in members])
    valid = torch.stack([torch.arange(size, device=z.device) < m.numel() for m in members])
    first = torch.tensor([a for a, _ in pairs], device=z.device)
    second = torch.tensor([b for _, b in pairs], device=z.device)
    za, zb = z[index[first]], z[index[second]]  # (P, size, D)
    va, vb = valid[first], valid[second]  # (P, size)
    # squared distances as POT's ot.dist computes them: |a|² + |b|² − 2 a·b, clipped at 0
    sq_a, sq_b = (za * za).sum(-1), (zb * zb).sum(-1)
    cost = (-2 * za @ zb.transpose(1, 2) + sq_a[:, :, None] + sq_b[:, None, :]).clamp(min=0) / z.shape[-1]
    mask = va[:, :, None] & vb[:, None, :]
    cost = torch.where(mask, cost, torch.zeros_like(cost))
    counts_a = va.sum(1, keepdim=True).to(z.dtype)
    counts_b = vb.sum(1, keepdim=True).to(z.dtype)
    log_a = torch.where(va, -torch.log(counts_a).expand_as(va), torch.full_like(cost[:, :, 0], _LOG_ZERO))
    log_b = torch.where(vb, -torch.log(counts_b).expand_as(vb), torch.full_like(cost[:, 0, :], _LOG_ZERO))
    b = torch.where(vb, 1.0 / counts_b, torch.zeros_like(log_b))
    scaled = torch.where(mask, -cost / reg, torch.full_like(cost, _LOG_ZERO))
    u, v = torch.zeros_like(log_a), torch.zeros_like(log_b)
    active = torch.ones(len(pairs), dtype=torch.bool, device=z.device)
    for it in range(int(n_iter)):
        v_new = log_b - torch.logsumexp(scaled + u[:, :, None], dim=1)
        u_new = log_a - torch.logsumexp(scaled + v_new[:, None, :], dim=2)
        v = torch.where(active[:, None], v_new, v)
        u = torch.where(active[:, None], u_new, u)
        if it % 10 == 0:
            column_sums = torch.exp(scaled + u[:, :, None] + v[:, None, :]).sum(1)
            err = torch.linalg.vector_norm(column_sums - b, dim=1)
            active = active & ~(err < stop_threshold)
            if not bool(active.any()):
                break
    plan = torch.exp(scaled + u[:, :, None] + v[:, None, :])
    return (cost * plan).sum((1, 2)).mean()


def paired_infonce(z: Tensor, groups: Tensor, temperature: float = 0.1) -> tuple[Tensor, Tensor]:
    """Supervised-contrastive (InfoNCE) loss pulling together rows of the same group.

    ``z`` (B, D) are latents, ``groups`` (B,) integer ids — here the molecule, so two
    rows with one id are the same molecule measured through two instruments (SPEC §4's
    positive pairs). For every anchor that has at least one positive, the loss is
    ``−mean_pos log softmax_j≠i(cos(z_i, z_j) / τ)[pos]`` (Khosla et al. 2020,
    "Supervised contrastive learning"; with exactly one positive per anchor it is
    the NT-Xent loss of SimCLR, Chen et al. 2020), averaged over those anchors.

    Returns ``(loss, top1)``: ``top1`` (detached) is the fraction of anchors whose most
    similar other row is a positive — a training-batch retrieval accuracy. Both are
    0 / NaN when no row has a positive. The minimum, reached when the views of a
    group coincide and groups are far apart, is ``log(n_pos)`` per anchor (0 for pairs).
    """
    if z.ndim != 2 or groups.ndim != 1 or groups.shape[0] != z.shape[0]:
        raise ValueError(f"z must be (B, D) and groups (B,); got {tuple(z.shape)} and {tuple(groups.shape)}")
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature!r}")
    same = groups[:, None] == groups[None, :]
    eye = torch.eye(len(groups), dtype=torch.bool, device=z.device)
    positive = same & ~eye
    has_pos = positive.any(dim=1)
    if not bool(has_pos.any()):
        return z.new_zeros(()), z.new_full((), float("nan"))
    unit = nnf.normalize(z, dim=-1)
    logits = (unit @ unit.T / temperature).masked_fill(eye, float("-inf"))
    log_prob = logits.log_softmax(dim=1)
    pos_log_prob = log_prob.masked_fill(~positive, 0.0).sum(dim=1) / positive.sum(dim=1).clamp_min(1)
    loss = -pos_log_prob[has_pos].mean()
    nearest = logits.argmax(dim=1)
    top1 = positive[torch.arange(len(groups), device=z.device), nearest][has_pos].to(z.dtype).mean().detach()
    return loss, top1


def paired_alignment(z: Tensor, groups: Tensor, eps: float = 1e-4) -> Tensor:
    """Mean squared difference between rows of the same group, per dimension in units
    of that dimension's batch standard deviation (the invariance term of VICReg,
    Bardes et al. 2022, made scale-free).

    Where :func:`paired_infonce` only asks a view's nearest neighbour to be its
    partner (cosine, so a small instrument-dependent component can survive), this
    asks the two views of a molecule to coincide in *every* dimension relative to
    how much that dimension varies across the batch — the component a linear
    instrument probe would read. Dividing by the standard deviation keeps the
    trivial solution (shrinking everything) from lowering it. 0 without pairs.
    """
    if z.ndim != 2 or groups.ndim != 1 or groups.shape[0] != z.shape[0]:
        raise ValueError(f"z must be (B, D) and groups (B,); got {tuple(z.shape)} and {tuple(groups.shape)}")
    same = torch.triu(groups[:, None] == groups[None, :], diagonal=1)
    i, j = same.nonzero(as_tuple=True)
    if i.numel() == 0 or z.shape[0] < 2:
        return z.new_zeros(())
    scale = z.std(dim=0, unbiased=True).clamp_min(eps)
    return ((z[i] - z[j]) / scale).pow(2).mean()


def paired_views(groups: Tensor) -> tuple[Tensor, Tensor]:
    """Row indices ``(a, b)`` of every pair of rows sharing a group id (``a < b``).

    With the trainer's paired batches (each molecule through two instruments) this
    is one (view A, view B) pair per molecule.
    """
    if groups.ndim != 1:
        raise ValueError(f"groups must be 1-D, got shape {tuple(groups.shape)}")
    same = torch.triu(groups[:, None] == groups[None, :], diagonal=1)
    a, b = same.nonzero(as_tuple=True)
    return a, b


def barlow_invariance(z_a: Tensor, z_b: Tensor, redundancy_weight: float = 0.0, eps: float = 1e-8) -> Tensor:
    """Barlow Twins loss between two views (Zbontar et al. 2021, "Barlow Twins:
    self-supervised learning via redundancy reduction"), invariance term by default.

    Each dimension is standardised over the batch, separately for view A and view
    B, and ``C = z̃_aᵀ z̃_b / n`` is their cross-correlation. The invariance term is
    ``Σ_i (1 − C_ii)²``: 0 when every dimension of one view is (up to an affine
    map) the same as in the other, about ``D`` when the views are independent.
    Working in standardised units gives a dimension of tiny variance (one the VIB
    has nearly switched off) the same weight as an active one — which is the scale
    a standardised linear probe reads the instrument at. ``redundancy_weight``
    adds ``λ · Σ_{i≠j} C_ij²`` (decorrelated dimensions). Needs at least 2 pairs.
    ``eps`` (added to each variance) is kept tiny so that the scale-freeness holds
    down to very small spreads.
    """
    if z_a.ndim != 2 or z_a.shape != z_b.shape:
        raise ValueError(f"z_a and z_b must be (n, D) of one shape; got {tuple(z_a.shape)} and {tuple(z_b.shape)}")
    n = z_a.shape[0]
    if n < 2:
        raise ValueError(f"barlow_invariance needs at least 2 pairs, got {n}")
    if not redundancy_weight >= 0:
        raise ValueError(f"redundancy_weight must be non-negative, got {redundancy_weight!r}")

    def standardise(z: Tensor) -> Tensor:
        z = z - z.mean(dim=0)
        return z / (z.pow(2).mean(dim=0) + eps).sqrt()

    c = standardise(z_a).T @ standardise(z_b) / n  # (D, D)
    diag = torch.diagonal(c)
    loss = (1.0 - diag).pow(2).sum()
    if redundancy_weight > 0:
        loss = loss + redundancy_weight * (c.pow(2).sum() - diag.pow(2).sum())
    return loss


def paired_barlow(z: Tensor, groups: Tensor, redundancy_weight: float = 0.0) -> Tensor:
    """:func:`barlow_invariance` between the two views of each group in ``z`` (B, D);
    0 with fewer than two pairs (nothing to standardise over)."""
    if z.ndim != 2 or groups.ndim != 1 or groups.shape[0] != z.shape[0]:
        raise ValueError(f"z must be (B, D) and groups (B,); got {tuple(z.shape)} and {tuple(groups.shape)}")
    a, b = paired_views(groups)
    if a.numel() < 2:
        return z.new_zeros(())
    return barlow_invariance(z[a], z[b], redundancy_weight)
