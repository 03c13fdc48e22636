"""The report renders for a tiny run: valid, non-blank PNGs and no dangling HTML references."""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest

from spektron.report import load_run, write_report
from spektron.run_layout import save_embeddings

N_INST, N_MOL, D_CHEM, D_INST = 3, 12, 8, 4


def _tiny_run(root: Path, rng: np.random.Generator) -> Path:
    """A run directory in the documented layout, with known-structure embeddings."""
    run = root / "run"
    run.mkdir()
    lines = []
    for step in range(5, 65, 5):
        p = step / 60
        lines.append({"step": step, "kind": "train", "loss": 3 - p, "recon": 1 - 0.5 * p, "kl": 2 * (1 - p) + 0.1,
                      "adv": 1.1, "inst": 1.1 - p, "balance": 1.0, "beta": 0.1 * (1 - p) + 1e-3,
                      "alpha": 2 / (1 + np.exp(-10 * p)) - 1, "lr": 1e-3})
        if step % 20 == 0:
            lines.append({"step": step, "kind": "eval", "chance": 1 / N_INST, "inst_acc_chem": 0.9 - 0.5 * p,
                          "inst_acc_inst": 0.6 + 0.3 * p, "retrieval_top1": 0.3 + 0.6 * p,
                          "kl_chem_mean": 0.2, "kl_chem_collapsed_frac": 0.25})
    (run / "metrics.jsonl").write_text("\n".join(json.dumps(r) for r in lines) + "\n")
    molecule = np.tile(np.arange(N_MOL), N_INST)
    instrument = np.repeat(np.arange(N_INST), N_MOL)
    centres = rng.normal(size=(N_MOL, D_CHEM)) * 3
    z_chem = centres[molecule] + 0.1 * rng.normal(size=(len(molecule), D_CHEM))
    z_inst = np.eye(N_INST, D_INST)[instrument] * 4 + 0.1 * rng.normal(size=(len(molecule), D_INST))
    logvar = np.full_like(z_chem, -1.0)
    logvar[:, -2:] = 0.0  # two collapsed dimensions (mu ≈ 0 there too)
    mu = z_chem.copy()
    mu[:, -2:] = 0.0
    save_embeddings(run / "embeddings.npz", {"z_chem": z_chem, "z_inst": z_inst, "mu_chem": mu, "logvar_chem": logvar,
                                              "instrument": instrument, "molecule": molecule + 1_000_000})
    records = []
    for k in (0, 5, 10):
        for method, rmsep in (("none", 0.5), ("target", 0.1), ("ds", 0.3 - 0.01 * k), ("spektron", 0.2 - 0.005 * k)):
            if method == "ds" and k == 0:
                continue
            records.append({"method": method, "master": "A", "target": "B", "property": "conc_1", "k": k,
                            "selection": "ks", "repeat": 0, "rmsep": rmsep, "r2": 1 - rmsep**2, "bias": 0.0,
                            "sep": rmsep, "n_test": 20})
    (run / "benchmark").mkdir()
    (run / "benchmark" / "results.json").write_text(json.dumps(records))
    (run / "ttt.json").write_text(json.dumps([{"pair": "A→B", "property": "conc_1", "k": 0,
                                               "loss_before": 0.8, "loss_after": 0.79}]))
    (run / "sweep.json").write_text(json.dumps({"selected": 1e-3, "runs": [
        {"w_kl": w, "retrieval_top1": r, "inst_acc_chem": 0.4, "inst_acc_inst": 0.9, "chance": 1 / N_INST,
         "kl_chem_collapsed_frac": 0.1, "final_loss": 2.0} for w, r in ((1e-4, 0.6), (1e-3, 0.8), (1e-2, 0.5))]}))
    (run / "demo.json").write_text(json.dumps({"dataset": "synthetic", "instrument_names": ["A", "B", "C"],
                                               "property_units": {"conc_1": "a.u."}}))
    return run


