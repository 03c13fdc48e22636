"""The odd/even parallel scan must reproduce the sequential recurrence."""

from __future__ import annotations

import pytest
import torch

from spektron.models.dlinoss import oscillator_coefficients, ring_init, step_matrix
from spektron.models.scan import convolution_scan, matrix_powers, parallel_scan, sequential_scan


def _random_system(n_states: int, L: int, seed: int, kind: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Step matrices of random D-LinOSS parameters and random inputs, float32."""
    g = torch.Generator().manual_seed(seed)
    if kind == "ring":
        r_min = float(torch.empty(1).uniform_(0.5, 0.99, generator=g))
        init = ring_init(n_states, r_min=r_min, generator=g)
        raw = (init["raw_A"], init["raw_G"], init["raw_dt"])
    else:  # unconstrained raw parameters, as an optimiser could leave them
        raw = tuple(torch.randn(n_states, generator=g, dtype=torch.float64) for _ in range(3))
    M, gains = step_matrix(*oscillator_coefficients(*raw))
    F = torch.randn(3, L, n_states, 1, generator=g, dtype=torch.float64) * gains
    # The recurrence is linear: rescale the inputs so the exact states are O(1), which
    # makes "max abs error < 1e-5" a statement about float32 rounding, not about the
    # (parameter-dependent) size of the states.
    F = F / sequential_scan(M, F).abs().max()
    return M.float(), F.float()


@pytest.mark.parametrize("L", [1, 7, 64, 513])
@pytest.mark.parametrize("kind", ["ring", "raw"])
def test_parallel_equals_sequential(L, kind):
    M, F = _random_system(32, L, seed=L, kind=kind)
    fast, slow = parallel_scan(M, F), sequential_scan(M, F)
    assert fast.shape == slow.shape == (3, L, 32, 2)
    assert (fast - slow).abs().max().item() < 1e-5


def test_first_state_is_first_input_and_recurrence_holds():
    M, F = _random_system(8, 20, seed=3, kind="ring")
    w = parallel_scan(M, F)
    torch.testing.assert_close(w[:, 0], F[:, 0])
    step = torch.einsum("pij,bpj->bpi", M, w[:, 9])
    torch.testing.assert_close(w[:, 10], step + F[:, 10], atol=1e-6, rtol=0)


def test_gradients_agree():
    M, F = _random_system(8, 37, seed=5, kind="ring")
    M1, F1 = M.clone().requires_grad_(), F.clone().requires_grad_()
    M2, F2 = M.clone().requires_grad_(), F.clone().requires_grad_()
    weight = torch.randn(F.shape, generator=torch.Generator().manual_seed(0))
    (parallel_scan(M1, F1) * weight).sum().backward()
    (sequential_scan(M2, F2) * weight).sum().backward()
    torch.testing.assert_close(F1.grad, F2.grad, atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(M1.grad, M2.grad, atol=1e-3, rtol=1e-4)


def test_extra_leading_dimensions():
    M, F = _random_system(4, 11, seed=7, kind="ring")
    F = torch.stack((F, 2 * F))  # (2, 3, L, P, 2)
    out = parallel_scan(M, F)
    assert out.shape == F.shape
    torch.testing.assert_close(out[1], 2 * out[0])


def test_matrix_powers():
    M = torch.randn(5, 2, 2, dtype=torch.float64) * 0.5
    powers = matrix_powers(M, 4)
    assert len(powers) == 4
    torch.testing.assert_close(powers[3], torch.linalg.matrix_power(M, 8))


@pytest.mark.parametrize(
    "M_shape, F_shape",
    [((4, 2, 3), (1, 5, 4, 2)), ((4, 2, 2), (1, 5, 3, 2)), ((4, 2, 2), (5, 4)), ((4, 2, 2), (1, 0, 4, 2))],
)
def test_bad_shapes_raise(M_shape, F_shape):
    with pytest.raises(ValueError):
        parallel_scan(torch.zeros(M_shape), torch.zeros(F_shape))


@pytest.mark.parametrize("L", [1, 2, 7, 64, 257, 1024])
@pytest.mark.parametrize("kind", ["ring", "raw"])
def test_convolution_equals_sequential(L, kind, rank_one_system):
    M, gains, u = rank_one_system(16, L, seed=L, kind=kind)
    # the reference in float64: at L = 1024 the float32 loop itself drifts by ~1e-5
    slow = sequential_scan(M.double(), u.double().unsqueeze(-1) * gains.double())
    fast = convolution_scan(M, gains, u)
    assert fast.shape == slow.shape == (3, L, 16, 2) and fast.dtype == torch.float32
    assert (fast.double() - slow).abs().max().item() < 1e-5
    torch.testing.assert_close(convolution_scan(M, gains, u, component=1), fast[..., 1])


@pytest.mark.parametrize("chunk", [1, 5, 16, 300])
@pytest.mark.parametrize("component", [None, 0, 1])
def test_convolution_any_chunk_and_component(chunk, component, rank_one_system):
    """Chunks that do not divide L (zero padding), one chunk longer than L, one position
    per chunk (a pure chunk-end scan): all equal the loop, for either component alone."""
    M, gains, u = rank_one_system(6, 203, seed=3, kind="ring", dtype=torch.float64)
    ref = sequential_scan(M, u.unsqueeze(-1) * gains)
    ref = ref if component is None else ref[..., component]
    got = convolution_scan(M, gains, u, component=component, chunk=chunk)
    assert got.shape == ref.shape
    assert (got - ref).abs().max().item() < 1e-10
    with pytest.raises(ValueError, match="component must be"):
        convolution_scan(M, gains, u, component=2)


@pytest.mark.parametrize("L", [7, 64, 257])
def test_convolution_gradients_match_the_reference(L, rank_one_system):
    """Forward + backward through the chunked convolution (Toeplitz blocks, chunk-end scan) against the
    sequential loop, in float64 so that the comparison is about the algorithm: within 1e-5
    relative for the inputs, the step matrices and the gains."""
    M, gains, u = rank_one_system(8, L, seed=11, kind="ring", dtype=torch.float64)
    weight = torch.randn(3, L, 8, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    grads = []
    for path in ("sequential", "convolution"):
        Mi, gi, ui = (t.clone().requires_grad_() for t in (M, gains, u))
        x = (sequential_scan(Mi, ui.unsqueeze(-1) * gi)[..., 1] if path == "sequential"
             else convolution_scan(Mi, gi, ui, component=1))
        (x * weight).sum().backward()
        grads.append((Mi.grad, gi.grad, ui.grad))
    for ref, got in zip(*grads):
        assert ((got - ref).abs().max() / ref.abs().max()).item() < 1e-5


def test_dlinoss_layer_paths_agree():
    from spektron.models.dlinoss import DLinOSSLayer

    torch.manual_seed(0)
    layer = DLinOSSLayer(d_model=8, state_size=6)
    u = torch.randn(2, 70, 8)
    out = {m: layer(u, method=m) for m in ("sequential", "parallel", "convolution", "compiled", "auto")}
    for m in ("parallel", "convolution", "compiled", "auto"):
        torch.testing.assert_close(out[m], out["sequential"], atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="method must be one of"):
        layer(u, method="fft")
    with pytest.raises(ValueError, match="gains must have shape"):
        convolution_scan(layer.step_matrix(), torch.zeros(3, 2), torch.zeros(1, 4, 12))
