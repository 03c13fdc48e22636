"""Spektron in the benchmark: ``spektron``, ``spektron-nottt``, ``spektron-nogrl``, ``spektron-nosplit``.

Each is a :class:`~spektron.baselines.strategies.TransferStrategy` that fits a
:class:`~spektron.transfer.SpektronTransfer` on a
:class:`~spektron.evaluation.TransferContext`: the master calibration set, the k
transfer pairs (none at k = 0) and the unlabelled target spectra
(``context.target_unlabelled_X``; the first ``ttt_n_spectra`` of them are the K
spectra of test-time training). ``context.target_cal_y`` is never read.

Starting point. ``checkpoint`` (or the environment variable ``SPEKTRON_CHECKPOINT``)
names a pretrained model; without one — the default — a small model is trained from
scratch on the master data, because no pretrained weights ship with the package and
a checkpoint pretrained on another spectral region/axis would have to be re-learned
anyway. Importing this module does not import torch.

Sharing. ``spektron`` and ``spektron-nottt`` differ only in test-time training, so the
adapted (pre-TTT) estimator of one context is cached and reused by the other
(a small module-level cache keyed by the adaptation parameters and a hash of the data).
"""

from __future__ import annotations

import copy
import hashlib
import os
from collections import OrderedDict

import numpy as np

from spektron.baselines.strategies import TransferStrategy
from spektron.evaluation.registry import register_method

__all__ = ["SpektronStrategy", "SpektronNoTTT", "SpektronNoGRL", "SpektronNoSplit", "CHECKPOINT_ENV",
           "resolve_checkpoint"]

CHECKPOINT_ENV = "SPEKTRON_CHECKPOINT"
_CACHE: OrderedDict = OrderedDict()
_CACHE_SIZE = 4
_TTT_KEYS = ("ttt_steps", "ttt_lr", "ttt_mask_ratio", "ttt_n_spectra")


def resolve_checkpoint(value: str | None) -> str | None:
    """A strategy's ``checkpoint``, else ``$SPEKTRON_CHECKPOINT``, else None (a fresh model)."""
    return value if value is not None else (os.environ.get(CHECKPOINT_ENV) or None)


def _data_key(context) -> str:
    h = hashlib.blake2b(digest_size=16)
    for a in (context.master_X, context.master_y, context.axis, context.transfer_master_X, context.transfer_target_X,
              context.transfer_y, context.target_unlabelled_X if context.target_unlabelled_X is not None else np.empty(0)):
        a = np.ascontiguousarray(a, dtype=float)
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    h.update(context.unit.encode())
    return h.hexdigest()


class SpektronStrategy(TransferStrategy):
    """Spektron: adaptation to the pair, test-time training, regression from ``z_chem``.

    Parameters are those of :class:`~spektron.transfer.SpektronTransfer` (defaults
    identical), plus ``ttt`` (run test-time training), ``checkpoint`` (None = the
    ``SPEKTRON_CHECKPOINT`` environment variable, else a fresh model) and
    ``num_threads`` (torch threads, default 2).
    """

    name = "spektron"
    requires_pairs = False
    _variant: dict = {}

    def __init__(self, checkpoint: str | None = None, steps: int = 150, lr: float = 2e-3, batch_size: int = 32,
                 lambda_pair: float = 1.0, lambda_y: float = 1.0, ttt: bool = True, ttt_steps: int = 3,
                 ttt_lr: float = 1e-5, ttt_mask_ratio: float = 0.35, ttt_n_spectra: int = 10, head: str = "auto",
                 num_threads: int | None = 2):
        self.checkpoint = checkpoint
        self.steps = steps
        self.lr = lr
        self.batch_size = batch_size
        self.lambda_pair = lambda_pair
        self.lambda_y = lambda_y
        self.ttt = ttt
        self.ttt_steps = ttt_steps
        self.ttt_lr = ttt_lr
        self.ttt_mask_ratio = ttt_mask_ratio
        self.ttt_n_spectra = ttt_n_spectra
        self.head = head
        self.num_threads = num_threads

    def _estimator_params(self, context) -> dict:
        return dict(checkpoint=resolve_checkpoint(self.checkpoint), steps=self.steps, lr=self.lr, batch_size=self.batch_size,
                    lambda_pair=self.lambda_pair, lambda_y=self.lambda_y, ttt_steps=self.ttt_steps,
                    ttt_lr=self.ttt_lr, ttt_mask_ratio=self.ttt_mask_ratio, ttt_n_spectra=self.ttt_n_spectra,
                    head=self.head, seed=int(context.seed) % (2**31), num_threads=self.num_threads, **self._variant)

    def _fit(self, context) -> None:
        from spektron.transfer.estimator import SpektronTransfer

        params = self._estimator_params(context)
        key = (repr(sorted((k, repr(v)) for k, v in params.items() if k not in _TTT_KEYS)), _data_key(context))
        fitted = _CACHE.get(key)
        if fitted is None:
            pairs = (context.transfer_master_X, context.transfer_target_X, context.transfer_y) if context.k else None
            fitted = SpektronTransfer(**params).fit(
                context.master_X, context.master_y, axis=context.axis, unit=context.unit, pairs=pairs,
                target_unlabelled=context.target_unlabelled_X)
            _CACHE[key] = fitted
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
        else:
            _CACHE.move_to_end(key)
        est = copy.deepcopy(fitted).set_params(**{k: params[k] for k in _TTT_KEYS})
        if self.ttt and context.target_unlabelled_X is not None and len(context.target_unlabelled_X):
            est.adapt(context.target_unlabelled_X)
        self.estimator_ = est

    def _predict(self, X):
        return self.estimator_.predict(X)


register_method("spektron", SpektronStrategy, requires_pairs=False,
                description="Spektron: adaptation + test-time training + regression from z_chem")


class SpektronNoTTT(SpektronStrategy):
    """Spektron without test-time training (ablation)."""

    name = "spektron-nottt"

    def __init__(self, checkpoint: str | None = None, steps: int = 150, lr: float = 2e-3, batch_size: int = 32,
                 lambda_pair: float = 1.0, lambda_y: float = 1.0, ttt: bool = False, ttt_steps: int = 3,
                 ttt_lr: float = 1e-5, ttt_mask_ratio: float = 0.35, ttt_n_spectra: int = 10, head: str = "auto",
                 num_threads: int | None = 2):
        super().__init__(checkpoint, steps, lr, batch_size, lambda_pair, lambda_y, ttt, ttt_steps, ttt_lr,
                         ttt_mask_ratio, ttt_n_spectra, head, num_threads)


class SpektronNoGRL(SpektronStrategy):
    """Spektron with the reversed instrument classifier switched off (adversarial weight 0)."""

    name = "spektron-nogrl"
    _variant = {"lambda_adv": 0.0}


class SpektronNoSplit(SpektronStrategy):
    """Spektron with one latent (z_chem + z_inst widths) and reversal on all of it (DANN-like)."""

    name = "spektron-nosplit"
    _variant = {"split_latent": False}


register_method("spektron-nottt", SpektronNoTTT, requires_pairs=False, description="Spektron without test-time training")
register_method("spektron-nogrl", SpektronNoGRL, requires_pairs=False,
                description="Spektron without the gradient-reversal adversary (weight 0)")
register_method("spektron-nosplit", SpektronNoSplit, requires_pairs=False,
                description="Spektron with one latent and reversal on all of it (DANN-like)")
