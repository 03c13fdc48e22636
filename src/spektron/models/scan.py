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
convolution of ``u`` with the impulse response ``K[m] = Mᵐ g``. It is applied in chunks
of ``C`` positions (the "chunked" form of Mamba-2's state-space duality, Dao & Gu 2024):
inside a chunk, one lower-triangular Toeplitz matrix per state (a batched matmul);
across chunks, the states at the chunk ends are scanned with ``M^C`` (a sequence L/C
long), and each chunk adds ``M^(i+1)`` times the state it starts from. An FFT
convolution (the S4/S5 route) was measured first: it needs float64 transforms to keep
an undamped oscillator's digits and ran at half the speed of the loop on a 2-core CPU.
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


def check_rank_one(M: Tensor, gains: Tensor, u: Tensor) -> None:
    """Shapes of a rank-one-input recurrence ``w_n = M w_{n-1} + g u_n``: ``M`` (P, 2, 2),
    ``gains`` (P, 2), ``u`` (..., L, P) with L ≥ 1 (the convolution and compiled paths)."""
    if M.ndim != 3 or M.shape[-2:] != (2, 2):
        raise ValueError(f"M must have shape (P, 2, 2), got {tuple(M.shape)}")
    P = M.shape[0]
    if u.ndim < 2 or u.shape[-1] != P:
        raise ValueError(f"u must have shape (..., L, P) with P = {P}, got {tuple(u.shape)}")
    if gains.shape != (P, 2):
        raise ValueError(f"gains must have shape (P, 2) = ({P}, 2), got {tuple(gains.shape)}")
    if u.shape[-2] == 0:
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
    """``K[m] = Mᵐ g`` for m = 0 … length − 1: the scan of a unit impulse. ``gains`` is
    ``(..., P, 2)`` (several inputs scanned together); returns ``(..., length, P, 2)``."""
    if gains.shape[-2:] != (M.shape[0], 2):
        raise ValueError(f"gains must have shape (..., P, 2) with P = {M.shape[0]}, got {tuple(gains.shape)}")
    impulse = torch.cat((gains.unsqueeze(-3), gains.new_zeros(*gains.shape[:-2], length - 1, *gains.shape[-2:])),
                        dim=-3)
    return parallel_scan(M, impulse)


#: Positions per chunk in :func:`convolution_scan` (fastest of 8–64 on a 2-core CPU).
CHUNK = 16


def convolution_scan(
    M: Tensor, gains: Tensor, u: Tensor, component: int | None = None, chunk: int = CHUNK
) -> Tensor:
    """The states of ``w_n = M w_{n-1} + g u_n`` as a chunked causal convolution.

    ``u`` is ``(..., L, P)`` (one input per state); returns ``(..., L, P, 2)`` like
    :func:`parallel_scan` of ``F = u ⊗ g``, or only ``component`` (0: velocity, 1:
    position) as ``(..., L, P)``. The kernel and the powers of ``M`` are formed in
    float64 and cast to ``u``'s dtype; every sum then runs over at most ``chunk`` terms
    plus a scan over L/``chunk`` chunk ends.
    """
    check_rank_one(M, gains, u)
    if component not in (None, 0, 1):
        raise ValueError(f"component must be None, 0 or 1, got {component!r}")
    if chunk < 1:
        raise ValueError(f"chunk must be ≥ 1, got {chunk}")
    lead, (L, P) = u.shape[:-2], u.shape[-2:]
    u = u.reshape(-1, L, P)
    B, C = u.shape[0], min(chunk, L)
    n_chunks = -(-L // C)
    if n_chunks * C > L:  # zeros after the end change nothing before it (causal)
        u = torch.cat((u, u.new_zeros(B, n_chunks * C - L, P)), dim=1)
    # One impulse scan for the kernel K[m] = Mᵐ g and for M^(i+1) (i = 0 … C − 1, the
    # responses of M's two columns), in float64
    M64 = M.to(torch.float64)
    responses = impulse_response(M64, torch.stack((gains.to(torch.float64), M64[:, :, 0], M64[:, :, 1])), C)
    toeplitz = _toeplitz(responses[0]).to(u.dtype)  # (P, 2, C, C)
    powers = torch.stack((responses[1], responses[2]), dim=-1)  # (C, P, 2, 2): M^(i+1)
    if component is None:
        rows = toeplitz.reshape(P, 2 * C, C)
    else:  # the wanted component at every position, the other one only at the chunk end
        rows = torch.cat((toeplitz[:, component], toeplitz[:, 1 - component, C - 1 :]), dim=1)
    # (P, C, B·n_chunks): one matmul per state over all chunks of all spectra
    local = torch.bmm(rows, u.reshape(B, n_chunks, C, P).permute(3, 2, 0, 1).reshape(P, C, -1))
    if component is None:
        local = local.reshape(P, 2, C, B, n_chunks)
        ends = local[:, :, C - 1]
    else:
        ends = local[:, C - 1 :].reshape(P, 2, B, n_chunks)
        if component == 1:  # the last two rows hold (position, velocity) at the chunk end
            ends = ends.flip(1)
    # States at the chunk ends, then the state each chunk starts from (zero for the first)
    carried = parallel_scan(powers[C - 1].to(u.dtype), ends.permute(2, 3, 0, 1))  # steps of M^C
    start = torch.cat((carried.new_zeros(B, 1, P, 2), carried[:, :-1]), dim=1)  # (B, n, P, 2)
    powers = powers.to(u.dtype)
    if component is None:
        out = local.permute(3, 4, 2, 0, 1) + torch.einsum("iprs,bnps->bnipr", powers, start)
        return out.reshape(B, n_chunks * C, P, 2)[:, :L].reshape(*lead, L, P, 2)
    carry = powers[:, :, component, 0] * start[:, :, None, :, 0] + powers[:, :, component, 1] * start[:, :, None, :, 1]
    out = local[:, :C].reshape(P, C, B, n_chunks).permute(2, 3, 1, 0) + carry
    return out.reshape(B, n_chunks * C, P)[:, :L].reshape(*lead, L, P)


def _toeplitz(K: Tensor) -> Tensor:
    """Lower-triangular Toeplitz blocks ``T[p, r, i, j] = K[i − j, p, r]`` (zero for j > i)."""
    C = K.shape[0]
    lag = torch.arange(C)[:, None] - torch.arange(C)[None, :]
    T = K[lag.clamp(min=0)] * (lag >= 0)[..., None, None].to(K.dtype)  # (C, C, P, 2)
    return T.permute(2, 3, 0, 1)
