"""Spectral data: the container, readers, data sets and simulated instruments."""

from spektron.data.spectra import (
    SpectralData,
    align_by_sample,
    common_axis,
    interpolate_spectra,
    nm_to_wavenumber,
    normalise_unit,
)

__all__ = [
    "SpectralData",
    "align_by_sample",
    "common_axis",
    "interpolate_spectra",
    "nm_to_wavenumber",
    "normalise_unit",
]
