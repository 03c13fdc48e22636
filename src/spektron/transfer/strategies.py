"""Spektron in the benchmark.

The method (SPEC §6, revised) — :class:`NuisanceStrategy` around
:class:`~spektron.transfer.nuisance_transfer.NuisanceTransfer`:

==================  ==========================================================================
``spektron``        instrument nuisance model (pairs + unlabelled target spectra; optional
                    simulated-instrument prior) and a PLS calibration invariant to it, on the
                    spectra; test-time training = re-estimating the nuisance from the
                    unlabelled spectra
``spektron-nottt``  the same without test-time training (pairs and prior only): the ablation
                    whose difference to ``spektron`` is what test-time training does
``spektron-codes``  the same on the deep encoder's codes ``[z_chem; z_inst]`` instead of the
                    spectra (the encoder as a feature map)
``spektron-single`` the same on the raw spectra alone, one view (the method before
                    2026-12-06): the ablation whose difference to ``spektron`` is what the
                    second, derivative view adds
==================  ==========================================================================

The earlier deep pipeline, kept runnable so the gain is measured in one run:
``spektron-deep`` (adaptation of the encoder to the pair, masked-reconstruction
test-time training, regression from ``z_chem``) and its ablations
``spektron-deep-nottt``, ``spektron-deep-nogrl``, ``spektron-deep-nosplit``.

Each is a :class:`~spektron.baselines.strategies.TransferStrategy` fitted on a
:class:`~spektron.evaluation.TransferContext`: the master calibration set, the k
transfer pairs (none at k = 0) and the unlabelled target spectra
(``context.target_unlabelled_X``). ``context.target_cal_y`` is never read.

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
import functools
import os

import numpy as np

from spektron.methods.base import TransferStrategy
from spektron.methods.context import ModelCache, fingerprint
from spektron.methods.registry import register_method
from spektron.transfer.estimator import SpektronTransfer
from spektron.transfer.nuisance_transfer import MIN_PAIRS_LOO, NuisanceTransfer
from spektron.transfer.views import DEFAULT_VIEWS, ViewAveragedTransfer

__all__ = ["CHECKPOINT_ENV", "NuisanceStrategy", "SpektronStrategy", "resolve_checkpoint"]

CHECKPOINT_ENV = "SPEKTRON_CHECKPOINT"
_CACHE = ModelCache(max_entries=4)
_TTT_KEYS = ("ttt_steps", "ttt_lr", "ttt_mask_ratio", "ttt_n_spectra")


def resolve_checkpoint(value: str | None) -> str | None:
    """A strategy's ``checkpoint``, else ``$SPEKTRON_CHECKPOINT``, else None (a fresh model)."""
    return value if value is not None else (os.environ.get(CHECKPOINT_ENV) or None)


def _data_key(context) -> str:
    return fingerprint(context.master_X, context.master_y, context.axis, context.transfer_master_X,
                       context.transfer_target_X, context.transfer_y, context.target_unlabelled_X, extra=context.unit)


