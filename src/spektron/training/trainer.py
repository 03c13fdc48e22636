"""The pretraining loop: seeded, logged, checkpointed, resumable, optionally data-parallel.

One step draws a batch of spectra (each seen through one simulated instrument),
computes the SPEC section 3 objective with the β(t) and α(p) schedules, clips the
gradient norm and takes an AdamW step under warm-up + cosine decay. Around it:

* every ``log_every`` steps the losses go to ``metrics.jsonl`` (and TensorBoard);
* every ``eval_every`` steps the held-out diagnostics (:mod:`.diagnostics`);
* every ``ckpt_every`` steps an atomic checkpoint (:mod:`.checkpoint`);
* Ctrl-C (SIGINT → ``KeyboardInterrupt``) writes a checkpoint of the last
  completed step before returning;
* ``resume=True`` reloads the latest checkpoint and continues.

Exact resumption: a step's batch depends only on ``(seed, rank, step)`` and the
model's own randomness (masks, reparameterisation, dropout) on the torch RNG
state saved in the checkpoint; diagnostics run under ``torch.random.fork_rng``
so they never consume training randomness. On CPU the resumed run therefore
reproduces the uninterrupted one bit for bit (``tests/test_trainer.py`` checks
it); on GPU, non-deterministic kernels can add float-rounding differences.
"""

from __future__ import annotations

