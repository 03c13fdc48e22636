"""Linear recurrences ``w_n = M w_{n-1} + F_n`` with one 2×2 block ``M`` per state.

The D-LinOSS step matrix does not depend on the input, so a scan over the sequence
only ever needs the powers ``M^(2^k)``: the odd/even (recursive doubling) scan pairs
neighbours, ``(M, F_{2i}) ∘ (M, F_{2i+1}) = (M², M F_{2i} + F_{2i+1})``, solves the
half-length problem with ``M²``, and fills in the even positions — O(L) work,
O(log L) depth, no Python loop over the sequence (Blelloch 1990, "Prefix sums and
their applications"; Martin & Cundy 2018, "Parallelizing linear recurrent neural
nets over sequence length"). :func:`sequential_scan` is the plain loop kept as the
reference the fast path is tested against.

What the log depth buys depends on the hardware: it removes the Python loop and
the L dependent steps, but every level streams the whole (B, L, P) state through
memory, whereas the loop's per-step working set stays in cache. On a 2-core CPU
with B·P in the thousands the two measure about the same (``spektron bench
model``); the parallel form wins where per-step overhead dominates (small B·P,
long L, accelerators).

Shapes: ``M`` is ``(P, 2, 2)`` (one block per state), ``F`` is ``(..., L, P, 2)``.
The initial state is zero, so ``w_0 = F_0``.

A third path, :func:`convolution_scan`, uses that the recurrence is linear and
time-invariant with a rank-one input (``F_n = g · u_n``): the states are the causal
convolution of ``u`` with the impulse response ``K[m] = Mᵐ g``, computed once per call
(a scan of one impulse, independent of the batch) and applied with real FFTs of length
≥ 2L — the S4/S5 route. O(B·P·L log L) and a handful of large kernels instead of
log L levels of elementwise work.
"""

from __future__ import annotations

import torch
from torch import Tensor


def _check(M: Tensor, F: Tensor) -> None:
    if M.ndim != 3 or M.shape[-2:] != (2, 2):
        raise ValueError(f"M must have shape (P, 2, 2), got {tuple(M.shape)}")
    if F.ndim < 3 or F.shape[-1] != 2 or F.shape[-2] != M.shape[0]:
        raise ValueError(
            f"F must have shape (..., L, P, 2) with P = {M.shape[0]}, got {tuple(F.shape)}"
        )
    if F.shape[-3] == 0:
        raise ValueError("cannot scan an empty sequence (L = 0)")


def apply_blocks(M: Tensor, w: Tensor) -> Tensor:
    """``M w`` for one 2×2 block per state: ``M`` (P, 2, 2), ``w`` (..., P, 2)."""
    w0, w1 = w[..., 0], w[..., 1]
    return torch.stack(
        (M[:, 0, 0] * w0 + M[:, 0, 1] * w1, M[:, 1, 0] * w0 + M[:, 1, 1] * w1), dim=-1
    )


def sequential_scan(M: Tensor, F: Tensor) -> Tensor:
    """Reference: the recurrence as a loop over the sequence (slow, obviously right)."""
    _check(M, F)
    w = torch.zeros_like(F[..., 0, :, :])
    out = []
    # unbind once: indexing F[..., n, :, :] inside the loop would make autograd
    # allocate a full-size gradient per step (quadratic in L)
    for f in F.unbind(dim=-3):
        w = apply_blocks(M, w) + f
        out.append(w)
    return torch.stack(out, dim=-3)


def parallel_scan(M: Tensor, F: Tensor) -> Tensor:
    """All states of ``w_n = M w_{n-1} + F_n`` by the odd/even scan (same result as
    :func:`sequential_scan` up to rounding)."""
    _check(M, F)
    lead = F.shape[:-3]
    L, P = F.shape[-3], F.shape[-2]
    F = F.reshape(-1, L, P, 2)
    # Work on the two state components as separate contiguous (B, L, P) tensors:
    # elementwise kernels on stride-2 views of the last axis are several times slower.
    powers = matrix_powers(M, max(L - 1, 1).bit_length())
    w0, w1 = _odd_even(powers, F[..., 0].contiguous(), F[..., 1].contiguous())
    return torch.stack((w0, w1), dim=-1).reshape(*lead, L, P, 2)


