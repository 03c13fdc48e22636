"""D-LinOSS: damped linear oscillatory state-space layers and the residual block.

Per state ``p`` a damped harmonic oscillator ``x'' = −A x − G x' + B u`` is
discretised implicitly-explicitly with step Δt (Boyer, Rusch & Rus 2025, "Learning
to dissipate energy in oscillatory state-space models", arXiv:2505.12171; undamped
LinOSS: Rusch & Rus, ICLR 2025). With ``S = 1 + ΔtG`` the step on ``w = [z; x]`` is

    M = [[1/S, −ΔtA/S], [Δt/S, 1 − Δt²A/S]],   F_n = [Δt/S; Δt²/S] · (B u_n),

``det M = 1/S``, and for ``A ∈ [A_lo, A_hi] = [(√S − 1)², (√S + 1)²] / Δt²`` the
eigenvalues are a complex (or, on the boundary, repeated real) pair of modulus
``S^(−1/2) ≤ 1``. Stability therefore holds *by construction* for every value the
optimiser can reach: ``Δt = sigmoid(raw)``, ``G = relu(raw)``, and
``A = A_lo + (A_hi − A_lo) · sigmoid(raw)``.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
import torch.nn.functional as nnf
from torch import Tensor, nn

from spektron.models.compiled_scan import compiled_scan, compiled_scan_available
from spektron.models.scan import convolution_scan, parallel_scan, sequential_scan

ScanMethod = Literal["auto", "compiled", "convolution", "parallel", "sequential"]

#: With ``method="auto"``, sequences at least this long use the chunked convolution,
#: shorter ones the parallel scan: on a 2-core CPU the scan is faster up to a few hundred
#: positions and the convolution from about a thousand (``spektron bench model``
#: measures both on the machine at hand).
CONVOLUTION_MIN_LENGTH = 1024


def auto_method(u: Tensor) -> str:
    """The path ``method="auto"`` takes for input ``u`` (B, L, H): on the CPU the compiled
    loop when Numba is there (close to the no-recurrence floor at every length), else the
    parallel scan below :data:`CONVOLUTION_MIN_LENGTH` positions and the convolution from it."""
    if u.device.type == "cpu" and u.dtype in (torch.float32, torch.float64) and compiled_scan_available():
        return "compiled"
    return "convolution" if u.shape[1] >= CONVOLUTION_MIN_LENGTH else "parallel"


def oscillator_coefficients(raw_A: Tensor, raw_G: Tensor, raw_dt: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Map unconstrained parameters to ``(A, G, Δt)`` inside the stable region.

    For inspection; the layer itself uses :func:`discretise`, which never divides
    by Δt² (``Δt = sigmoid(raw)`` underflows to 0 for very negative ``raw``).
    """
    dt = torch.sigmoid(raw_dt)
    G = nnf.relu(raw_G)
    sqrt_s = torch.sqrt(1.0 + dt * G)
    a_lo = (sqrt_s - 1.0) ** 2 / dt**2
    a_hi = (sqrt_s + 1.0) ** 2 / dt**2
    A = a_lo + (a_hi - a_lo) * torch.sigmoid(raw_A)
    return A, G, dt


def _blocks(dt2a_over_s: Tensor, inv_s: Tensor, gain: Tensor) -> tuple[Tensor, Tensor]:
    M = torch.stack(
        (
            torch.stack((inv_s, -dt2a_over_s), dim=-1),
            torch.stack((inv_s, 1.0 - dt2a_over_s), dim=-1),
        ),
        dim=-2,
    )
    return M, torch.stack((gain, gain), dim=-1)


def step_matrix(A: Tensor, G: Tensor, dt: Tensor) -> tuple[Tensor, Tensor]:
    """Step matrices (P, 2, 2) and input gains (P, 2) on the scaled state ``[Δt z; x]``.

    ``diag(Δt, 1) · M · diag(1/Δt, 1)`` — the same eigenvalues and the same ``x`` as the
    SPEC's ``M`` on ``[z; x]``, but every entry is bounded (``Δt²A ≤ (√S + 1)²``), where
    ``ΔtA/S`` grows like ``1/Δt``; the scan then loses far fewer digits in float32.
    """
    inv_s = 1.0 / (1.0 + dt * G)
    return _blocks(dt**2 * A * inv_s, inv_s, dt**2 * inv_s)


def discretise(raw_A: Tensor, raw_G: Tensor, raw_dt: Tensor) -> tuple[Tensor, Tensor]:
    """:func:`step_matrix` of :func:`oscillator_coefficients`, computed without Δt²
    in a denominator: ``Δt²A = (√S − 1)² + 4√S · sigmoid(raw_A)``. Finite and stable
    for every finite raw value (Δt → 0 gives zero input gain, not NaN)."""
    dt = torch.sigmoid(raw_dt)
    s = 1.0 + dt * nnf.relu(raw_G)
    sqrt_s = torch.sqrt(s)
    dt2a = (sqrt_s - 1.0) ** 2 + 4.0 * sqrt_s * torch.sigmoid(raw_A)
    inv_s = 1.0 / s
    return _blocks(dt2a * inv_s, inv_s, dt**2 * inv_s)


