"""D-LinOSS layer: stability by construction, exact ring initialisation, the block."""

from __future__ import annotations

import math

import pytest
import torch

from spektron.models.dlinoss import (
    DLinOSSBlock,
    DLinOSSLayer,
    discretise,
    oscillator_coefficients,
    ring_init,
    step_matrix,
)


def _eigenvalues(raw_A, raw_G, raw_dt):
    M, _ = discretise(raw_A, raw_G, raw_dt)
    return torch.linalg.eigvals(M)  # (P, 2) complex


@pytest.mark.parametrize("scale", [1.0, 10.0, 1e3])
def test_eigenvalues_inside_unit_circle_for_random_parameters(scale):
    g = torch.Generator().manual_seed(int(scale))
    raw = [torch.randn(4000, generator=g, dtype=torch.float64) * scale for _ in range(3)]
    lam = _eigenvalues(*raw).abs()
    dt, G = torch.sigmoid(raw[2]), torch.relu(raw[1])
    # (a repeated root on the clamp boundary costs the eigen-solver ~√eps accuracy)
    assert torch.all(lam <= 1.0 + 1e-7)
    # |λ|² = det M = 1/(1 + ΔtG): strictly inside wherever there is damping.
    expected = (1.0 + dt * G).rsqrt()
    damped = (dt * G) > 1e-6
    assert damped.sum() > 500
    assert torch.all(lam[damped] < 1.0)
    # On the soft-clamp boundary the pair can become a repeated real root; the
    # modulus is still √det (relative accuracy of the eigen-solver near a double root).
    torch.testing.assert_close(lam.prod(-1), expected**2, atol=1e-9, rtol=1e-7)


def test_extreme_parameters_stay_stable():
    values = torch.tensor([-1e4, -50.0, -1.0, 0.0, 1.0, 50.0, 1e4], dtype=torch.float64)
    raw_A, raw_G, raw_dt = torch.meshgrid(values, values, values, indexing="ij")
    M, gains = discretise(raw_A.flatten(), raw_G.flatten(), raw_dt.flatten())
    assert torch.isfinite(M).all() and torch.isfinite(gains).all()
    # Gershgorin-free check via the characteristic polynomial: |λ| ≤ 1 ⇔ |det| ≤ 1 and
    # |tr| ≤ 1 + det (Jury's criterion for 2×2 matrices).
    det = torch.linalg.det(M)
    tr = M.diagonal(dim1=-2, dim2=-1).sum(-1)
    assert torch.all(det.abs() <= 1 + 1e-9)
    assert torch.all(tr.abs() <= 1 + det + 1e-9)


def test_ring_init_gives_exact_eigenvalues():
    init = ring_init(500, r_min=0.9, generator=torch.Generator().manual_seed(0))
    r, theta = init["r"], init["theta"]
    assert r.min() >= 0.9 and r.max() <= 1.0
    assert theta.min() >= 0.0 and theta.max() <= math.pi
    lam = _eigenvalues(init["raw_A"], init["raw_G"], init["raw_dt"])
    lam = lam[torch.arange(500), lam.imag.argmax(dim=-1)]  # the one with θ ≥ 0
    # away from θ = 0, π (where the logit of the clamp position is clipped)
    inner = (theta > 0.01) & (theta < math.pi - 0.01)
    expected = torch.polar(r, theta)
    assert inner.sum() > 490
    torch.testing.assert_close(lam[inner], expected[inner], atol=1e-9, rtol=0)


def test_discretise_matches_step_matrix_of_coefficients():
    g = torch.Generator().manual_seed(4)
    raw = [torch.randn(100, generator=g, dtype=torch.float64) * 2 for _ in range(3)]
    M1, g1 = discretise(*raw)
    M2, g2 = step_matrix(*oscillator_coefficients(*raw))
    torch.testing.assert_close(M1, M2)
    torch.testing.assert_close(g1, g2)


def test_layer_parallel_equals_sequential():
    torch.manual_seed(0)
    layer = DLinOSSLayer(16, 8, bidirectional=True)
    u = torch.randn(2, 45, 16)
    fast, slow = layer(u), layer(u, method="sequential")
    scale = slow.abs().max()
    assert (fast - slow).abs().max() / scale < 1e-5
    with pytest.raises(ValueError, match="method"):
        layer(u, method="fft")


def test_unidirectional_is_causal_bidirectional_is_not():
    torch.manual_seed(1)
    u = torch.randn(1, 20, 8)
    v = u.clone()
    v[:, -1] += 1.0  # change only the last input
    causal = DLinOSSLayer(8, 4, bidirectional=False)
    torch.testing.assert_close(causal(u)[:, :-1], causal(v)[:, :-1])
    both = DLinOSSLayer(8, 4, bidirectional=True)
    assert (both(u)[:, 0] - both(v)[:, 0]).abs().max() > 1e-6


def test_layer_parameters_get_gradients():
    layer = DLinOSSLayer(8, 4)
    layer(torch.randn(2, 10, 8)).pow(2).mean().backward()
    for name, p in layer.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


def test_block_shapes_and_residual():
    torch.manual_seed(2)
    block = DLinOSSBlock(8, DLinOSSLayer(8, 4), dropout=0.0)
    x = torch.randn(3, 12, 8)
    y, stats = block(x)
    assert y.shape == x.shape and stats is None
    # zero GLU output ⇒ the block is the identity (the residual path)
    torch.nn.init.zeros_(block.glu.weight)
    torch.nn.init.zeros_(block.glu.bias)
    torch.testing.assert_close(block(x)[0], x)


def test_auto_falls_back_without_the_compiled_loop(monkeypatch):
    """Without Numba (or off the CPU), ``auto`` takes the parallel scan for short sequences
    and the chunked convolution from CONVOLUTION_MIN_LENGTH positions, as before."""
    import spektron.models.compiled_scan as compiled
    from spektron.models.dlinoss import CONVOLUTION_MIN_LENGTH, auto_method

    monkeypatch.setattr(compiled, "_AVAILABLE", False)
    assert auto_method(torch.zeros(1, 44, 3)) == "parallel"
    assert auto_method(torch.zeros(1, CONVOLUTION_MIN_LENGTH, 3)) == "convolution"
    assert auto_method(torch.zeros(1, 44, 3, dtype=torch.float16)) == "parallel"
