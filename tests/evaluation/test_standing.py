"""Where a method stands against the field (spektron.evaluation.standing)."""

import math

import pytest

from spektron.evaluation.results import summary_markdown
from spektron.evaluation.standing import field_ranking, k_trend, method_standing, standing_markdown


def _rec(method, k, rmsep, repeat=0, prop="y"):
    return {"method": method, "master": "a", "target": "b", "property": prop, "k": k, "selection": "random",
            "repeat": repeat, "rmsep": rmsep, "r2": 0.0, "bias": 0.0, "sep": rmsep, "n_test": 10}


RECORDS = [
    # k = 0: spektron 0.30 / 0.32, meancorr 0.28 / 0.28 (lower), none 1.0
    _rec("spektron", 0, 0.30), _rec("spektron", 0, 0.32, repeat=1),
    _rec("meancorr", 0, 0.28), _rec("meancorr", 0, 0.28, repeat=1),
    _rec("none", 0, 1.0), _rec("none", 0, 1.0, repeat=1),
    _rec("target", 0, 0.1), _rec("target", 0, 0.1, repeat=1),
    # k = 5: spektron lowest (0.20 vs augment 0.25); its ablation lower still, but it is no competitor
    _rec("spektron", 5, 0.20), _rec("spektron", 5, 0.20, repeat=1),
    _rec("augment", 5, 0.25), _rec("augment", 5, 0.25, repeat=1),
    _rec("spektron-nottt", 5, 0.15), _rec("spektron-nottt", 5, 0.15, repeat=1),
    _rec("meancorr", 5, 0.28), _rec("meancorr", 5, 0.28, repeat=1),
    _rec("none", 5, 1.0), _rec("none", 5, 1.0, repeat=1),
    _rec("target", 5, 0.1), _rec("target", 5, 0.1, repeat=1),
]


def test_standing_per_cell():
    rows = {r["k"]: r for r in method_standing(RECORDS)}
    k0, k5 = rows[0], rows[5]
    assert k0["best"] == "meancorr" and not k0["lowest"] and k0["ratio_to_best"] == pytest.approx(0.31 / 0.28)
    assert k0["ratio_to_bound"] == pytest.approx(3.1) and k0["harm"] == pytest.approx(0.31 / 0.28)
    assert k0["harmful"]  # 1.107 > 1.05
    assert k5["best"] == "augment" and k5["lowest"] and not k5["harmful"]  # the ablation is not a competitor
    assert math.isclose(k5["sd"], 0.0)


def test_field_ranking_counts_wins_ranks_and_ratios():
    ranking = {r["method"]: r for r in field_ranking(RECORDS)}
    assert "target" not in ranking and "spektron-nottt" not in ranking
    assert ranking["spektron"]["wins"] == 1 and ranking["meancorr"]["wins"] == 1
    assert ranking["spektron"]["mean_rank"] == pytest.approx(1.5)  # 2nd at k=0, 1st at k=5
    assert ranking["spektron"]["geo_ratio"] == pytest.approx(math.sqrt(0.31 / 0.28))
    assert ranking["none"]["worst_ratio"] == pytest.approx(1.0 / 0.2)
    assert [r["method"] for r in field_ranking(RECORDS)][0] == "spektron"


def test_k_trend_flags_a_rise_beyond_the_spread():
    recs = [_rec("spektron", 0, 0.30), _rec("spektron", 0, 0.31, repeat=1),
            _rec("spektron", 5, 0.40), _rec("spektron", 5, 0.41, repeat=1),
            _rec("spektron", 10, 0.305), _rec("spektron", 10, 0.30, repeat=1)]
    (trend,) = k_trend(recs)
    assert [r["k"] for r in trend["rises"]] == [5]  # k = 10 is back within the spread of k = 0
    assert trend["rises"][0]["from_k"] == 0


def test_summary_markdown_carries_the_standing_when_spektron_ran():
    text = summary_markdown(RECORDS)
    assert "## Where `spektron` stands" in text and "Lowest in 1 of 2 cells; not in: a→b y k=0 (meancorr 1.11×)" in text
    assert "Harm (> 1.05 × the better of none/meancorr) in 1 cell(s)" in text
    assert "| spektron | 2 | 1 | 1.50 |" in text
    assert standing_markdown([r for r in RECORDS if r["method"] != "spektron"]) == ""


def test_split_comparison_puts_random_and_shifted_side_by_side():
    from spektron.evaluation.standing import split_comparison, split_comparison_markdown

    def rec(split, method, k, rmsep, **extra):
        return {**_rec(method, k, rmsep), "split": split, **extra}

    records = [
        rec("random", "spektron", 0, 0.30, batch_matters=False, batch_differs=False),
        rec("random", "meancorr", 0, 0.30), rec("random", "none", 0, 0.50),
        rec("random", "spektron", 3, 0.20), rec("random", "spektron-nottt", 3, 0.22),
        rec("random", "meancorr", 3, 0.30), rec("random", "none", 3, 0.50),
        # shifted: the batch's chemistry; k = 0 flagged, k = 3 made worse than ignoring the batch
        rec("shifted", "spektron", 0, 0.60, batch_matters=True, batch_differs=True),
        rec("shifted", "meancorr", 0, 0.80), rec("shifted", "none", 0, 0.40),
        rec("shifted", "spektron", 3, 0.33), rec("shifted", "spektron-nottt", 3, 0.30),
        rec("shifted", "meancorr", 3, 0.90), rec("shifted", "none", 3, 0.40),
    ]
    rows = {row["k"]: row["splits"] for row in split_comparison(records)}
    assert rows[3]["random"]["batch"] == pytest.approx(0.2 / 0.22) and not rows[3]["random"]["batch_harmful"]
    assert rows[3]["shifted"]["batch_harm"] == pytest.approx(1.1) and rows[3]["shifted"]["batch_harmful"]
    assert rows[0]["shifted"]["batch_harm"] == pytest.approx(0.6 / 0.8)  # at k = 0 against meancorr alone
    assert rows[0]["shifted"]["harm"] == pytest.approx(1.5) and rows[0]["shifted"]["harmful"]
    text = split_comparison_markdown(records)
    assert "| a → b | y | 3 | 0.2 | 0.67 | 0.67 | 0.91 | 0.33 | 0.82 | 0.82 | 1.10 ✗ |" in text
    assert "- shifted: lowest in 1 of 2 cells" in text and "worse than ignoring the batch in 1" in text
    assert "flagged as unlike the calibration set in 1 of the 1 fits" in text
    assert split_comparison_markdown([r for r in records if r["split"] == "random"]) == ""
