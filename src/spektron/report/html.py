"""The run report: one self-contained HTML page plus the PNGs it shows.

Images are embedded as base64 PNG (the page can be mailed on its own) and also
written beside it (for slides); every image links to its file. Plain HTML and CSS,
no JavaScript. :func:`write_report` builds everything from a run directory
(:mod:`spektron.report.run`), showing the parts a run has and naming those it lacks.
"""

from __future__ import annotations

import base64
import html
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from spektron.evaluation.results import summary_tables
from spektron.report import figures
from spektron.report.run import RunData, load_run
from spektron.run_layout import REPORT_DIR
from spektron.report.verdict import (
    Check,
    bound_ratio_checks,
    collapse_check,
    five_point_checks,
    headline_check,
    ttt_check,
    did_it_help_checks,
    ttt_effect_checks,
    verdict_from_eval,
)

__all__ = ["Figure", "Report", "render_html", "report_checks", "write_report"]

log = logging.getLogger(__name__)


@dataclass
class Figure:
    """One image of the report: its file, a section, a title and a caption saying how to read it."""

    path: Path
    section: str
    title: str
    caption: str


@dataclass
class Report:
    """What :func:`write_report` produced."""

    html_path: Path
    figures: list[Figure]
    checks: list[Check]
    missing: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)


# ------------------------------------------------------------------- checks
def report_checks(run: RunData) -> list[Check]:
    """Every verdict line the run's files support, disentanglement first."""
    checks: list[Check] = []
    last = run.last_eval
    if last is not None:
        n_views = len(run.embeddings["instrument"]) if run.embeddings is not None else None
        n_test = int(round(0.3 * n_views)) if n_views else None  # the probes hold out 30 % of the molecules
        checks += verdict_from_eval(last, n_test=n_test).checks()
        checks.append(collapse_check(last.get("kl_chem_collapsed_frac")))
    else:
        checks.append(Check("disentanglement verdict", "n/a", "the metrics log has no held-out diagnostics"))
    if run.ttt:
        for row in run.ttt:
            name = (f"deep test-time training (spektron-deep), {row.get('pair', '')} {row.get('property', '')} "
                    f"k={row.get('k', '')}").strip()
            checks.append(ttt_check(name, row["loss_before"], row["loss_after"]))
    checks += did_it_help_checks(run.benchmark)
    checks += ttt_effect_checks(run.benchmark)
    checks += five_point_checks(run.benchmark or [])
    checks += bound_ratio_checks(run.benchmark)
    if any(r.get("master") == "m5" and r.get("property") == "moisture" for r in run.benchmark or []):
        checks.append(headline_check(run.benchmark))  # defined on corn only: no "n/a" line elsewhere
    return checks


