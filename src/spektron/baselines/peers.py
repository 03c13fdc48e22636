"""The field's own implementations, wrapped thinly under prefixed names.

So that one benchmark run compares against the established packages' code, not only
our re-implementations. Each wrapper is registered only when its package imports
(``pip install spektron[peers]``). The master model, where a method needs one, is the
same cross-validated :class:`~spektron.baselines.calibration.PLSCalibration` the
classical strategies use.

Registered:

- ``pynir-pfce-ss``, ``pynir-pfce-ns``, ``pynir-pfce-fs`` — PFCE (Zhang et al., Anal.
  Chim. Acta 1142, 169, 2021; PFCE2, Spectrochim. Acta A 301, 122978, 2023) from
  ``pynir.CalibrationTransfer``: the master regression vector is re-estimated for the
  target under a correlation constraint. SS uses the target transfer spectra and their
  labels, NS the paired spectra without labels, FS both.
- ``dipls`` — domain-invariant PLS (Nikzad-Langerodi et al., Anal. Chem. 90, 6693,
  2018) from ``diPLSlib``: unlabelled — fitted on the labelled master calibration set
  and the target's unlabelled calibration spectra, so it runs at k = 0.
- ``pycaltransfer-ds``, ``pycaltransfer-epo`` — PCR-based DS and external parameter
  orthogonalisation (Roger et al. 2003) from ``pycaltransfer.caltransfer``.
- ``skada-coral``, ``skada-linot``, ``skada-sa`` — unsupervised domain adaptation of the
  *spectra* from skada (scikit-adaptation): CORAL re-colouring of the master spectra to
  the target covariance (Sun et al., AAAI 2016; Ledoit–Wolf-regularised), the linear
  (Gaussian) optimal-transport map (Flamary et al. 2020) and subspace alignment
  (Fernando et al., ICCV 2013), each followed by a PLS on the adapted master spectra.
  They use the master calibration set and the unlabelled target spectra — no pairs —
  and are the raw-spectrum counterparts of the ``coral``/``mmd`` baselines on
  Spektron's backbone.

Left out: ``pycaltransfer``'s PDS (``pds_pls_transfer_fit`` reads ``coef_[:, 0]``
from scikit-learn's PLS, which since scikit-learn 1.1 is the first *feature's*
coefficient, so every window gets one repeated number — on corn m5→mp5 it gives
RMSEP ≈ 180–780; our ``pds`` and chemotools' PDS agree with each other instead).
Also left out, because their APIs cannot express this protocol without bending it:
``pycaltransfer`` JY-PLS (``jointypls_regression`` takes latent scores of a model
fitted on both domains' labelled sets, i.e. needs a labelled target calibration set,
not k transfer samples) and its linear TCA (returns a projection but no rule for
the regression step, so any result would be ours, not the package's); ``pynir``
``MT_PFCE`` (multi-task over several labelled instruments) and ``BS`` (the same
slope/bias correction as our ``sbc``).
"""

from __future__ import annotations

import importlib.util
import warnings

import numpy as np
import sklearn

from spektron.baselines.calibration import PLSCalibration
from spektron.baselines.strategies import CalibratedStrategy
from spektron.methods.registry import available_methods, register_method

__all__ = ["available_peers"]


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def available_peers() -> list[str]:
    """Names of the peer methods whose packages are installed."""

    return [m for m in available_methods() if m.startswith(("pynir-", "pycaltransfer-", "skada-")) or m == "dipls"]


def _import_skada():
    """skada, imported without its side effect: importing it switches scikit-learn's
    metadata routing on for the whole process, which breaks a user's pipelines that pass
    ``step__param`` fit parameters. The previous setting is restored; the skada
    pipelines run with routing on inside ``config_context`` only."""
    before = sklearn.get_config()["enable_metadata_routing"]
    import skada  # lazy: an optional peer, heavy to import

    sklearn.set_config(enable_metadata_routing=before)
    return skada


def _master_vector(model: PLSCalibration) -> np.ndarray:
    """``[intercept, coef...]`` of the master PLS (the form pynir's PFCE expects)."""
    if model.preprocessing_ is not None:
        raise ValueError("PFCE needs a linear master model on raw spectra (no preprocessing)")
    coef = model.pls_.coef_.ravel()
    # scikit-learn's ``intercept_`` is the mean of y (it centres X before the product),
    # so the intercept of the raw-spectra model is the prediction for a zero spectrum
    intercept = float(model.pls_.predict(np.zeros((1, coef.size))).ravel()[0])
    return np.concatenate([[intercept], coef])


