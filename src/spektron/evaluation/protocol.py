"""The evaluation protocol: which samples calibrate, which test, which transfer.

One :class:`ProtocolSplit` per (repeat, master, target, property) fixes the
calibration/test split and the order in which transfer samples are taken from the
calibration set; every method and every k of that cell reads from the same object,
so all strategies see exactly the same samples.

Repeats. A Kennard–Stone split and a Kennard–Stone transfer selection are both
deterministic, so with ``split="ks"`` and ``selection="ks"`` the repeats share one
split and one transfer set and differ only in the seed each method receives
(``context.seed``: cross-validation folds, network initialisation, batches) — the
spread then measures a method's sensitivity to its own randomness, which is zero
for a deterministic one. With ``selection="random"`` repeats also draw different
transfer samples from the same KS split; with ``split="random"`` they draw different
splits (and, with random selection, different transfer samples too). Seeds derive
from ``(seed, repeat)`` only, so a repeat is reproducible on its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spektron.evaluation.context import ModelCache, TransferContext
from spektron.evaluation.splits import calibration_test_split, select_transfer

__all__ = ["ProtocolSplit", "make_split", "check_protocol", "repeat_seeds", "valid_rows"]

SPLITS = ("ks", "random")
SELECTIONS = ("ks", "random")


def check_protocol(repeats: int, split: str, selection: str) -> int:
    """Validate the protocol's split, selection and number of repeats; returns the repeats."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: expected one of {', '.join(SPLITS)}")
    if selection not in SELECTIONS:
        raise ValueError(f"unknown selection {selection!r}: expected one of {', '.join(SELECTIONS)}")
    if int(repeats) < 1:
        raise ValueError(f"repeats must be ≥ 1, got {repeats}")
    return int(repeats)


def repeat_seeds(seed: int, repeat: int) -> tuple[int, int]:
    """Independent seeds for the split and the transfer selection of one repeat."""
    a, b = np.random.SeedSequence([int(seed), int(repeat)]).generate_state(2)
    return int(a), int(b)


def valid_rows(y: np.ndarray) -> np.ndarray:
    """Rows whose reference value is present (properties may have gaps)."""
    return np.flatnonzero(np.isfinite(np.asarray(y, dtype=float)))


@dataclass(frozen=True)
class ProtocolSplit:
    """Index sets for one cell, as row indices into the paired data set.

    ``transfer_order`` lists calibration rows in the order they become transfer
    samples; the first k of them are the k transfer samples (nested in k).
    """

    cal: np.ndarray
    test: np.ndarray
    transfer_order: np.ndarray
    seed: int

    @property
    def n_cal(self) -> int:
        return int(self.cal.size)

    def transfer(self, k: int) -> np.ndarray:
        if not 0 <= k <= self.transfer_order.size:
            raise ValueError(f"k = {k} transfer samples requested but the calibration set has only {self.n_cal}")
        return self.transfer_order[:k]

    def context(
        self,
        master_X: np.ndarray,
        target_X: np.ndarray,
        y: np.ndarray,
        k: int,
        *,
        axis: np.ndarray,
        unit: str,
        names: tuple[str, str, str],
        cache: ModelCache | None = None,
    ) -> TransferContext:
        """The :class:`TransferContext` for k transfer samples of this split."""
        tr = self.transfer(k)
        return TransferContext(
            master_X=master_X[self.cal],
            master_y=y[self.cal],
            axis=axis,
            unit=unit,
            transfer_master_X=master_X[tr],
            transfer_target_X=target_X[tr],
            transfer_y=y[tr],
            target_unlabelled_X=target_X[self.cal],
            target_cal_X=target_X[self.cal],
            target_cal_y=y[self.cal],
            seed=self.seed,
            master_name=names[0],
            target_name=names[1],
            property_name=names[2],
            cache=cache if cache is not None else ModelCache(),
        )


def make_split(
    master_X: np.ndarray,
    y: np.ndarray,
    *,
    split: str = "ks",
    selection: str = "ks",
    cal_fraction: float = 0.8,
    seed: int = 0,
    repeat: int = 0,
) -> ProtocolSplit:
    """Split the rows with a reference value into calibration and test, and order the
    calibration rows for transfer selection (Kennard–Stone on the master spectra, or
    a seeded permutation)."""
    rows = valid_rows(y)
    if rows.size < 3:
        raise ValueError(f"only {rows.size} samples have this property; need at least 3")
    split_seed, sel_seed = repeat_seeds(seed, repeat)
    cal, test = calibration_test_split(master_X[rows], cal_fraction, split, seed=split_seed)
    cal, test = rows[cal], rows[test]
    order = cal[select_transfer(master_X[cal], cal.size, selection, seed=sel_seed)]
    return ProtocolSplit(cal=cal, test=test, transfer_order=order, seed=sel_seed)
