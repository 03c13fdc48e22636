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
    Output: (B, N, patch_size). ``n_layers`` hidden layers (GELU); more than one
    gives the latent-only decoder room to turn ``[z; position]`` into band shapes.
    """

    def __init__(self, d_model: int, z_dim: int, patch_size: int, n_layers: int = 1) -> None:
        super().__init__()
        if n_layers < 1:
            raise ValueError(f"n_layers must be at least 1, got {n_layers}")
        self.from_z = nn.Linear(z_dim, d_model)
        self.norm = nn.LayerNorm(d_model)
        self.hidden = nn.Linear(d_model, d_model)
        self.extra = nn.ModuleList(nn.Linear(d_model, d_model) for _ in range(n_layers - 1))
        self.out = nn.Linear(d_model, patch_size)

    def forward(self, tokens: Tensor, z: Tensor) -> Tensor:
        h = self.norm(tokens + self.from_z(z).unsqueeze(1))  # (B, N, d)
        h = nnf.gelu(self.hidden(h))
        for layer in self.extra:
            h = h + nnf.gelu(layer(h))  # residual: depth without a harder optimisation
        return self.out(h)  # (B, N, patch_size)


class InstrumentClassifier(nn.Module):
    """MLP ``z → instrument logits``; with ``reverse=True`` a gradient-reversal layer
    sits in front, so the encoder is pushed to *remove* the instrument from ``z``
    while the classifier itself trains with ordinary cross-entropy.

    With ``standardise=True`` the input is standardised per dimension with the
    batch's own mean and standard deviation (no running statistics, so no state;
    batches of one row pass unchanged). A linear probe behind a ``StandardScaler``
    reads directions of tiny variance as easily as large ones; an adversary on the
    raw scale hardly does, so the encoder could hide the instrument there.
    """

    def __init__(self, z_dim: int, n_instruments: int, hidden: int = 128, reverse: bool = False,
                 standardise: bool = False) -> None:
        super().__init__()
        self.reverse = reverse
        self.standardise = standardise
        self.net = nn.Sequential(nn.Linear(z_dim, hidden), nn.GELU(), nn.Linear(hidden, n_instruments))

    def forward(self, z: Tensor, alpha: float = 1.0) -> Tensor:
        if self.reverse:
            z = grad_reverse(z, alpha)
        if self.standardise and z.shape[0] > 1:
            z = (z - z.mean(dim=0)) / z.std(dim=0).clamp_min(1e-4)
        return self.net(z)  # (B, n_instruments)
