"""Spectra → patch tokens, with a positional code built from the wavenumber itself.

Instruments sample different grids (nm steps on one, cm⁻¹ steps on another), so a
patch's *index* means nothing across instruments; its centre wavenumber does. The
positional code is therefore a set of sinusoids of the centre wavenumber (as in
Vaswani et al. 2017, with the physical coordinate in place of the index), mapped by
a learned linear layer. Spectra of any length are cut into fixed-width patches; the
last partial patch is zero-padded and a validity mask marks the padded channels so
that losses can ignore them.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn


def standardise(x: Tensor, eps: float = 1e-8) -> tuple[Tensor, Tensor, Tensor]:
    """Per-spectrum standardisation: ``(x − mean)/std`` and the removed ``mean``,
    ``log std`` (each (B,)). Offsets and gains are instrument signatures, so the
    model gets them back as separate features instead of losing them."""
    mean = x.mean(dim=-1, keepdim=True)
    std = x.std(dim=-1, keepdim=True, unbiased=False).clamp_min(eps)
    return (x - mean) / std, mean.squeeze(-1), std.log().squeeze(-1)


def n_patches(n_channels: int, patch_size: int) -> int:
    """Patches needed to cover ``n_channels`` (the last one possibly partial)."""
    return -(-n_channels // patch_size)


def patchify(x: Tensor, patch_size: int) -> tuple[Tensor, Tensor]:
    """``(B, C) → (B, N, patch_size)`` zero-padded, plus the channel validity (N, patch_size)."""
    B, C = x.shape
    N = n_patches(C, patch_size)
    pad = N * patch_size - C
    valid = torch.ones(N * patch_size, dtype=torch.bool, device=x.device)
    if pad:
        x = torch.cat((x, x.new_zeros(B, pad)), dim=1)
        valid[C:] = False
    return x.reshape(B, N, patch_size), valid.reshape(N, patch_size)


def patch_centres(axis: Tensor, patch_size: int) -> Tensor:
    """Mean axis value of the real channels of each patch: (N,)."""
    values, valid = patchify(axis.unsqueeze(0), patch_size)
    values, weight = values[0], valid.to(axis.dtype)
    return (values * weight).sum(-1) / weight.sum(-1)


class WavenumberEncoding(nn.Module):
    """Sinusoids of the wavenumber at geometrically spaced periods → ``d_model``."""

    def __init__(self, d_model: int, n_frequencies: int = 32, min_period: float = 8.0, max_period: float = 32768.0) -> None:
        super().__init__()
        periods = torch.logspace(math.log10(min_period), math.log10(max_period), n_frequencies, dtype=torch.float64)
        self.register_buffer("angular", (2 * math.pi / periods).float(), persistent=False)
        self.proj = nn.Linear(2 * n_frequencies, d_model)

    def forward(self, wavenumber: Tensor) -> Tensor:
        # wavenumber: (N,) in cm⁻¹ → (N, d_model)
        phase = wavenumber.unsqueeze(-1) * self.angular
        return self.proj(torch.cat((phase.sin(), phase.cos()), dim=-1))


class PatchEmbedding(nn.Module):
    """Patches (B, N, p) + centres (N,) → tokens (B, N, d); masked patches become the
    learned mask token (their positional code is kept, so the model knows *where*
    the missing piece belongs)."""

    def __init__(self, patch_size: int, d_model: int, n_frequencies: int = 32, min_period: float = 8.0, max_period: float = 32768.0) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.proj = nn.Linear(patch_size, d_model)
        self.position = WavenumberEncoding(d_model, n_frequencies, min_period, max_period)
        self.mask_token = nn.Parameter(torch.randn(d_model) * 0.02)

    def forward(self, patches: Tensor, centres: Tensor, mask: Tensor | None = None) -> Tensor:
        tokens = self.proj(patches)  # (B, N, d)
        if mask is not None:
            tokens = torch.where(mask.unsqueeze(-1), self.mask_token.to(tokens.dtype), tokens)
        return tokens + self.position(centres)
