"""Checkpoints: atomic writes, round trips (states and RNG), latest-checkpoint lookup, log offsets."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from spektron.training.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from spektron.training.logging import MetricsLogger, read_metrics
from spektron.training.optim import WarmupCosine, build_optimizer, build_scheduler


def _setup(seed: int = 0):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.LayerNorm(4), torch.nn.Linear(4, 2))
    opt = build_optimizer(model, lr=1e-2, weight_decay=0.1)
    sched = build_scheduler(opt, warmup_steps=2, total_steps=10, min_lr_ratio=0.1)
    return model, opt, sched


def _step(model, opt, sched):
    loss = model(torch.randn(8, 5)).pow(2).mean()
    opt.zero_grad()
    loss.backward()
    opt.step()
    sched.step()


def test_round_trip_restores_states_and_rng(tmp_path):
    model, opt, sched = _setup()
    for _ in range(3):
        _step(model, opt, sched)
    path = save_checkpoint(tmp_path, model=model, optimizer=opt, scheduler=sched, step=3,
                           config={"steps": 10}, log_offset=123)
    lr_at_3 = sched.get_last_lr()
    expected_draws = (random.random(), np.random.rand(), torch.rand(3))
    _step(model, opt, sched)
    expected_weights = [p.detach().clone() for p in model.parameters()]

    model2, opt2, sched2 = _setup(seed=1)  # different initial weights
    state = load_checkpoint(path, model=model2, optimizer=opt2, scheduler=sched2)
    assert (state.step, state.config, state.log_offset) == (3, {"steps": 10}, 123)
    draws = (random.random(), np.random.rand(), torch.rand(3))
    assert draws[0] == expected_draws[0] and draws[1] == expected_draws[1]
    assert torch.equal(draws[2], expected_draws[2])
    assert sched2.last_epoch == 3
    assert sched2.get_last_lr() == pytest.approx(lr_at_3)

    # Continuing from the checkpoint gives bit-identical weights (RNG restored too).
    load_checkpoint(path, model=model2, optimizer=opt2, scheduler=sched2)
    random.random(), np.random.rand(), torch.rand(3)  # the draws made above before stepping
    _step(model2, opt2, sched2)
    for a, b in zip(expected_weights, model2.parameters()):
        assert torch.equal(a, b)


def test_failed_write_leaves_no_file(tmp_path, monkeypatch):
    model, opt, sched = _setup()
    good = save_checkpoint(tmp_path, model=model, optimizer=opt, scheduler=sched, step=1, config={}, log_offset=0)

    def broken_save(obj, f, *args, **kwargs):
        f.write(b"partial bytes")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(tmp_path, model=model, optimizer=opt, scheduler=sched, step=2, config={}, log_offset=0)
    assert sorted(p.name for p in tmp_path.iterdir()) == [good.name]  # no ckpt-2, no temp file
    assert latest_checkpoint(tmp_path) == good
    monkeypatch.undo()
    assert load_checkpoint(good, model=model).step == 1


def test_latest_checkpoint_and_pruning(tmp_path):
    assert latest_checkpoint(tmp_path / "missing") is None
    assert latest_checkpoint(tmp_path) is None
    model, opt, sched = _setup()
    for step in (5, 10, 100, 20):
        save_checkpoint(tmp_path, model=model, optimizer=opt, scheduler=sched, step=step, config={},
                        log_offset=0, keep_last=3)
    (tmp_path / "ckpt-notastep.pt").write_bytes(b"x")
    assert latest_checkpoint(tmp_path).name == "ckpt-00000100.pt"
    assert sorted(p.name for p in tmp_path.glob("ckpt-0*.pt")) == [
        "ckpt-00000010.pt", "ckpt-00000020.pt", "ckpt-00000100.pt"]


def test_load_rejects_missing_and_foreign_files(tmp_path):
    model, _, _ = _setup()
    with pytest.raises(ValueError, match="not found"):
        load_checkpoint(tmp_path / "nope.pt", model=model)
    torch.save({"weights": 1}, tmp_path / "ckpt-00000001.pt")
    with pytest.raises(ValueError, match="not a Spektron training checkpoint"):
        load_checkpoint(tmp_path / "ckpt-00000001.pt", model=model)


def test_warmup_cosine_shape():
    f = WarmupCosine(warmup_steps=10, total_steps=110, min_lr_ratio=0.1)
    assert f(0) == pytest.approx(0.1)
    assert f(9) == pytest.approx(1.0)
    assert f(60) == pytest.approx(0.55)  # half-way through the cosine
    assert f(110) == pytest.approx(0.1)
    assert f(500) == pytest.approx(0.1)


def test_metrics_log_truncates_to_checkpoint_offset(tmp_path):
    path = tmp_path / "metrics.jsonl"
    with MetricsLogger(path) as log:
        log.log(1, "train", {"loss": torch.tensor(2.0)})
        offset = log.offset
        log.log(2, "train", {"loss": float("nan")})
    assert [r["step"] for r in read_metrics(path)] == [1, 2]
    with MetricsLogger(path, offset=offset) as log:
        log.log(2, "train", {"loss": 1.5})
        log.log(2, "eval", {"retrieval_top1": 0.5})
    records = read_metrics(path)
    assert [(r["step"], r["kind"]) for r in records] == [(1, "train"), (2, "train"), (2, "eval")]
    assert records[1]["loss"] == 1.5
    assert [r["step"] for r in read_metrics(path, kind="eval")] == [2]
