"""The D-LinOSS recurrence as a compiled loop on the CPU (Numba), with its own backward.

On a CPU every tensor-level path (:mod:`spektron.models.scan`) is memory-bound: the
parallel scan streams the whole ``(B, L, P)`` state through memory at each of its
log L levels, the chunked convolution materialises Toeplitz blocks, and the Python loop
pays a dispatch per position for a few hundred flops. The recurrence itself is tiny —
four multiply-adds per state and position — so the fastest CPU form is the plain loop,
compiled: positions in order, states innermost (contiguous, vectorisable), spectra in
parallel threads. The backward pass is the same loop run in reverse on the adjoint
(``a_n = e₁ ∂ℓ/∂x_n + Mᵀ a_{n+1}``), which gives the gradients of the input, the gains
and the step matrices in one sweep (the last two as one partial sum per spectrum,
added across spectra in float64); the forward states are kept for it. This is what
fused scan kernels do on accelerators (Mamba's selective scan, Gu & Dao 2023); here the
kernel is Numba's, which the package already installs with umap-learn.

The arithmetic is that of :func:`~spektron.models.scan.sequential_scan`, term for term,
so the two agree to rounding (usually bit for bit). Numba compiles each kernel once per
machine (cached on disk next to this module, or in the user cache when that is
read-only); the first call in a process without a cache costs a few seconds.
"""

from __future__ import annotations

import threading

import numpy as np
import torch
from torch import Tensor

from spektron.models.scan import check_rank_one

__all__ = ["compiled_scan", "compiled_scan_available"]

_KERNELS = None
_AVAILABLE: bool | None = None
#: The workqueue layer may not be entered by two threads at once: calls take turns.
_LOCK = threading.Lock()


def compiled_scan_available() -> bool:
    """True when Numba imports (the path then runs for CPU float32/float64 tensors); the
    answer is kept, since ``auto`` asks at every layer call."""
    global _AVAILABLE
    if _AVAILABLE is None:
        try:
            _kernels()
            _AVAILABLE = True
        except ImportError:
            _AVAILABLE = False
    return _AVAILABLE


def _kernels():
    """Compile (or load from Numba's cache) the forward and backward kernels, once."""
    global _KERNELS
    if _KERNELS is not None:
        return _KERNELS
    import numba
    from numba import njit, prange

    if numba.config.THREADING_LAYER == "default":
        # GNU OpenMP (numba's second choice) aborts a process that forks after using it
        # (DataLoader workers, multiprocessing pools); TBB and the workqueue are fork-safe.
        numba.config.THREADING_LAYER_PRIORITY = ["tbb", "workqueue", "omp"]

    @njit(parallel=True, cache=True)
    def forward(m00, m01, m10, m11, g0, g1, u, w0, w1):  # pragma: no cover - compiled
        B, L, P = u.shape
        for b in prange(B):
            s0 = np.zeros(P, dtype=u.dtype)
            s1 = np.zeros(P, dtype=u.dtype)
            for n in range(L):
                for p in range(P):
                    f = u[b, n, p]
                    v = (m00[p] * s0[p] + m01[p] * s1[p]) + g0[p] * f
                    x = (m10[p] * s0[p] + m11[p] * s1[p]) + g1[p] * f
                    s0[p] = v
                    s1[p] = x
                    w0[b, n, p] = v
                    w1[b, n, p] = x

    @njit(parallel=True, cache=True)
    def backward(m00, m01, m10, m11, g0, g1, u, w0, w1, gx, du, sums):  # pragma: no cover - compiled
        B, L, P = u.shape
        for b in prange(B):
            a0 = np.zeros(P, dtype=u.dtype)
            a1 = np.zeros(P, dtype=u.dtype)
            s = np.zeros((6, P), dtype=u.dtype)  # Σ u a₀, Σ u a₁, Σ a_i w_j of the previous state
            for n in range(L - 1, -1, -1):
                before = max(n - 1, 0)  # the state before position n, zero before the start
                keep = u.dtype.type(1.0 if n > 0 else 0.0)
                for p in range(P):
                    t0 = m00[p] * a0[p] + m10[p] * a1[p]
                    t1 = (m01[p] * a0[p] + m11[p] * a1[p]) + gx[b, n, p]
                    a0[p] = t0
                    a1[p] = t1
                    f = u[b, n, p]
                    du[b, n, p] = g0[p] * t0 + g1[p] * t1
                    s[0, p] += f * t0
                    s[1, p] += f * t1
                    q0 = keep * w0[b, before, p]
                    q1 = keep * w1[b, before, p]
                    s[2, p] += t0 * q0
                    s[3, p] += t0 * q1
                    s[4, p] += t1 * q0
                    s[5, p] += t1 * q1
            for k in range(6):
                for p in range(P):
                    sums[b, k, p] = s[k, p]

    _KERNELS = (numba, forward, backward)
    return _KERNELS


