"""Reference values for spectra: from the spectra file itself, or from a properties table
matched by sample id (the way a lab keeps them: spectra per instrument, one table of
reference values)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from spektron.data.readers import read_table
from spektron.data.spectra import SpectralData

__all__ = ["reference_values"]


def reference_values(data: SpectralData, properties_file: str | Path | None = None, prop: str | None = None,
                     what: str = "spectra") -> tuple[np.ndarray, str]:
    """``(values, property name)`` for the rows of ``data``.

    Without ``properties_file`` the values come from ``data``'s own properties; with it,
    from that CSV (``sample`` + one column per property) matched by sample id. ``prop``
    may be omitted when there is a single property. Every failure is a ``ValueError``
    naming the file and what is missing (``what`` names the spectra in messages).
    """
    if properties_file is None:
        if data.properties is None or not data.property_names:
            raise ValueError(f"{what} carry no reference values: give a properties file (CLI: --master-properties)")
        names = list(data.property_names)
        name = prop or (names[0] if len(names) == 1 else None)
        if name is None:
            raise ValueError(f"{what} have several properties ({', '.join(names)}): choose one with --property")
        if name not in names:
            raise ValueError(f"{what} have no property {name!r}; available: {', '.join(names)}")
        return data.property(name), name
    ids, names, values = read_table(properties_file)
    if prop is None:
        if len(names) != 1:
            raise ValueError(f"{properties_file} has several properties ({', '.join(names)}): choose one with --property")
        prop = names[0]
    if prop not in names:
        raise ValueError(f"{properties_file} has no property {prop!r}; available: {', '.join(names)}")
    if data.sample_ids is None:
        raise ValueError(f"{what} have no sample ids to match against {properties_file}")
    lookup = dict(zip((str(i) for i in ids), values[:, names.index(prop)]))
    missing = [str(s) for s in data.sample_ids if str(s) not in lookup]
    if missing:
        raise ValueError(f"{len(missing)} {what} sample(s) have no row in {properties_file}, e.g. {missing[0]!r}")
    return np.array([lookup[str(s)] for s in data.sample_ids], dtype=float), prop
