"""The estimators that claim the scikit-learn contract pass scikit-learn's own checks
(input validation, fitted state, cloning, n_features_in_, pickling, …)."""

from __future__ import annotations

import warnings

from sklearn.utils.estimator_checks import parametrize_with_checks

from spektron.baselines import PLSCalibration
from spektron.methods import TransferRegressor
from spektron.transfer.outliers import CalibrationDomain
from spektron.transfer.zchem_heads import ZChemRegressor

# TransferRegressor for the methods that can fit without target spectra (the generic
# checks know nothing of a target instrument); the others are tested in tests/methods.
ESTIMATORS = [PLSCalibration(max_components=3), ZChemRegressor(), CalibrationDomain(), TransferRegressor("spektron"),
              TransferRegressor("none")]


@parametrize_with_checks(ESTIMATORS)
def test_scikit_learn_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        check(estimator)
