"""The report's figures, one function per figure, each writing one PNG and returning its path.

Everything here draws with matplotlib's Agg backend (no display needed) and takes
plain records or NumPy arrays, so a figure can be regenerated from a run directory
without torch. Transfer curves are drawn by
:func:`spektron.evaluation.plots.plot_rmsep_vs_k`, the benchmark's own plot.
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from spektron.evaluation.plots import plot_rmsep_vs_k
from spektron.training.diagnostics import (
    COLLAPSE_KL_NATS,
    collapsed_dimensions,
    information_per_dimension,
    kl_per_dimension,
)

__all__ = [
    "plot_disentanglement",
    "plot_embedding",
    "plot_kl_per_dim",
    "plot_sweep",
    "plot_training_curves",
    "plot_transfer_curves",
    "project_2d",
]

log = logging.getLogger(__name__)

DPI = 110
_ACCURACIES = (
    ("inst_acc_chem", "instrument probe on z_chem (want: chance)", "tab:red"),
    ("inst_acc_inst", "instrument probe on z_inst (want: high)", "tab:blue"),
    ("retrieval_top1", "same-sample retrieval across instruments, z_chem (want: ≥ 80%)", "tab:green"),
)
_LOSSES = (
    ("loss", "total (weighted)", "black"),
    ("recon", "masked reconstruction (MSE)", "tab:blue"),
    ("kl", "KL(q(z|x) ‖ N(0, I)), unweighted", "tab:purple"),
    ("adv", "adversary CE on z_chem (via reversal)", "tab:red"),
    ("inst", "instrument CE on z_inst", "tab:orange"),
    ("balance", "MoE load balance", "tab:gray"),
)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | os.PathLike) -> Path:
    plt = _pyplot()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=DPI, bbox_inches="tight", facecolor="white")
    plt.close(fig)
    return path


def _series(records: Sequence[dict[str, Any]], key: str) -> tuple[np.ndarray, np.ndarray]:
    """(steps, values) of ``key`` over records that have a finite value for it."""
    pts = [(r["step"], float(r[key])) for r in records
           if key in r and isinstance(r[key], int | float) and np.isfinite(r[key])]
    if not pts:
        return np.empty(0), np.empty(0)
    steps, values = zip(*pts)
    return np.asarray(steps), np.asarray(values)


# ------------------------------------------------------------ training dynamics
def plot_disentanglement(evals: Sequence[dict[str, Any]], path: str | os.PathLike, *,
                         retrieval_goal: float = 0.8) -> Path:
    """The disentanglement tracker: the three held-out accuracies over training steps,
    with the chance level of the instrument probes and the 80 % retrieval goal."""
    if not evals:
        raise ValueError("no 'eval' records: the run logged no held-out diagnostics (eval_every = 0?)")
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.6))
    for key, label, colour in _ACCURACIES:
        steps, values = _series(evals, key)
        if steps.size:
            ax.plot(steps, 100 * values, "-o", color=colour, markersize=4, linewidth=1.8, label=label)
    chance = evals[-1].get("chance")
    if chance is not None:
        ax.axhline(100 * chance, color="tab:red", linestyle=":", linewidth=1.3,
                   label=f"chance = 1 / n_instruments = {100 * chance:.0f}%")
    ax.axhline(100 * retrieval_goal, color="tab:green", linestyle="--", linewidth=1.3,
               label=f"retrieval goal {100 * retrieval_goal:.0f}%")
    ax.set_xlabel("training step")
    ax.set_ylabel("accuracy on held-out views (%)")
    ax.set_ylim(0, 103)
    ax.set_title("Disentanglement tracker (held-out molecules seen through every instrument)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    return _save(fig, path)


def plot_training_curves(train: Sequence[dict[str, Any]], path: str | os.PathLike,
                         n_instruments: int | None = None) -> Path:
    """Loss terms over steps (left) and the schedules β(t) and α(t) (right).

    With ``n_instruments`` the chance-level cross-entropy ln(n) is drawn: where the
    reversed adversary on z_chem should sit, and what the z_inst classifier must beat."""
    if not train:
        raise ValueError("no 'train' records in the metrics log")
    plt = _pyplot()
    fig, (ax_loss, ax_beta) = plt.subplots(1, 2, figsize=(13, 5), gridspec_kw={"width_ratios": [1.4, 1]})
    for key, label, colour in _LOSSES:
        steps, values = _series(train, key)
        if steps.size and np.any(values != 0):
            ax_loss.plot(steps, values, color=colour, linewidth=1.4 if key != "loss" else 2.0, label=label)
    if n_instruments and n_instruments > 1:
        ax_loss.axhline(np.log(n_instruments), color="tab:red", linestyle=":", linewidth=1.0,
                        label=f"chance cross-entropy ln {n_instruments} = {np.log(n_instruments):.2f}")
    ax_loss.set_yscale("log")
    ax_loss.set_xlabel("training step")
    ax_loss.set_ylabel("loss value (log scale; MSE in standardised units, CE/KL in nats)")
    ax_loss.set_title("Loss terms (training batches)")
    ax_loss.grid(alpha=0.3, which="both")
    ax_loss.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=3, frameon=False)

    steps_b, beta = _series(train, "beta")
    steps_a, alpha = _series(train, "alpha")
    if steps_b.size:
        ax_beta.plot(steps_b, beta, color="tab:purple", linewidth=1.8, label="β(t): KL weight schedule (left axis)")
        ax_beta.set_yscale("log")
    ax_beta.set_xlabel("training step")
    ax_beta.set_ylabel("β (log scale)", color="tab:purple")
    ax_alpha = ax_beta.twinx()
    if steps_a.size:
        ax_alpha.plot(steps_a, alpha, color="tab:red", linewidth=1.8, linestyle="--",
                      label="α(p): gradient-reversal strength (right axis)")
    ax_alpha.set_ylim(0, 1.05)
    ax_alpha.set_ylabel("α", color="tab:red")
    ax_beta.set_title("Schedules: β(t) cosine anneal, α(p) = 2/(1+e^(−10p)) − 1")
    ax_beta.grid(alpha=0.3)
    handles = ax_beta.get_legend_handles_labels()[0] + ax_alpha.get_legend_handles_labels()[0]
    labels = ax_beta.get_legend_handles_labels()[1] + ax_alpha.get_legend_handles_labels()[1]
    ax_beta.legend(handles, labels, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), frameon=False)
    fig.tight_layout()
    return _save(fig, path)


# ----------------------------------------------------------------- embeddings
def project_2d(z: np.ndarray, method: str = "umap", seed: int = 0) -> tuple[np.ndarray, str]:
    """2-D coordinates of ``z`` (n, d) and the name of the projection actually used.

    UMAP (McInnes et al. 2018) by default; PCA when asked for, or when UMAP is not
    importable or fails (the returned name then says so, and the plot labels it).
    """
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 2 or len(z) < 3:
        raise ValueError(f"need at least 3 embeddings of shape (n, d), got {z.shape}")
    if method not in ("umap", "pca"):
        raise ValueError(f"projection must be 'umap' or 'pca', got {method!r}")
    if method == "umap" and z.shape[1] > 2:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                import umap

                reducer = umap.UMAP(n_components=2, n_neighbors=min(15, len(z) - 1), min_dist=0.3,
                                    random_state=seed)
                return reducer.fit_transform(z), "UMAP"
        except Exception as exc:  # umap missing, numba trouble, degenerate input
            log.warning("UMAP failed (%s: %s); falling back to PCA", type(exc).__name__, exc)
            return _pca(z), "PCA (UMAP failed)"
    return _pca(z), "PCA"


def _pca(z: np.ndarray) -> np.ndarray:
    from sklearn.decomposition import PCA

    centred = z - z.mean(axis=0)
    if z.shape[1] < 2 or np.allclose(centred, 0):
        return np.column_stack([centred[:, 0] if z.shape[1] else np.zeros(len(z)), np.zeros(len(z))])
    return PCA(n_components=2, random_state=0).fit_transform(z)


def plot_embedding(
    z: np.ndarray,
    instrument: np.ndarray,
    sample: np.ndarray,
    path: str | os.PathLike,
    *,
    name: str = "z_chem",
    method: str = "umap",
    instrument_names: Sequence[str] | None = None,
    n_highlight: int = 10,
    seed: int = 0,
) -> Path:
    """Two panels of the same 2-D projection of ``z``: coloured by instrument, and by sample.

    In the sample panel ``n_highlight`` samples get their own colour (every view of
    one sample shares it, so a good ``z_chem`` shows tight same-colour groups) and
    the rest are grey, because dozens of sample colours cannot be told apart.
    """
    z = np.asarray(z)
    instrument = np.asarray(instrument)
    sample = np.asarray(sample)
    if not (len(z) == len(instrument) == len(sample)):
        raise ValueError("z, instrument and sample must have the same number of rows")
    if z.shape[1] == 0:
        raise ValueError(f"{name} has no dimensions (single-latent model?)")
    xy, used = project_2d(z, method, seed)
    plt = _pyplot()
    fig, (ax_i, ax_s) = plt.subplots(1, 2, figsize=(12, 5))
    insts = np.unique(instrument)
    markers = "os^DvP*X"
    colours = plt.get_cmap("tab10")
    for j, inst in enumerate(insts):
        rows = instrument == inst
        label = (instrument_names[int(inst)] if instrument_names is not None and int(inst) < len(instrument_names)
                 else f"sim{int(inst)}")
        ax_i.scatter(xy[rows, 0], xy[rows, 1], s=16, alpha=0.75, color=colours(j % 10),
                     marker=markers[j % len(markers)], label=label, edgecolors="none")
    ax_i.set_title(f"{name} coloured by instrument")
    ax_i.legend(fontsize=8, title="instrument", title_fontsize=8, loc="best", markerscale=1.3)

    samples = np.unique(sample)
    number = {s: i + 1 for i, s in enumerate(samples)}  # held-out ids are large offsets: number them 1…n
    rng = np.random.default_rng(seed)
    shown = np.sort(rng.choice(samples, size=min(n_highlight, samples.size), replace=False))
    rest = ~np.isin(sample, shown)
    ax_s.scatter(xy[rest, 0], xy[rest, 1], s=10, color="lightgrey", alpha=0.6, edgecolors="none",
                 label=f"other samples ({samples.size - shown.size})")
    palette = plt.get_cmap("tab10" if shown.size <= 10 else "tab20")
    for j, s in enumerate(shown):
        rows = sample == s
        for k, inst in enumerate(insts):
            both = rows & (instrument == inst)
            ax_s.scatter(xy[both, 0], xy[both, 1], s=34, color=palette(j % palette.N),
                         marker=markers[k % len(markers)], edgecolors="black", linewidths=0.4,
                         label=f"held-out sample {number[s]}" if k == 0 else None)
    ax_s.set_title(f"{name} coloured by sample (marker = instrument)")
    ax_s.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    for ax in (ax_i, ax_s):
        ax.set_xlabel(f"{used} 1 (arbitrary units)")
        ax.set_ylabel(f"{used} 2 (arbitrary units)")
        ax.grid(alpha=0.2)
    fig.suptitle(f"2-D {used} of {name} ({z.shape[1]} dims) for {len(z)} held-out views "
                 f"({samples.size} samples × {insts.size} instruments)", fontsize=11)
    fig.tight_layout()
    return _save(fig, path)


def plot_kl_per_dim(mu: np.ndarray, logvar: np.ndarray, path: str | os.PathLike, *,
                    threshold: float = COLLAPSE_KL_NATS, name: str = "z_chem") -> Path:
    """Per-dimension KL to the prior, sorted from largest to smallest, with the collapse
    threshold, and the information each dimension carries (crosses).

    A dimension counts as collapsed — as in the trainer's diagnostics and the verdict —
    when its KL *or* its information is below the threshold: a dimension can keep a
    KL above 0.01 nats through a mean offset while telling no two inputs apart."""
    kl_raw = kl_per_dimension(mu, logvar)
    if kl_raw.size == 0:
        raise ValueError(f"{name} has no dimensions")
    order = np.argsort(kl_raw)[::-1]
    kl, info = kl_raw[order], information_per_dimension(mu, logvar)[order]
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 4))
    below = collapsed_dimensions(kl, threshold, info_dims=info)
    x = np.arange(kl.size)
    ax.bar(x, np.maximum(kl, 1e-6), color=np.where(below, "tab:red", "tab:blue"), width=0.85)
    ax.scatter(x, np.maximum(info, 1e-6), marker="x", color="black", zorder=3, s=30,
               label="information carried, ½ log(1 + Var μ / E σ²) (nats)")
    ax.axhline(threshold, color="black", linestyle="--", linewidth=1.2,
               label=f"collapse threshold {threshold:g} nats")
    ax.set_yscale("log")
    ax.set_xticks(x)
    ax.set_xlabel(f"{name} dimension, sorted by KL (rank)")
    ax.set_ylabel("nats per dimension (log scale)")
    ax.set_title(f"Per-dimension KL of {name}: {int(below.sum())} of {kl.size} dimensions collapsed "
                 f"({100 * below.mean():.0f}%; warn above 30%)", fontsize=11)
    from matplotlib.patches import Patch

    handles, _ = ax.get_legend_handles_labels()
    handles += [Patch(color="tab:blue", label="mean KL(q(z_d|x) ‖ N(0,1)), active dimension"),
                Patch(color="tab:red", label="collapsed: KL or information below the threshold")]
    ax.legend(handles=handles, fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2, frameon=False)
    ax.grid(alpha=0.3, axis="y", which="both")
    fig.tight_layout()
    return _save(fig, path)


# --------------------------------------------------------------- transfer, sweep
def plot_transfer_curves(records: list[dict[str, Any]], out_dir: str | os.PathLike,
                         property_units: dict[str, str] | None = None) -> list[Path]:
    """RMSEP vs k per method and (pair, property), target bound dashed (the benchmark's plot)."""

    if not records:
        return []
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    return plot_rmsep_vs_k(records, out_dir, property_units=property_units)


def plot_predicted_vs_reference(records: list[dict[str, Any]], out_dir: str | os.PathLike, method: str = "spektron",
                                property_units: dict[str, str] | None = None) -> list[Path]:
    """Predicted against reference values of ``method`` on the test samples, one panel per
    (pair, property), one colour per k (first repeat); the 1:1 line dashed. Needs records
    with ``y_pred``/``y_true`` (``run_benchmark(predictions=True)``)."""
    rows = [r for r in records if r.get("method") == method and "y_pred" in r and "y_true" in r and r.get("repeat", 0) == 0]
    if not rows:
        raise ValueError(f"no test predictions of {method!r} in the benchmark records")
    plt = _pyplot()
    paths = []
    units = property_units or {}
    for master, target, prop in dict.fromkeys((r["master"], r["target"], r["property"]) for r in rows):
        cell = sorted((r for r in rows if (r["master"], r["target"], r["property"]) == (master, target, prop)),
                      key=lambda r: r["k"])
        fig, ax = plt.subplots(figsize=(4.6, 4.4))
        lo = min(min(r["y_true"] + r["y_pred"]) for r in cell)
        hi = max(max(r["y_true"] + r["y_pred"]) for r in cell)
        ax.plot([lo, hi], [lo, hi], "k--", lw=1, label="1:1")
        for r in cell:
            ax.plot(r["y_true"], r["y_pred"], "o", ms=4, alpha=0.75, label=f"k={r['k']} (RMSEP {r['rmsep']:.3g})")
        unit = f" ({units[prop]})" if prop in units else ""
        ax.set_xlabel(f"reference {prop}{unit}")
        ax.set_ylabel(f"predicted {prop}{unit}")
        ax.set_title(f"{method}: {master} → {target}", fontsize=10)
        ax.legend(fontsize=7, loc="upper left")
        paths.append(_save(fig, Path(out_dir) / f"predicted_vs_reference_{master}_{target}_{prop}.png"))
    return paths


def plot_sweep(sweep: dict[str, Any], path: str | os.PathLike) -> Path:
    """VIB weight sweep: held-out retrieval (the selection criterion) and the z_chem probe
    accuracy against w_kl, the selected weight marked."""
    runs = sorted(sweep.get("runs", []), key=lambda r: r["w_kl"])
    if not runs:
        raise ValueError("the sweep has no runs")
    w = np.array([r["w_kl"] for r in runs], dtype=float)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.3))
    for key, label, colour in _ACCURACIES:
        values = np.array([r.get(key, np.nan) for r in runs], dtype=float)
        if np.isfinite(values).any():
            ax.plot(w, 100 * values, "-o", color=colour, label=label, linewidth=1.8)
    chance = runs[0].get("chance")
    if chance is not None:
        ax.axhline(100 * chance, color="tab:red", linestyle=":", label=f"chance {100 * chance:.0f}%")
    ax.axhline(80, color="tab:green", linestyle="--", linewidth=1.0, label="retrieval goal 80%")
    selected = sweep.get("selected")
    if selected is not None:
        ax.axvline(selected, color="black", linewidth=1.0, alpha=0.6, label=f"selected w_kl = {selected:g}")
    ax.set_xscale("log")
    ax.set_xlabel("VIB weight w_kl (log scale)")
    ax.set_ylabel("accuracy on held-out views at the end of training (%)")
    ax.set_ylim(0, 103)
    ax.set_title("VIB weight sweep (selection: highest cross-instrument retrieval)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.01, 0.5), frameon=False)
    return _save(fig, path)