def matrix_powers(M: Tensor, n_levels: int) -> list[Tensor]:
    """``[M, M², M⁴, …]`` (``n_levels`` entries) by repeated squaring.

    Squared in float64 and cast back: a lightly damped, slowly rotating block is
    nearly defective, and float32 squaring would lose digits the scan then amplifies.
    """
    power = M.to(torch.float64)
    powers = [M]
    for _ in range(n_levels - 1):
        power = power @ power
        powers.append(power.to(M.dtype))
    return powers


def _odd_even(powers: list[Tensor], f0: Tensor, f1: Tensor) -> tuple[Tensor, Tensor]:
    # f0, f1: (B, L, P) components of F; powers[0]: the step across one element here.
    B, L, P = f0.shape
    if L == 1:
        return f0, f1
    if L % 2:
        pad = f0.new_zeros(B, 1, P)
        f0, f1 = torch.cat((f0, pad), dim=1), torch.cat((f1, pad), dim=1)
    m00, m01, m10, m11 = powers[0].reshape(-1, 4).unbind(-1)  # each (P,)
    e0, e1 = f0[:, 0::2], f1[:, 0::2]  # even positions, (B, L/2, P)
    o0, o1 = f0[:, 1::2], f1[:, 1::2]  # odd positions
    # States at odd positions: the paired elements (M F_even + F_odd) scanned with M².
    w0_odd, w1_odd = _odd_even(powers[1:], m00 * e0 + m01 * e1 + o0, m10 * e0 + m11 * e1 + o1)
    # Even positions: one step on from the previous odd state (zero before the start).
    p0, p1 = w0_odd[:, :-1], w1_odd[:, :-1]
    zero = e0.new_zeros(B, 1, P)
    w0_even = e0 + torch.cat((zero, m00 * p0 + m01 * p1), dim=1)
    w1_even = e1 + torch.cat((zero, m10 * p0 + m11 * p1), dim=1)
    w0 = torch.stack((w0_even, w0_odd), dim=2).reshape(B, -1, P)[:, :L]
    w1 = torch.stack((w1_even, w1_odd), dim=2).reshape(B, -1, P)[:, :L]
    return w0, w1


def impulse_response(M: Tensor, gains: Tensor, length: int) -> Tensor:
    """``K[m] = Mᵐ g`` for m = 0 … length − 1, (length, P, 2): the scan of a unit impulse."""
    if gains.shape != (M.shape[0], 2):
        raise ValueError(f"gains must have shape (P, 2) = ({M.shape[0]}, 2), got {tuple(gains.shape)}")
    impulse = torch.cat((gains.unsqueeze(0), gains.new_zeros(length - 1, *gains.shape)), dim=0)
    return parallel_scan(M, impulse.unsqueeze(0))[0]


def convolution_scan(M: Tensor, gains: Tensor, u: Tensor, component: int | None = None) -> Tensor:
    """The states of ``w_n = M w_{n-1} + g u_n`` as a causal convolution (FFT).

    ``u`` is ``(..., L, P)`` (one input per state); returns ``(..., L, P, 2)`` like
    :func:`parallel_scan` of ``F = u ⊗ g``, or only ``component`` (0: velocity, 1:
    position) as ``(..., L, P)``. The impulse response and the FFTs run in float64: an
    undamped oscillator's kernel does not decay, and float32 arithmetic over 2L terms
    would lose the digits the reference keeps (the result is cast back to ``u``'s dtype).
    """
    if u.ndim < 2 or u.shape[-1] != M.shape[0]:
        raise ValueError(f"u must have shape (..., L, P) with P = {M.shape[0]}, got {tuple(u.shape)}")
    L = u.shape[-2]
    if L == 0:
        raise ValueError("cannot scan an empty sequence (L = 0)")
    K = impulse_response(M.to(torch.float64), gains.to(torch.float64), L)  # (L, P, 2)
    n = 1 << (2 * L - 1).bit_length()  # ≥ 2L − 1: no circular wrap-around
    U = torch.fft.rfft(u.to(torch.float64), n=n, dim=-2)  # (..., n/2+1, P)
    if component is not None:
        Kf = torch.fft.rfft(K[..., component], n=n, dim=0)  # (n/2+1, P)
        return torch.fft.irfft(U * Kf, n=n, dim=-2)[..., :L, :].to(u.dtype)
    Kf = torch.fft.rfft(K, n=n, dim=0)  # (n/2+1, P, 2)
    return torch.fft.irfft(U.unsqueeze(-1) * Kf, n=n, dim=-3)[..., :L, :, :].to(u.dtype)
