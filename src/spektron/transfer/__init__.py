"""Calibration transfer with Spektron (SPEC section 6).

The method: the target instrument as an explicit nuisance model and a PLS calibration
invariant to it (:class:`NuisanceTransfer`), fitted on the spectra and on their first
derivative and averaged (:class:`ViewAveragedTransfer`, what ``spektron`` runs). The first
build's deep pipeline — adaptation to an instrument pair, test-time training, prediction
from the chemistry latent ``z_chem`` — is :class:`SpektronTransfer` (``spektron-deep``).

Importing this package does not import torch; the deep estimator loads it on first use.
The benchmark strategies (``spektron``, ``spektron-nottt``, ``spektron-single``,
``spektron-codes``, ``spektron-auto``, ``spektron-deep*``) live in
:mod:`spektron.transfer.strategies`.
"""

from spektron.transfer.estimator import SpektronTransfer
from spektron.transfer.nuisance_transfer import NuisanceTransfer
from spektron.transfer.views import ViewAveragedTransfer
from spektron.transfer.zchem_heads import NearestMasterRetriever, ZChemRegressor

__all__ = ["NearestMasterRetriever", "NuisanceTransfer", "SpektronTransfer", "ViewAveragedTransfer", "ZChemRegressor"]
