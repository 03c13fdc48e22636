"""TransferRegressor: any registered method behind fit(X, y, sample_domain, paired_with)."""

from __future__ import annotations

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.pipeline import make_pipeline

from spektron.methods import TransferContext, TransferRegressor, get_method


def _data(seed=0):
    rng = np.random.default_rng(seed)
    master = rng.normal(size=(30, 40)).cumsum(axis=1)
    y = master[:, 10] - master[:, 30]
    target = master + 0.05 * np.arange(40)
    X = np.vstack([master, target[:3], target[20:]])
    y_all = np.concatenate([y, y[:3], np.full(10, np.nan)])
    domain = np.r_[np.ones(30), -np.ones(13)].astype(int)
    paired = np.r_[np.full(30, -1), [0, 1, 2], np.full(10, -1)]
    return master, target, y, X, y_all, domain, paired


@pytest.mark.parametrize("name", ["none", "meancorr", "ds", "pds", "sbc", "augment", "spektron", "spektron-nottt"])
def test_same_predictions_as_the_strategy_on_the_same_context(name):
    master, target, y, X, y_all, domain, paired = _data()
    reg = TransferRegressor(name).fit(X, y_all, sample_domain=domain, paired_with=paired)
    ctx = TransferContext(master_X=master, master_y=y, axis=np.arange(40.0), transfer_master_X=master[:3],
                          transfer_target_X=target[:3], transfer_y=y[:3], target_unlabelled_X=target[20:])
    direct = get_method(name).fit(ctx)
    np.testing.assert_array_equal(reg.predict(target[20:]), direct.predict(target[20:]))
    assert (reg.n_pairs_, reg.n_unlabelled_) == (3, 10)


def test_clone_params_and_pipeline_routing():
    master, target, y, X, y_all, domain, paired = _data()
    reg = TransferRegressor("ds", params={"alpha": 1e-3}, seed=3)
    assert clone(reg).get_params() == reg.get_params()
    fitted = reg.fit(X, y_all, sample_domain=domain, paired_with=paired)
    assert fitted.strategy_.alpha == 1e-3  # params reach the method
    expected = TransferRegressor("ds").fit(X, y_all, sample_domain=domain, paired_with=paired).predict(target[20:])
    with sklearn.config_context(enable_metadata_routing=False):  # step__param routing
        pipe = make_pipeline(TransferRegressor("ds")).fit(X, y_all, transferregressor__sample_domain=domain,
                                                           transferregressor__paired_with=paired)
        np.testing.assert_array_equal(pipe.predict(target[20:]), expected)
    with sklearn.config_context(enable_metadata_routing=True):  # metadata routing
        step = TransferRegressor("ds").set_fit_request(sample_domain=True, paired_with=True)
        pipe = make_pipeline(step).fit(X, y_all, sample_domain=domain, paired_with=paired)
        np.testing.assert_array_equal(pipe.predict(target[20:]), expected)


def test_bad_domains_and_pairs_are_refused():
    master, target, y, X, y_all, domain, paired = _data()
    with pytest.raises(ValueError, match="sample_domain needs one non-zero value per row"):
        TransferRegressor("none").fit(X, y_all, sample_domain=np.zeros(len(X)))
    wrong = paired.copy()
    wrong[30] = 35  # a target row
    with pytest.raises(ValueError, match="paired_with must point from target rows to master rows"):
        TransferRegressor("ds").fit(X, y_all, sample_domain=domain, paired_with=wrong)
    with pytest.raises(ValueError, match="needs transfer pairs"):
        TransferRegressor("ds").fit(X, y_all, sample_domain=domain)
    with pytest.raises(ValueError, match="unknown method"):
        TransferRegressor("no-such-method").fit(X, y_all, sample_domain=domain)
    bad_y = y_all.copy()
    bad_y[0] = np.nan
    with pytest.raises(ValueError, match="every master row needs a finite reference value"):
        TransferRegressor("none").fit(X, bad_y, sample_domain=domain)
