"""AdamW with linear warm-up and cosine decay: the pretraining optimiser.

Warm-up keeps the first Adam steps (whose second-moment estimates are still
noisy) from throwing a freshly initialised encoder far off; cosine decay to a
floor (``min_lr_ratio``) anneals the end of training without stopping it dead
(Loshchilov & Hutter, "SGDR", ICLR 2017; "Decoupled weight decay
regularization", ICLR 2019).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.optim.lr_scheduler import LambdaLR

__all__ = ["WarmupCosine", "build_optimizer", "build_scheduler"]


@dataclass
class WarmupCosine:
    """Learning-rate multiplier: 0 → 1 linearly over ``warmup_steps``, then a cosine to ``min_lr_ratio``.

    A callable object rather than a closure so that ``LambdaLR.state_dict()``
    records its parameters inside checkpoints.
    """

    warmup_steps: int
    total_steps: int
    min_lr_ratio: float = 0.1

    def __call__(self, step: int) -> float:
        if self.warmup_steps > 0 and step < self.warmup_steps:
            return (step + 1) / self.warmup_steps
        decay_steps = max(1, self.total_steps - self.warmup_steps)
        progress = min(1.0, (step - self.warmup_steps) / decay_steps)
        cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
        return self.min_lr_ratio + (1.0 - self.min_lr_ratio) * cosine


def _no_decay(name: str, param: nn.Parameter) -> bool:
    """Biases, norm affines and 1-D oscillator parameters are not shrunk by weight decay."""
    return param.ndim <= 1 or name.endswith(".bias")


def build_optimizer(
    model: nn.Module, lr: float, weight_decay: float, *, lr_mult: dict[str, float] | None = None
) -> torch.optim.AdamW:
    """AdamW over the trainable parameters; weight decay only on matrices (the usual transformer recipe).

    ``lr_mult`` maps a parameter-name prefix to a learning-rate multiplier, e.g.
    ``{"adversary.": 5.0}``: a faster adversary keeps the gradient-reversal game
    from stalling with the classifier behind the encoder (two time-scale updates,
    Heusel et al. 2017, "GANs trained by a two time-scale update rule").
    """
    lr_mult = lr_mult or {}
    groups: dict[tuple[float, bool], list[nn.Parameter]] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        mult = next((m for prefix, m in lr_mult.items() if name.startswith(prefix)), 1.0)
        groups.setdefault((mult, _no_decay(name, param)), []).append(param)
    return torch.optim.AdamW(
        [{"params": params, "lr": lr * mult, "weight_decay": 0.0 if no_decay else weight_decay}
         for (mult, no_decay), params in sorted(groups.items())],
        lr=lr,
    )


def build_scheduler(
    optimizer: torch.optim.Optimizer, warmup_steps: int, total_steps: int, min_lr_ratio: float
) -> LambdaLR:
    """``LambdaLR`` driven by :class:`WarmupCosine`; call ``step()`` once per optimiser step."""
    return LambdaLR(optimizer, WarmupCosine(warmup_steps, total_steps, min_lr_ratio))
