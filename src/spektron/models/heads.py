"""Output heads: masked-patch reconstruction and the two instrument classifiers."""

from __future__ import annotations

import torch.nn.functional as nnf
from torch import Tensor, nn

from spektron.models.grl import grad_reverse


class ReconstructionHead(nn.Module):
    """Predict every patch's channels from its token state and the latent.

    ``tokens`` (B, N, d) carry the per-position context — the backbone's states
    (masked positions hold the mask token plus their wavenumber code on input), or
    only the wavenumber codes when the latent alone must explain the spectrum;
    ``z`` (B, z_dim) is ``[z_chem; z_inst]``, broadcast to every position.
    Output: (B, N, patch_size).
    """

    def __init__(self, d_model: int, z_dim: int, patch_size: int) -> None:
        super().__init__()
        self.from_z = nn.Linear(z_dim, d_model)
        self.norm = nn.LayerNorm(d_model)
        self.hidden = nn.Linear(d_model, d_model)
        self.out = nn.Linear(d_model, patch_size)

    def forward(self, tokens: Tensor, z: Tensor) -> Tensor:
        h = self.norm(tokens + self.from_z(z).unsqueeze(1))  # (B, N, d)
        return self.out(nnf.gelu(self.hidden(h)))  # (B, N, patch_size)


class InstrumentClassifier(nn.Module):
    """MLP ``z → instrument logits``; with ``reverse=True`` a gradient-reversal layer
    sits in front, so the encoder is pushed to *remove* the instrument from ``z``
    while the classifier itself trains with ordinary cross-entropy."""

    def __init__(self, z_dim: int, n_instruments: int, hidden: int = 128, reverse: bool = False) -> None:
        super().__init__()
        self.reverse = reverse
        self.net = nn.Sequential(nn.Linear(z_dim, hidden), nn.GELU(), nn.Linear(hidden, n_instruments))

    def forward(self, z: Tensor, alpha: float = 1.0) -> Tensor:
        if self.reverse:
            z = grad_reverse(z, alpha)
        return self.net(z)  # (B, n_instruments)
