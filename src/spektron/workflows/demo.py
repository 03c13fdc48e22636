"""``spektron demo``: the whole pipeline end to end on a fresh machine, then the report.

With the built-in generator (default, no download):

1. **Data**: mixtures of synthetic molecules with known concentrations (so there is
   a property to predict; Beer–Lambert, :func:`spektron.data.synthetic.mixtures`),
   measured on a *master* — one of the simulated pretraining instruments — and on a
   *target* instrument drawn separately, never seen in pretraining.
2. **Pretraining** of a small model on the generator seen through the simulated
   instruments (:func:`spektron.training.trainer.pretrain`), progress bar included.
3. **Transfer** master → target with k ∈ {0, 5, 10} transfer samples: Spektron
   (adaptation + test-time training, :mod:`spektron.transfer`) against the classical
   baselines on identical splits (:func:`spektron.evaluation.run_benchmark`).
4. **Report** (:func:`spektron.report.write_report`).

``dataset="corn"`` pretrains on the NIR generator and runs the corn benchmark
(m5 → mp5, m5 → mp6, moisture) instead of step 1. ``quick=True`` shrinks every
stage to a smoke test (under two minutes on two cores).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from spektron.data.corn import load_corn
from spektron.data.instruments import draw_instruments
from spektron.data.synthetic_pairs import synthetic_transfer_dataset
from spektron.evaluation.benchmark import parse_pairs, run_benchmark
from spektron.evaluation.protocol import make_split
from spektron.evaluation.results import write_results
from spektron.methods.registry import get_method
from spektron.report.html import write_report
from spektron.run_layout import BENCHMARK_DIR, DEMO, TTT
from spektron.training.cache import load_cached_run, store_run
from spektron.training.config import load_run_config
from spektron.training.trainer import pretrain

__all__ = ["DemoPlan", "DemoResult", "demo_plan", "run_demo"]

DATASETS = ("synthetic", "corn")
CLASSICAL = ("none", "target", "meancorr", "ds", "pds", "sbc", "augment")
SPEKTRON = ("spektron", "spektron-nottt")
#: The first build's deep pipeline, added by ``deep=True`` (about 7 s per cell on 2 cores).
DEEP = ("spektron-deep",)
CORN_UNITS = {"moisture": "% w/w", "oil": "% w/w", "protein": "% w/w", "starch": "% w/w"}
CONCENTRATION_UNIT = "relative concentration (0–1)"


@dataclass
class DemoPlan:
    """Sizes of every stage (the defaults take about a minute on 2 CPU cores; ``quick`` less).

    Parameters
    ----------
    pretrain : dotted-key overrides of the packaged ``small.toml`` pretraining run.
    n_samples : mixtures measured on both instruments (synthetic data set).
    n_components : molecules per mixture; the first ``n_properties`` concentrations
        are the properties to predict.
    ks : numbers of transfer samples.
    methods : benchmark methods (the ``target`` bound included).
    deep_params : constructor parameters of the deep pipeline (``spektron-deep``, with ``deep=True``).
    projection : ``"umap"`` or ``"pca"`` for the latent-space figures.
    """

    pretrain: dict[str, Any]
    n_samples: int = 100
    n_components: int = 4
    n_properties: int = 2
    ks: tuple[int, ...] = (0, 5, 10)
    methods: tuple[str, ...] = CLASSICAL + SPEKTRON
    deep_params: dict[str, Any] = field(default_factory=dict)
    projection: str = "umap"


def demo_plan(dataset: str = "synthetic", quick: bool = False, seed: int = 0, deep: bool = False) -> DemoPlan:
    """The stage sizes of a demo run (``deep`` adds the first build's deep pipeline)."""
    if dataset not in DATASETS:
        raise ValueError(f"unknown demo data set {dataset!r}; choose one of {', '.join(DATASETS)}")
    region = "nir" if dataset == "corn" else "mir"
    pretrain: dict[str, Any] = {"seed": seed, "data.source": "synthetic", "data.region": region, "num_threads": 2,
                                "ckpt_every": 0}
    if quick:
        pretrain.update({"steps": 24, "warmup_steps": 4, "batch_size": 16, "log_every": 2, "eval_every": 10,
                         "data.n_molecules": 128, "data.n_eval_molecules": 16, "model.d_model": 32,
                         "model.n_layers": 1, "model.state_size": 16, "model.z_chem_dim": 16,
                         "model.z_inst_dim": 8, "model.classifier_hidden": 32, "model.moe_every": 0})
        return DemoPlan(pretrain, n_samples=60, n_properties=1, methods=CLASSICAL + ("spektron",) + DEEP * deep,
                        deep_params={"steps": 8, "batch_size": 16}, projection="pca")
    # The packaged small.toml run as it is (600 steps, ~45 s on 2 cores). Measured on the
    # demo: cross-instrument retrieval 87 % after 150 steps, 98 % after 600; the z_chem
    # instrument probe stays above chance either way (45 % / 44 % vs 25 %) — the report says so.
    pretrain.update({"steps": 600, "log_every": 5})
    return DemoPlan(pretrain, methods=CLASSICAL + SPEKTRON + DEEP * deep, deep_params={"steps": 60})


# ---------------------------------------------------------------------- data
def _demo_instruments(n_pretrain: int, seed: int):
    """Master = pretraining instrument 0 (as the trainer draws it); target = a new draw."""
    master = draw_instruments(n_pretrain, seed=seed)[0]
    target = replace(draw_instruments(1, seed=seed + 7919)[0], name="new", _cache={})
    return master, target


# --------------------------------------------------------------------- run
@dataclass
class DemoResult:
    """Where the demo wrote things, and how long each stage took (seconds)."""

    out_dir: Path
    report_path: Path
    checks: list
    timings: dict[str, float]
    pretrain_from_cache: bool = False


def run_demo(
    out: str | os.PathLike = "spektron-demo",
    *,
    dataset: str = "synthetic",
    data_dir: str | os.PathLike | None = None,
    quick: bool = False,
    seed: int = 0,
    progress: bool = True,
    echo: Callable[[str], None] = print,
    cache: bool = True,
    deep: bool = False,
) -> DemoResult:
    """Run the demo into ``out`` (a run directory, see :mod:`spektron.report.run`).

    ``cache``: reuse a pretrained model of the same configuration from the user cache
    (:mod:`spektron.training.cache`) and keep a newly pretrained one there; ``deep``:
    also benchmark the first build's deep pipeline (``spektron-deep``, ~45 s more)."""
    plan = demo_plan(dataset, quick, seed, deep=deep)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    t_start = time.perf_counter()
    timings: dict[str, float] = {}

    # 1. data
    config = load_run_config(None, plan.pretrain)
    if dataset == "corn":
        data = load_corn(data_dir)
        pairs, properties, units = "m5:mp5,m5:mp6", ["moisture"], CORN_UNITS
        inst_names = [f"sim{i}" for i in range(config.data.n_instruments)]
        description = (f"corn (Cargill, 80 samples, m5/mp5/mp6 NIR instruments), moisture; encoder pretrained on the "
                       f"built-in NIR generator; k ∈ {{{', '.join(map(str, plan.ks))}}}")
    else:
        master, target = _demo_instruments(config.data.n_instruments, config.seed)
        data = synthetic_transfer_dataset(plan.n_samples, plan.n_components, plan.n_properties, master=master,
                                          target=target, region=config.data.region, seed=seed)
        pairs, properties = f"{master.name}:{target.name}", list(data.property_names)
        units = {p: CONCENTRATION_UNIT for p in properties}
        inst_names = [f"sim{i}" + (" (master)" if i == 0 else "") for i in range(config.data.n_instruments)]
        description = (f"{plan.n_samples} synthetic {plan.n_components}-component mixtures (mid-IR) measured on "
                       f"master {master.name} (a pretraining instrument) and target '{target.name}' (never seen in "
                       f"pretraining); predict {', '.join(properties)}; k ∈ {{{', '.join(map(str, plan.ks))}}}")
    echo(f"[1/4] data: {description}")

    # 2. pretraining (or the same run from the cache)
    t0 = time.perf_counter()
    result = load_cached_run(config, out) if cache else None
    from_cache = result is not None
    if from_cache:
        echo(f"[2/4] pretrained model from the cache ({config.steps} steps, trained in {result.wall_time_s:.0f} s; "
             "--no-cache retrains) → " + str(out))
    else:
        echo(f"[2/4] pretraining {config.steps} steps (model d_model={config.model.d_model}, "
             f"{config.model.n_layers} blocks) on the built-in {config.data.region.upper()} generator → {out}")
        result = pretrain(config, out, progress=progress)
        if result.interrupted or result.model_path is None:
            raise KeyboardInterrupt("pretraining was interrupted")
        if cache:
            try:
                store_run(config, result)
            except OSError as exc:  # a read-only or full cache costs the next run time, nothing else
                echo(f"note: could not keep the pretrained model in the cache ({exc})")
    timings["pretrain_s"] = time.perf_counter() - t0
    echo(result.summary())

    # 3. transfer benchmark
    methods = list(plan.methods)
    # every Spektron method gets the pretrained model (spektron uses it for features="codes"/"auto")
    params = {m: {"checkpoint": str(result.model_path), **(plan.deep_params if m in DEEP else {})}
              for m in methods if m.startswith("spektron")}
    echo(f"[3/4] transfer {pairs} with k ∈ {list(plan.ks)}: {', '.join(methods)}")
    t0 = time.perf_counter()
    notes: list[str] = []
    records = run_benchmark(data, methods, pairs, properties, plan.ks, selection="ks", split="ks", repeats=1,
                            seed=seed, method_params=params, progress=progress, on_note=notes.append,
                            predictions=True)
    write_results(records, out / BENCHMARK_DIR, notes=notes, command=f"spektron demo --dataset {dataset}"
                  + (" --quick" if quick else ""), property_units=units)
    ttt = _ttt_records(data, pairs, properties[-1], plan.ks, params.get("spektron-deep"), seed)
    if ttt:
        (out / TTT).write_text(json.dumps(ttt, indent=1), encoding="utf-8")
    timings["benchmark_s"] = time.perf_counter() - t0

    # 4. report
    echo("[4/4] report: the figures and the verdict")
    t0 = time.perf_counter()
    timings["total_s"] = time.perf_counter() - t_start  # up to the report; the report adds its own time
    (out / DEMO).write_text(json.dumps({
        "dataset": dataset, "quick": quick, "seed": seed, "description": description, "pairs": pairs,
        "properties": properties, "property_units": units, "instrument_names": inst_names,
        "plan": asdict(plan), "pretrain_from_cache": from_cache, **timings,
    }, indent=1, default=str), encoding="utf-8")
    report = write_report(out, projection=plan.projection)
    timings["report_s"] = time.perf_counter() - t0
    timings["total_s"] = time.perf_counter() - t_start
    return DemoResult(out, report.html_path, report.checks, timings, from_cache)


def _ttt_records(data, pairs: str, prop: str, ks, params: dict | None, seed: int) -> list[dict[str, Any]]:
    """Masked-reconstruction test-time-training loss before/after of the deep pipeline
    (``spektron-deep``) for the last pair and property of the benchmark.

    Refits the ``spektron-deep`` strategy on the same contexts the benchmark built; the
    adapted (pre-TTT) models are still in the strategy's cache, so only the test-time
    training itself runs again. (What ``spektron``'s own test-time training does is
    its RMSEP change against ``spektron-nottt``, read from the benchmark records.)
    """
    if params is None:
        return []

    out = []
    for master, target in parse_pairs(pairs)[-1:]:  # the last pair's models are the ones still cached
        mdata, tdata = data.pair(master, target)
        y = mdata.property(prop)
        split = make_split(mdata.X, y, split="ks", selection="ks", seed=seed)
        for k in ks:
            ctx = split.context(mdata.X, tdata.X, y, k, axis=mdata.axis, unit=mdata.unit, names=(master, target, prop))
            strategy = get_method("spektron-deep", **params).fit(ctx)
            res = getattr(strategy.estimator_, "ttt_result_", None)
            if res is not None:
                out.append({"pair": f"{master}→{target}", "property": prop, "k": int(k),
                            "loss_before": float(res.loss_before), "loss_after": float(res.loss_after),
                            "n_spectra": int(res.n_spectra), "steps": int(res.steps)})
    return out
