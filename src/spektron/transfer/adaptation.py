"""Adaptation of a Spektron model to one real master → target instrument pair (SPEC §6).

The model (pretrained, or fresh) is fine-tuned on the master's calibration spectra
with the pretraining objective (masked reconstruction + VIB + instrument classifiers,
reversal on ``z_chem``), where the "instruments" of a batch are:

* label 0 — the master, as measured;
* label 1 — the target: unlabelled target spectra, the target view of each transfer
  pair, and master spectra carrying an *observed* target-minus-master difference
  (the difference of a transfer pair, or at k = 0 the difference of the two
  instruments' mean spectra);
* labels 2… — simulated instruments (:mod:`spektron.data.instruments`) applied to
  master spectra, at a strength derived from the data (below).

Two terms tie ``z_chem`` to chemistry: an **alignment** term pulling the two views
of one sample together (a simulated view and its source, or the two measurements
of a transfer pair — SimCLR-style positives, Chen et al. 2020, here as a normalised
squared distance), and a small linear **property head** on ``z_chem`` trained on
every labelled view, so that the latent keeps the directions the calibration needs
(with 64 calibration spectra an unsupervised latent need not).

Augmentation strength. The simulated instruments come from the SPEC §4 ranges,
which were set for mid-IR; on another data set they may be far too weak or too
strong. The strength is the ratio of the observed instrument difference to what a
unit-strength simulated instrument does to the master's mean spectrum, both measured
after per-spectrum standardisation (what the encoder sees), clipped to [0.25, 4]:
the observed difference comes from the transfer pairs, else from the mean spectra of
the unlabelled target and master sets, else strength 1. No test spectrum is used.

Early stopping (optional, ``AdaptationConfig.patience``). A model trained from scratch
on a few dozen spectra can overfit them: on sugarcane, 60 steps without a stop gave
``dann`` 1.2–1.5× the error of a stopped run. Every few steps the codes of the spectra a
regression head is calibrated on (master spectra, target views of the pairs, master
spectra plus an observed difference) are scored by the leave-one-out error of a ridge
regression of the property on them, and training stops once that has not improved for
a few checks. The weights at the stop are kept: going back to the best-scoring ones
did worse on corn's test rows (the score is noisy from check to check).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import nn

from spektron.data.instruments import apply_instruments, draw_instruments
from spektron.models import SpektronConfig
from spektron.training.objective import PretrainingObjective
from spektron.training.schedules import schedule_values

__all__ = ["AdaptationConfig", "AdaptationResult", "adapt_to_pair", "augmentation_strength", "auto_patch_size",
           "calibration_error", "calibration_views", "data_sized_model_config", "default_model_config",
           "observed_differences"]

MASTER, TARGET = 0, 1
STRENGTH_CLIP = (0.25, 4.0)


def auto_patch_size(n_channels: int, n_tokens: int = 24) -> int:
    """The power of two (4–64 channels) closest to ``n_channels / n_tokens``: about two
    dozen tokens per spectrum whatever the sampling, which keeps a step cheap."""
    if n_channels < 2:
        raise ValueError(f"need at least 2 channels, got {n_channels}")
    return int(2 ** np.clip(np.round(np.log2(n_channels / n_tokens)), 2, 6))


def observed_differences(master_X, *, pairs=None, target_X=None) -> np.ndarray | None:
    """Target − master differences a data set reveals without test rows: one per transfer
    pair, else the difference of the mean spectra of the unlabelled target set and the
    master set (assumes the two sets sample the same population), else None."""
    if pairs is not None and len(pairs[0]) > 0:
        return np.asarray(pairs[1], dtype=float) - np.asarray(pairs[0], dtype=float)
    if target_X is not None and len(target_X) > 0:
        return (np.mean(target_X, axis=0) - np.mean(master_X, axis=0))[None, :]
    return None


def default_model_config(n_channels: int | None = None, **overrides):
    """The small model used when no checkpoint is given: ~0.16 M parameters, ~0.1 s
    per step on 2 CPU cores; latents of the SPEC's widths (128 + 64, so the
    single-latent ablation has the SPEC's 192 dimensions). The patch size follows
    the number of channels (:func:`auto_patch_size`) unless overridden."""

    values = dict(patch_size=auto_patch_size(n_channels) if n_channels else 16, d_model=64, n_layers=2, state_size=32, z_chem_dim=128, z_inst_dim=64,
                  classifier_hidden=64, dropout=0.0, moe_experts=4, moe_top_k=2, moe_every=2, n_instruments=4,
                  beta_start=0.01, beta_end=1e-4)
    values.update(overrides)
    return SpektronConfig(**values)


def _nearest_power_of_two(x: float, lo: int, hi: int) -> int:
    return int(2 ** np.clip(np.round(np.log2(x)), np.log2(lo), np.log2(hi)))


def data_sized_model_config(n_channels: int, n_spectra: int, n_tokens: int = 12, **overrides):
    """A fresh model sized by the calibration set it is trained on: width and latent
    (``z_chem + z_inst``, split in halves) are the power of two nearest
    ``n_spectra / 2`` (width within 16–64, latent within 16–128), one D-LinOSS block,
    no mixture of experts, and about ``n_tokens`` patches per spectrum.

    :func:`default_model_config` has the SPEC's widths, meant for pretraining; trained
    from scratch on ~60 spectra its 192-dimensional latent has three dimensions per
    spectrum, and most of a step goes into layers the data cannot fill. On corn (64
    spectra: width 32, latent 16 + 16, 11 tokens; 14 k parameters instead of 0.16 M)
    a ``dann`` step costs about a third at unchanged RMSEP; 12 rather than 24 tokens
    saves a further fifth of a step (RMSEP ratio 1.04 ± 0.04 over six sugarcane
    pair/property sets, corn unchanged)."""
    if n_spectra < 2:
        raise ValueError(f"need at least 2 calibration spectra, got {n_spectra}")
    width = _nearest_power_of_two(n_spectra / 2, 16, 64)
    latent = _nearest_power_of_two(n_spectra / 2, 16, 128)
    values = dict(patch_size=auto_patch_size(n_channels, n_tokens), d_model=width, state_size=width // 2,
                  n_layers=1, moe_every=0, classifier_hidden=width, z_chem_dim=latent // 2, z_inst_dim=latent // 2)
    values.update(overrides)
    return default_model_config(n_channels, **values)


@dataclass
class AdaptationConfig:
    """Fine-tuning settings.

    Parameters
    ----------
    steps, lr, weight_decay, grad_clip : optimisation (AdamW, cosine decay).
    batch_size : int or None
        Master spectra per step (with half as many target-like views and unlabelled
        target spectra, and every pair); None = all master spectra: on corn a
        whole-set step of the data-sized model costs about a third more than one of
        32, and fewer are needed (at 50 steps the 32-spectrum batches were worse).
    fused : bool
        AdamW's fused kernel and a single-pass gradient clip: one call per step
        instead of one per parameter tensor (about a tenth of a small model's step).
        Same update up to rounding (False keeps the per-tensor loop, bit for bit).
    patience, check_every : int or None, int
        Early stopping (module docstring): every ``check_every`` steps the calibration
        codes are scored (:func:`calibration_error`), and training stops once
        ``patience`` checks in a row have not lowered the score; ``steps`` is then the
        most it runs (the schedules still span ``steps``). None trains for ``steps``.
    strength : float or None
        Simulated-instrument strength; None derives it from the data (module docstring).
    lambda_pair : weight of the alignment term between the two views of one sample.
    lambda_y : weight of the property head on ``z_chem`` (0 = unsupervised fine-tuning).
    observed_augment : also create target-labelled views of master spectra by adding
        observed target − master differences (pairs, or mean spectra at k = 0).
    lambda_adv : weight of the reversed instrument classifier during adaptation; None
        keeps the model's own (``model.config.lambda_adv``), which is not modified.
    seed : all randomness (instruments, batches, masks).
    """

    steps: int = 300
    lr: float = 2e-3
    batch_size: int | None = 32
    weight_decay: float = 1e-2
    grad_clip: float = 1.0
    strength: float | None = None
    lambda_pair: float = 1.0
    lambda_y: float = 1.0
    observed_augment: bool = True
    lambda_adv: float | None = None
    fused: bool = False
    patience: int | None = None
    check_every: int = 5
    seed: int = 0

    def validate(self) -> None:
        for name in ("steps", "batch_size", "patience", "check_every"):
            v = getattr(self, name)
            if v is None and name in ("batch_size", "patience"):
                continue
            if isinstance(v, bool) or int(v) != v or v < 1:
                raise ValueError(f"{name} must be a positive integer, got {v!r}")
        for name in ("lr", "grad_clip"):
            if not (np.isfinite(getattr(self, name)) and getattr(self, name) > 0):
                raise ValueError(f"{name} must be a positive number, got {getattr(self, name)!r}")
        for name in ("weight_decay", "lambda_pair", "lambda_y"):
            if not (np.isfinite(getattr(self, name)) and getattr(self, name) >= 0):
                raise ValueError(f"{name} must be a non-negative number, got {getattr(self, name)!r}")
        if self.strength is not None and not (np.isfinite(self.strength) and self.strength > 0):
            raise ValueError(f"strength must be a positive number or None, got {self.strength!r}")


@dataclass
class AdaptationResult:
    """The adapted model and what happened on the way: ``n_steps`` run, and the
    early-stopping ``checks`` as (steps done, :func:`calibration_error`)."""

    model: nn.Module
    y_head: nn.Module
    y_mean: float
    y_scale: float
    strength: float
    n_simulated: int
    history: list[dict] = field(default_factory=list)
    config: dict = field(default_factory=dict)
    n_steps: int = 0
    checks: list[tuple[int, float]] = field(default_factory=list)


def _snv(X: np.ndarray) -> np.ndarray:
    X = np.atleast_2d(X)
    return (X - X.mean(axis=1, keepdims=True)) / np.maximum(X.std(axis=1, keepdims=True), 1e-12)


def _rms(D: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(D))))


def augmentation_strength(master_X, axis, unit, *, pairs=None, target_X=None, n_instruments: int = 4,
                          seed: int = 0) -> float:
    """Simulated-instrument strength matched to the observed instrument difference (see module docstring)."""
    master_X = np.asarray(master_X, dtype=float)
    if pairs is not None and len(pairs[0]) > 0:
        observed = _rms(_snv(pairs[1]) - _snv(pairs[0]))
    elif target_X is not None and len(target_X) > 0:
        observed = _rms(_snv(np.mean(target_X, axis=0)) - _snv(master_X.mean(axis=0)))
    else:
        return 1.0
    mean = master_X.mean(axis=0, keepdims=True)
    sims = draw_instruments(n_instruments, seed=seed)
    simulated = np.mean([_rms(_snv(inst.apply(mean, axis, unit, noise=False)) - _snv(mean)) for inst in sims])
    if not simulated > 0:
        return 1.0
    return float(np.clip(observed / simulated, *STRENGTH_CLIP))


def _alignment(z: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean squared distance between paired codes, relative to the batch's code variance
    (so shrinking the whole latent cannot fake alignment)."""
    scale = z.var(dim=0).mean().detach().clamp_min(1e-8)
    return ((z[a] - z[b]) ** 2).mean() / scale


def calibration_views(master_X: np.ndarray, master_y: np.ndarray, pairs_target: np.ndarray | None,
                      pairs_y: np.ndarray | None, diffs: np.ndarray | None, seed: int,
                      ) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The spectra a regression head on the codes is calibrated on, in parts, with their
    values: the master calibration set, the target views of the transfer pairs, and each
    master spectrum plus one observed target − master difference (drawn with ``seed``),
    so that the head is fitted where target codes will fall. One definition for the head
    (``SpektronTransfer``) and for early stopping, which scores those same codes."""
    parts, values = [master_X], [master_y]
    if pairs_target is not None:
        parts.append(pairs_target)
        values.append(pairs_y)
    if diffs is not None:
        pick = np.random.default_rng(seed).integers(0, len(diffs), size=len(master_X))
        parts.append(master_X + diffs[pick])
        values.append(master_y)
    return parts, values


def calibration_error(model: nn.Module, x: torch.Tensor, y: np.ndarray, axis_cm1: torch.Tensor) -> float:
    """Leave-one-out RMSE of a ridge regression of ``y`` on the ``z_chem`` posterior
    means of model inputs ``x`` (codes standardised; ridge penalty by generalised
    cross-validation): how well a calibration fitted on these codes would predict —
    the criterion of early stopping, computed on calibration spectra only. The
    model is left in training mode."""
    from sklearn.linear_model import RidgeCV

    model.eval()
    with torch.no_grad():
        Z = model.encode(x, axis_cm1)[2]["mu_chem"].double().numpy()
    model.train()
    Z = (Z - Z.mean(axis=0)) / np.maximum(Z.std(axis=0), 1e-12)
    ridge = RidgeCV(alphas=np.logspace(-4, 4, 17)).fit(Z, y)
    return float(np.sqrt(max(-ridge.best_score_, 0.0)))


def adapt_to_pair(
    model: nn.Module,
    master_X: np.ndarray,
    master_y: np.ndarray,
    axis: np.ndarray,
    unit: str,
    *,
    pairs: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    target_X: np.ndarray | None = None,
    config: AdaptationConfig | None = None,
    reference: np.ndarray | None = None,
    extra_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor | None] | None = None,
) -> AdaptationResult:
    """Fine-tune ``model`` in place on one instrument pair; returns an :class:`AdaptationResult`.

    ``master_X`` (n, C), ``master_y`` (n,) on ``axis`` (C,) in ``unit``; ``pairs`` =
    (master views (k, C), target views (k, C), values (k,)) or None; ``target_X``
    unlabelled target spectra (m, C) or None; ``reference`` (C,): a spectrum subtracted
    from every model input (after the simulated instruments act on the raw spectra).
    ``extra_loss(mu_chem, labels)``: a term added to every step's loss, given the
    batch's ``z_chem`` posterior means and instrument labels (0 master, 1 target,
    2… simulated); None skips it (how the domain-adaptation baselines plug in their
    penalties). Inputs are assumed validated.
    """
    config = AdaptationConfig() if config is None else config
    config.validate()
    cfg = model.config
    n_sim = int(cfg.n_instruments) - 2
    if n_sim < 0:
        raise ValueError(f"the model has {cfg.n_instruments} instrument classes; adaptation needs at least 2 "
                         "(master and target)")
    rng = np.random.default_rng(config.seed)
    torch.manual_seed(config.seed)
    axis = np.asarray(axis, dtype=float)
    axis_cm1 = torch.as_tensor(1e7 / axis if unit == "nm" else axis, dtype=torch.float32)
    has_pairs = pairs is not None and len(pairs[2]) > 0
    Pm, Pt, Py = (np.asarray(p, dtype=float) for p in pairs) if has_pairs else (None, None, None)
    Xt = np.asarray(target_X, dtype=float) if target_X is not None and len(target_X) else None

    strength = config.strength
    if strength is None:
        strength = augmentation_strength(master_X, axis, unit, pairs=(Pm, Pt) if has_pairs else None,
                                         target_X=Xt, seed=config.seed)
    sims = draw_instruments(max(n_sim, 1), seed=config.seed, strength=strength)[:n_sim]

    # Observed target − master differences, applied to master spectra as extra target views.
    diffs = (observed_differences(master_X, pairs=(Pm, Pt) if has_pairs else None, target_X=Xt)
             if config.observed_augment else None)

    # Master pool: calibration set plus the master views of the pairs.
    Xm = master_X if not has_pairs else np.vstack([master_X, Pm])
    ym = master_y if not has_pairs else np.concatenate([master_y, Py])
    y_mean, y_scale = float(np.mean(ym)), float(np.std(ym)) or 1.0

    # Early stopping scores the codes a regression head is calibrated on (as
    # SpektronTransfer does): master spectra, the target views of the pairs, and each
    # master spectrum plus one observed difference.
    checks: list[tuple[int, float]] = []
    if config.patience is not None:
        parts, values = calibration_views(master_X, master_y, Pt, Py, diffs, config.seed)
        xc = np.vstack(parts)
        x_check = torch.as_tensor(xc - reference if reference is not None else xc, dtype=torch.float32)
        y_check = np.concatenate(values)
        best, waited = np.inf, 0

    y_head = nn.Linear(model.vib_chem.z_dim, 1)
    params = list(model.parameters()) + list(y_head.parameters())
    opt = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay, fused=bool(config.fused) or None)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: 0.05 + 0.95 * 0.5 * (1 + np.cos(np.pi * min(s, config.steps) / config.steps)))
    model.freeze_except(model.parameters())
    model.train()
    # The forward pass computes z_chem's posterior mean anyway: capture it rather than
    # encoding the batch a second time (halves the cost of a step).
    objective = PretrainingObjective(model, None if config.lambda_adv is None else {"lambda_adv": config.lambda_adv})
    captured: list = []
    hook = model.vib_chem.register_forward_hook(lambda mod, inp, out: captured.append(out[1]))
    history = []
    B = len(Xm) if config.batch_size is None else int(config.batch_size)
    try:
        for step in range(int(config.steps)):
            parts_x, parts_lab, parts_y = [], [], []

            def add(x, lab, y=None):
                start = sum(len(p) for p in parts_x)
                parts_x.append(x)
                parts_lab.append(np.full(len(x), lab))
                parts_y.append(np.full(len(x), np.nan) if y is None else y)
                return np.arange(start, start + len(x))

            idx = rng.choice(len(Xm), size=min(B, len(Xm)), replace=False)
            src = add(Xm[idx], MASTER, ym[idx])
            pos_a, pos_b = [], []
            if n_sim:
                which = rng.integers(0, n_sim, size=len(idx))
                sim = apply_instruments(Xm[idx], which, sims, axis, unit, rng)
                for j in range(n_sim):
                    rows = np.flatnonzero(which == j)
                    if rows.size:
                        pos_a.append(src[rows])
                        pos_b.append(add(sim[rows], 2 + j, ym[idx][rows]))
            if diffs is not None:
                half = idx[: max(1, len(idx) // 2)]
                d = diffs[rng.integers(0, len(diffs), size=len(half))]
                pos_a.append(src[: len(half)])
                pos_b.append(add(Xm[half] + d, TARGET, ym[half]))
            if Xt is not None:
                add(Xt[rng.choice(len(Xt), size=min(B // 2, len(Xt)), replace=False)], TARGET)
            if has_pairs:
                pos_a.append(add(Pm, MASTER, Py))
                pos_b.append(add(Pt, TARGET, Py))

            xb = np.vstack(parts_x)
            x = torch.as_tensor(xb - reference if reference is not None else xb, dtype=torch.float32)
            labels = torch.as_tensor(np.concatenate(parts_lab), dtype=torch.long)
            yv = np.concatenate(parts_y)
            beta, alpha = schedule_values(step, config.steps, cfg)
            captured.clear()
            out = objective({"x": x, "axis": axis_cm1, "instrument": labels}, beta=beta, alpha=alpha)
            loss = out["loss"]
            extra = {}
            if extra_loss is not None:
                term = extra_loss(captured[0], labels)
                if term is not None:
                    extra["extra"] = term
                    loss = loss + term
            if config.lambda_pair > 0 or config.lambda_y > 0:
                mu = captured[0]  # posterior means of z_chem from this very forward pass (masked input)
                if config.lambda_pair > 0 and pos_a:
                    a = torch.as_tensor(np.concatenate(pos_a))
                    b = torch.as_tensor(np.concatenate(pos_b))
                    extra["pair"] = _alignment(mu, a, b)
                    loss = loss + config.lambda_pair * extra["pair"]
                if config.lambda_y > 0:
                    rows = np.flatnonzero(np.isfinite(yv))
                    target = torch.as_tensor((yv[rows] - y_mean) / y_scale, dtype=torch.float32)
                    # codes standardised by (detached) batch statistics: sample-to-sample
                    # variation in z_chem can be tiny next to its offset early on
                    zs = (mu - mu.mean(0).detach()) / mu.std(0).detach().clamp_min(1e-6)
                    extra["y"] = ((y_head(zs[torch.as_tensor(rows)]).squeeze(-1) - target) ** 2).mean()
                    loss = loss + config.lambda_y * extra["y"]
            if not torch.isfinite(loss):
                raise FloatingPointError(f"non-finite adaptation loss at step {step}")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, config.grad_clip, foreach=bool(config.fused) or None)
            opt.step()
            sched.step()
            stop = False
            if config.patience is not None and (step + 1) % config.check_every == 0:
                score = calibration_error(model, x_check, y_check, axis_cm1)
                checks.append((step + 1, score))
                best, waited = (score, 0) if score < best else (best, waited + 1)
                stop = waited >= config.patience
            if step % 25 == 0 or step == config.steps - 1 or stop:
                rec = {k: float(out[k].detach()) for k in ("loss", "recon", "adv", "inst", "adv_acc", "inst_acc")}
                rec.update({k: float(v.detach()) for k, v in extra.items()}, step=step, total=float(loss.detach()))
                history.append(rec)
            if stop:
                break
    finally:
        hook.remove()
    model.eval()
    y_head.eval()
    return AdaptationResult(model=model, y_head=y_head, y_mean=y_mean, y_scale=y_scale, strength=float(strength),
                            n_simulated=n_sim, history=history, config=asdict(config), n_steps=step + 1,
                            checks=checks)