# ------------------------------------------------------------------ figures
def _figures(run: RunData, out: Path, projection: str, missing: list[str]) -> list[Figure]:
    figs: list[Figure] = []

    def attempt(section: str, title: str, caption: str, make) -> None:
        try:
            result = make()
        except ValueError as exc:
            missing.append(f"{title}: {exc}")
            return
        for path in (result if isinstance(result, list) else [result]):
            figs.append(Figure(Path(path), section, title, caption))

    if run.evals:
        attempt("Training dynamics", "Disentanglement tracker",
                "Held-out molecules, each seen through every simulated instrument. The red curve (instrument "
                "probe on z_chem) should fall to the dotted chance line while the green curve (same sample "
                "retrieved across instruments) rises above the dashed 80% goal; the blue curve (probe on z_inst) "
                "should stay high: the instrument is kept, in z_inst.",
                lambda: figures.plot_disentanglement(run.evals, out / "disentanglement.png"))
    else:
        missing.append("disentanglement tracker: no 'eval' records in metrics.jsonl")
    if run.train:
        attempt("Training dynamics", "Loss terms and schedules",
                "Left: each loss term on the training batches (the KL is shown unweighted; it enters the total "
                "multiplied by w_kl·β; the dotted line is chance-level cross-entropy, where the reversed adversary "
                "on z_chem should stay). Right: the KL weight β(t) (cosine anneal) and the gradient-reversal "
                "strength α(p) (Ganin et al. 2016 warm-up).",
                lambda: figures.plot_training_curves(run.train, out / "training_curves.png",
                                                     n_instruments=(run.config or {}).get("data", {}).get("n_instruments")))
    emb = run.embeddings
    if emb is not None:
        names = (run.demo or {}).get("instrument_names")
        for key in ("z_chem", "z_inst"):
            if emb[key].shape[1] == 0:
                missing.append(f"{key} projection: the model has no {key} (single-latent ablation)")
                continue
            want = ("should mix the instruments (left) and keep each sample's views together (right)"
                    if key == "z_chem" else "should separate the instruments (left); samples need not group (right)")
            attempt("Latent space", f"2-D projection of {key}",
                    f"{key} of the held-out views {want}.",
                    lambda key=key: figures.plot_embedding(emb[key], emb["instrument"], emb["molecule"],
                                                           out / f"projection_{key}.png", name=key,
                                                           method=projection, instrument_names=names))
        attempt("Latent space", "Per-dimension KL of z_chem",
                "Bars: KL of each z_chem dimension's posterior to the N(0, 1) prior, averaged over the held-out "
                "views; crosses: the information the dimension carries about its input. Red bars have KL or "
                "information below the dashed 0.01-nat threshold: collapsed dimensions (the verdict's count). "
                "More than 30% collapsed early in training signals posterior collapse.",
                lambda: figures.plot_kl_per_dim(emb["mu_chem"], emb["logvar_chem"], out / "kl_per_dim.png"))
    else:
        missing.append("latent-space figures: no embeddings.npz and no model.pt to compute it from")
    if run.benchmark:
        units = (run.demo or {}).get("property_units")
        attempt("Transfer", "RMSEP against transfer samples",
                "Error on the target instrument's test set against the number k of transfer samples, per "
                "method (mean ± sd over repeats; log scale). The dashed line is the target bound: a "
                "calibration built on the target itself, the error no transfer method can beat.",
                lambda: figures.plot_transfer_curves(run.benchmark, out, units))
        if any("y_pred" in r for r in run.benchmark):
            attempt("Transfer", "Predicted vs reference",
                    "Spektron's predictions of the target instrument's test samples against their reference "
                    "values, one colour per number k of transfer samples; on the dashed line they agree.",
                    lambda: figures.plot_predicted_vs_reference(run.benchmark, out, property_units=units))
    else:
        missing.append("transfer curves: no benchmark/results.json")
    if run.sweep:
        attempt("VIB weight sweep", "VIB weight sweep",
                "One model per KL weight w_kl; the selected one has the highest cross-instrument retrieval "
                "on held-out views (not the lowest training loss, which favours a weak bottleneck).",
                lambda: figures.plot_sweep(run.sweep, out / "sweep.png"))
    return figs


