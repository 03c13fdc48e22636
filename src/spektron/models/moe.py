"""Mixture-of-experts feed-forward layer with top-k routing and a balance loss.

Router ``Linear(d, E, bias=False)`` with the softmax in float32, top-k experts per
token with their k weights renormalised (Mixtral: Jiang et al. 2024), dropless
dispatch (every token reaches its k experts; a loop over the *experts* that received
tokens, combined with ``index_add_``), and the Switch Transformer load-balancing loss
``E · Σ_e f_e · P̄_e`` (Fedus et al. 2022) plus the optional router z-loss
``mean(logsumexp(logits)²)`` (Zoph et al. 2022, ST-MoE).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from spektron.models.losses import load_balancing_loss, router_z_loss


class Expert(nn.Module):
    """An ordinary two-layer GELU MLP."""

    def __init__(self, d_model: int, d_hidden: int, dropout: float = 0.0) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(d_model, d_hidden), nn.GELU(), nn.Dropout(dropout), nn.Linear(d_hidden, d_model)
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


class MixtureOfExperts(nn.Module):
    """Top-k routed mixture of MLP experts: ``(..., d) → ((..., d), stats)``.

    ``stats`` holds the differentiable ``balance`` and ``z_loss`` scalars and, for
    logging (detached), ``load`` (E,) — the fraction of routed slots per expert —,
    ``importance`` (E,) — the mean router probability — and ``tokens`` (E,) — how
    many tokens each expert processed.
    """

    def __init__(self, d_model: int, n_experts: int = 4, top_k: int = 2, d_hidden: int | None = None, dropout: float = 0.0) -> None:
        super().__init__()
        if not 1 <= top_k <= n_experts:
            raise ValueError(f"top_k must lie in [1, n_experts={n_experts}], got {top_k}")
        self.n_experts = n_experts
        self.top_k = top_k
        self.router = nn.Linear(d_model, n_experts, bias=False)
        self.experts = nn.ModuleList(Expert(d_model, d_hidden or 2 * d_model, dropout) for _ in range(n_experts))

    def forward(self, x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        shape = x.shape
        tokens = x.reshape(-1, shape[-1])  # (N, d)
        logits = self.router(tokens).float()  # (N, E)
        probs = logits.softmax(dim=-1)
        weights, index = probs.topk(self.top_k, dim=-1)  # (N, k)
        weights = (weights / weights.sum(dim=-1, keepdim=True)).to(x.dtype)

        out = torch.zeros_like(tokens)
        n_tokens = torch.zeros(self.n_experts, dtype=torch.long, device=x.device)
        for e, expert in enumerate(self.experts):
            rows, slot = torch.nonzero(index == e, as_tuple=True)
            if rows.numel() == 0:
                continue  # dropless: an expert without tokens simply does no work
            n_tokens[e] = rows.numel()
            y = expert(tokens[rows]) * weights[rows, slot].unsqueeze(-1)
            out = out.index_add(0, rows, y)

        stats = {
            "balance": load_balancing_loss(probs, index, self.n_experts),
            "z_loss": router_z_loss(logits),
            "load": (n_tokens.to(probs.dtype) / max(index.numel(), 1)).detach(),
            "importance": probs.mean(dim=0).detach(),
            "tokens": n_tokens,
        }
        return out.reshape(shape), stats
