"""Training-dynamics figure: the three disentanglement accuracies over steps (SPEC section 7)."""

from __future__ import annotations

import os
from pathlib import Path

from spektron.training.logging import read_metrics

__all__ = ["plot_training_dynamics"]


def plot_training_dynamics(
    logs: dict[str, str | os.PathLike] | str | os.PathLike,
    out_path: str | os.PathLike,
    *,
    title: str = "Disentanglement during pretraining",
) -> Path:
    """Plot instrument-probe accuracy from z_chem and z_inst and retrieval top-1 against step.

    ``logs`` is one metrics log, or ``{label: log}`` to overlay several runs
    (e.g. with and without the adversarial term; solid and dashed lines). A
    dotted line marks chance (1 / n_instruments). Returns the written PNG path.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not isinstance(logs, dict):
        logs = {"": logs}
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    colours = {"inst_acc_chem": "tab:red", "inst_acc_inst": "tab:blue", "retrieval_top1": "tab:green"}
    names = {
        "inst_acc_chem": "instrument probe on z_chem",
        "inst_acc_inst": "instrument probe on z_inst",
        "retrieval_top1": "cross-instrument retrieval top-1 (z_chem)",
    }
    styles = ["-", "--", ":", "-."]
    chance = None
    for i, (label, path) in enumerate(logs.items()):
        records = read_metrics(path, kind="eval")
        if not records:
            raise ValueError(f"no 'eval' records in {path}")
        steps = [r["step"] for r in records]
        chance = records[-1].get("chance", chance)
        for key, colour in colours.items():
            tag = f"{names[key]}" + (f" [{label}]" if label else "")
            ax.plot(steps, [100 * r[key] for r in records], styles[i % len(styles)], color=colour,
                    marker="o", markersize=3, label=tag)
    if chance is not None:
        ax.axhline(100 * chance, color="grey", linestyle=":", linewidth=1.5, label=f"instrument chance ({100 * chance:.0f}%)")
    ax.set_xlabel("training step")
    ax.set_ylabel("accuracy on held-out views (%)")
    ax.set_ylim(0, 102)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="best")
    fig.tight_layout()
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_path, dpi=130)
    plt.close(fig)
    return out_path
