"""Variational information bottleneck head: pooled features → Gaussian posterior.

A deep VIB (Alemi et al. 2017, "Deep variational information bottleneck") limits how
much of the input the latent keeps; its per-dimension KL to N(0, I) is also the
posterior-collapse diagnostic (SPEC §7), so the model reports it per dimension
(:func:`spektron.models.losses.gaussian_kl_per_dim`), not only summed.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class VIBHead(nn.Module):
    """``(B, d_in) → (z, mu, logvar)``, each ``(B, z_dim)``.

    ``z`` is a reparameterised sample ``mu + σ·ε`` in training mode and ``mu`` in
    eval mode. The log-variance is clamped to ``[logvar_min, logvar_max]`` so that a
    few extreme inputs cannot make σ overflow or the KL explode.
    """

    def __init__(self, d_in: int, z_dim: int, logvar_min: float = -10.0, logvar_max: float = 4.0) -> None:
        super().__init__()
        if logvar_min >= logvar_max:
            raise ValueError(f"logvar_min ({logvar_min}) must be below logvar_max ({logvar_max})")
        self.z_dim = z_dim
        self.logvar_min = logvar_min
        self.logvar_max = logvar_max
        self.proj = nn.Linear(d_in, 2 * z_dim)

    def forward(self, h: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        mu, logvar = self.proj(h).chunk(2, dim=-1)
        logvar = logvar.clamp(self.logvar_min, self.logvar_max)
        if self.training:
            z = mu + torch.randn_like(mu) * (0.5 * logvar).exp()
        else:
            z = mu
        return z, mu, logvar
