"""``SpektronTransfer``: the Spektron transfer pipeline as one scikit-learn estimator.

``fit`` adapts a (pretrained or fresh) Spektron model to a master → target pair
(:mod:`.adaptation`) and calibrates a regression head on the master's ``z_chem``
codes (:mod:`.heads`); ``adapt`` runs test-time training on unlabelled target spectra
(:mod:`.ttt`) and re-calibrates the head on the adapted codes; ``predict``,
``transform`` and ``retrieve`` then work on target spectra.

Example
-------
>>> import numpy as np
>>> from spektron.transfer import SpektronTransfer
>>> rng = np.random.default_rng(0)
>>> axis = np.arange(1100.0, 1500.0, 4.0)
>>> y = rng.uniform(0, 1, 24)
>>> X = np.exp(-0.5 * ((axis - 1300.0) / 40.0) ** 2) * y[:, None] + 0.01 * rng.standard_normal((24, 100))
>>> est = SpektronTransfer(steps=5, model_config={"d_model": 16, "state_size": 4}).fit(X, y, axis=axis, unit="nm")
>>> est.predict(X + 0.01).shape
(24,)
"""

from __future__ import annotations

import copy
import io
import os
import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from spektron.data.spectra import check_axis, check_spectra, interpolate_spectra, normalise_unit
from spektron.training.diagnostics import probe_accuracy, retrieval_top1
from spektron.transfer.zchem_heads import NearestMasterRetriever, ZChemRegressor
from spektron.transfer.inputs import check_master, check_pairs

__all__ = ["SpektronTransfer"]


def _torch():
    import torch

    return torch


def _warn_axis_mismatch(model, nu_cm1: np.ndarray, path: str, max_outside: float = 0.5) -> None:
    """Warn when the spectra lie mostly outside the wavenumber range the checkpoint was
    pretrained on: its positional code then extrapolates (measured: a mid-IR checkpoint on
    corn NIR raised RMSEP from 0.193 to 0.265)."""
    span = (getattr(model, "meta", None) or {}).get("axis_range_cm1")
    if not span:
        return
    lo, hi = float(min(span)), float(max(span))
    a, b = float(np.min(nu_cm1)), float(np.max(nu_cm1))
    outside = 1.0 - max(0.0, min(b, hi) - max(a, lo)) / max(b - a, 1e-12)
    if outside > max_outside:
        warnings.warn(f"checkpoint {path} was pretrained on {lo:.0f}–{hi:.0f} cm⁻¹ but these spectra span "
                      f"{a:.0f}–{b:.0f} cm⁻¹ ({100 * outside:.0f}% outside): its encoder extrapolates; use a "
                      "checkpoint pretrained on this region, or none", stacklevel=3)