# --------------------------------------------------------------------- html
_CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:0 auto;max-width:1250px;padding:24px;color:#222}
h1{margin-bottom:4px} h2{border-bottom:2px solid #ddd;padding-bottom:4px;margin-top:36px}
.meta{color:#666;font-size:14px}
.verdict{border:2px solid #888;border-radius:8px;padding:12px 18px;margin:18px 0;background:#fafafa}
.verdict.pass{border-color:#2e7d32;background:#f1f8f1} .verdict.fail{border-color:#c62828;background:#fdf2f2}
.verdict h2{border:none;margin:4px 0 10px 0}
.check{font-family:Menlo,Consolas,monospace;font-size:13px;margin:3px 0}
.s-pass{color:#2e7d32;font-weight:bold} .s-fail{color:#c62828;font-weight:bold}
.s-warn{color:#b26a00;font-weight:bold} .s-na{color:#777;font-weight:bold}
table{border-collapse:collapse;margin:10px 0;font-size:13px}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:right} th{background:#f0f0f0}
td:first-child,th:first-child{text-align:left} table.kv td{text-align:left}
figure{margin:16px 0 28px 0} figure img{max-width:100%;border:1px solid #eee}
figcaption{font-size:13px;color:#444;max-width:1000px}
.missing{color:#777;font-size:13px}
"""


def _esc(value: Any) -> str:
    return html.escape(str(value))


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]], title: str | None = None, cls: str = "") -> str:
    out = [f"<h3>{_esc(title)}</h3>"] if title else []
    opening = f'<table class="{cls}">' if cls else "<table>"
    out.append(opening + "<tr>" + "".join(f"<th>{_esc(h)}</th>" for h in header) + "</tr>")
    out += ["<tr>" + "".join(f"<td>{_esc(c)}</td>" for c in row) + "</tr>" for row in rows]
    out.append("</table>")
    return "\n".join(out)


def _summary_rows(run: RunData) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    demo = run.demo or {}
    if demo.get("dataset"):
        rows.append(("data set", str(demo["dataset"])))
    if demo.get("description"):
        rows.append(("what ran", str(demo["description"])))
    if run.train:
        last = run.train[-1]
        rows.append(("pretraining steps", f"{last['step']}" + (f" in {last['time_s']:.0f} s" if "time_s" in last else "")))
    cfg = run.config or {}
    model = cfg.get("model", {})
    if model:
        rows.append(("model", f"d_model {model.get('d_model')}, {model.get('n_layers')} D-LinOSS blocks, "
                              f"z_chem {model.get('z_chem_dim')} + z_inst {model.get('z_inst_dim')} dims, "
                              f"w_kl {model.get('w_kl')}, λ_adv {model.get('lambda_adv')}"))
    data = cfg.get("data", {})
    if data:
        rows.append(("pretraining data", f"{data.get('source')} ({data.get('region')}), {data.get('n_molecules')} molecules "
                                         f"× {data.get('n_instruments')} simulated instruments; "
                                         f"{data.get('n_eval_molecules')} held-out molecules for diagnostics"))
    last = run.last_eval
    if last:
        rows.append(("instrument probe on z_chem / z_inst",
                     f"{100 * last['inst_acc_chem']:.1f}% / {100 * last['inst_acc_inst']:.1f}% (chance {100 * last['chance']:.0f}%)"))
        rows.append(("cross-instrument retrieval (z_chem)", f"{100 * last['retrieval_top1']:.1f}%"))
        if "kl_chem_collapsed_frac" in last:
            rows.append(("collapsed z_chem dimensions", f"{100 * last['kl_chem_collapsed_frac']:.0f}%"))
    for key, label in (("pretrain_s", "pretraining wall time"), ("benchmark_s", "transfer benchmark wall time"),
                       ("total_s", "demo wall time before the report")):
        if key in demo:
            cached = " (model from the cache)" if key == "pretrain_s" and demo.get("pretrain_from_cache") else ""
            rows.append((label, f"{demo[key]:.0f} s{cached}"))
    return rows


def _image_tag(fig: Figure, rel: str) -> str:
    data = base64.b64encode(fig.path.read_bytes()).decode("ascii")
    return (f'<figure><a href="{_esc(rel)}"><img alt="{_esc(fig.title)}" src="data:image/png;base64,{data}"></a>'
            f"<figcaption><b>{_esc(fig.title)}.</b> {_esc(fig.caption)} "
            f'(<a href="{_esc(rel)}">{_esc(rel)}</a>)</figcaption></figure>')


def render_html(run: RunData, figs: Sequence[Figure], checks: Sequence[Check], html_dir: Path,
                missing: Sequence[str] = ()) -> str:
    """The report page as a string (images read from ``figs`` and embedded)."""
    failed = [c for c in checks if c.status == "fail"]
    verdict = next((c for c in checks if c.name == "disentanglement verdict"), None)
    headline = f"z_chem {verdict.detail.split(':')[0]}" if verdict is not None and verdict.status != "n/a" else "no diagnostics"
    box = "fail" if failed else "pass"
    title = f"Spektron report — {run.path.name}"
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">', f"<title>{_esc(title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{_esc(title)}</h1>",
        f'<div class="meta">run directory {_esc(run.path.resolve())} · written {time.strftime("%Y-%m-%d %H:%M")}</div>',
        f'<div class="verdict {box}"><h2>Verdict: {_esc(headline)} · {len(checks) - len(failed)} of {len(checks)} '
        "checks without failure</h2>",
    ]
    for c in checks:
        cls = {"pass": "s-pass", "fail": "s-fail", "warn": "s-warn"}.get(c.status, "s-na")
        parts.append(f'<div class="check"><span class="{cls}">[{_esc(c.status.upper())}]</span> '
                     f"<b>{_esc(c.name)}</b>: {_esc(c.detail)}</div>")
    parts.append("</div>")
    parts += ["<h2>Summary</h2>", _table(("quantity", "value"), _summary_rows(run), cls="kv")]
    if run.ttt:
        parts.append(_table(("pair", "property", "k", "loss before TTT", "loss after TTT", "change"),
                            [(r.get("pair", ""), r.get("property", ""), r.get("k", ""),
                              f"{r['loss_before']:.6g}", f"{r['loss_after']:.6g}",
                              f"{100 * (r['loss_after'] / r['loss_before'] - 1):+.3f}%" if r["loss_before"] else "—")
                             for r in run.ttt],
                            "Deep test-time training of spektron-deep (masked reconstruction loss on the target's "
                            "unlabelled spectra; the models of the listed pair and property). Spektron's own "
                            "test-time training re-estimates the nuisance model: its effect is the RMSEP change "
                            "against spektron-nottt in the checks above."))
    if run.benchmark:
        parts.append("<h3>Transfer results (RMSEP / R² on the target's test set)</h3>")
        for table_title, header, rows in summary_tables(run.benchmark):
            parts.append(_table(header, rows, table_title))
    if run.sweep:
        srows = [(f"{r['w_kl']:g}", f"{100 * r['retrieval_top1']:.1f}%", f"{100 * r['inst_acc_chem']:.1f}%",
                  f"{100 * r['inst_acc_inst']:.1f}%",
                  f"{100 * r['kl_chem_collapsed_frac']:.0f}%" if r.get("kl_chem_collapsed_frac") is not None else "—",
                  f"{r['final_loss']:.4f}" if r.get("final_loss") is not None else "—",
                  "selected" if r["w_kl"] == run.sweep.get("selected") else "")
                 for r in sorted(run.sweep["runs"], key=lambda r: r["w_kl"])]
        parts.append(_table(("w_kl", "retrieval top-1", "probe z_chem", "probe z_inst", "collapsed dims",
                             "final training loss", ""), srows, "VIB weight sweep"))
    section = None
    for fig in figs:
        if fig.section != section:
            section = fig.section
            parts.append(f"<h2>{_esc(section)}</h2>")
        parts.append(_image_tag(fig, os.path.relpath(fig.path, html_dir)))
    if missing:
        parts.append("<h2>Not in this report</h2><ul class=\"missing\">"
                     + "".join(f"<li>{_esc(m)}</li>" for m in missing) + "</ul>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(run_dir: str | os.PathLike, out_dir: str | os.PathLike | None = None, *,
                 projection: str = "umap") -> Report:
    """Write ``report.html`` and its PNGs for the run in ``run_dir`` (default ``RUN_DIR/report``).

    Reads and renders only: the latent-space figures need ``embeddings.npz`` (the trainer
    writes it; :func:`spektron.workflows.embeddings.ensure_embeddings` computes it for
    older runs, as ``spektron report`` does).
    """
    run = load_run(run_dir)
    out = Path(out_dir) if out_dir is not None else run.path / REPORT_DIR
    out.mkdir(parents=True, exist_ok=True)
    missing: list[str] = []
    figs = _figures(run, out, projection, missing)
    checks = report_checks(run)
    html_path = out / "report.html"
    html_path.write_text(render_html(run, figs, checks, out, missing), encoding="utf-8")
    return Report(html_path=html_path, figures=figs, checks=checks, missing=missing)
