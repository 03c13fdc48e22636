"""Two CPU processes (gloo) train a few steps with DDP and end with identical weights."""

from __future__ import annotations

import os
import socket

import pytest
import torch
import torch.multiprocessing as mp

from spektron.training.distributed import DistInfo, init_distributed, rank_seed, unwrap, wrap_model

WORLD = 2


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, port: int, out_dir: str) -> None:
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(WORLD), LOCAL_RANK=str(rank),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    from spektron.training.distributed import cleanup_distributed
    from spektron.training.trainer import Trainer
    from test_trainer import tiny_config

    info = init_distributed(device="cpu")
    try:
        trainer = Trainer(tiny_config(steps=4, warmup_steps=1, eval_every=2, ckpt_every=2), out_dir,
                          progress=False, dist=info)
        result = trainer.fit()
        state = {k: v.detach().clone() for k, v in unwrap(trainer.model).state_dict().items()}
        first_batch = trainer.data.train_batch(0)["x"]
        torch.save({"state": state, "batch": first_batch, "is_main": result.is_main},
                   os.path.join(out_dir, f"rank{rank}.pt"))
    finally:
        cleanup_distributed()


@pytest.mark.timeout(180)
def test_two_ranks_end_with_identical_weights(tmp_path):
    mp.spawn(_worker, args=(_free_port(), str(tmp_path)), nprocs=WORLD, join=True)
    r0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    r1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    assert r0["is_main"] and not r1["is_main"]
    assert not torch.equal(r0["batch"], r1["batch"])  # each rank saw its own data
    for key, value in r0["state"].items():
        assert torch.equal(value, r1["state"][key]), key
    # Only rank 0 wrote the log, the checkpoints and the model.
    assert (tmp_path / "metrics.jsonl").is_file() and (tmp_path / "model.pt").is_file()
    ckpt = torch.load(tmp_path / "checkpoints" / "ckpt-00000004.pt", weights_only=True)
    assert len(ckpt["rng"]) == WORLD  # one RNG state per rank, for exact resumption


def test_single_process_defaults(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    info = init_distributed(device="cpu")
    assert info == DistInfo() and info.is_main and not info.enabled
    model = torch.nn.Linear(2, 2)
    assert wrap_model(model, info) is model and unwrap(model) is model
    assert rank_seed(0, 0, 5) != rank_seed(0, 1, 5)
    assert rank_seed(0, 1, 5) == rank_seed(0, 1, 5)
