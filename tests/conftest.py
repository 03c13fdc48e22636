"""Shared fixtures: where the real data lives, and small deterministic inputs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATASETS = Path(os.environ.get("SPEKTRON_TEST_DATASETS", REPO.parent / "shared" / "datasets"))
CORN_DIR = SHARED_DATASETS / "corn"
PRETRAIN_DIR = SHARED_DATASETS / "pretrain"


@pytest.fixture(autouse=True)
def _few_threads():
    """Tests run on 2-core CI machines: keep torch from oversubscribing."""
    torch = sys.modules.get("torch")  # only if a test already imported it
    if torch is not None:
        torch.set_num_threads(1)
    yield


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture(scope="session")
def corn_dir() -> Path:
    if not (CORN_DIR / "m5.csv").exists():
        pytest.skip(f"corn data set not found at {CORN_DIR} (set SPEKTRON_TEST_DATASETS)")
    return CORN_DIR


@pytest.fixture(scope="session")
def pretrain_dir() -> Path:
    if not PRETRAIN_DIR.is_dir():
        pytest.skip(f"pretraining pool not found at {PRETRAIN_DIR} (set SPEKTRON_TEST_DATASETS)")
    return PRETRAIN_DIR
