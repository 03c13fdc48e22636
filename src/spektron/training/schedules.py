"""Schedules of the KL weight β(t) and the gradient-reversal strength α(p).

A strong bottleneck early and a weak one late lets the encoder first organise the
latent and then fill it (cosine annealing; cyclical annealing after Fu et al. 2019,
"Cyclical annealing schedule: a simple approach to mitigating KL vanishing"). The
reversal strength ramps from 0 to 1 (Ganin et al. 2016): an adversary at full
strength from step 0 makes the encoder degenerate before it has learned anything.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from spektron.models.config import SpektronConfig


def _check_steps(step: int, total_steps: int) -> None:
    if total_steps < 1:
        raise ValueError(f"total_steps must be at least 1, got {total_steps}")
    if step < 0:
        raise ValueError(f"step must be non-negative, got {step}")


def cosine_beta(step: int, total_steps: int, beta_start: float = 0.1, beta_end: float = 0.001, anneal_frac: float = 0.6) -> float:
    """``β_end + ½(β_start − β_end)(1 + cos(π t / T))`` for ``t ≤ T = anneal_frac ·
    total_steps``, then ``β_end`` (flat)."""
    _check_steps(step, total_steps)
    if not 0.0 < anneal_frac <= 1.0:
        raise ValueError(f"anneal_frac must lie in (0, 1], got {anneal_frac}")
    t_anneal = anneal_frac * total_steps
    if step >= t_anneal:
        return float(beta_end)
    return float(beta_end + 0.5 * (beta_start - beta_end) * (1.0 + math.cos(math.pi * step / t_anneal)))


def cyclical_beta(
    step: int,
    total_steps: int,
    beta_low: float = 0.001,
    beta_high: float = 0.1,
    n_cycles: int = 4,
    rise: float = 0.5,
    plateau: float = 0.25,
) -> float:
    """Repeated cycles of: linear rise ``beta_low → beta_high`` over the first
    ``rise`` of the cycle, a plateau at ``beta_high`` for ``plateau``, and a linear
    fall back to ``beta_low`` over the rest."""
    _check_steps(step, total_steps)
    if n_cycles < 1:
        raise ValueError(f"n_cycles must be at least 1, got {n_cycles}")
    if rise < 0 or plateau < 0 or rise + plateau > 1:
        raise ValueError(f"need rise, plateau >= 0 and rise + plateau <= 1, got {rise}, {plateau}")
    period = total_steps / n_cycles
    phase = (min(step, total_steps) % period) / period if step < total_steps else 1.0
    if phase < rise:
        frac = phase / rise
    elif phase <= rise + plateau:
        frac = 1.0
    else:
        fall = 1.0 - rise - plateau
        frac = 1.0 - (phase - rise - plateau) / fall
    return float(beta_low + (beta_high - beta_low) * frac)


def grl_alpha(progress: float, gamma: float = 10.0) -> float:
    """Gradient-reversal strength ``α(p) = 2 / (1 + e^(−γp)) − 1``, ``p`` in [0, 1]."""
    if not math.isfinite(progress):
        raise ValueError(f"progress must be finite, got {progress}")
    p = min(max(float(progress), 0.0), 1.0)
    return 2.0 / (1.0 + math.exp(-gamma * p)) - 1.0


def beta_at(step: int, total_steps: int, config: "SpektronConfig") -> float:
    """β(step) according to ``config.beta_schedule`` and its constants."""
    if config.beta_schedule == "cosine":
        return cosine_beta(step, total_steps, config.beta_start, config.beta_end, config.beta_anneal_frac)
    if config.beta_schedule == "cyclical":
        return cyclical_beta(
            step, total_steps, config.beta_end, config.beta_start,
            config.beta_cycles, config.beta_cycle_rise, config.beta_cycle_plateau,
        )
    raise ValueError(f"unknown beta_schedule {config.beta_schedule!r}")


def schedule_values(step: int, total_steps: int, config: "SpektronConfig") -> tuple[float, float]:
    """``(β, α)`` for one training step: the two numbers ``SpektronModel.forward`` takes."""
    _check_steps(step, total_steps)
    return beta_at(step, total_steps, config), grl_alpha(step / total_steps, config.grl_gamma)