class NuisanceStrategy(TransferStrategy):
    """Spektron: the target instrument as a nuisance model, a calibration invariant to it.

    Parameters shared with :class:`~spektron.transfer.nuisance_transfer.NuisanceTransfer`
    (``unlabelled_weight``, ``prior_weight``, ``max_components``, the gate, spread and gain
    levels, ``response``) are passed to it with its defaults. Plus

    ttt : bool, default True
        Test-time training: the unlabelled target spectra re-estimate the nuisance model
        (:meth:`~spektron.transfer.nuisance_transfer.NuisanceTransfer.adapt`). False =
        the ablation that sees only the master set, the pairs and the prior.
    features : ``"spectra"``, ``"codes"`` or ``"auto"``
        What the calibration reads: the spectra, or the deep encoder's codes
        ``[z_chem; z_inst]`` (an encoder from ``checkpoint``, or a fresh one adapted to
        the pair for ``steps`` steps, as in ``spektron-deep``; no simulated prior then),
        or the better of the two inside the protocol (``"auto"``: leave-one-pair-out with
        k ≥ 3 pairs, else master CV; ``features_`` and ``feature_choice_`` say
        what was chosen and why). ``"spectra"`` is the default: fitting an encoder costs
        seconds per fit, and on the development sets the codes won only a few cells
        (docs/benchmarks.md).
    views : tuple of str, default :data:`~spektron.transfer.views.DEFAULT_VIEWS`
        Linear views of the spectra, each with its own nuisance model and calibration,
        predictions averaged (:class:`~spektron.transfer.views.ViewAveragedTransfer`):
        the spectra and their Savitzky–Golay first derivative. ``("none",)`` is the single
        calibration on the spectra (``spektron-single``). The codes are one view.
    checkpoint, steps, encoder_config, num_threads :
        The encoder for ``features="codes"`` (ignored for the spectra): a checkpoint, or a
        fresh model (``encoder_config`` overrides its size) adapted for ``steps`` steps.

    On the spectra the method is deterministic: its cross-validation partitions are
    fixed (seed 0, like the classical strategies' :class:`~spektron.baselines.PLSCalibration`),
    so with no usable unlabelled covariance and no pairs it is ``meancorr`` with the
    batch's mean difference shrunk by its sampling error (:mod:`~spektron.transfer.offset`).
    """

    name = "spektron"
    requires_pairs = False

    def __init__(self, ttt: bool = True, features: str = "spectra", unlabelled_weight: float = 0.1,
                 prior_weight: float = 0.0, max_components: int = 20, gate_level: float = 0.001,
                 gate_lost_level: float = 0.01, spread_level: float | None = 0.05, gain_level: float | None = 0.01,
                 response: str = "auto", views: tuple = DEFAULT_VIEWS, checkpoint: str | None = None,
                 steps: int = 150, encoder_config: dict | None = None, num_threads: int | None = 2):
        self.ttt = ttt
        self.features = features
        self.views = views
        self.unlabelled_weight = unlabelled_weight
        self.prior_weight = prior_weight
        self.max_components = max_components
        self.gate_level = gate_level
        self.gate_lost_level = gate_lost_level
        self.spread_level = spread_level
        self.gain_level = gain_level
        self.response = response
        self.checkpoint = checkpoint
        self.steps = steps
        self.encoder_config = encoder_config
        self.num_threads = num_threads

    def _fit(self, context) -> None:
        if self.features not in FEATURES:
            raise ValueError(f"features must be one of {', '.join(map(repr, FEATURES))}, got {self.features!r}")
        if self.features != "auto":
            self.encoder_, self.estimator_ = self._fit_on(self.features, context)
            self.features_ = self.features
            return
        candidates = {f: self._fit_on(f, context) for f in ("spectra", "codes")}
        self.features_, self.feature_choice_ = _choose_features(
            {f: est for f, (_, est) in candidates.items()}, context.k, MIN_PAIRS_LOO)
        self.encoder_, self.estimator_ = candidates[self.features_]

    def _fit_on(self, features: str, context):
        """(encoder or None, fitted :class:`~spektron.transfer.views.ViewAveragedTransfer`) on the
        spectra (``views``) or on the encoder's codes (one view)."""
        # every parameter this strategy shares with the estimator, by name (one list to keep in step: the signature)
        shared = NuisanceTransfer._get_param_names()
        calibration = NuisanceTransfer(**{key: value for key, value in self.get_params().items() if key in shared})
        est = ViewAveragedTransfer(views=self.views if features == "spectra" else ("none",), estimator=calibration)
        pairs = (context.transfer_master_X, context.transfer_target_X, context.transfer_y) if context.k else None
        unlabelled = context.target_unlabelled_X if self.ttt else None
        encoder = None
        if features == "spectra":
            est.fit(context.master_X, context.master_y, axis=context.axis, unit=context.unit, pairs=pairs)
        else:
            encoder = SpektronTransfer(checkpoint=resolve_checkpoint(self.checkpoint), steps=self.steps,
                                       model_config=self.encoder_config, seed=int(context.seed) % (2**31),
                                       num_threads=self.num_threads).fit(
                context.master_X, context.master_y, axis=context.axis, unit=context.unit, pairs=pairs)
            code = functools.partial(_codes, encoder)
            est.set_params(estimator__prior_weight=0.0).fit(
                code(context.master_X), context.master_y,
                pairs=None if pairs is None else (code(pairs[0]), code(pairs[1]), pairs[2]))
            unlabelled = None if unlabelled is None else code(unlabelled)
        if unlabelled is not None and len(unlabelled):
            est.adapt(unlabelled)
        return encoder, est

    def _predict(self, X):
        return self.estimator_.predict(X if self.encoder_ is None else _codes(self.encoder_, X))

    def diagnostics(self) -> dict:
        """The first view's offset (its standard error and the pairs' share) and batch check."""
        est = self.estimator_.primary_
        detail, check = est.offset_detail_, est.batch_check_
        out = {"offset_sd": float(detail.get("sd", float("nan"))),
               "pairs_share": float(detail.get("pairs_share", float("nan")))}
        if check is not None:
            out.update(batch_differs=bool(check["differs"]), batch_matters=bool(check["matters"]),
                       batch_p=float(check.get("p", float("nan"))))
        return out


