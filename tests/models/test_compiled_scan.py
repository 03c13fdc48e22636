"""The compiled loop (Numba) must reproduce the sequential recurrence and its gradients."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading

import pytest
import torch

from spektron.models.compiled_scan import compiled_scan, compiled_scan_available
from spektron.models.dlinoss import DLinOSSLayer, auto_method
from spektron.models.scan import sequential_scan

pytestmark = pytest.mark.skipif(not compiled_scan_available(), reason="Numba is not installed")


@pytest.mark.parametrize("L", [1, 2, 7, 64, 257, 1024])
@pytest.mark.parametrize("kind", ["ring", "raw"])
def test_compiled_equals_sequential(L, kind, rank_one_system):
    M, gains, u = rank_one_system(16, L, seed=L, kind=kind)
    slow = sequential_scan(M, u.unsqueeze(-1) * gains)[..., 1]  # the float32 loop itself
    fast = compiled_scan(M, gains, u)
    assert fast.shape == slow.shape == (3, L, 16) and fast.dtype == torch.float32
    assert (fast - slow).abs().max().item() < 1e-6  # same arithmetic, term for term
    exact = sequential_scan(M.double(), u.double().unsqueeze(-1) * gains.double())[..., 1]
    assert (fast.double() - exact).abs().max().item() < 1e-5


@pytest.mark.parametrize("L", [1, 7, 64, 257])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_compiled_gradients_match_the_reference(L, dtype, rank_one_system):
    """Forward + backward (the reverse adjoint sweep) against autograd through the loop:
    within 1e-5 relative for the inputs, the step matrices and the gains (float64:
    to rounding; float32: the partial sums per spectrum are float32)."""
    M, gains, u = rank_one_system(8, L, seed=11 + L, kind="ring", dtype=dtype)
    weight = torch.randn(3, L, 8, generator=torch.Generator().manual_seed(1), dtype=dtype)
    grads = []
    for path in ("sequential", "compiled"):
        Mi, gi, ui = (t.double().clone().requires_grad_() if path == "sequential" else t.clone().requires_grad_()
                      for t in (M, gains, u))
        x = (sequential_scan(Mi, ui.unsqueeze(-1) * gi)[..., 1] if path == "sequential"
             else compiled_scan(Mi, gi, ui))
        (x * (weight.double() if path == "sequential" else weight)).sum().backward()
        grads.append((Mi.grad, gi.grad, ui.grad))
    bound = 1e-12 if dtype == torch.float64 else 1e-5
    for ref, got in zip(*grads):
        assert got.dtype == dtype
        # (at L = 1 the step matrices' gradient is exactly zero: so must the compiled one be)
        assert (got.double() - ref).abs().max().item() <= bound * ref.abs().max().item()


def test_leading_dimensions_and_bad_input(rank_one_system):
    M, gains, u = rank_one_system(4, 11, seed=7, kind="ring")
    both = compiled_scan(M, gains, torch.stack((u, 2 * u)))  # (2, 3, L, P)
    torch.testing.assert_close(both[1], 2 * compiled_scan(M, gains, u))
    with pytest.raises(ValueError, match="M must have shape"):
        compiled_scan(M[:, :1], gains, u)
    with pytest.raises(ValueError, match="gains must have shape"):
        compiled_scan(M, gains[:2], u)
    with pytest.raises(ValueError, match=r"u must have shape \(\.\.\., L, P\) with P = 4"):
        compiled_scan(M, gains, u[..., :3])
    with pytest.raises(ValueError, match="L = 0"):
        compiled_scan(M, gains, u[:, :0])
    with pytest.raises(ValueError, match="one float dtype"):
        compiled_scan(M.double(), gains, u)


def test_layer_auto_takes_the_compiled_loop_on_the_cpu():
    torch.manual_seed(0)
    layer = DLinOSSLayer(d_model=8, state_size=6)
    u = torch.randn(2, 70, 8)
    assert auto_method(u) == "compiled"
    torch.testing.assert_close(layer(u, method="compiled"), layer(u, method="sequential"), atol=1e-6, rtol=1e-6)


def test_threads_take_turns(rank_one_system):
    """Calls from several Python threads at once give the single-thread result (Numba's
    workqueue layer would abort the process on concurrent entry)."""
    M, gains, u = rank_one_system(8, 300, seed=2, kind="ring")
    expected = compiled_scan(M, gains, u)
    results = []
    threads = [threading.Thread(target=lambda: results.append(compiled_scan(M, gains, u))) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 4 and all(torch.equal(r, expected) for r in results)


def test_a_process_may_fork_after_using_it():
    """GNU OpenMP aborts a child forked after the parent ran a parallel region; the layer
    chosen here must not (DataLoader workers, multiprocessing pools)."""
    code = textwrap.dedent("""
        import multiprocessing as mp, torch
        from spektron.models.compiled_scan import compiled_scan
        M = torch.eye(2).expand(4, 2, 2).contiguous() * 0.5
        g, u = torch.ones(4, 2), torch.ones(8, 50, 4)
        def run(_):
            return float(compiled_scan(M, g, u).sum())
        parent = run(0)
        with mp.get_context("fork").Pool(2) as pool:
            assert pool.map(run, [0, 1]) == [parent, parent]
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "ok" in done.stdout, done.stderr
