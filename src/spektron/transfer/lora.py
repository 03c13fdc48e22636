"""Low-rank adapters (LoRA, Hu et al., ICLR 2022) for the ``nn.Linear`` maps of a model.

A wrapped map computes ``W x + b + (α / r) · B A x`` with ``A`` (r × in) drawn at
random and ``B`` (out × r) zero, so the adapted model is *exactly* the original at
the start; only ``A`` and ``B`` train. After training, :func:`merge_lora` folds
``(α / r) B A`` into ``W`` and restores plain ``nn.Linear`` modules: the model then has
its original structure (state dicts, pickling and checkpoints keep working) and no
inference overhead.

Why not ``peft``: it is not among the project's dependencies, and what is needed here
— wrap selected ``nn.Linear`` modules of a plain ``nn.Module`` and merge them back —
is a few dozen lines; ``peft``'s model wrappers are built around transformer
``PreTrainedModel`` conventions that :class:`~spektron.models.SpektronModel` does not
follow.
"""

from __future__ import annotations

import math
from typing import Callable

import torch
from torch import Tensor, nn

__all__ = ["LoRALinear", "apply_lora", "merge_lora", "lora_parameters", "spektron_lora_filter"]


class LoRALinear(nn.Module):
    """``base(x) + (alpha / rank) · B(A(dropout(x)))`` around a frozen ``nn.Linear``.

    ``A`` is initialised like a linear layer (Kaiming-uniform), ``B`` to zero
    (the LoRA paper's choice: the update starts at exactly 0).
    """

    def __init__(self, base: nn.Linear, rank: int = 4, alpha: float | None = None, dropout: float = 0.0) -> None:
        super().__init__()
        if not isinstance(base, nn.Linear):
            raise ValueError(f"LoRALinear wraps an nn.Linear, got {type(base).__name__}")
        if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
            raise ValueError(f"rank must be a positive integer, got {rank!r}")
        alpha = float(rank if alpha is None else alpha)
        if not (math.isfinite(alpha) and alpha > 0):
            raise ValueError(f"alpha must be a positive number, got {alpha!r}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {dropout!r}")
        self.base = base
        for p in base.parameters():
            p.requires_grad_(False)
        self.rank = rank
        self.alpha = alpha
        self.scaling = alpha / rank
        w = base.weight
        self.lora_A = nn.Parameter(torch.empty(rank, base.in_features, dtype=w.dtype, device=w.device))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, rank, dtype=w.dtype, device=w.device))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.dropout = nn.Dropout(dropout)

    @property
    def weight(self) -> Tensor:  # modules that read ``.weight`` directly see the base weight
        return self.base.weight

    @property
    def bias(self) -> Tensor | None:
        return self.base.bias

    def delta_weight(self) -> Tensor:
        """The low-rank update ``(alpha / rank) · B A`` (out × in)."""
        return self.scaling * (self.lora_B @ self.lora_A)

    def forward(self, x: Tensor) -> Tensor:
        return self.base(x) + self.scaling * ((self.dropout(x) @ self.lora_A.T) @ self.lora_B.T)

    def merged(self) -> nn.Linear:
        """A plain ``nn.Linear`` with the update folded into its weight."""
        out = nn.Linear(self.base.in_features, self.base.out_features, bias=self.base.bias is not None,
                        dtype=self.base.weight.dtype, device=self.base.weight.device)
        with torch.no_grad():
            out.weight.copy_(self.base.weight + self.delta_weight())
            if self.base.bias is not None:
                out.bias.copy_(self.base.bias)
        return out

    def extra_repr(self) -> str:
        return f"rank={self.rank}, alpha={self.alpha:g}"


def spektron_lora_filter(name: str, module: nn.Module) -> bool:
    """Which linear maps of a :class:`~spektron.models.SpektronModel` get adapters: the
    backbone's (patch and position embedding, the D-LinOSS input/output maps ``B`` and
    ``C``, the GLUs, the experts, the input-statistics map) and the ``z_chem``
    projection the regression head reads. Not the MoE routers (a low-rank change
    there reroutes tokens discontinuously), nor the pretraining-only heads
    (reconstruction, instrument classifiers) or ``z_inst``."""
    first = name.split(".", 1)[0]
    return first in {"embed", "blocks", "input_stats", "vib_chem"} and not name.endswith("router")


def _set_child(root: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    setattr(parent, child, module)


def apply_lora(
    model: nn.Module,
    rank: int = 4,
    alpha: float | None = None,
    dropout: float = 0.0,
    include: Callable[[str, nn.Module], bool] | None = None,
) -> list[nn.Parameter]:
    """Wrap the ``nn.Linear`` modules of ``model`` selected by ``include(name, module)``
    (default: all) in :class:`LoRALinear`, in place, and freeze every other parameter.

    Returns the adapter parameters (the only trainable ones). ``alpha`` defaults to
    ``rank`` (scaling 1). A model that already carries adapters is refused.
    """
    if any(isinstance(m, LoRALinear) for m in model.modules()):
        raise ValueError("the model already carries LoRA adapters; merge_lora it first")
    targets = [(n, m) for n, m in model.named_modules()
               if isinstance(m, nn.Linear) and n and (include is None or include(n, m))]
    if not targets:
        raise ValueError("apply_lora: no nn.Linear module matched")
    for p in model.parameters():
        p.requires_grad_(False)
    for name, module in targets:
        _set_child(model, name, LoRALinear(module, rank=rank, alpha=alpha, dropout=dropout))
    return lora_parameters(model)


def lora_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The ``A`` and ``B`` matrices of every adapter in ``model``."""
    return [p for m in model.modules() if isinstance(m, LoRALinear) for p in (m.lora_A, m.lora_B)]


def merge_lora(model: nn.Module) -> nn.Module:
    """Fold every adapter into its base weight and restore plain ``nn.Linear`` modules
    (in place; returns ``model``). All parameters are trainable again afterwards."""
    wrapped = [(n, m) for n, m in model.named_modules() if isinstance(m, LoRALinear)]
    for name, module in wrapped:
        _set_child(model, name, module.merged())
    for p in model.parameters():
        p.requires_grad_(True)
    return model