class _PFCE(CalibratedStrategy):
    """PFCE from pynir (see the module docstring); ``thres`` and ``constr_type`` are
    pynir's ``thres`` and ``constrType``."""

    requires_pairs = True
    variant = "ss"

    def __init__(self, thres: float = 0.98, constr_type: int = 1, calibration=None):
        self.thres = thres
        self.constr_type = constr_type
        self.calibration = calibration

    def _fit(self, context):
        from pynir import CalibrationTransfer as ct

        master = context.fit_master(self._calibration())
        b1 = _master_vector(master)
        cls = {"ss": ct.SS_PFCE, "ns": ct.NS_PFCE, "fs": ct.FS_PFCE}[self.variant]
        est = cls(thres=self.thres, constrType=self.constr_type)
        Xm, Xt, y = context.transfer_master_X, context.transfer_target_X, context.transfer_y
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if self.variant == "ss":
                est.fit(Xt, y, b1)
            elif self.variant == "ns":
                est.fit(Xm, Xt, b1)
            else:
                est.fit(Xm, Xt, y, b1)
        self.pfce_ = est

    def _predict(self, X):
        return self.pfce_.transform(X)


class _EPO(CalibratedStrategy):
    """External parameter orthogonalisation from pycaltransfer: project out the
    ``n_components`` main directions of the master − target difference of the
    transfer pairs, recalibrate the PLS on the projected master calibration set, and
    predict projected target spectra."""

    name = "pycaltransfer-epo"
    requires_pairs = True

    def __init__(self, n_components: int = 2, calibration=None):
        self.n_components = n_components
        self.calibration = calibration

    def _fit(self, context):
        from pycaltransfer import caltransfer

        n = max(1, min(int(self.n_components), context.k))
        self.E_, _ = caltransfer.epo_fit(context.transfer_master_X, context.transfer_target_X, epo_ncp=n)
        self.model_ = context.fit_cached(self._calibration(), context.master_X @ self.E_, context.master_y)

    def _predict(self, X):
        return self.model_.predict(X @ self.E_)


class _PycaltransferDS(CalibratedStrategy):
    """pycaltransfer's DS (PCR-based): target spectra → ``X F + a``, then the master
    model. ``n_components=None`` uses as many principal components as the k pairs
    support, k − 1 after centring (classical, unregularised DS); k ≥ 2."""

    name = "pycaltransfer-ds"
    requires_pairs = True

    def __init__(self, n_components: int | None = None, calibration=None):
        self.n_components = n_components
        self.calibration = calibration

    def _fit(self, context):
        from pycaltransfer import caltransfer

        if context.k < 2:
            raise ValueError("method 'pycaltransfer-ds' needs at least 2 transfer pairs: its PCR inverts the "
                             "mean-centred pair spectra, which have rank k − 1")
        self.model_ = context.fit_master(self._calibration())
        n = context.k - 1 if self.n_components is None else int(self.n_components)
        self.F_, self.a_ = caltransfer.ds_pc_transfer_fit(
            context.transfer_master_X, context.transfer_target_X, max_ncp=max(1, min(n, context.k - 1)))

    def _predict(self, X):
        return self.model_.predict(X @ self.F_ + self.a_)


