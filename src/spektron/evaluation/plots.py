"""RMSEP against the number of transfer samples, one figure per pair and property."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from spektron.evaluation.records import summarise

__all__ = ["plot_rmsep_vs_k"]


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name)


MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "h", "p")
LINESTYLES = ("-", "--", "-.", ":")
SAME_RTOL = 0.005  # curves closer than this are drawn hollow and labelled as coinciding


def plot_rmsep_vs_k(records: list[dict], out_dir: str | Path, property_units: dict[str, str] | None = None,
                    tag: str = "") -> list[Path]:
    """One PNG per (master, target, property): mean RMSEP vs k for every method (error
    bars: sd over repeats), log y, and the ``target`` bound as a horizontal line.
    ``tag`` (e.g. the split of a run with several) goes into the title and file names.

    Every method has its own marker and line style, and a curve that coincides with
    one drawn before it says so in the legend — otherwise an ablation identical to
    its parent (e.g. test-time training that changed nothing) hides it completely."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stats = summarise(records)
    units = property_units or {}
    out = Path(out_dir)
    paths = []
    blocks = list(dict.fromkeys((r["master"], r["target"], r["property"]) for r in records))
    methods = list(dict.fromkeys(r["method"] for r in records))
    for master, target, prop in blocks:
        fig, ax = plt.subplots(figsize=(8.5, 4.5))
        drawn: list[tuple[str, list, np.ndarray]] = []
        for i, m in enumerate(methods):
            pts = sorted((k, s) for (a, b, p, mm, k), s in stats.items() if (a, b, p, mm) == (master, target, prop, m))
            if not pts:
                continue
            if m == "target":
                bound = np.mean([s["rmsep"] for _, s in pts])
                ax.axhline(bound, color="black", linestyle="--", linewidth=1.2, label=f"target bound ({bound:.3g})")
                continue
            ks = [k for k, _ in pts]
            mean = np.array([s["rmsep"] for _, s in pts])
            sd = np.nan_to_num(np.array([s["rmsep_sd"] for _, s in pts]))
            same = [name for name, ks0, mean0 in drawn if ks0 == ks and np.allclose(mean, mean0, rtol=SAME_RTOL, atol=0)]
            label = m + (f" (≈ {same[0]}, within {SAME_RTOL:.1%})" if same else "")
            drawn.append((m, ks, mean))
            ax.errorbar(ks, mean, yerr=sd, marker=MARKERS[i % len(MARKERS)], markersize=5 if not same else 8,
                        fillstyle="full" if not same else "none", capsize=2, linewidth=1.3,
                        linestyle=LINESTYLES[(i // len(MARKERS) + i) % len(LINESTYLES)], label=label)
        ax.set_yscale("log")
        ax.set_xlabel("transfer samples k")
        unit = units.get(prop)
        ax.set_ylabel(f"RMSEP {prop}" + (f" ({unit})" if unit else " (property units)"))
        ax.set_title(f"{master} → {target}: {prop}" + (f" ({tag})" if tag else ""))
        ax.grid(True, which="both", alpha=0.3)
        ax.set_xticks(sorted({r["k"] for r in records}))
        ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
        fig.tight_layout()
        path = out / f"rmsep_vs_k_{_safe(master)}_{_safe(target)}_{_safe(prop)}{'_' + _safe(tag) if tag else ''}.png"
        fig.savefig(path, dpi=120)
        plt.close(fig)
        paths.append(path)
    return paths