class SpektronTransfer(BaseEstimator):
    """Calibration transfer through the disentangled chemistry latent ``z_chem``.

    Parameters
    ----------
    checkpoint : str or None
        A model file written by ``spektron pretrain`` / :func:`spektron.models.save_model`
        to start from; None trains a fresh small model (``model_size``).
    model_size : ``"default"`` or ``"data"``
        The fresh model: the fixed small one (:func:`.adaptation.default_model_config`)
        or one sized by the calibration set (:func:`.adaptation.data_sized_model_config`,
        whose ``n_tokens`` may be given in ``model_config``).
    model_config : dict or None
        Overrides of the fresh model's :class:`~spektron.models.SpektronConfig`
        (ignored with a checkpoint, except the loss weights below).
    split_latent : bool or None
        False = the single-latent (DANN-style) ablation. Fresh models only; with a
        checkpoint it must match the checkpoint.
    lambda_adv : float or None
        Weight of the reversed instrument classifier on ``z_chem`` (0 = no adversary).
    steps, lr, batch_size, strength, lambda_pair, lambda_y, observed_augment :
        Adaptation settings (:class:`.adaptation.AdaptationConfig`; ``batch_size=None``:
        every master spectrum in each step).
    fused_optimizer, patience, check_every :
        Also adaptation settings (``fused``, ``patience``, ``check_every``): the fused
        AdamW step, and early stopping (``steps`` is then the most it runs).
    ttt_steps, ttt_lr, ttt_mask_ratio, ttt_n_spectra :
        Test-time training settings (:class:`.ttt.TTTConfig`), used by :meth:`adapt`.
    head : ``"auto"``, ``"knn"``, ``"ridge"``, ``"pls"`` or a tuple of these names
        Regression head on ``z_chem``; ``"auto"`` = chosen by CV on the master calibration
        set, a tuple = chosen by the same CV among those heads only.
    n_neighbors : int
        k of the k-NN head.
    center : bool
        Subtract the master's mean calibration spectrum from every model input
        (mean-centring, as PLS does): sample-to-sample chemistry then dominates the
        input instead of the shape all spectra share.
    resample : bool
        Spectra given on another axis (same unit) are interpolated onto the fitted
        axis instead of refused.
    seed : int
    num_threads : int or None
        Torch CPU threads during fit/adapt, head calibration included (None leaves the
        setting alone).

    Attributes
    ----------
    model_ : SpektronModel — the adapted encoder.
    axis_, unit_ : the fitted spectral axis.
    head_ : ZChemRegressor; retriever_ : NearestMasterRetriever.
    strength_ : float — simulated-instrument strength used.
    history_ : list of dict — adaptation losses every 25 steps.
    n_steps_ : int — adaptation steps run (fewer than ``steps`` after an early stop).
    stopping_scores_ : list of (int, float) — early stopping's checks: steps done and the
        calibration codes' leave-one-out RMSE (:func:`.adaptation.calibration_error`).
    adaptation_ : dict — the adaptation settings used (``lambda_adv``: the adversary's
        weight in the adaptation objective; None = the model's own).
    ttt_result_ : TTTResult or None — set by :meth:`adapt`.
    """

    def __init__(self, checkpoint: str | None = None, model_config: dict | None = None,
                 split_latent: bool | None = None, lambda_adv: float | None = None,
                 steps: int = 300, lr: float = 2e-3, batch_size: int | None = 32, strength: float | None = None,
                 lambda_pair: float = 1.0, lambda_y: float = 1.0, observed_augment: bool = True,
                 ttt_steps: int = 3, ttt_lr: float = 1e-5, ttt_mask_ratio: float = 0.35, ttt_n_spectra: int = 10,
                 head: str | tuple[str, ...] = "auto", n_neighbors: int = 5, center: bool = True,
                 resample: bool = False, seed: int = 0, num_threads: int | None = None, model_size: str = "default",
                 fused_optimizer: bool = False, patience: int | None = None, check_every: int = 5):
        self.checkpoint = checkpoint
        self.model_size = model_size
        self.model_config = model_config
        self.split_latent = split_latent
        self.lambda_adv = lambda_adv
        self.steps = steps
        self.lr = lr
        self.batch_size = batch_size
        self.strength = strength
        self.lambda_pair = lambda_pair
        self.lambda_y = lambda_y
        self.observed_augment = observed_augment
        self.ttt_steps = ttt_steps
        self.ttt_lr = ttt_lr
        self.ttt_mask_ratio = ttt_mask_ratio
        self.ttt_n_spectra = ttt_n_spectra
        self.head = head
        self.n_neighbors = n_neighbors
        self.center = center
        self.resample = resample
        self.seed = seed
        self.num_threads = num_threads
        self.fused_optimizer = fused_optimizer
        self.patience = patience
        self.check_every = check_every

    # ------------------------------------------------------------------ model
    def _build_model(self, n_channels: int, n_spectra: int):
        from spektron.models import SpektronModel, load_model  # lazy: loads torch (registering and listing methods must not)
        from spektron.transfer.adaptation import (  # lazy: loads torch (registering and listing methods must not)
            data_sized_model_config, default_model_config)

        torch = _torch()
        if self.checkpoint is not None:
            path = os.fspath(self.checkpoint)
            model = load_model(path)
            _warn_axis_mismatch(model, self._axis_cm1(), path)
            cfg = model.config
            if self.split_latent is not None and bool(self.split_latent) != cfg.split_latent:
                raise ValueError(f"split_latent={self.split_latent} differs from the checkpoint {path} "
                                 f"(split_latent={cfg.split_latent}); use a matching checkpoint or none")
            return model
        overrides = dict(self.model_config or {})
        if self.split_latent is not None:
            overrides["split_latent"] = bool(self.split_latent)
        if self.model_size == "data":
            config = data_sized_model_config(n_channels, n_spectra, **overrides)
        elif self.model_size == "default":
            config = default_model_config(n_channels, **overrides)
        else:
            raise ValueError(f"model_size must be 'default' or 'data', got {self.model_size!r}")
        torch.manual_seed(int(self.seed))
        return SpektronModel(config)

    def _extra_loss(self):
        """An extra adaptation term ``f(mu_chem, labels)`` (:func:`.adaptation.adapt_to_pair`);
        None here, overridden by the domain-adaptation baselines."""
        return None

    def _adaptation_config(self):
        from spektron.transfer.adaptation import AdaptationConfig  # lazy: loads torch (registering and listing methods must not)

        return AdaptationConfig(steps=self.steps, lr=self.lr, batch_size=self.batch_size, strength=self.strength,
                                lambda_pair=self.lambda_pair, lambda_y=self.lambda_y,
                                observed_augment=self.observed_augment, fused=bool(self.fused_optimizer),
                                patience=self.patience, check_every=self.check_every, seed=self.seed,
                                lambda_adv=None if self.lambda_adv is None else float(self.lambda_adv))

    def _ttt_config(self):
        from spektron.transfer.ttt import TTTConfig  # lazy: loads torch (registering and listing methods must not)

        return TTTConfig(n_spectra=self.ttt_n_spectra, steps=self.ttt_steps, lr=self.ttt_lr,
                         mask_ratio=self.ttt_mask_ratio, seed=self.seed)

    # ------------------------------------------------------------- validation
    def _check_input(self, X, axis=None, name: str = "target spectra") -> np.ndarray:
        """Spectra on the fitted axis: refused with a clear error, or resampled when asked."""
        X = check_spectra(X, name)
        C = self.axis_.size
        if axis is None:
            if X.shape[1] != C:
                raise ValueError(
                    f"{name} have {X.shape[1]} channels but the model was fitted on {C} "
                    f"({self.axis_[0]:g}–{self.axis_[-1]:g} {self.unit_}); pass their axis "
                    "(and resample=True) to interpolate them")
            return X
        axis = check_axis(axis, X.shape[1], name=f"axis of the {name}")
        if axis.size == C and np.allclose(axis, self.axis_, rtol=1e-6, atol=1e-9):
            return X
        if not self.resample:
            raise ValueError(
                f"{name} are on a different axis ({axis.size} channels, {axis[0]:g}–{axis[-1]:g}) than the model "
                f"was fitted on ({C} channels, {self.axis_[0]:g}–{self.axis_[-1]:g} {self.unit_}); "
                "set resample=True to interpolate them onto the fitted axis")
        return interpolate_spectra(X, axis, self.axis_)

    def _axis_cm1(self) -> np.ndarray:
        return 1e7 / self.axis_ if self.unit_ == "nm" else self.axis_

    def _threads(self):
        torch = _torch()
        old = torch.get_num_threads()
        if self.num_threads:
            torch.set_num_threads(int(self.num_threads))
        return old

    # -------------------------------------------------------------------- fit
    def fit(self, master_X, master_y, *, axis, unit: str = "nm", pairs=None, target_unlabelled=None,
            target_axis=None) -> "SpektronTransfer":
        """Adapt the model to the instrument pair and calibrate the head on the master.

        ``pairs`` = (master_std (k, C), target_std (k, C), y_std (k,)) or None;
        ``target_unlabelled`` (m, C) target spectra without reference values (used as
        target-instrument examples during adaptation; not for :meth:`adapt`).
        ``target_axis``: the axis of the target-side arrays when it differs from
        ``axis`` (then ``resample=True`` is required).
        """
        from spektron.transfer.adaptation import adapt_to_pair, observed_differences  # lazy: loads torch (registering and listing methods must not)

        torch = _torch()
        master_X, master_y = check_master(master_X, master_y)
        self.axis_ = check_axis(axis, master_X.shape[1], name="master axis")
        self.unit_ = normalise_unit(unit)
        pm, pt, py = check_pairs(pairs, lambda X, name: self._check_input(X, None, name),
                                 lambda X, name: self._check_input(X, target_axis, name))
        tu = None
        if target_unlabelled is not None and len(target_unlabelled):
            tu = self._check_input(target_unlabelled, target_axis, "unlabelled target spectra")

        self.reference_ = master_X.mean(axis=0) if self.center else None
        old = self._threads()
        try:
            model = self._build_model(master_X.shape[1], master_X.shape[0])
            result = adapt_to_pair(model, master_X, master_y, self.axis_, self.unit_,
                                   pairs=(pm, pt, py) if py is not None else None, target_X=tu,
                                   config=self._adaptation_config(), reference=self.reference_,
                                   extra_loss=self._extra_loss())
            self.model_ = result.model
            self.strength_ = result.strength
            self.history_ = result.history
            self.n_steps_ = result.n_steps
            self.stopping_scores_ = result.checks
            self.adaptation_ = result.config
            self.n_features_in_ = master_X.shape[1]
            self._master = (master_X, master_y)
            self._pairs = (pt, py) if py is not None else None
            diffs = observed_differences(master_X, pairs=(pm, pt) if py is not None else None, target_X=tu)
            self._diffs = diffs if self.observed_augment else None
            self.ttt_result_ = None
            self._calibrate_head()
        finally:
            torch.set_num_threads(old)
        return self

    def _calibrate_head(self) -> None:
        """(Re)fit the regression head and the retrieval index on the current codes of
        the calibration views (:func:`.adaptation.calibration_views`)."""
        from spektron.transfer.adaptation import calibration_views  # lazy: loads torch (registering and listing methods must not)

        X, y = self._master
        pt, py = self._pairs if self._pairs is not None else (None, None)
        spectra, values = calibration_views(X, y, pt, py, self._diffs, self.seed)
        codes = [self._encode(part)[0] for part in spectra]
        self.head_ = ZChemRegressor(head=self.head, n_neighbors=self.n_neighbors, seed=self.seed).fit(
            np.vstack(codes), np.concatenate(values))
        self.retriever_ = NearestMasterRetriever(n_neighbors=1).fit(codes[0])

    def _model_input(self, X: np.ndarray) -> np.ndarray:
        return X - self.reference_ if self.reference_ is not None else X

    def _encode(self, X: np.ndarray, batch: int = 256) -> tuple[np.ndarray, np.ndarray]:
        """Posterior means ``(mu_chem, mu_inst)`` of spectra, float64."""
        from spektron.models.encode import encode_batched  # lazy: loads torch (registering and listing methods must not)

        self.model_.eval()
        codes = encode_batched(self.model_, self._model_input(X), self._axis_cm1(), batch_size=batch)
        return codes["mu_chem"].astype(float), codes["mu_inst"].astype(float)

    # ---------------------------------------------------------------- adapt
    def adapt(self, target_unlabelled, axis=None) -> "SpektronTransfer":
        """Test-time training on the first ``ttt_n_spectra`` unlabelled target spectra;
        the head is re-calibrated on the adapted codes. ``ttt_result_`` holds the
        masked-reconstruction loss before and after."""
        from spektron.transfer.ttt import run_test_time_training  # lazy: loads torch (registering and listing methods must not)

        check_is_fitted(self, "model_")
        X = self._check_input(target_unlabelled, axis, "unlabelled target spectra")
        torch = _torch()
        old = self._threads()
        try:
            self.ttt_result_ = run_test_time_training(self.model_, self._model_input(X), self._axis_cm1(),
                                                      self._ttt_config())
            self._calibrate_head()
        finally:
            torch.set_num_threads(old)
        res = self.ttt_result_
        if res.loss_after > res.loss_before:
            warnings.warn(f"test-time training raised the masked-reconstruction loss on the target spectra "
                          f"({res.loss_before:.6g} → {res.loss_after:.6g}); lower ttt_lr or set ttt_steps=0",
                          stacklevel=2)
        return self

    # ------------------------------------------------------------- inference
    def transform(self, X, axis=None) -> np.ndarray:
        """``z_chem`` (posterior means) of spectra, (n, z_chem_dim)."""
        check_is_fitted(self, "model_")
        return self._encode(self._check_input(X, axis))[0]

    def transform_instrument(self, X, axis=None) -> np.ndarray:
        """``z_inst`` of spectra (empty second dimension for the single-latent ablation)."""
        check_is_fitted(self, "model_")
        return self._encode(self._check_input(X, axis))[1]

    def predict(self, X, axis=None) -> np.ndarray:
        """Property predictions for target spectra, (n,)."""
        return self.head_.predict(self.transform(X, axis))

    def retrieve(self, X, axis=None) -> tuple[np.ndarray, np.ndarray]:
        """Row index of the nearest master calibration spectrum in ``z_chem`` and its cosine distance."""
        idx, dist = self.retriever_.retrieve(self.transform(X, axis))
        return idx[:, 0], dist[:, 0]

    def disentanglement(self, master_X, target_X, seed: int = 0) -> dict:
        """SPEC §7 diagnostics on paired spectra (row i of both = one sample): instrument
        probe accuracy from ``z_chem`` and ``z_inst`` (chance 0.5) and same-sample
        cross-instrument retrieval top-1 from ``z_chem``."""
        check_is_fitted(self, "model_")
        A, B = self._check_input(master_X, None, "master spectra"), self._check_input(target_X, None)
        if A.shape != B.shape:
            raise ValueError(f"paired spectra must have the same shape, got {A.shape} and {B.shape}")
        (ca, ia), (cb, ib) = self._encode(A), self._encode(B)
        zc, zi = np.vstack([ca, cb]), np.vstack([ia, ib])
        inst = np.repeat([0, 1], len(A))
        sample = np.tile(np.arange(len(A)), 2)
        return {
            "chance": 0.5,
            "inst_acc_chem": probe_accuracy(zc, inst, groups=sample, seed=seed),
            "inst_acc_inst": probe_accuracy(zi, inst, groups=sample, seed=seed) if zi.shape[1] else float("nan"),
            "retrieval_top1": retrieval_top1(zc, sample, inst),
        }

    # -------------------------------------------------------------- pickling
    def __getstate__(self):
        """Torch modules travel as (config, state-dict bytes): portable, and no
        autograd or generator state is pickled."""
        state = self.__dict__.copy()
        model = state.pop("model_", None)
        if model is not None:
            torch = _torch()
            buf = io.BytesIO()
            torch.save({k: v.detach().cpu().clone() for k, v in model.state_dict().items()}, buf)
            state["_model_blob"] = (model.config.to_dict(), buf.getvalue())
        return state

    def __setstate__(self, state):
        blob = state.pop("_model_blob", None)
        self.__dict__.update(state)
        if blob is not None:
            from spektron.models import SpektronConfig, SpektronModel  # lazy: loads torch (registering and listing methods must not)

            torch = _torch()
            config, data = blob
            model = SpektronModel(SpektronConfig.from_dict(config))
            model.load_state_dict(torch.load(io.BytesIO(data), weights_only=True))
            self.model_ = model.eval()

    def __deepcopy__(self, memo):
        new = type(self).__new__(type(self))
        memo[id(self)] = new
        for key, value in self.__dict__.items():
            setattr(new, key, copy.deepcopy(value, memo))
        return new
