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

Shifted batches. A random test set samples the calibration population, which is the
transductive protocol's quiet assumption: the unlabelled spectra then differ from the
master set by the instrument alone, up to sampling. A user's new instrument measures this
week's production instead — another season, another grade. ``split="shifted"`` makes the
test set such a batch: one end of the property's range (the top or bottom
``1 − cal_fraction`` of the reference values, alternating by repeat: even repeats the top),
the calibration set the rest; ``"shifted-pc"`` is the property-blind variant, one end of
the master spectra's first principal component scores. The transfer pairs come from the
calibration set, and with ``unlabelled="test"`` the batch is the unlabelled set, so a
method that reads the batch's mean difference as the instrument's subtracts its chemistry.
Only the choice of the batch reads the reference values (or the spectra); repeats of one
end differ in their transfer pairs.

Unlabelled target spectra (what k = 0 methods and test-time training learn from).
They must never be the target measurements of the master calibration samples: a
simple assignment re-pairs most of them with their master spectra (69–78 % on
corn), which hands a transductive method implicit transfer pairs. Three settings:

* ``"test"`` (default): the standard transductive setting — the test spectra
  themselves, labels hidden.
* ``"pool"``: a disjoint pool — ``pool_fraction`` of the non-test samples is set
  aside; their target spectra are the unlabelled set and neither their master
  spectra nor their labels are used (the calibration set shrinks accordingly).
* ``"calibration"``: the target spectra of the calibration samples (the old,
  leaky setting); only when asked for, to reproduce earlier figures.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spektron.methods.context import ModelCache, TransferContext
from spektron.evaluation.splits import BATCH_ENDS, calibration_test_split, select_transfer, shifted_batch

__all__ = ["ProtocolSplit", "make_split", "check_protocol", "repeat_seeds", "valid_rows", "UNLABELLED",
           "describe_unlabelled", "describe_split", "parse_splits", "batch_end", "SPLITS", "SHIFTED_SPLITS"]

SPLITS = ("ks", "random", "shifted", "shifted-pc")
#: The splits whose test set is a batch at one end of the population (see the module docstring).
SHIFTED_SPLITS = ("shifted", "shifted-pc")
SELECTIONS = ("ks", "random")
UNLABELLED = ("test", "pool", "calibration")


def describe_unlabelled(unlabelled: str, pool_fraction: float = 0.2) -> str:
    """One sentence for reports: which spectra the unlabelled target set holds."""
    return {
        "test": "the test samples' target spectra, labels hidden (transductive)",
        "pool": f"a disjoint pool ({pool_fraction:.0%} of the non-test samples; their master spectra and labels unused)",
        "calibration": "the target spectra of the master calibration samples (LEAKY: implicit transfer pairs)",
    }[unlabelled]


def describe_split(split: str, cal_fraction: float = 0.8) -> str:
    """One sentence for reports: how the test set was drawn."""
    share = f"{1 - cal_fraction:.0%}"
    return {
        "ks": "Kennard–Stone calibration set on the master spectra, the rest as test set",
        "random": "random calibration/test split (the test set samples the calibration population)",
        "shifted": f"shifted batch: the test set is the top or bottom {share} of the property's reference values "
                   "(alternating by repeat), the calibration set the rest",
        "shifted-pc": f"shifted batch (property-blind): the test set is the top or bottom {share} of the master "
                      "spectra's first principal component scores (alternating by repeat)",
    }[split]


def parse_splits(text) -> list[str]:
    """``"random,shifted"`` (or a list) → the validated split names, in order, without repeats."""
    items = text.split(",") if isinstance(text, str) else list(text)
    splits = list(dict.fromkeys(str(s).strip() for s in items if str(s).strip()))
    if not splits:
        raise ValueError(f"no split given: expected one or more of {', '.join(SPLITS)}")
    for s in splits:
        if s not in SPLITS:
            raise ValueError(f"unknown split {s!r}: expected one of {', '.join(SPLITS)}")
    return splits


def batch_end(split: str, repeat: int) -> str | None:
    """Which end of the population a shifted split's batch is taken from in ``repeat`` (None otherwise)."""
    return BATCH_ENDS[int(repeat) % 2] if split in SHIFTED_SPLITS else None


