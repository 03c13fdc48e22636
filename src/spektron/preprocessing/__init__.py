"""Spectral preprocessing as scikit-learn transformers.

The transformers themselves come from chemotools (maintained, scikit-learn native);
this package re-exports them under one roof and adds :func:`make_preprocessing`, which
builds a pipeline from a short text spec so the CLI and configs can name one.
"""

from chemotools.derivative import SavitzkyGolay
from chemotools.scatter import MultiplicativeScatterCorrection, StandardNormalVariate
from chemotools.smooth import SavitzkyGolayFilter

from spektron.preprocessing.pipeline import MeanCentering, make_preprocessing

__all__ = [
    "MeanCentering",
    "MultiplicativeScatterCorrection",
    "SavitzkyGolay",
    "SavitzkyGolayFilter",
    "StandardNormalVariate",
    "make_preprocessing",
]
