"""The transfer context: everything a transfer strategy may learn from.

One object instead of per-method argument lists, so every method — classical or deep,
labelled or unlabelled — is fitted on exactly the same information and the harness
never needs to know what a method uses.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from sklearn.base import clone

from spektron.data.spectra import check_axis, check_spectra, check_targets, normalise_unit

__all__ = ["ModelCache", "TransferContext", "fingerprint"]


def fingerprint(*arrays: np.ndarray | None, extra: str = "") -> str:
    """A short hash of arrays (None counts as empty) and a string: the data part of
    every cache key of fitted models (here and in the Spektron strategies)."""
    h = hashlib.blake2b(digest_size=16)
    for a in arrays:
        a = np.ascontiguousarray(np.empty(0) if a is None else a, dtype=float)
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    h.update(extra.encode())
    return h.hexdigest()


class ModelCache:
    """Fitted models shared between strategies, keyed by estimator params and data.

    The master calibration is the same for ``none``, ``ds``, ``pds``, ``sst`` and
    ``sbc`` at every k; fitting it once per split and property is what makes a sweep
    fast. Keys include a hash of the training data (:func:`fingerprint`), so a cached
    model can never be returned for different data. Bounded: the least recently used
    entry goes first. The Spektron strategies keep their adapted encoders in one too.
    """

    def __init__(self, max_entries: int = 256):
        self.max_entries = max_entries
        self._store: OrderedDict[tuple, Any] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def lookup(self, key: tuple, build: Callable[[], Any]) -> Any:
        """The entry under ``key``, built by ``build()`` (and kept) when missing."""
        if key in self._store:
            self.hits += 1
            self._store.move_to_end(key)
            return self._store[key]
        self.misses += 1
        value = build()
        self._store[key] = value
        while len(self._store) > self.max_entries:
            self._store.popitem(last=False)
        return value

    def fit(self, estimator, X: np.ndarray, y: np.ndarray | None = None):
        """A fitted clone of ``estimator`` on ``(X, y)``, from the cache when possible."""
        params = repr(sorted((k, repr(v)) for k, v in estimator.get_params(deep=True).items()))
        key = (type(estimator).__qualname__, params, fingerprint(X) if y is None else fingerprint(X, y))
        return self.lookup(key, lambda: clone(estimator).fit(X) if y is None else clone(estimator).fit(X, y))

    def __len__(self) -> int:
        return len(self._store)


@dataclass(eq=False)
class TransferContext:
    """What a calibration-transfer strategy may use, for one (split, pair, property, k).

    Parameters
    ----------
    master_X, master_y : (n_cal, C), (n_cal,)
        The master instrument's calibration spectra and reference values.
    axis : (C,), unit : ``"nm"`` or ``"cm-1"``
        The shared spectral axis.
    transfer_master_X, transfer_target_X : (k, C)
        The k transfer samples measured on the master and on the target (same rows).
    transfer_y : (k,)
        Their reference values.
    target_unlabelled_X : (n_u, C)
        Target spectra of the calibration samples *without* labels — what a user has
        measured on the new instrument; for unlabelled (k = 0) methods.
    target_cal_X, target_cal_y : (n_cal, C), (n_cal,), optional
        The target's own labelled calibration set. Only the ``target`` bound uses it:
        a transfer method that reads it is cheating.
    seed : int
        Seed for any randomness inside a strategy.
    master_name, target_name, property_name : str
        For messages and reports.
    cache : ModelCache
        Shared fitted models (see :class:`ModelCache`); the harness passes one per run.
    """

    master_X: np.ndarray
    master_y: np.ndarray
    axis: np.ndarray
    unit: str = "nm"
    transfer_master_X: np.ndarray | None = None
    transfer_target_X: np.ndarray | None = None
    transfer_y: np.ndarray | None = None
    target_unlabelled_X: np.ndarray | None = None
    target_cal_X: np.ndarray | None = None
    target_cal_y: np.ndarray | None = None
    seed: int = 0
    master_name: str = "master"
    target_name: str = "target"
    property_name: str = "y"
    cache: ModelCache = field(default_factory=ModelCache, repr=False)

    def __post_init__(self) -> None:
        self.master_X = check_spectra(self.master_X, "master calibration spectra")
        n, C = self.master_X.shape
        self.master_y = check_targets(self.master_y, n, "master_y (master calibration reference values)", "master spectra")
        self.axis = check_axis(self.axis, C)
        self.unit = normalise_unit(self.unit)
        parts = (self.transfer_master_X, self.transfer_target_X, self.transfer_y)
        if all(p is None for p in parts):
            self.transfer_master_X = np.empty((0, C))
            self.transfer_target_X = np.empty((0, C))
            self.transfer_y = np.empty(0)
        elif any(p is None for p in parts):
            raise ValueError("transfer_master_X, transfer_target_X and transfer_y must be given together")
        else:
            k = np.asarray(self.transfer_y).size
            self.transfer_master_X = self._spectra(self.transfer_master_X, "transfer master spectra", C, k)
            self.transfer_target_X = self._spectra(self.transfer_target_X, "transfer target spectra", C, k)
            if self.transfer_master_X.shape != self.transfer_target_X.shape:
                raise ValueError(
                    f"transfer master spectra {self.transfer_master_X.shape} and transfer target spectra "
                    f"{self.transfer_target_X.shape} must have the same shape"
                )
            self.transfer_y = check_targets(self.transfer_y, self.transfer_master_X.shape[0], "transfer_y (transfer reference values)",
                                            "transfer spectra")
        if self.target_unlabelled_X is not None:
            self.target_unlabelled_X = self._spectra(self.target_unlabelled_X, "unlabelled target spectra", C)
        if (self.target_cal_X is None) != (self.target_cal_y is None):
            raise ValueError("target_cal_X and target_cal_y must be given together")
        if self.target_cal_X is not None:
            self.target_cal_X = self._spectra(self.target_cal_X, "target calibration spectra", C)
            self.target_cal_y = check_targets(self.target_cal_y, self.target_cal_X.shape[0],
                                             "target_cal_y (target calibration reference values)", "target spectra")

    @staticmethod
    def _spectra(X, name: str, C: int, k: int | None = None) -> np.ndarray:
        X = np.asarray(X, dtype=float)
        if X.ndim == 2 and X.shape[0] == 0 and k in (0, None):
            if X.shape[1] != C:
                raise ValueError(f"{name} have {X.shape[1]} channels but the master spectra have {C}")
            return X
        X = check_spectra(X, name)
        if X.shape[1] != C:
            raise ValueError(f"{name} have {X.shape[1]} channels but the master spectra have {C}")
        return X

    @property
    def k(self) -> int:
        """Number of transfer samples (labelled pairs)."""
        return int(self.transfer_y.size)

    @property
    def n_channels(self) -> int:
        return int(self.master_X.shape[1])

    def fit_master(self, calibration):
        """The ``calibration`` estimator fitted on the master calibration set (cached)."""
        return self.cache.fit(calibration, self.master_X, self.master_y)

    def fit_cached(self, estimator, X: np.ndarray, y: np.ndarray | None = None):
        """Any estimator fitted on any data through the shared cache."""
        return self.cache.fit(estimator, X, y)

    def require_pairs(self, method: str) -> None:
        """Raise the one-line error a pairs-based method gives when k = 0."""
        if self.k < 1:
            raise ValueError(f"method {method!r} needs at least 1 transfer sample (k ≥ 1)")

    def describe(self) -> str:
        return f"{self.master_name}→{self.target_name} {self.property_name} k={self.k}"
