"""Where one method stands against the field, cell by cell, from benchmark records.

The questions a reader of a benchmark asks first: is the method the lowest in each
(pair, property, k) cell, by how much it is not, whether it ever does harm against
doing (almost) nothing, and whether it gets worse as transfer samples are added.
Answered from the records alone (means and spreads over the repeats), so they can be
asked of any finished run.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

from spektron.evaluation.records import by_split, summarise

__all__ = ["method_standing", "field_ranking", "k_trend", "standing_markdown", "split_comparison",
           "split_comparison_markdown", "ABLATIONS"]

#: Variants of ``spektron`` that are ablations of it, not competitors.
ABLATIONS = ("spektron-nottt", "spektron-codes", "spektron-single")


def method_standing(
    records: Sequence[dict],
    method: str = "spektron",
    *,
    ablations: Iterable[str] = ABLATIONS,
    harm_reference: Sequence[str] = ("none", "meancorr"),
    harm_tolerance: float = 1.05,
) -> list[dict]:
    """One row per (master, target, property, k) in which ``method`` ran.

    Competitors are every other method of the run except the ``target`` bound and the
    ``ablations``. Keys: the cell, ``rmsep``/``sd`` of the method, ``best`` (the best
    competitor, its ``best_rmsep``/``best_sd``), ``lowest`` (the method's mean is the
    lowest), ``ratio_to_best``, ``bound`` and ``ratio_to_bound`` (when the run has
    ``target``), and ``harm`` — the method's mean over the best of ``harm_reference``
    (``None`` without them) with ``harmful`` when above ``harm_tolerance``.
    """
    stats = summarise(list(records))
    skip = {"target", method, *ablations}
    rows = []
    for (master, target, prop, m, k), s in stats.items():
        if m != method or not math.isfinite(s["rmsep"]):
            continue
        others = [(o["rmsep"], name, o["rmsep_sd"]) for (a, b, p, name, kk), o in stats.items()
                  if (a, b, p, kk) == (master, target, prop, k) and name not in skip and math.isfinite(o["rmsep"])]
        row = {"master": master, "target": target, "property": prop, "k": k, "rmsep": s["rmsep"], "sd": s["rmsep_sd"],
               "n": s["n"]}
        if others:
            best_rmsep, best, best_sd = min(others)
            row.update(best=best, best_rmsep=best_rmsep, best_sd=best_sd, lowest=s["rmsep"] <= best_rmsep,
                       ratio_to_best=s["rmsep"] / best_rmsep if best_rmsep > 0 else math.inf)
        bound = [o["rmsep"] for (a, b, p, name, _), o in stats.items()
                 if (a, b, p, name) == (master, target, prop, "target") and math.isfinite(o["rmsep"])]
        if bound:
            row.update(bound=sum(bound) / len(bound), ratio_to_bound=s["rmsep"] / (sum(bound) / len(bound)))
        refs = [o["rmsep"] for (a, b, p, name, kk), o in stats.items()
                if (a, b, p, kk) == (master, target, prop, k) and name in harm_reference and math.isfinite(o["rmsep"])]
        if refs:
            row["harm"] = s["rmsep"] / min(refs)
            row["harmful"] = row["harm"] > harm_tolerance
        rows.append(row)
    return rows


def field_ranking(records: Sequence[dict], ablations: Iterable[str] = ABLATIONS) -> list[dict]:
    """Every method's standing over all the cells it ran in: ``cells``, ``wins`` (lowest
    mean RMSEP), ``mean_rank``, ``geo_ratio`` (geometric mean of its RMSEP over the
    cell's best) and ``worst_ratio``; sorted by ``geo_ratio``. The ``target`` bound and
    the ablations are left out. Being lowest in every cell against a dozen methods is
    a high bar (the best of many noisy means); these say how far from the best a
    method is when it is not."""
    stats = summarise(list(records))
    skip = {"target", *ablations}
    cells: dict[tuple, dict[str, float]] = {}
    for (master, target, prop, m, k), s in stats.items():
        if m not in skip and math.isfinite(s["rmsep"]):
            cells.setdefault((master, target, prop, k), {})[m] = s["rmsep"]
    acc: dict[str, dict] = {}
    for values in cells.values():
        best = min(values.values())
        order = sorted(values, key=values.get)
        for m, v in values.items():
            a = acc.setdefault(m, {"method": m, "cells": 0, "wins": 0, "ranks": [], "logs": [], "worst_ratio": 0.0})
            ratio = v / best if best > 0 else 1.0
            a["cells"] += 1
            a["wins"] += order[0] == m
            a["ranks"].append(order.index(m) + 1)
            a["logs"].append(math.log(ratio))
            a["worst_ratio"] = max(a["worst_ratio"], ratio)
    rows = []
    for a in acc.values():
        rows.append({"method": a["method"], "cells": a["cells"], "wins": a["wins"],
                     "mean_rank": sum(a["ranks"]) / len(a["ranks"]),
                     "geo_ratio": math.exp(sum(a["logs"]) / len(a["logs"])), "worst_ratio": a["worst_ratio"]})
    return sorted(rows, key=lambda r: r["geo_ratio"])


def k_trend(records: Sequence[dict], method: str = "spektron") -> list[dict]:
    """Does the method get worse with more transfer samples? Per (master, target,
    property): each k whose mean exceeds the best mean at a smaller k by more than the
    larger of the two spreads (sd over repeats) is listed in ``rises``. Runs with a
    single repeat have no spread and are not judged."""
    stats = summarise(list(records))
    cells: dict[tuple, list[tuple[int, float, float]]] = {}
    for (master, target, prop, m, k), s in stats.items():
        if m == method and math.isfinite(s["rmsep"]):
            cells.setdefault((master, target, prop), []).append((k, s["rmsep"], s["rmsep_sd"]))
    out = []
    for (master, target, prop), rows in cells.items():
        rows.sort()
        rises = []
        for i, (k, mean, sd) in enumerate(rows[1:], start=1):
            k0, m0, sd0 = min(rows[:i], key=lambda r: r[1])
            if not any(math.isfinite(v) for v in (sd, sd0)):
                continue  # a single repeat has no spread to judge a rise against
            spread = max(v for v in (sd, sd0) if math.isfinite(v))
            if mean - m0 > spread:
                rises.append({"k": k, "rmsep": mean, "from_k": k0, "from_rmsep": m0, "spread": spread})
        out.append({"master": master, "target": target, "property": prop, "rises": rises})
    return out


def _fmt(v: float, sd: float | None = None) -> str:
    if sd is None or not math.isfinite(sd):
        return f"{v:.4g}"
    return f"{v:.4g} ± {sd:.2g}"


def standing_markdown(records: Sequence[dict], method: str = "spektron") -> str:
    """A markdown section: the standing table, the cells where the method is not the
    lowest, harm against ``none``/``meancorr``, and rises with k ("" without the method)."""
    rows = method_standing(records, method)
    if not rows:
        return ""
    lines = [f"## Where `{method}` stands", "",
             "Competitors: every method of the run except the `target` bound and the method's ablations "
             f"({', '.join(ABLATIONS)}). Harm: the method's mean RMSEP over the better of `none` and `meancorr`.", "",
             "| pair | property | k | " + method + " | best competitor | ratio | × bound | harm |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        best = f"{r['best']} {_fmt(r['best_rmsep'], r['best_sd'])}" if "best" in r else "—"
        ratio = f"{r['ratio_to_best']:.2f}" + ("" if r.get("lowest") else " ✗") if "best" in r else "—"
        bound = f"{r['ratio_to_bound']:.2f}" if "ratio_to_bound" in r else "—"
        harm = (f"{r['harm']:.2f}" + (" ✗" if r["harmful"] else "")) if "harm" in r else "—"
        lines.append(f"| {r['master']} → {r['target']} | {r['property']} | {r['k']} | {_fmt(r['rmsep'], r['sd'])} | "
                     f"{best} | {ratio} | {bound} | {harm} |")
    lost = [r for r in rows if "best" in r and not r["lowest"]]
    harmful = [r for r in rows if r.get("harmful")]
    lines += ["", f"Lowest in {len(rows) - len(lost)} of {len(rows)} cells"
              + ("; not in: " + "; ".join(f"{r['master']}→{r['target']} {r['property']} k={r['k']} "
                                         f"({r['best']} {r['ratio_to_best']:.2f}×)" for r in lost) if lost else "") + "."]
    lines.append(f"Harm (> 1.05 × the better of none/meancorr) in {len(harmful)} cell(s)"
                 + (": " + "; ".join(f"{r['master']}→{r['target']} {r['property']} k={r['k']} ({r['harm']:.2f}×)"
                                     for r in harmful) if harmful else "") + ".")
    rises = [(t, r) for t in k_trend(records, method) for r in t["rises"]]
    ranking = field_ranking(records)
    lines.append(f"Rises with k beyond the repeat spread: {len(rises)}"
                 + (" — " + "; ".join(f"{t['master']}→{t['target']} {t['property']} k={r['from_k']}→{r['k']} "
                                      f"({r['from_rmsep']:.4g}→{r['rmsep']:.4g}, spread {r['spread']:.2g})"
                                      for t, r in rises) if rises else "") + ".")
    lines += ["", "### The field over all cells", "",
              "Geometric mean of each method's RMSEP over the best in the cell, its worst such ratio, wins and "
              "mean rank (1 = lowest), over the cells it ran in (pairs-based methods skip k = 0).", "",
              "| method | cells | wins | mean rank | × best (geo. mean) | worst × best |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['method']} | {r['cells']} | {r['wins']} | {r['mean_rank']:.2f} | {r['geo_ratio']:.3f} | "
              f"{r['worst_ratio']:.2f} |" for r in ranking]
    return "\n".join(lines) + "\n"


def split_comparison(records: Sequence[dict], method: str = "spektron", *, harm_tolerance: float = 1.05) -> list[dict]:
    """The method's standing in each split of a run with several (``split`` in the records),
    cell by cell: one row per (master, target, property, k) with, per split, the
    :func:`method_standing` figures and ``batch`` — the method over its own ablation without
    the unlabelled spectra (``<method>-nottt``), i.e. what the unlabelled batch did to it —
    and ``batch_harm``: the method over the better of ``meancorr`` and that ablation (the
    batch made it worse than ignoring it, beyond ``harm_tolerance``, when above; at k = 0,
    where the ablation has no pairs to transfer with, over ``meancorr``)."""
    rows: dict[tuple, dict] = {}
    for split, recs in by_split(records).items():
        stats = summarise(recs)
        for r in method_standing(recs, method, harm_tolerance=harm_tolerance):
            cell = (r["master"], r["target"], r["property"], r["k"])
            ref = {name: stats.get((*cell[:3], name, cell[3]), {}).get("rmsep", math.nan)
                   for name in ("meancorr", f"{method}-nottt")}
            nottt = ref[f"{method}-nottt"]
            if math.isfinite(nottt) and nottt > 0:
                r["batch"] = r["rmsep"] / nottt
            if cell[3] == 0:  # without pairs the ablation transfers nothing: ignoring the batch is meancorr's
                ref.pop(f"{method}-nottt")
            finite = [v for v in ref.values() if math.isfinite(v) and v > 0]
            if finite:
                r["batch_harm"] = r["rmsep"] / min(finite)
                r["batch_harmful"] = r["batch_harm"] > harm_tolerance
            rows.setdefault(cell, {"master": cell[0], "target": cell[1], "property": cell[2], "k": cell[3],
                                   "splits": {}})["splits"][split] = r
    return list(rows.values())


def split_comparison_markdown(records: Sequence[dict], method: str = "spektron") -> str:
    """A markdown section: the method in each split side by side (RMSEP, ratio to the best
    competitor, harm against ``none``/``meancorr``, and against ignoring the batch), with
    a count line per split. "" when the run has one split or not the method."""
    splits = list(by_split(records))
    rows = split_comparison(records, method)
    if len(splits) < 2 or not rows:
        return ""
    head = ["pair", "property", "k"]
    for s in splits:
        head += [f"{s}: {method}", "× best", "harm", "× nottt"]
    lines = [f"## `{method}` on each split, side by side", "",
             "Per split: the mean RMSEP ± sd, its ratio to the best competitor (✗: not the lowest), harm "
             "(over the better of `none` and `meancorr`; ✗ above 1.05) and `× nottt` (over "
             f"`{method}-nottt`, which ignores the unlabelled spectra: above 1 the batch made it worse; ✗ when "
             "above 1.05 × the better of `meancorr` and the ablation).", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in rows:
        cells = [f"{row['master']} → {row['target']}", row["property"], str(row["k"])]
        for s in splits:
            r = row["splits"].get(s)
            if r is None:
                cells += ["—"] * 4
                continue
            ratio = f"{r['ratio_to_best']:.2f}" + ("" if r.get("lowest") else " ✗") if "ratio_to_best" in r else "—"
            harm = (f"{r['harm']:.2f}" + (" ✗" if r["harmful"] else "")) if "harm" in r else "—"
            batch = (f"{r['batch']:.2f}" + (" ✗" if r.get("batch_harmful") else "")) if "batch" in r else "—"
            cells += [_fmt(r["rmsep"], r["sd"]), ratio, harm, batch]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for s in splits:
        rs = [row["splits"][s] for row in rows if s in row["splits"]]
        paired = [r for r in rs if r["k"] >= 1]
        line = (f"- {s}: lowest in {sum(bool(r.get('lowest')) for r in rs)} of {len(rs)} cells, "
                f"{_times(_geo(r.get('ratio_to_best') for r in rs))} the per-cell best (geometric mean); harm in "
                f"{sum(bool(r.get('harmful')) for r in rs)}; worse than ignoring the batch in "
                f"{sum(bool(r.get('batch_harmful')) for r in rs)}")
        if paired:
            line += (f"; with pairs (k ≥ 1): {_times(_geo(r.get('ratio_to_best') for r in paired))} the best other "
                     f"method, {_times(_geo(r.get('ratio_to_bound') for r in paired))} the target's own calibration")
        flags = [rec for rec in records if rec.get("split", "?") == s and rec["method"] == method and rec["k"] == 0
                 and rec.get("batch_matters")]
        if flags:
            line += (f"; without pairs the batch was flagged as unlike the calibration set in "
                     f"{sum(bool(rec.get('batch_differs')) for rec in flags)} of the {len(flags)} fits where its mean "
                     "difference along the calibration exceeds the calibration's error")
        lines.append(line + ".")
    return "\n".join(lines) + "\n"


def _times(ratio: float) -> str:
    """``1.234×``, or ``n/a×`` when no competitor ran."""
    return f"{ratio:.3f}×" if math.isfinite(ratio) else "n/a×"


def _geo(values) -> float:
    """Geometric mean of the finite positive values (NaN when there are none)."""
    v = [x for x in values if x is not None and math.isfinite(x) and x > 0]
    return math.exp(sum(math.log(x) for x in v) / len(v)) if v else math.nan