def _threads(numba) -> None:
    numba.set_num_threads(max(1, min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS)))


def _flat(M: Tensor, gains: Tensor) -> list[np.ndarray]:
    m = M.detach().reshape(-1, 4).T.contiguous().numpy()
    g = gains.detach().T.contiguous().numpy()
    return [m[0], m[1], m[2], m[3], g[0], g[1]]


class _CompiledScan(torch.autograd.Function):
    @staticmethod
    def forward(ctx, M: Tensor, gains: Tensor, u: Tensor) -> Tensor:
        numba, forward, _ = _kernels()
        _threads(numba)
        u = u.detach().contiguous()
        w0, w1 = torch.empty_like(u), torch.empty_like(u)
        with _LOCK:
            forward(*_flat(M, gains), u.numpy(), w0.numpy(), w1.numpy())
        ctx.save_for_backward(M, gains, u, w0, w1)
        return w1

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_x: Tensor):
        numba, _, backward = _kernels()
        _threads(numba)
        M, gains, u, w0, w1 = ctx.saved_tensors
        B, _, P = u.shape
        du = torch.empty_like(u)
        sums = u.new_empty(B, 6, P)
        grad_x = grad_x.to(u.dtype).contiguous()
        with _LOCK:
            backward(*_flat(M, gains), u.numpy(), w0.numpy(), w1.numpy(), grad_x.numpy(), du.numpy(), sums.numpy())
        total = sums.sum(dim=0, dtype=torch.float64)  # (6, P): one partial sum per spectrum, added in float64
        dM = total[2:].T.reshape(P, 2, 2).to(M.dtype)
        dgains = total[:2].T.to(gains.dtype)
        return dM, dgains, du


def compiled_scan(M: Tensor, gains: Tensor, u: Tensor) -> Tensor:
    """Position states of ``w_n = M w_{n-1} + g u_n`` (``w_{-1} = 0``) by the compiled loop.

    ``M`` is ``(P, 2, 2)``, ``gains`` ``(P, 2)``, ``u`` ``(..., L, P)``; returns the
    second state component, ``(..., L, P)`` — what
    ``sequential_scan(M, u[..., None] * gains)[..., 1]`` returns, differentiable in all
    three inputs. CPU tensors of one floating dtype only.
    """
    check_rank_one(M, gains, u)
    tensors = (M, gains, u)
    if any(t.device.type != "cpu" for t in tensors):
        raise ValueError("the compiled scan runs on the CPU only; use method='parallel' or 'convolution' on "
                         f"{u.device}")
    if u.dtype not in (torch.float32, torch.float64) or any(t.dtype != u.dtype for t in tensors):
        raise ValueError(f"M, gains and u must share one float dtype, got {M.dtype}, {gains.dtype}, {u.dtype}")
    lead, (L, P) = u.shape[:-2], u.shape[-2:]
    x = _CompiledScan.apply(M, gains, u.reshape(-1, L, P))
    return x.reshape(*lead, L, P)
