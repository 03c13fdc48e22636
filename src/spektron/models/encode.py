"""Encode many spectra in batches: one loop for the trainer's diagnostics, the run
embeddings, ``spektron check`` and the transfer estimators."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

__all__ = ["encode_batched", "encode_views"]

#: Per-spectrum arrays of ``encode``'s extras that are collected (when present).
EXTRA_KEYS = ("mu_chem", "logvar_chem", "mu_inst")


@torch.no_grad()
def encode_batched(model: torch.nn.Module, x: Any, axis: Any, *, batch_size: int = 256,
                   device: str | torch.device = "cpu") -> dict[str, np.ndarray]:
    """``z_chem``, ``z_inst`` and the posterior means/log-variances of ``x`` (n, C) on
    ``axis`` (C,) cm⁻¹ as float32 arrays, plus ``expert_load`` (layers, experts) summed
    over all tokens when the model has experts.

    The model's mode is left as it is (posterior means in eval mode, samples in train
    mode): callers that need means put it in eval mode first.
    """
    axis_t = torch.as_tensor(np.asarray(axis), dtype=torch.float32, device=device)
    x_all = torch.as_tensor(np.asarray(x), dtype=torch.float32)
    parts: dict[str, list[np.ndarray]] = {}
    for start in range(0, len(x_all), batch_size):
        z_chem, z_inst, extras = model.encode(x_all[start:start + batch_size].to(device), axis_t)
        found = {"z_chem": z_chem, "z_inst": z_inst, **{k: extras[k] for k in EXTRA_KEYS if k in extras}}
        load = extras.get("expert_load")
        if load is not None and load.numel():
            found["expert_load"] = load
        for key, value in found.items():
            parts.setdefault(key, []).append(value.detach().float().cpu().numpy())
    out = {k: np.concatenate(v) for k, v in parts.items() if k != "expert_load"}
    if "expert_load" in parts:
        out["expert_load"] = np.sum(parts["expert_load"], axis=0)
    return out


def encode_views(model: torch.nn.Module, x: Any, axis: Any, instrument: Any, molecule: Any, *,
                 batch_size: int = 128, device: str | torch.device = "cpu") -> dict[str, np.ndarray]:
    """Posterior means (the model is put in eval mode and left there) of paired views
    ``x`` (n, C) with their integer labels: the arrays of a run's ``embeddings.npz``."""
    model.eval()
    enc = encode_batched(model, x, axis, batch_size=batch_size, device=device)
    out = {k: enc[k] for k in ("z_chem", "z_inst", "mu_chem", "logvar_chem")}
    out["instrument"] = np.asarray(instrument, dtype=np.int64)
    out["molecule"] = np.asarray(molecule, dtype=np.int64)
    return out
