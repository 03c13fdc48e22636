"""Synthetic paired data sets: mixtures with known concentrations measured on two
simulated instruments — the demo's default data and a test bed for transfer methods."""

from __future__ import annotations

import numpy as np

from spektron.data.paired import PairedDataset
from spektron.data.spectra import SpectralData
from spektron.data.synthetic import default_axis, default_unit, generate_molecules, mixtures

__all__ = ["synthetic_transfer_dataset"]


def synthetic_transfer_dataset(
    n_samples: int = 100,
    n_components: int = 4,
    n_properties: int = 2,
    *,
    master,
    target,
    region: str = "mir",
    reference_noise: float = 0.02,
    seed: int = 0,
):
    """Mixtures with known concentrations measured on ``master`` and ``target``
    (:class:`~spektron.data.instruments.SimulatedInstrument`), as a
    :class:`~spektron.data.PairedDataset` with properties ``conc_1 … conc_q``.

    The component molecules are drawn from ids far from any pretraining pool, so the
    demo's chemistry is new to the encoder as well as its target instrument. The
    reference values carry a laboratory error (Gaussian, ``reference_noise`` in
    concentration units), as real reference analyses do; without it a Beer–Lambert
    mixture is fitted exactly by PLS and every ratio to the target bound is meaningless.
    """
    if not 1 <= n_properties <= n_components:
        raise ValueError(f"n_properties must lie in [1, n_components={n_components}], got {n_properties}")
    unit = default_unit(region)
    axis = default_axis(region, unit)
    components = generate_molecules(n_components, seed=seed, region=region, start=2_000_000)
    clean, conc = mixtures(n_samples, components, seed, axis=axis, unit=unit)
    clean = clean / clean.std()
    reference = conc[:, :n_properties] + reference_noise * np.random.default_rng([seed, 0x726566]).standard_normal(
        (n_samples, n_properties))
    names = tuple(f"conc_{i + 1}" for i in range(n_properties))
    ids = [f"mix{i:03d}" for i in range(n_samples)]
    rng = np.random.default_rng([seed, 0x64656D6F])
    instruments = {}
    for inst in (master, target):
        X = inst.apply(clean, axis, unit, rng)
        instruments[inst.name] = SpectralData(X=X, axis=axis, unit=unit, sample_ids=ids, properties=reference,
                                              property_names=names, instrument=inst.name)
    return PairedDataset(instruments, property_names=names, name="synthetic mixtures")
