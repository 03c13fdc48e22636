"""Gradient reversal (Ganin & Lempitsky 2015; Ganin et al. 2016, "Domain-adversarial
training of neural networks").

Identity forward, gradient multiplied by −α backward: the classifier behind it learns
to recognise the instrument while the encoder learns to hide it. The forward returns
``x.clone()``, never a view, because a view of the input shares its storage and
corrupts gradients under data-parallel training.
"""

from __future__ import annotations

from typing import Any

from torch import Tensor, autograd, nn


class _ReverseGradient(autograd.Function):
    @staticmethod
    def forward(ctx: Any, x: Tensor, alpha: float) -> Tensor:
        ctx.alpha = float(alpha)
        return x.clone()

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        return -ctx.alpha * grad, None


def grad_reverse(x: Tensor, alpha: float = 1.0) -> Tensor:
    """``x`` unchanged (a copy) forward; gradient ``−alpha ·`` incoming backward."""
    return _ReverseGradient.apply(x, alpha)


class GradientReversal(nn.Module):
    """Module form of :func:`grad_reverse`; ``alpha`` may be changed between steps."""

    def __init__(self, alpha: float = 1.0) -> None:
        super().__init__()
        self.alpha = float(alpha)

    def forward(self, x: Tensor, alpha: float | None = None) -> Tensor:
        return grad_reverse(x, self.alpha if alpha is None else alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"