import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from spektron.data.synthetic import default_axis, default_unit
from spektron.models import SpektronModel
from spektron.models.encode import encode_batched, encode_views
from spektron.models.io import save_model
from spektron.run_layout import (
    CHECKPOINTS,
    CONFIG,
    EMBEDDINGS,
    INSTRUMENTS,
    METRICS,
    MODEL,
    TENSORBOARD,
    save_embeddings,
)
from spektron.training.checkpoint import (
    capture_rng_state,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from spektron.training.config import TrainConfig
from spektron.training.data import PretrainData
from spektron.training.diagnostics import evaluate_views
from spektron.training.distributed import (
    DistInfo,
    all_gather_objects,
    barrier,
    cleanup_distributed,
    init_distributed,
    rank_seed,
    wrap_model,
)
from spektron.training.logging import MetricsLogger
from spektron.training.objective import PretrainingObjective
from spektron.training.optim import build_optimizer, build_scheduler
from spektron.training.schedules import schedule_values

__all__ = ["PretrainResult", "Trainer", "pretrain"]

log = logging.getLogger(__name__)

LOSS_KEYS = ("loss", "recon", "kl", "adv", "inst", "balance", "ot", "pair", "align", "invariance", "adv_acc", "inst_acc", "pair_acc")


@dataclass
class PretrainResult:
    """What a finished (or interrupted) run leaves behind."""

    step: int
    steps: int
    interrupted: bool
    out_dir: Path
    log_path: Path | None
    model_path: Path | None
    checkpoint_path: Path | None
    diagnostics: dict[str, Any] = field(default_factory=dict)
    wall_time_s: float = 0.0
    is_main: bool = True

    def summary(self) -> str:
        """A few lines for the terminal."""
        lines = [f"steps {self.step}/{self.steps} in {self.wall_time_s:.0f} s; output in {self.out_dir}"]
        d = self.diagnostics
        if d:
            lines.append(
                f"held-out: instrument acc from z_chem {100 * d['inst_acc_chem']:.1f}% "
                f"(chance {100 * d['chance']:.0f}%), from z_inst {100 * d['inst_acc_inst']:.1f}%, "
                f"retrieval top-1 {100 * d['retrieval_top1']:.1f}%"
            )
        if self.model_path is not None:
            lines.append(f"model: {self.model_path}")
        return "\n".join(lines)


class Trainer:
    """Pretrains a :class:`~spektron.models.SpektronModel` as described by a :class:`TrainConfig`.

    Parameters
    ----------
    config : validated run configuration.
    out_dir : receives ``metrics.jsonl``, ``config.json``, ``instruments.json``, ``checkpoints/``
        and ``model.pt``.
    progress : show a live progress bar (rank 0 only).
    dist : process-group information; default: read torchrun's environment.
    """

    def __init__(self, config: TrainConfig, out_dir: str | os.PathLike, *, progress: bool = True,
                 dist: DistInfo | None = None, extend: bool = False) -> None:
        config.validate()
        self.config = config
        self.out_dir = Path(out_dir)
        self.progress = progress
        self.extend = extend  # a resumed run may go on to a larger ``steps`` (schedules re-planned)
        self.dist = dist if dist is not None else init_distributed()
        self.ckpt_dir = self.out_dir / CHECKPOINTS
        self.log_path = self.out_dir / METRICS

    # ----------------------------------------------------------------- setup
    def _build(self) -> None:
        cfg = self.config
        if cfg.num_threads:
            torch.set_num_threads(cfg.num_threads)
        # Same initial weights on every rank (DDP also broadcasts rank 0's).
        torch.manual_seed(cfg.seed)
        model = SpektronModel(cfg.model).to(self.dist.device)
        self.model = model  # the plain model: optimiser, checkpoints, evaluation, saving
        # the objective (model + loss) is what runs forward, so it is what DDP wraps
        self.objective = wrap_model(PretrainingObjective(model), self.dist)
        self.optimizer = build_optimizer(self.model, cfg.lr, cfg.weight_decay,
                                         lr_mult={"adversary.": cfg.adversary_lr_mult})
        self.scheduler = build_scheduler(self.optimizer, cfg.warmup_steps, cfg.steps, cfg.min_lr_ratio)
        # The pairing loss needs the same molecule through two instruments in one batch.
        self.data = PretrainData(cfg.data, seed=cfg.seed, batch_size=cfg.batch_size, rank=self.dist.rank,
                                 paired=cfg.model.uses_pairs)
        self.eval_views = self.data.eval_views() if (self.dist.is_main and cfg.eval_every) else None
        # Training randomness (masks, sampling, dropout) differs per rank.
        torch.manual_seed(rank_seed(cfg.seed, self.dist.rank))
        np.random.seed(rank_seed(cfg.seed, self.dist.rank) % 2**32)

    def _resume(self) -> tuple[int, int | None]:
        path = latest_checkpoint(self.ckpt_dir)
        if path is None:
            raise ValueError(f"--resume: no checkpoint in {self.ckpt_dir}")
        state = load_checkpoint(path, model=self.model, optimizer=self.optimizer, scheduler=self.scheduler,
                                rank=self.dist.rank)
        mine, theirs = _comparable(self.config.to_dict()), _comparable(state.config)
        if self.extend:
            planned = int(state.config.get("steps", self.config.steps))
            if self.config.steps < planned:
                raise ValueError(f"--extend: --steps {self.config.steps} is fewer than the {planned} the run was "
                                 "planned with")
            for key in ("steps", "warmup_steps"):
                mine.pop(key, None)
                theirs.pop(key, None)
            # the checkpoint restored the old schedule's plan: re-plan over the new total
            lam = self.scheduler.lr_lambdas[0]
            lam.total_steps, lam.warmup_steps = self.config.steps, self.config.warmup_steps
            log.info("extending the run from %d to %d steps at step %d: the learning-rate, beta and alpha "
                     "schedules are re-planned over the new total (not what an uninterrupted %d-step run would "
                     "have done before this step)", planned, self.config.steps, state.step, self.config.steps)
        if mine != theirs:
            key = next(k for k in sorted(set(mine) | set(theirs)) if mine.get(k) != theirs.get(k))
            raise ValueError(f"--resume: the configuration differs from the checkpoint's at {key!r} "
                             f"({theirs.get(key)!r} in the checkpoint, {mine.get(key)!r} now)")
        if len(state.rng) != self.dist.world_size:
            log.warning("checkpoint has RNG states of %d ranks, this run has %d: randomness will differ",
                        len(state.rng), self.dist.world_size)
        return state.step, state.log_offset

    # ------------------------------------------------------------------ steps
    def _train_step(self, step: int) -> dict[str, float]:
        cfg = self.config
        self.objective.train()
        batch = self.data.train_batch(step, device=self.dist.device)
        beta, alpha = schedule_values(step, cfg.steps, cfg.model)
        out = self.objective(batch, beta=beta, alpha=alpha)
        loss = out["loss"]
        if not torch.isfinite(loss):
            raise FloatingPointError(f"non-finite loss at step {step}: {loss.item()}")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        grad_norm = (torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
                     if cfg.grad_clip > 0 else torch.tensor(float("nan")))
        lr = cfg.lr * self.scheduler.lr_lambdas[0](step)  # the base rate this step used
        self.optimizer.step()
        self.scheduler.step()
        values = {k: float(out[k].detach()) for k in LOSS_KEYS if k in out}
        values.update(beta=beta, alpha=alpha, lr=lr, grad_norm=float(grad_norm))
        return values

    @torch.no_grad()
    def evaluate(self) -> dict[str, Any]:
        """Held-out diagnostics; never touches the training RNG streams."""
        views = self.eval_views
        model = self.model
        was_training = model.training
        model.eval()
        with torch.random.fork_rng(devices=[]):
            encoded = encode_batched(model, views["x"], views["axis"], device=self.dist.device)
        model.train(was_training)
        return evaluate_views(
            encoded["z_chem"], encoded["z_inst"], views["molecule"], views["instrument"],
            chem_mu=encoded.get("mu_chem"), chem_logvar=encoded.get("logvar_chem"),
            expert_load=encoded.get("expert_load"), seed=self.config.seed,
        )

    @torch.no_grad()
    def _write_embeddings(self) -> None:
        """The held-out views encoded by the final model (``embeddings.npz``): what the
        report's latent-space figures show, without rebuilding the views later."""
        views = self.eval_views if self.eval_views is not None else self.data.eval_views()
        model = self.model
        was_training = model.training
        with torch.random.fork_rng(devices=[]):
            emb = encode_views(model, views["x"], views["axis"], views["instrument"], views["molecule"],
                               device=self.dist.device)
        model.train(was_training)
        save_embeddings(self.out_dir / EMBEDDINGS, emb)

    def _checkpoint(self, step: int, logger: MetricsLogger | None, *, gather: bool = True) -> Path | None:
        rng = all_gather_objects(capture_rng_state(), self.dist) if gather else [capture_rng_state()]
        path = None
        if self.dist.is_main:
            path = save_checkpoint(
                self.ckpt_dir, model=self.model, optimizer=self.optimizer, scheduler=self.scheduler,
                step=step, config=self.config.to_dict(), log_offset=logger.offset if logger else 0,
                rng=rng, keep_last=self.config.keep_checkpoints,
            )
        if gather:
            barrier(self.dist)
        return path

    def _say(self, bar, message: str) -> None:
        """Above the progress bar when it is shown; to the logger (INFO) otherwise."""
        if self.progress and self.dist.is_main:
            bar.write(message)
        else:
            log.info(message)

    # -------------------------------------------------------------------- run
    def fit(self, resume: bool = False) -> PretrainResult:
        """Train to ``config.steps`` (from the latest checkpoint when ``resume``)."""
        cfg = self.config
        self._build()
        start, offset = (self._resume() if resume else (0, None))
        logger = None
        if self.dist.is_main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            (self.out_dir / CONFIG).write_text(json.dumps(cfg.to_dict(), indent=2), encoding="utf-8")
            # The simulated instruments' parameters, so the run can be reproduced and inspected.
            (self.out_dir / INSTRUMENTS).write_text(self.data.describe()["instruments"], encoding="utf-8")
            logger = MetricsLogger(self.log_path, offset=offset, tensorboard_dir=self.out_dir / TENSORBOARD)
        bar = _progress_bar(cfg.steps, start, enabled=self.progress and self.dist.is_main)
        t0 = time.perf_counter()
        step, interrupted, ckpt_path, diagnostics = start, False, None, {}
        stop = _DeferredStop()
        try:
            stop.install()
            while step < cfg.steps:
                if stop.requested:  # a signal arrived during the last step: stop at this boundary
                    raise KeyboardInterrupt
                values = self._train_step(step)
                step += 1
                if step % cfg.log_every == 0 or step == cfg.steps:
                    if logger is not None:
                        logger.log(step, "train", {**values, "time_s": time.perf_counter() - t0})
                    bar.set_postfix({k: f"{values[k]:.3g}" for k in ("loss", "recon", "adv_acc", "inst_acc")
                                     if k in values}, refresh=False)
                if cfg.eval_every and (step % cfg.eval_every == 0 or step == cfg.steps) and self.dist.is_main:
                    diagnostics = self.evaluate()
                    logger.log(step, "eval", diagnostics)
                    self._say(bar, _eval_line(step, diagnostics))
                if cfg.ckpt_every and step % cfg.ckpt_every == 0 and step < cfg.steps:
                    ckpt_path = self._checkpoint(step, logger)
                bar.update(1)
        except KeyboardInterrupt:
            stop.restore()
            interrupted = True
            self._say(bar, f"interrupted: saving a checkpoint at step {step}")
            # Other ranks get the same SIGINT under torchrun: no collective calls here.
            ckpt_path = self._checkpoint(step, logger, gather=False)
        finally:
            stop.restore()
            bar.close()
        model_path = None
        if not interrupted:
            ckpt_path = self._checkpoint(step, logger)
            if self.dist.is_main:
                region = cfg.data.region if cfg.data.source != "qm9s" else "mir"
                grid = default_axis(region)
                nu = 1e7 / grid if default_unit(region) == "nm" else grid
                meta = {"axis_range_cm1": [float(nu.min()), float(nu.max())], "region": region,
                        "data_source": cfg.data.source}
                model_path = save_model(self.model, self.out_dir / MODEL, meta=meta)
                model_path = Path(model_path) if model_path is not None else self.out_dir / MODEL
                self._write_embeddings()
        if logger is not None:
            logger.close()
        return PretrainResult(step=step, steps=cfg.steps, interrupted=interrupted, out_dir=self.out_dir,
                              log_path=self.log_path if self.dist.is_main else None, model_path=model_path,
                              checkpoint_path=ckpt_path, diagnostics=diagnostics,
                              wall_time_s=time.perf_counter() - t0, is_main=self.dist.is_main)


def pretrain(config: TrainConfig, out_dir: str | os.PathLike, resume: bool = False, *,
             progress: bool = True, extend: bool = False) -> PretrainResult:
    """Run pretraining (data-parallel when launched by torchrun) and return its :class:`PretrainResult`.

    ``extend`` (with ``resume``): the run may continue to a larger ``steps`` than it was
    planned with; the schedules are re-planned over the new total (see ``Trainer._resume``)."""
    trainer = Trainer(config, out_dir, progress=progress, extend=bool(extend))
    try:
        return trainer.fit(resume=resume)
    finally:
        cleanup_distributed()


# ---------------------------------------------------------------- helpers
class _DeferredStop:
    """SIGINT/SIGTERM during a step are held until the step is complete.

    A signal that lands mid-step (after the optimiser moved, before the step counter
    did) would otherwise checkpoint a half-done step, and the resumed run would drift
    from an uninterrupted one. Here the first signal only sets :attr:`requested`; the
    loop stops at the next step boundary and checkpoints there, so resuming reproduces
    the uninterrupted run exactly (same batches, RNG states, schedules). A second
    signal while waiting interrupts at once (the old behaviour). Only the main thread
    can install handlers; elsewhere this does nothing.
    """

    SIGNALS = ("SIGINT", "SIGTERM")

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict = {}

    def _handle(self, signum, frame) -> None:
        if self.requested:
            self.restore()
            raise KeyboardInterrupt
        self.requested = True

    def install(self) -> None:
        import signal
        import threading

        if threading.current_thread() is not threading.main_thread():
            return
        for name in self.SIGNALS:
            sig = getattr(signal, name, None)
            if sig is not None:
                self._previous[sig] = signal.signal(sig, self._handle)

    def restore(self) -> None:
        import signal

        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous = {}


def _comparable(config: dict[str, Any]) -> dict[str, Any]:
    """Flatten a config dict, ignoring keys that may change between a run and its resumption."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        if isinstance(value, dict):
            flat.update({f"{key}.{k}": v for k, v in value.items()})
        elif key not in ("num_threads", "keep_checkpoints"):
            flat[key] = value
    return flat


def _progress_bar(total: int, initial: int, *, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, disable=not enabled, desc="pretrain", unit="step",
                dynamic_ncols=True)


def _eval_line(step: int, d: dict[str, Any]) -> str:
    return (f"step {step}: inst acc z_chem {100 * d['inst_acc_chem']:.1f}% (chance {100 * d['chance']:.0f}%), "
            f"z_inst {100 * d['inst_acc_inst']:.1f}%, retrieval {100 * d['retrieval_top1']:.1f}%"
            + (f", collapsed dims {100 * d['kl_chem_collapsed_frac']:.0f}%" if "kl_chem_collapsed_frac" in d else ""))