def check_protocol(repeats: int, split: str, selection: str, unlabelled: str = "test",
                   pool_fraction: float = 0.2) -> int:
    """Validate the protocol's split, selection, unlabelled set and number of repeats; returns the repeats."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}: expected one of {', '.join(SPLITS)}")
    if selection not in SELECTIONS:
        raise ValueError(f"unknown selection {selection!r}: expected one of {', '.join(SELECTIONS)}")
    if unlabelled not in UNLABELLED:
        raise ValueError(f"unknown unlabelled set {unlabelled!r}: expected one of {', '.join(UNLABELLED)}")
    if not 0.0 < float(pool_fraction) < 1.0:
        raise ValueError(f"pool_fraction must lie strictly between 0 and 1, got {pool_fraction}")
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
    ``unlabelled`` holds the rows whose *target* spectra form the unlabelled set
    (see the module docstring); ``unlabelled_kind`` says which setting chose them.
    """

    cal: np.ndarray
    test: np.ndarray
    transfer_order: np.ndarray
    seed: int
    unlabelled: np.ndarray | None = None
    unlabelled_kind: str = "test"
    batch_end: str | None = None

    def __post_init__(self) -> None:
        if self.unlabelled is None:
            object.__setattr__(self, "unlabelled", self.test)
        if self.unlabelled_kind != "calibration" and np.intersect1d(self.unlabelled, self.cal).size:
            raise ValueError("the unlabelled target set shares samples with the master calibration set; "
                             "that is the leaky setting and must be asked for (unlabelled='calibration')")

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
            target_unlabelled_X=target_X[self.unlabelled],
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
    unlabelled: str = "test",
    pool_fraction: float = 0.2,
) -> ProtocolSplit:
    """Split the rows with a reference value into calibration and test, choose the
    unlabelled target set (``unlabelled``, see the module docstring), and order the
    calibration rows for transfer selection (Kennard–Stone on the master spectra, or
    a seeded permutation).

    With ``split`` ``"ks"`` or ``"random"`` reference values are read only to find the rows
    that have one: the split never depends on the values themselves (changing a test label
    changes only its score). ``"shifted"`` takes the test set at one end of the values by
    design (a batch of another grade); ``"shifted-pc"`` at one end of the master spectra's
    first principal component, blind to the values.
    """
    check_protocol(1, split, selection, unlabelled, pool_fraction)
    rows = valid_rows(y)
    if rows.size < 3:
        raise ValueError(f"only {rows.size} samples have this property; need at least 3")
    split_seed, sel_seed = repeat_seeds(seed, repeat)
    end = batch_end(split, repeat)
    if end is None:
        cal, test = calibration_test_split(master_X[rows], cal_fraction, split, seed=split_seed)
    else:
        if not 0.0 < cal_fraction < 1.0:
            raise ValueError(f"cal_fraction must lie strictly between 0 and 1, got {cal_fraction}")
        scores = (np.asarray(y, dtype=float)[rows] if split == "shifted"
                  else first_pc_scores(np.asarray(master_X, dtype=float)[rows]))
        cal, test = shifted_batch(scores, 1.0 - cal_fraction, end)
    cal, test = rows[cal], rows[test]
    if unlabelled == "test":
        pool = test
    elif unlabelled == "calibration":
        pool = cal
    else:
        n_pool = int(round(pool_fraction * cal.size))
        if n_pool < 2 or cal.size - n_pool < 3:
            raise ValueError(f"a pool of {pool_fraction:g} of {cal.size} calibration samples leaves {n_pool} "
                             f"unlabelled and {cal.size - n_pool} for calibration; need at least 2 and 3")
        # the pool is drawn at random (seeded) so that it samples the same population
        drawn = np.random.default_rng([split_seed, 0x706F6F6C]).permutation(cal.size)
        pool, cal = np.sort(cal[drawn[:n_pool]]), np.sort(cal[drawn[n_pool:]])
    order = cal[select_transfer(master_X[cal], cal.size, selection, seed=sel_seed)]
    return ProtocolSplit(cal=cal, test=test, transfer_order=order, seed=sel_seed, unlabelled=pool,
                         unlabelled_kind=unlabelled, batch_end=end)


def first_pc_scores(X: np.ndarray) -> np.ndarray:
    """Scores of the rows of ``X`` on its first principal component, signed so that the
    loading's largest-magnitude channel is positive (deterministic across platforms)."""
    Xc = X - X.mean(axis=0)
    _, _, Vt = np.linalg.svd(Xc, full_matrices=False)
    v = Vt[0]
    v = v * (1.0 if v[np.argmax(np.abs(v))] >= 0 else -1.0)
    return Xc @ v
