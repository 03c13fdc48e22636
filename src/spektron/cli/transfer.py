"""``spektron transfer``: predict a property on a new instrument from a master calibration."""

from __future__ import annotations

from pathlib import Path

import typer

from spektron.cli.common import check_out_dir, fail


def transfer_command(
    master: Path = typer.Option(..., "--master", help="Master calibration spectra (CSV, NPZ, MAT or JCAMP)."),
    target: Path = typer.Option(..., "--target", help="Target-instrument spectra to predict (same formats). They are "
                                                      "also the unlabelled spectra the method may learn from "
                                                      "(Spektron's test-time training)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder: predictions.csv and diagnostics.json."),
    method: str = typer.Option("spektron", "--method", help="A registered method (see `spektron benchmark "
                                                           "--list-methods`), or 'auto': the best of "
                                                           "spektron, meancorr, augment, ds, pds, sbc by "
                                                           "leave-one-pair-out on the transfer pairs (needs ≥ 3; "
                                                           "with fewer, spektron, and it says so)."),
    save: Path | None = typer.Option(None, "--save", help="Also write the fitted transfer model to this file, for "
                                                          "`spektron predict` later."),
    master_properties: Path | None = typer.Option(None, "--master-properties", help="CSV of reference values "
                                                  "('sample' column + one column per property), matched to the "
                                                  "master spectra by sample id. Not needed when --master carries them."),
    prop: str | None = typer.Option(None, "--property", help="Property to predict (needed when there are several)."),
    pairs: str | None = typer.Option(None, "--pairs", help="MASTER_STD_FILE:TARGET_STD_FILE — transfer samples "
                                                           "measured on both instruments (same rows); their reference "
                                                           "values come from --master-properties by sample id."),
    resample: bool = typer.Option(False, "--resample", help="Interpolate target spectra onto the master axis when the "
                                                            "axes differ (otherwise that is an error)."),
    checkpoint: Path | None = typer.Option(None, "--checkpoint", help="Pretrained encoder (from `spektron pretrain`) "
                                                                      "for the methods that use one (spektron-deep, "
                                                                      "spektron-codes, coral, mmd, dann, lora)."),
    steps: int = typer.Option(150, "--steps", help="Encoder adaptation steps (methods with an encoder)."),
    ttt_steps: int = typer.Option(3, "--ttt-steps", help="Masked-reconstruction test-time training steps "
                                                         "(spektron-deep)."),
    seed: int = typer.Option(0, "--seed", help="Random seed."),
    threads: int = typer.Option(2, "--threads", help="torch CPU threads (methods with an encoder)."),
) -> None:
    """Transfer a calibration to a new instrument and predict a property.

    Fits METHOD on the master calibration set, the transfer pairs (if any) and the
    target spectra (unlabelled), predicts the target spectra and checks each against
    the calibration domain (Hotelling T² and Q, 95 %/99 % limits).

    Writes OUT/predictions.csv with columns sample, <property> (the prediction), T2, Q
    and domain (ok / warning: beyond a 95 % limit / outside: beyond a 99 % limit), and
    OUT/diagnostics.json (method — and with 'auto' the leave-one-pair-out table —,
    numbers of spectra and pairs, domain limits, the method's own choices). Example:

        spektron transfer --master m5.csv --master-properties properties.csv \\
            --property moisture --target mp5.csv --method auto --pairs pm.csv:pt.csv \\
            --save m5_to_mp5.spk --out results/m5_to_mp5
    """
    from spektron.workflows.transfer import PREDICTIONS, transfer_files, write_transfer_outputs

    check_out_dir(out)
    try:
        if save is not None and save.is_dir():
            raise ValueError(f"--save {save} is a folder; give a file name for the transfer model")
        params = {"checkpoint": str(checkpoint) if checkpoint else None, "steps": steps, "ttt_steps": ttt_steps,
                  "num_threads": threads}
        result = transfer_files(master, target, method=method, prop=prop, master_properties=master_properties,
                                pairs=pairs, resample=resample, params=params, seed=seed)
    except (ValueError, FileNotFoundError) as err:
        fail(str(err))
    write_transfer_outputs(out, result)
    model = result.model
    chosen = model.method + (f" (auto: {model.summary['auto_rule']})" if method == "auto" else "")
    typer.echo(f"predicted {result.property_name} for {len(result.values)} target spectra with {chosen}; "
               f"wrote {out / PREDICTIONS}")
    typer.echo(result.domain_line)
    if result.views_line:
        typer.echo(result.views_line)
    if result.unlabelled_line:
        typer.echo(result.unlabelled_line)
    if result.response_line:
        typer.echo(result.response_line)
    if result.offset_line:
        typer.echo(result.offset_line)
    if result.batch_line:
        typer.echo(result.batch_line)
    if save is not None:
        try:
            model.save(save)
        except ValueError as err:  # a method the safe model file cannot hold: the predictions stand
            fail(f"{err}; the predictions are written ({out / PREDICTIONS}), the model is not")
        typer.echo(f"saved the transfer model to {save}")
