"""Spektron: calibration transfer for vibrational spectroscopy.

Data → models → training → transfer → evaluation; see ``docs/architecture.md``.
"""

from spektron._version import __version__
from spektron.data.spectra import SpectralData

__all__ = ["SpectralData", "__version__", "load_model"]


def load_model(path, *, trust_pickle: bool = False):
    """A saved transfer model (``spektron transfer --save``): ``load_model(path).predict(X)``.

    Loading runs no code from the file (:mod:`spektron.transfer.model_file`); the pickles
    of before 2026-12-08 load only with ``trust_pickle=True``. See
    :class:`spektron.transfer.saved.TransferModel`. (Imported on use: the package root
    stays light.)
    """
    from spektron.transfer.saved import load_model as _load  # lazy: the package root stays light

    return _load(path, trust_pickle=trust_pickle)
