import numpy as np
import pytest

from spektron.evaluation import (
    calibration_test_split,
    kennard_stone,
    make_split,
    regression_metrics,
    select_transfer,
)
from spektron.evaluation.protocol import check_protocol


def test_kennard_stone_picks_the_extremes_first():
    # corners of a square far out, plus points clustered in the middle
    centre = np.random.default_rng(0).normal(scale=0.1, size=(20, 2))
    X = np.vstack([centre, [[-10, -10], [10, 10], [10, -10], [-10, 10]]])
    order = kennard_stone(X, 5)
    assert set(order[:2]) == {20, 21}  # the farthest-apart pair
    assert set(order[2:4]) == {22, 23}  # then the other two corners
    assert order[4] < 20
    assert len(set(kennard_stone(X).tolist())) == X.shape[0]


def test_kennard_stone_on_a_line_fills_gaps():
    X = np.arange(11, dtype=float)[:, None]
    order = kennard_stone(X, 5).tolist()
    # ends first, then the middle, then the quarter points (ties go to the lower index)
    assert order == [0, 10, 5, 2, 7]


def test_ks_split_is_64_16_and_deterministic(rng):
    X = rng.normal(size=(80, 30))
    cal, test = calibration_test_split(X, 0.8, "ks")
    assert cal.size == 64 and test.size == 16 and not set(cal) & set(test)
    cal2, _ = calibration_test_split(X, 0.8, "ks")
    np.testing.assert_array_equal(cal, cal2)
    r1, _ = calibration_test_split(X, 0.8, "random", seed=1)
    r2, _ = calibration_test_split(X, 0.8, "random", seed=1)
    r3, _ = calibration_test_split(X, 0.8, "random", seed=2)
    np.testing.assert_array_equal(r1, r2)
    assert not np.array_equal(r1, r3)


def test_transfer_selection_is_nested_and_checked(rng):
    X = rng.normal(size=(30, 5))
    assert select_transfer(X, 5, "ks").tolist() == select_transfer(X, 10, "ks")[:5].tolist()
    assert select_transfer(X, 4, "random", seed=3).tolist() == select_transfer(X, 9, "random", seed=3)[:4].tolist()
    with pytest.raises(ValueError, match="k = 31 transfer samples requested but the calibration set has only 30"):
        select_transfer(X, 31)
    with pytest.raises(ValueError, match="unknown selection method"):
        select_transfer(X, 3, "best")


def test_protocol_split_uses_only_rows_with_the_property(rng):
    X = rng.normal(size=(40, 10))
    y = rng.normal(size=40)
    y[[3, 7]] = np.nan
    s = make_split(X, y, split="random", selection="random", seed=0, repeat=1)
    used = np.concatenate([s.cal, s.test])
    assert 3 not in used and 7 not in used and used.size == 38
    assert set(s.transfer(10)) <= set(s.cal)
    again = make_split(X, y, split="random", selection="random", seed=0, repeat=1)
    np.testing.assert_array_equal(s.transfer_order, again.transfer_order)


def test_protocol_arguments_are_checked_and_repeats_kept():
    assert check_protocol(5, "ks", "ks") == 5  # seeds still differ between repeats
    assert check_protocol(5, "random", "random") == 5
    with pytest.raises(ValueError, match="unknown split"):
        check_protocol(5, "kfold", "ks")
    with pytest.raises(ValueError, match="unknown selection"):
        check_protocol(5, "ks", "kmeans")
    with pytest.raises(ValueError, match="repeats must be"):
        check_protocol(0, "ks", "ks")


def test_metrics_on_known_numbers():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    p = y + np.array([0.5, 0.5, 0.5, 0.5])
    m = regression_metrics(y, p)
    assert m["rmsep"] == pytest.approx(0.5) and m["bias"] == pytest.approx(0.5)
    assert m["sep"] == pytest.approx(0.0) and m["n_test"] == 4
    assert m["r2"] == pytest.approx(1 - 1.0 / 5.0)
    with pytest.raises(ValueError, match="values"):
        regression_metrics(y, p[:3])


