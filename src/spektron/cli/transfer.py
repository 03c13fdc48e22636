"""``spektron transfer``: predict a property on a new instrument from a master calibration."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code=2)


def _values_by_id(data, ids_file: Path | None, prop: str | None, what: str):
    """Reference values of ``prop`` for the spectra in ``data``: from the file's own
    properties, or from a properties CSV matched by sample id."""
    import numpy as np

    from spektron.data.readers import read_table

    if ids_file is None:
        if data.properties is None or not data.property_names:
            raise ValueError(f"{what} carries no reference values: give --master-properties FILE")
        names = list(data.property_names)
        name = prop or (names[0] if len(names) == 1 else None)
        if name is None:
            raise ValueError(f"{what} has several properties ({', '.join(names)}): choose one with --property")
        return data.property(name), name
    ids, names, values = read_table(ids_file)
    if prop is None:
        if len(names) != 1:
            raise ValueError(f"{ids_file} has several properties ({', '.join(names)}): choose one with --property")
        prop = names[0]
    if prop not in names:
        raise ValueError(f"{ids_file} has no property {prop!r}; available: {', '.join(names)}")
    if data.sample_ids is None:
        raise ValueError(f"{what} has no sample ids to match against {ids_file}")
    lookup = dict(zip((str(i) for i in ids), values[:, names.index(prop)]))
    missing = [str(s) for s in data.sample_ids if str(s) not in lookup]
    if missing:
        raise ValueError(f"{len(missing)} {what} sample(s) have no row in {ids_file}, e.g. {missing[0]!r}")
    return np.array([lookup[str(s)] for s in data.sample_ids], dtype=float), prop


def transfer_command(
    master: Path = typer.Option(..., "--master", help="Master calibration spectra (CSV, NPZ, MAT or JCAMP)."),
    target: Path = typer.Option(..., "--target", help="Target-instrument spectra to predict (same formats). They also "
                                                      "serve as the unlabelled spectra of test-time training."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder: predictions.csv and diagnostics.json."),
    checkpoint: Path | None = typer.Option(None, "--checkpoint", help="Pretrained model file (from `spektron "
                                                                      "pretrain`); default: a small model trained "
                                                                      "from scratch on the master data."),
    master_properties: Path | None = typer.Option(None, "--master-properties", help="CSV of reference values "
                                                  "('sample' column + one column per property), matched to the "
                                                  "master spectra by sample id. Not needed when --master carries them."),
    prop: str | None = typer.Option(None, "--property", help="Property to predict (needed when there are several)."),
    pairs: str | None = typer.Option(None, "--pairs", help="MASTER_STD_FILE:TARGET_STD_FILE — transfer samples "
                                                           "measured on both instruments (same rows); their reference "
                                                           "values come from --master-properties by sample id."),
    resample: bool = typer.Option(False, "--resample", help="Interpolate target spectra onto the master axis when the "
                                                            "axes differ (otherwise that is an error)."),
    steps: int = typer.Option(150, "--steps", help="Adaptation steps."),
    ttt_steps: int = typer.Option(3, "--ttt-steps", help="Test-time training steps (0 = none)."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    threads: int = typer.Option(2, "--threads", help="torch CPU threads."),
) -> None:
    """Transfer a calibration to a new instrument with Spektron.

    Adapts the encoder to the instrument pair, test-time trains on the target
    spectra, and predicts a property from the chemistry latent z_chem.

    Writes OUT/predictions.csv (sample, prediction, nearest master sample and its cosine
    distance in z_chem) and OUT/diagnostics.json (augmentation strength, chosen head and
    its CV error, test-time-training loss before/after, and with --pairs the
    disentanglement of the pairs: instrument-probe accuracy and cross-instrument
    retrieval). Example:

        spektron transfer --master m5.csv --master-properties properties.csv \\
            --property moisture --target mp5.csv --out results/m5_to_mp5
    """
    import csv

    import numpy as np

    from spektron.data.readers import read_spectra
    from spektron.transfer import SpektronTransfer

    try:
        mdata = read_spectra(master)
        tdata = read_spectra(target)
        if tdata.unit != mdata.unit:
            tdata = tdata.to_unit(mdata.unit)
        y, name = _values_by_id(mdata, master_properties, prop, "master")
        keep = np.isfinite(y)
        if keep.sum() < 4:
            raise ValueError(f"only {int(keep.sum())} master spectra have a value of {name!r}; need at least 4")
        pair_arrays, pair_axis, pair_data = None, None, None
        if pairs:
            parts = pairs.split(":")
            if len(parts) != 2 or not all(parts):
                raise ValueError(f"--pairs must be MASTER_STD_FILE:TARGET_STD_FILE, got {pairs!r}")
            pm, pt = read_spectra(parts[0]), read_spectra(parts[1])
            if pt.unit != mdata.unit:
                pt = pt.to_unit(mdata.unit)
            if pm.n_samples != pt.n_samples:
                raise ValueError(f"--pairs files have {pm.n_samples} and {pt.n_samples} spectra; they must match row by row")
            if pt.n_channels != tdata.n_channels or not np.allclose(pt.axis, tdata.axis):
                raise ValueError("the target transfer spectra must be on the same axis as --target")
            py, _ = _values_by_id(pm, master_properties, name, "master transfer")
            pair_arrays, pair_data = (pm.X, pt.X, py), (pm, pt)
        same_axis = tdata.n_channels == mdata.n_channels and np.allclose(tdata.axis, mdata.axis)
        target_axis = None if same_axis else tdata.axis
        est = SpektronTransfer(checkpoint=str(checkpoint) if checkpoint else None, steps=steps, ttt_steps=ttt_steps,
                               resample=resample, seed=seed, num_threads=threads)
        est.fit(mdata.X[keep], y[keep], axis=mdata.axis, unit=mdata.unit, pairs=pair_arrays,
                target_unlabelled=tdata.X, target_axis=target_axis)
        diag = {"property": name, "n_master": int(keep.sum()), "n_target": tdata.n_samples,
                "k_pairs": 0 if pair_arrays is None else int(len(pair_arrays[2])), "strength": est.strength_}
        if pair_data is not None and pair_data[0].n_samples >= 4:
            diag["disentanglement_before_ttt"] = est.disentanglement(pair_data[0].X, est._check_input(
                pair_data[1].X, target_axis, "target transfer spectra"))
        if ttt_steps > 0:
            est.adapt(tdata.X, axis=target_axis)
            diag["ttt"] = est.ttt_result_.to_dict()
            if "disentanglement_before_ttt" in diag:
                diag["disentanglement_after_ttt"] = est.disentanglement(pair_data[0].X, est._check_input(
                    pair_data[1].X, target_axis, "target transfer spectra"))
        pred = est.predict(tdata.X, axis=target_axis)
        nearest, dist = est.retrieve(tdata.X, axis=target_axis)
    except (ValueError, FileNotFoundError) as err:
        _fail(str(err))

    diag.update(head=est.head_.head_, head_cv_rmse=est.head_.cv_rmse_, adaptation_history=est.history_[-1:])
    out.mkdir(parents=True, exist_ok=True)
    master_ids = (list(map(str, np.asarray(mdata.sample_ids)[keep])) if mdata.sample_ids is not None
                  else [str(i) for i in np.flatnonzero(keep)])
    target_ids = list(map(str, tdata.sample_ids)) if tdata.sample_ids is not None else [str(i) for i in range(len(pred))]
    with open(out / "predictions.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["sample", name, "nearest_master", "z_chem_cosine_distance"])
        for sid, p, j, d in zip(target_ids, pred, nearest, dist):
            writer.writerow([sid, f"{p:.6g}", master_ids[j], f"{d:.4g}"])
    (out / "diagnostics.json").write_text(json.dumps(diag, indent=2, default=float))
    typer.echo(f"predicted {name} for {len(pred)} target spectra (head: {est.head_.head_}); wrote {out / 'predictions.csv'}")
