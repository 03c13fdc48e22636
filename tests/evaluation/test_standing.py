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