@pytest.mark.parametrize("split", ["ks", "random"])
def test_unlabelled_set_never_holds_a_calibration_sample_unless_asked(rng, split):
    X = rng.normal(size=(80, 12))
    y = rng.normal(size=80)
    for repeat in range(3):
        test_mode = make_split(X, y, split=split, selection="random", repeat=repeat)  # default: transductive
        assert test_mode.unlabelled_kind == "test"
        np.testing.assert_array_equal(test_mode.unlabelled, test_mode.test)
        assert not set(test_mode.unlabelled) & set(test_mode.cal)
        pool = make_split(X, y, split=split, selection="random", repeat=repeat, unlabelled="pool", pool_fraction=0.25)
        assert pool.unlabelled.size == 16 and pool.cal.size == 48
        assert not set(pool.unlabelled) & set(pool.cal) and not set(pool.unlabelled) & set(pool.test)
        np.testing.assert_array_equal(pool.test, test_mode.test)  # the pool comes out of the calibration side
        assert set(pool.transfer_order) == set(pool.cal)
        leaky = make_split(X, y, split=split, selection="random", repeat=repeat, unlabelled="calibration")
        np.testing.assert_array_equal(leaky.unlabelled, leaky.cal)
    ctx = make_split(X, y).context(X, X + 1.0, y, 3, axis=np.arange(12.0), unit="nm", names=("a", "b", "y"))
    np.testing.assert_array_equal(ctx.target_unlabelled_X, X[make_split(X, y).test] + 1.0)
    with pytest.raises(ValueError, match="unknown unlabelled set 'train'"):
        make_split(X, y, unlabelled="train")
    with pytest.raises(ValueError, match="leaves 1 unlabelled"):
        make_split(X[:10], y[:10], unlabelled="pool", pool_fraction=0.1)


def test_a_calibration_sample_in_the_unlabelled_set_is_refused():
    from spektron.evaluation.protocol import ProtocolSplit

    with pytest.raises(ValueError, match="shares samples with the master calibration set"):
        ProtocolSplit(cal=np.arange(5), test=np.arange(5, 8), transfer_order=np.arange(5), seed=0,
                      unlabelled=np.array([4, 5]), unlabelled_kind="pool")


def test_a_shifted_batch_is_one_end_of_the_scores_alternating_by_repeat():
    from spektron.evaluation.splits import shifted_batch

    scores = np.array([5.0, 1.0, 9.0, 3.0, 7.0, 2.0, 8.0, 4.0, 6.0, 0.0])
    cal, batch = shifted_batch(scores, 0.2, "top")
    assert batch.tolist() == [2, 6] and cal.size == 8 and not set(cal) & set(batch)
    assert shifted_batch(scores, 0.2, "bottom")[1].tolist() == [1, 9]
    with pytest.raises(ValueError, match="unknown batch end 'middle'"):
        shifted_batch(scores, 0.2, "middle")
    with pytest.raises(ValueError, match="leaves 0 in the batch"):
        shifted_batch(scores, 0.01, "top")
    with pytest.raises(ValueError, match="must be finite"):
        shifted_batch(np.array([1.0, np.nan, 2.0]), 0.3, "top")


def test_protocol_shifted_split_takes_the_property_range_end_as_the_batch(rng):
    X = rng.normal(size=(50, 8))
    y = rng.normal(size=50)
    y[4] = np.nan
    top = make_split(X, y, split="shifted", selection="random", repeat=0)
    bottom = make_split(X, y, split="shifted", selection="random", repeat=1)
    assert top.batch_end == "top" and bottom.batch_end == "bottom"
    assert top.test.size == 10 and 4 not in np.concatenate([top.cal, top.test])  # 20 % of the 49 valid rows
    assert y[top.test].min() > np.nanmax(y[top.cal])  # the batch lies beyond the calibration range
    assert y[bottom.test].max() < np.nanmin(y[bottom.cal])
    np.testing.assert_array_equal(top.unlabelled, top.test)  # the batch is the unlabelled set
    assert set(top.transfer_order) == set(top.cal)  # pairs come from the calibration set
    again = make_split(X, y, split="shifted", selection="random", repeat=2)
    np.testing.assert_array_equal(again.test, top.test)  # repeats of one end share the batch ...
    assert not np.array_equal(again.transfer_order, top.transfer_order)  # ... and differ in their pairs
    assert make_split(X, y, split="random", repeat=0).batch_end is None


def test_protocol_shifted_pc_split_is_blind_to_the_property(rng):
    from spektron.evaluation.protocol import first_pc_scores

    t = rng.normal(size=40)
    X = np.outer(t, rng.normal(size=12)) + 0.01 * rng.normal(size=(40, 12))
    s = make_split(X, rng.normal(size=40), split="shifted-pc", repeat=0)
    other = make_split(X, rng.normal(size=40), split="shifted-pc", repeat=0)
    np.testing.assert_array_equal(s.test, other.test)  # other labels, same batch
    scores = first_pc_scores(X)
    assert scores[s.test].min() > scores[s.cal].max()
    assert abs(np.corrcoef(scores, t)[0, 1]) > 0.99


def test_splits_are_parsed_and_described():
    from spektron.evaluation.protocol import batch_end, describe_split, parse_splits

    assert parse_splits("random, shifted,random") == ["random", "shifted"]
    assert parse_splits(["shifted-pc"]) == ["shifted-pc"]
    with pytest.raises(ValueError, match="unknown split 'season'"):
        parse_splits("random,season")
    with pytest.raises(ValueError, match="no split given"):
        parse_splits(" , ")
    assert [batch_end("shifted", r) for r in range(3)] == ["top", "bottom", "top"]
    assert batch_end("random", 0) is None
    assert "top or bottom 20%" in describe_split("shifted")
