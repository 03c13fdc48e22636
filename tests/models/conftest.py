"""Shared test systems for the recurrence paths."""

from __future__ import annotations

import pytest
import torch

from spektron.models.dlinoss import oscillator_coefficients, ring_init, step_matrix
from spektron.models.scan import sequential_scan


def _rank_one_system(n_states: int, L: int, seed: int, kind: str, dtype=torch.float32):
    """M, gains and per-state inputs u (F = u ⊗ gains, as in a D-LinOSS layer), scaled
    so that the exact states are O(1)."""
    g = torch.Generator().manual_seed(seed)
    if kind == "ring":
        init = ring_init(n_states, r_min=float(torch.empty(1).uniform_(0.5, 0.99, generator=g)), generator=g)
        raw = (init["raw_A"], init["raw_G"], init["raw_dt"])
    else:
        raw = tuple(torch.randn(n_states, generator=g, dtype=torch.float64) for _ in range(3))
    M, gains = step_matrix(*oscillator_coefficients(*raw))
    u = torch.randn(3, L, n_states, generator=g, dtype=torch.float64)
    u = u / sequential_scan(M, u.unsqueeze(-1) * gains).abs().max()
    return M.to(dtype), gains.to(dtype), u.to(dtype)


@pytest.fixture
def rank_one_system():
    """:func:`_rank_one_system`, for the scan tests of every path."""
    return _rank_one_system
