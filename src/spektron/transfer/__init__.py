"""Calibration transfer with Spektron: adaptation to an instrument pair, test-time
training, and prediction from the chemistry latent ``z_chem`` (SPEC section 6).

Importing this package does not import torch; the estimator loads it on first use.
The benchmark strategies (``spektron``, ``spektron-nottt``, ``spektron-nogrl``,
``spektron-nosplit``) live in :mod:`spektron.transfer.strategies`.
"""

from spektron.transfer.estimator import SpektronTransfer
from spektron.transfer.zchem_heads import NearestMasterRetriever, ZChemRegressor

__all__ = ["NearestMasterRetriever", "SpektronTransfer", "ZChemRegressor"]