FEATURES = ("spectra", "codes", "auto")


def _codes(encoder, X: np.ndarray) -> np.ndarray:
    """The encoder's codes of spectra: posterior means ``[z_chem; z_inst]``."""
    return np.hstack([encoder.transform(X), encoder.transform_instrument(X)])


def _choose_features(estimators: dict, k: int, min_pairs_loo: int) -> tuple[str, dict]:
    """Spectra or codes, inside the protocol: with enough pairs, the leave-one-pair-out
    errors of each side's chosen model (codes must beat the spectra by one standard
    error of the paired differences); otherwise the master cross-validation error. The
    spectra are judged by their first view's calibration (the raw spectra's, by default):
    the average's own pair errors would need every view refitted k times."""
    spectra, codes = estimators["spectra"].primary_, estimators["codes"].primary_
    es = spectra.loo_errors_.get(spectra.unlabelled_weight_)
    ec = codes.loo_errors_.get(codes.unlabelled_weight_)
    if k >= min_pairs_loo and es is not None and ec is not None:
        diff = ec - es
        mean, se = float(diff.mean()), float(diff.std(ddof=1) / np.sqrt(diff.size))
        return ("codes" if mean + se < 0 else "spectra"), {"rule": "leave-one-pair-out", "codes_minus_spectra": mean,
                                                           "se": se}
    cs, cc = spectra.model_.cv_mse, codes.model_.cv_mse
    return ("codes" if cc < cs else "spectra"), {"rule": "master CV", "cv_mse_spectra": cs, "cv_mse_codes": cc}


register_method("spektron", NuisanceStrategy, requires_pairs=False,
                description="Spektron: instrument nuisance model (pairs, unlabelled spectra) + PLS invariant to it, with TTT")
register_method("spektron-nottt", functools.partial(NuisanceStrategy, ttt=False), requires_pairs=False,
                description="Spektron without test-time training (no unlabelled target spectra)")
register_method("spektron-codes", functools.partial(NuisanceStrategy, features="codes"), requires_pairs=False,
                description="Spektron's nuisance model + invariant PLS on the deep encoder's codes")
register_method("spektron-single", functools.partial(NuisanceStrategy, views=("none",)), requires_pairs=False,
                description="Spektron on the spectra alone, one view (ablation of the derivative view)")
