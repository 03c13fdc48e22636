"""The classical baselines on real corn data (m5 → mp5 moisture, KS 64/16 split).

Measured with this code: none ≈ 1.45, target ≈ 0.10, ds(k=30) ≈ 0.14, pds(k=30) ≈ 0.22
(chemotools' own PLS-based PDS gives 0.21–0.26 on the same split), meancorr(k=0) ≈ 0.24
(unlabelled target spectra only). The bounds below
leave a margin around those numbers.
"""

import json

import numpy as np
import pytest

from spektron.data.corn import load_corn
from spektron.evaluation import RECORD_KEYS, run_benchmark, write_results


@pytest.fixture(scope="module")
def corn_records(corn_dir):
    data = load_corn(corn_dir)
    notes = []
    records = run_benchmark(data, ["none", "target", "ds", "pds", "sbc", "meancorr"], "m5:mp5", ["moisture"], [0, 30],
                            selection="ks", repeats=1, progress=False, on_note=notes.append)
    return records, notes


def _rmsep(records, method, k):
    (rec,) = [r for r in records if r["method"] == method and r["k"] == k]
    return rec["rmsep"]


def test_bounds_on_corn_moisture(corn_records):
    records, notes = corn_records
    none, target = _rmsep(records, "none", 0), _rmsep(records, "target", 0)
    assert 0.05 < target < 0.2  # mp5's own 64-sample calibration
    assert none > 8 * target  # no transfer is far worse than the bound
    for method, ceiling in [("ds", 0.25), ("pds", 0.35), ("sbc", 0.3)]:
        r = _rmsep(records, method, 30)
        assert r < ceiling, method
        assert (none - r) / (none - target) > 0.85, method  # most of the gap recovered
    assert _rmsep(records, "ds", 30) < _rmsep(records, "pds", 30)
    # the mean spectrum of unlabelled target spectra alone removes most of the instrument effect
    meancorr = _rmsep(records, "meancorr", 0)
    assert meancorr < 0.35 and (none - meancorr) / (none - target) > 0.85
    assert _rmsep(records, "meancorr", 30) == meancorr  # it does not use the transfer pairs


def test_records_are_complete_and_k0_is_skipped_with_a_note(corn_records, tmp_path):
    records, notes = corn_records
    assert all(set(RECORD_KEYS) <= set(r) for r in records)
    assert {(r["method"], r["k"]) for r in records} == {
        ("none", 0), ("target", 0), ("none", 30), ("target", 30), ("ds", 30), ("pds", 30), ("sbc", 30),
        ("meancorr", 0), ("meancorr", 30)}
    assert {r["n_test"] for r in records} == {16}
    assert any("k = 0 skipped for ds, pds, sbc" in n for n in notes)
    paths = write_results(records, tmp_path, notes=notes)
    assert json.loads((tmp_path / "results.json").read_text())[0]["method"] == "none"
    assert "target (bound)" in (tmp_path / "summary.md").read_text()
    assert [p.name for p in paths["plots"]] == ["rmsep_vs_k_m5_mp5_moisture.png"]
    assert np.isfinite([r["r2"] for r in records]).all()


def test_bad_requests_fail_before_running(corn_dir):
    data = load_corn(corn_dir)
    bad = [
        (dict(methods=["ds"], ks=[0]), "method 'ds' needs at least 1 transfer sample"),
        (dict(methods=["nope"], ks=[1]), "unknown method"),
        (dict(methods=["none"], ks=[65]), "k = 65 transfer samples requested but the calibration set"),
        (dict(methods=["none"], ks=[1], pairs="m5:xx"), "unknown target instrument 'xx'"),
        (dict(methods=["none"], ks=[1], properties=["fat"]), "unknown property 'fat'"),
    ]
    for kwargs, match in bad:
        args = dict(pairs="m5:mp5", properties=["moisture"], progress=False) | kwargs
        with pytest.raises(ValueError, match=match):
            run_benchmark(data, **args)


def test_test_labels_change_nothing_but_their_scores(corn_dir):
    """Every method, Spektron included, is fitted without the test rows' labels: changing
    them changes the scores and nothing else (same predictions, bit for bit)."""
    data = load_corn(corn_dir)
    methods = ["none", "target", "meancorr", "sbc", "spektron", "spektron-nottt"]
    kw = dict(pairs="m5:mp5", properties=["oil"], ks=[0, 3], split="random", selection="random", repeats=1,
              progress=False, on_note=lambda m: None, predictions=True)
    before = run_benchmark(data, methods, **kw)
    test_rows = before[0]["test_rows"]
    props = data["m5"].properties.copy()
    col = list(data.property_names).index("oil")
    props[test_rows, col] = props[test_rows, col][::-1] + 1.0  # scramble and shift the hidden labels
    changed = type(data)({n: d.replace(properties=props) for n, d in data.instruments.items()}, data.property_names)
    after = run_benchmark(changed, methods, **kw)
    for a, b in zip(before, after):
        assert (a["method"], a["k"], a["test_rows"]) == (b["method"], b["k"], b["test_rows"])
        assert a["y_pred"] == b["y_pred"], a["method"]
        assert a["rmsep"] != b["rmsep"]


def test_random_and_shifted_batches_run_side_by_side_on_corn(corn_dir):
    """One call, two splits: the same methods and seeds, records tagged with the split and
    the batch's end; on corn starch a shifted batch makes the transductive mean correction
    far worse than on a random one — the failure the shifted scenario exists to expose."""
    data = load_corn(corn_dir)
    records = run_benchmark(data, ["none", "meancorr"], "m5:mp5", ["starch"], [0], split="random,shifted",
                            selection="random", repeats=4, progress=False)
    assert {r["split"] for r in records} == {"random", "shifted"} and len(records) == 16
    assert {r["batch"] for r in records if r["split"] == "shifted"} == {"top", "bottom"}
    assert all(r.get("batch") is None for r in records if r["split"] == "random")

    def mean(split, method):
        return np.mean([r["rmsep"] for r in records if r["split"] == split and r["method"] == method])

    assert mean("random", "meancorr") < 1.5 * mean("random", "none")
    assert mean("shifted", "meancorr") > 2.0 * mean("shifted", "none")
