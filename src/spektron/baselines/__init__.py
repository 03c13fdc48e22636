"""Classical calibration-transfer baselines: PLS calibration, DS, PDS, SST, SBC, model
update, and thin wrappers of the field's own packages (``peers``, when installed).

Importing this package registers every method with :mod:`spektron.methods.registry`
(:mod:`spektron.methods.catalogue` does, on the first lookup of a method).
"""

from spektron.baselines.calibration import PLSCalibration
from spektron.baselines.standardization import DirectStandardization, PiecewiseDirectStandardization
from spektron.baselines.strategies import (
    AugmentedRecalibration,
    CalibratedStrategy,
    DirectStandardizationTransfer,
    NoTransfer,
    PiecewiseDirectStandardizationTransfer,
    SlopeBiasCorrection,
    SpectralSpaceTransfer,
    TargetCalibration,
)
from spektron.baselines import peers  # noqa: F401  (registers the peers that import)

__all__ = [
    "AugmentedRecalibration",
    "CalibratedStrategy",
    "DirectStandardization",
    "DirectStandardizationTransfer",
    "NoTransfer",
    "PLSCalibration",
    "PiecewiseDirectStandardization",
    "PiecewiseDirectStandardizationTransfer",
    "SlopeBiasCorrection",
    "SpectralSpaceTransfer",
    "TargetCalibration",
]
