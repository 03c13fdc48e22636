"""Spektron: calibration transfer for vibrational spectroscopy.

Data → models → training → transfer → evaluation; see ``docs/architecture.md``.
"""

from spektron.data.spectra import SpectralData

__version__ = "0.1.0"
__all__ = ["SpectralData", "__version__"]