class _DIPLS(CalibratedStrategy):
    """di-PLS from diPLSlib: latent variables that predict y on the master calibration
    set while matching the master and unlabelled target score variances.
    ``n_components=None`` takes the master PLS's CV choice. The regularisation ``l``
    is fixed (default 10, the value in diPLSlib's own example) and not tuned: with no
    labelled target data there is no honest criterion to tune it on, and diPLSlib's
    ``heuristic=True`` fails with current NumPy ("setting an array element with a
    sequence" in ``dipals``)."""

    name = "dipls"
    requires_pairs = False

    def __init__(self, n_components: int | None = None, l: float = 10.0, heuristic: bool = False, calibration=None):
        self.n_components = n_components
        self.l = l
        self.heuristic = heuristic
        self.calibration = calibration

    def _fit(self, context):
        # diPLSlib's DIPLS estimator passes ``force_all_finite`` to scikit-learn, which
        # recent scikit-learn rejects; its core function ``dipals`` is called instead,
        # with the estimator's own centring (X, xs, xt and y each about their mean,
        # test spectra about the target mean: DIPLS(rescale="Target")).
        from diPLSlib.functions import dipals

        A = self.n_components or context.fit_master(self._calibration()).n_components_
        X, y, Xt = context.master_X, context.master_y, context.target_unlabelled_X
        if Xt is None or Xt.shape[0] < 2:
            raise ValueError("method 'dipls' needs at least 2 unlabelled target spectra (context.target_unlabelled_X)")
        self.y_mean_, self.target_mean_ = float(y.mean()), Xt.mean(axis=0)
        Xc = X - X.mean(axis=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = dipals(Xc, (y - self.y_mean_)[:, None], Xc, Xt - self.target_mean_, int(A), self.l,
                         heuristic=self.heuristic)
        self.coef_ = np.asarray(out[0]).ravel()

    def _predict(self, X):
        return (X - self.target_mean_) @ self.coef_ + self.y_mean_


class _SkadaAdapter(CalibratedStrategy):
    """A skada adapter on the spectra, then a PLS fitted on the adapted master
    calibration set (see the module docstring). ``n_components=None`` takes the master
    PLS's cross-validated choice; it is also the subspace dimension of ``skada-sa``."""

    requires_pairs = False
    adapter = "coral"

    def __init__(self, n_components: int | None = None, reg: float | str | None = None, calibration=None):
        self.n_components = n_components
        self.reg = reg
        self.calibration = calibration

    def _make_adapter(self, A: int):
        skada = _import_skada()
        if self.adapter == "coral":
            return skada.CORALAdapter(reg="auto" if self.reg is None else self.reg)
        if self.adapter == "linot":
            # the 700 × 700 covariances of ~64 spectra are singular: a small ridge keeps the map real
            return skada.LinearOTMappingAdapter(reg=1e-3 if self.reg is None else float(self.reg))
        return skada.SubspaceAlignmentAdapter(n_components=A)

    def _fit(self, context):
        from sklearn.cross_decomposition import PLSRegression

        skada = _import_skada()

        Xt = context.target_unlabelled_X
        if Xt is None or Xt.shape[0] < 2:
            raise ValueError(f"method {self.name!r} needs at least 2 unlabelled target spectra "
                             "(context.target_unlabelled_X)")
        A = int(self.n_components or context.fit_master(self._calibration()).n_components_)
        # subspace alignment fits a PCA on each domain: no more components than target spectra
        # (the transductive unlabelled set is the ~16 test spectra)
        A = min(A, context.master_X.shape[0] - 1, Xt.shape[0] if self.adapter == "sa" else A)
        Xs, ys = context.master_X, context.master_y
        X = np.vstack([Xs, Xt])
        y = np.concatenate([ys, np.full(Xt.shape[0], np.nan)])  # target labels unknown (masked by skada)
        domain = np.concatenate([np.ones(Xs.shape[0], int), -2 * np.ones(Xt.shape[0], int)])
        self.pipeline_ = skada.make_da_pipeline(self._make_adapter(A),
                                                skada.SelectSource(PLSRegression(n_components=A, scale=False)))
        with warnings.catch_warnings(), sklearn.config_context(enable_metadata_routing=True):
            warnings.simplefilter("ignore")  # skada warns about the masked target labels it was given
            self.pipeline_.fit(X, y, sample_domain=domain)
        if not np.all(np.isfinite(self._predict(Xt[:1]))):
            raise ValueError(f"method {self.name!r}: the skada adapter produced non-finite features on these spectra")

    def _predict(self, X):
        with warnings.catch_warnings(), sklearn.config_context(enable_metadata_routing=True):
            warnings.simplefilter("ignore")
            return np.asarray(self.pipeline_.predict(X, sample_domain=-2 * np.ones(X.shape[0], int))).ravel()


def _register_variants(base: type, prefix: str, attr: str, variants, requires_pairs: bool, describe) -> None:
    """One subclass of ``base`` per variant (``attr`` set to it), named ``prefix-variant``,
    kept in this module (so it pickles) and registered."""
    for variant, what in variants:
        name = f"{prefix}-{variant}"
        cls = type(f"{base.__name__.strip('_')}_{variant.upper()}", (base,),
                   {attr: variant, "name": name, "__module__": __name__})
        globals()[cls.__name__] = cls
        register_method(name, cls, requires_pairs=requires_pairs, description=describe(variant, what))


if _has("pynir"):
    _register_variants(_PFCE, "pynir-pfce", "variant",
                       (("ss", "labelled target transfer spectra"), ("ns", "paired spectra, no labels"),
                        ("fs", "paired spectra and labels")),
                       True, lambda v, what: f"pynir {v.upper()}-PFCE ({what})")

if _has("diPLSlib"):
    register_method("dipls", _DIPLS, requires_pairs=False, description="diPLSlib di-PLS (unlabelled target spectra)")

if _has("pycaltransfer"):
    register_method("pycaltransfer-ds", _PycaltransferDS, requires_pairs=True, description="pycaltransfer DS (PCR)")
    register_method("pycaltransfer-epo", _EPO, requires_pairs=True, description="pycaltransfer EPO + recalibrated PLS")

if _has("skada"):
    _register_variants(_SkadaAdapter, "skada", "adapter",
                       (("coral", "CORAL re-colouring of the master spectra"),
                        ("linot", "linear optimal-transport map of the spectra"),
                        ("sa", "subspace alignment of the spectra")),
                       False, lambda v, what: f"skada {what} (unlabelled target) + PLS")