def _png_ok(data: bytes, name: str) -> None:
    import matplotlib.image as mpimg

    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{name} is not a PNG"
    image = mpimg.imread(io.BytesIO(data), format="png")
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100, name
    rgb = image[..., :3].reshape(-1, 3)[::7]
    assert np.ptp(rgb, axis=0).max() > 0.2, f"{name} is blank (a single colour)"
    assert len(np.unique(rgb.round(2), axis=0)) > 10, f"{name} has almost no content"


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    run = _tiny_run(tmp_path_factory.mktemp("report"), np.random.default_rng(0))
    return write_report(run, projection="pca")


def test_every_image_is_a_valid_nonblank_png(report):
    html_dir = report.html_path.parent
    pngs = sorted(html_dir.glob("*.png"))
    names = {p.name for p in pngs}
    assert {"disentanglement.png", "training_curves.png", "projection_z_chem.png", "projection_z_inst.png",
            "kl_per_dim.png", "sweep.png", "rmsep_vs_k_A_B_conc_1.png"} <= names
    for png in pngs:
        _png_ok(png.read_bytes(), png.name)
    assert {f.path.name for f in report.figures} == names


def test_html_references_exist_and_images_are_embedded(report):
    text = report.html_path.read_text(encoding="utf-8")
    assert "<script" not in text.lower()
    refs = re.findall(r'(?:href|src)="([^"]+)"', text)
    local = [r for r in refs if not r.startswith("data:")]
    assert local, "images should link to their files"
    for ref in local:
        assert (report.html_path.parent / ref).is_file(), f"dangling reference {ref}"
    embedded = re.findall(r'src="data:image/png;base64,([^"]+)"', text)
    assert len(embedded) == len(report.figures)
    for i, data in enumerate(embedded):
        _png_ok(base64.b64decode(data), f"embedded image {i}")


def test_verdict_and_tables_in_page(report):
    text = report.html_path.read_text(encoding="utf-8")
    statuses = {c.name: c.status for c in report.checks}
    # last eval: probe 0.4 vs chance 0.33 (within 0.10), retrieval 0.9 → disentangled
    assert statuses["disentanglement verdict"] == "pass"
    assert statuses["deep test-time training (spektron-deep), A→B conc_1 k=0"] == "pass"
    # spektron k=0: R² 1 − 0.2² = 0.96 vs the bound's 1 − 0.1² = 0.99 → a 3-point drop
    assert statuses["5-point rule, spektron A→B conc_1"] == "pass"
    assert "drop 3.0 points" in text
    assert "VIB weight sweep" in text and "selected" in text
    assert "target (bound)" in text
    assert "disentangled" in text


def test_run_loader_reports_missing_parts(tmp_path, rng):
    run = _tiny_run(tmp_path, rng)
    for name in ("embeddings.npz", "sweep.json", "ttt.json"):
        (run / name).unlink()
    (run / "benchmark" / "results.json").unlink()
    loaded = load_run(run)
    assert loaded.embeddings is None and loaded.benchmark is None and len(loaded.evals) == 3
    result = write_report(run, projection="pca")
    assert {f.path.name for f in result.figures} == {"disentanglement.png", "training_curves.png"}
    assert any("transfer curves" in m for m in result.missing)
    assert "Not in this report" in result.html_path.read_text(encoding="utf-8")


def test_not_a_run_directory(tmp_path):
    with pytest.raises(ValueError, match="metrics.jsonl"):
        load_run(tmp_path)
    with pytest.raises(ValueError, match="not found"):
        load_run(tmp_path / "nope")


def test_predicted_vs_reference_figure(tmp_path):
    from spektron.report import figures

    recs = [{"method": "spektron", "master": "A", "target": "B", "property": "conc", "k": k, "repeat": 0,
             "rmsep": 0.1, "y_true": [0.1, 0.5, 0.9], "y_pred": [0.12, 0.45, 0.95]} for k in (0, 5)]
    (path,) = figures.plot_predicted_vs_reference(recs, tmp_path, property_units={"conc": "%"})
    assert path.name == "predicted_vs_reference_A_B_conc.png" and path.stat().st_size > 1000
    with pytest.raises(ValueError, match="no test predictions of 'spektron'"):
        figures.plot_predicted_vs_reference([{**recs[0], "y_pred": None} | {"method": "pds"}], tmp_path)