register_method("spektron-auto", functools.partial(NuisanceStrategy, features="auto"), requires_pairs=False,
                description="Spektron on spectra or encoder codes, chosen inside the protocol")


class SpektronStrategy(TransferStrategy):
    """The deep pipeline (``spektron-deep``): adaptation to the pair, test-time
    training, regression from ``z_chem``.

    Parameters are those of :class:`~spektron.transfer.SpektronTransfer` (defaults
    identical), plus ``ttt`` (run test-time training), ``checkpoint`` (None = the
    ``SPEKTRON_CHECKPOINT`` environment variable, else a fresh model) and
    ``num_threads`` (torch threads, default 2). The ablations are parameter settings
    of this one strategy: ``spektron-deep-nottt`` (``ttt=False``), ``-nogrl``
    (``lambda_adv=0``: no reversed instrument classifier) and ``-nosplit``
    (``split_latent=False``: one latent with reversal on all of it, DANN-like).
    """

    name = "spektron-deep"
    requires_pairs = False

    def __init__(self, checkpoint: str | None = None, steps: int = 150, lr: float = 2e-3, batch_size: int = 32,
                 lambda_pair: float = 1.0, lambda_y: float = 1.0, ttt: bool = True, ttt_steps: int = 3,
                 ttt_lr: float = 1e-5, ttt_mask_ratio: float = 0.35, ttt_n_spectra: int = 10, head: str = "auto",
                 lambda_adv: float | None = None, split_latent: bool | None = None, num_threads: int | None = 2):
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
        self.lambda_adv = lambda_adv
        self.split_latent = split_latent
        self.num_threads = num_threads

    def _estimator_params(self, context) -> dict:
        return dict(checkpoint=resolve_checkpoint(self.checkpoint), steps=self.steps, lr=self.lr, batch_size=self.batch_size,
                    lambda_pair=self.lambda_pair, lambda_y=self.lambda_y, ttt_steps=self.ttt_steps,
                    ttt_lr=self.ttt_lr, ttt_mask_ratio=self.ttt_mask_ratio, ttt_n_spectra=self.ttt_n_spectra,
                    head=self.head, seed=int(context.seed) % (2**31), num_threads=self.num_threads,
                    **{k: v for k, v in (("lambda_adv", self.lambda_adv), ("split_latent", self.split_latent))
                       if v is not None})

    def _fit(self, context) -> None:
        params = self._estimator_params(context)
        key = (repr(sorted((k, repr(v)) for k, v in params.items() if k not in _TTT_KEYS)), _data_key(context))
        pairs = (context.transfer_master_X, context.transfer_target_X, context.transfer_y) if context.k else None
        fitted = _CACHE.lookup(key, lambda: SpektronTransfer(**params).fit(
            context.master_X, context.master_y, axis=context.axis, unit=context.unit, pairs=pairs,
            target_unlabelled=context.target_unlabelled_X))
        est = copy.deepcopy(fitted).set_params(**{k: params[k] for k in _TTT_KEYS})
        if self.ttt and context.target_unlabelled_X is not None and len(context.target_unlabelled_X):
            est.adapt(context.target_unlabelled_X)
        self.estimator_ = est

    def _predict(self, X):
        return self.estimator_.predict(X)


register_method("spektron-deep", SpektronStrategy, requires_pairs=False,
                description="deep Spektron (first build): encoder adaptation + masked TTT + regression from z_chem")
register_method("spektron-deep-nottt", functools.partial(SpektronStrategy, ttt=False), requires_pairs=False,
                description="deep Spektron without test-time training")
register_method("spektron-deep-nogrl", functools.partial(SpektronStrategy, lambda_adv=0.0), requires_pairs=False,
                description="deep Spektron without the gradient-reversal adversary (weight 0)")
register_method("spektron-deep-nosplit", functools.partial(SpektronStrategy, split_latent=False),
                requires_pairs=False,
                description="deep Spektron with one latent and reversal on all of it (DANN-like)")
