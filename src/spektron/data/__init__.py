"""Spectral data: the container, readers, paired multi-instrument sets and the corn data."""

from spektron.data.corn import fetch_corn, load_corn
from spektron.data.paired import PairedDataset, load_paired_directory, remeasured
from spektron.data.readers import (
    infer_unit,
    read_csv,
    read_jcamp,
    read_mat,
    read_npz,
    read_spectra,
    write_csv,
)
from spektron.data.spectra import (
    SpectralData,
    align_by_sample,
    common_axis,
    interpolate_spectra,
    nm_to_wavenumber,
    normalise_unit,
)

__all__ = [
    "PairedDataset",
    "SpectralData",
    "align_by_sample",
    "common_axis",
    "fetch_corn",
    "infer_unit",
    "interpolate_spectra",
    "load_corn",
    "load_paired_directory",
    "remeasured",
    "nm_to_wavenumber",
    "normalise_unit",
    "read_csv",
    "read_jcamp",
    "read_mat",
    "read_npz",
    "read_spectra",
    "write_csv",
]