def ring_init(
    n_states: int,
    r_min: float = 0.9,
    theta_max: float = math.pi,
    dt_min: float = 0.1,
    dt_max: float = 0.9,
    generator: torch.Generator | None = None,
) -> dict[str, Tensor]:
    """Raw parameters whose step matrices have eigenvalues exactly ``r e^{±iθ}``.

    ``r²`` is uniform in ``[r_min², 1]`` and ``θ`` uniform in ``[0, theta_max]``
    (uniform on an annulus, as in the LRU of Orvieto et al. 2023); then
    ``G = (1 − r²)/(Δt r²)`` and ``A = (2 + ΔtG − 2√S cos θ)/Δt²``. Computed in
    float64; returns ``raw_A``, ``raw_G``, ``raw_dt`` and the drawn ``r``, ``theta``.
    """
    kw = dict(dtype=torch.float64, generator=generator)
    r = torch.sqrt(r_min**2 + (1.0 - r_min**2) * torch.rand(n_states, **kw))
    theta = theta_max * torch.rand(n_states, **kw)
    dt = dt_min + (dt_max - dt_min) * torch.rand(n_states, **kw)
    G = (1.0 - r**2) / (dt * r**2)
    # Position of A between A_lo and A_hi is (1 − cos θ)/2; clipped away from 0 and 1
    # only so that the logit stays finite (moves θ by < 3e-3 rad at the very ends).
    frac = ((1.0 - torch.cos(theta)) / 2.0).clamp(1e-6, 1.0 - 1e-6)
    return {
        "raw_A": torch.logit(frac),
        "raw_G": G,
        "raw_dt": torch.logit(dt),
        "r": r,
        "theta": theta,
    }


class DLinOSSLayer(nn.Module):
    """One D-LinOSS layer: ``(B, L, H) → (B, L, H)``.

    With ``bidirectional=True`` a second set of ``state_size`` oscillators reads the
    reversed sequence; both sets go through one scan and one output map ``C``.
    """

    def __init__(
        self,
        d_model: int,
        state_size: int,
        bidirectional: bool = True,
        r_min: float = 0.9,
        theta_max: float = math.pi,
        dt_min: float = 0.1,
        dt_max: float = 0.9,
    ) -> None:
        super().__init__()
        self.d_model = d_model
        self.state_size = state_size
        self.bidirectional = bidirectional
        n = state_size * (2 if bidirectional else 1)
        init = ring_init(n, r_min, theta_max, dt_min, dt_max)
        self.raw_A = nn.Parameter(init["raw_A"].float())
        self.raw_G = nn.Parameter(init["raw_G"].float())
        self.raw_dt = nn.Parameter(init["raw_dt"].float())
        self.B = nn.Linear(d_model, n, bias=False)
        self.C = nn.Linear(n, d_model, bias=False)
        self.D = nn.Parameter(torch.randn(d_model))
        nn.init.normal_(self.B.weight, std=1.0 / math.sqrt(d_model))
        nn.init.normal_(self.C.weight, std=1.0 / math.sqrt(n))

    def coefficients(self) -> tuple[Tensor, Tensor, Tensor]:
        """``(A, G, Δt)`` per state, inside the stable region."""
        return oscillator_coefficients(self.raw_A, self.raw_G, self.raw_dt)

    def step_matrix(self) -> Tensor:
        """The step matrices ``M`` (P, 2, 2) (for inspection and tests)."""
        return discretise(self.raw_A, self.raw_G, self.raw_dt)[0]

    def forward(self, u: Tensor, method: ScanMethod = "auto") -> Tensor:
        # u: (B, L, H)
        M, gains = discretise(self.raw_A, self.raw_G, self.raw_dt)  # (P, 2, 2), (P, 2)
        bu = self.B(u)  # (B, L, P)
        if self.bidirectional:
            p = self.state_size
            bu = torch.cat((bu[..., :p], bu[..., p:].flip(1)), dim=-1)
        if method == "auto":
            method = auto_method(u)
        if method == "compiled":
            x = compiled_scan(M, gains, bu)
        elif method == "convolution":
            x = convolution_scan(M, gains, bu, component=1)  # position states, (B, L, P)
        elif method in ("parallel", "sequential"):
            F = bu.unsqueeze(-1) * gains  # (B, L, P, 2)
            w = parallel_scan(M, F) if method == "parallel" else sequential_scan(M, F)
            x = w[..., 1]  # position states, (B, L, P)
        else:
            raise ValueError("method must be one of 'auto', 'compiled', 'convolution', 'parallel', 'sequential', "
                             f"got {method!r}")
        if self.bidirectional:
            x = torch.cat((x[..., :p], x[..., p:].flip(1)), dim=-1)
        return self.C(x) + self.D * u


class DLinOSSBlock(nn.Module):
    """Pre-norm residual block: LN → D-LinOSS → GELU → dropout → GLU → dropout → +x,
    then optionally LN → feed-forward (mixture of experts) → dropout → +x.

    LayerNorm (not BatchNorm as in the reference implementations): test-time
    training adapts only LayerNorm affine parameters, and LN has no batch statistics.
    ``forward`` returns ``(x, stats)``: the new tokens (B, L, H) and the feed-forward
    layer's routing statistics (``None`` without a mixture of experts).
    """

    def __init__(self, d_model: int, layer: DLinOSSLayer, dropout: float = 0.0, ffn: nn.Module | None = None) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(d_model)
        self.layer = layer
        self.glu = nn.Linear(d_model, 2 * d_model)
        self.dropout = nn.Dropout(dropout)
        self.ffn = ffn
        self.ffn_norm = nn.LayerNorm(d_model) if ffn is not None else None

    def forward(self, x: Tensor, method: ScanMethod = "auto") -> tuple[Tensor, dict[str, Tensor] | None]:
        # x: (B, L, H)
        h = self.dropout(nnf.gelu(self.layer(self.norm(x), method=method)))
        x = x + self.dropout(nnf.glu(self.glu(h), dim=-1))
        stats = None
        if self.ffn is not None:
            y, stats = self.ffn(self.ffn_norm(x))
            x = x + self.dropout(y)
        return x, stats
