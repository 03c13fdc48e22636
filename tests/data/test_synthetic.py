"""The built-in spectral generator: band physics, determinism, Beer–Lambert mixtures."""

from __future__ import annotations

import numpy as np
import pytest

from spektron.data.synthetic import (
    BandTable,
    Molecule,
    default_axis,
    generate_molecules,
    mixtures,
    overtone_wavenumber,
    render,
)


def one_band(centre_cm1: float, width: float = 20.0, eta: float = 0.5, height: float = 0.8) -> Molecule:
    return Molecule(id=0, region="nir", centres=[centre_cm1], widths=[width], intensities=[height], eta=[eta])


def test_default_axes():
    nir = default_axis("nir")
    assert nir.size == 700 and nir[0] == 1100 and nir[-1] == 2498 and np.all(np.diff(nir) == 2)
    mir = default_axis("mir")
    assert mir[0] == 500 and mir[-1] < 4000 and np.all(np.diff(mir) == 4)
    in_cm1 = default_axis("nir", "cm-1")
    assert np.all(np.diff(in_cm1) > 0)
    np.testing.assert_allclose(in_cm1, np.sort(1e7 / nir))
    with pytest.raises(ValueError, match="region"):
        default_axis("uv")


def test_generation_is_deterministic_and_prefix_stable():
    a = generate_molecules(6, seed=3, region="nir")
    b = generate_molecules(6, seed=3, region="nir")
    longer = generate_molecules(20, seed=3, region="nir")
    other = generate_molecules(6, seed=4, region="nir")
    for m1, m2, m3 in zip(a, b, longer):
        np.testing.assert_array_equal(m1.centres, m2.centres)
        np.testing.assert_array_equal(m1.intensities, m3.intensities)
    assert [m.id for m in longer] == list(range(20))
    assert not np.array_equal(a[0].centres, other[0].centres)
    shifted = generate_molecules(2, seed=3, region="nir", start=4)
    np.testing.assert_array_equal(shifted[0].centres, a[4].centres)


@pytest.mark.parametrize("region", ["nir", "mir"])
def test_render_is_deterministic_and_finite(region):
    axis = default_axis(region)
    unit = "nm" if region == "nir" else "cm-1"
    mols = generate_molecules(30, seed=0, region=region)
    X1 = render(mols, axis, unit)
    X2 = render(BandTable.from_molecules(mols), axis, unit, max_block=10_000)  # blocked path
    assert X1.shape == (30, axis.size)
    np.testing.assert_allclose(X1, X2, rtol=1e-12)
    assert np.all(np.isfinite(X1)) and X1.min() >= 0 and X1.max() > 0.05
    # distinct molecules give distinct spectra
    corr = np.corrcoef(X1)
    assert corr[np.triu_indices(30, 1)].max() < 0.9999


def test_single_band_peaks_at_its_centre_on_both_units():
    nm_axis = default_axis("nir")
    mol = one_band(1e7 / 1700.0, width=60.0)
    x = render(mol, nm_axis, "nm")[0]
    assert nm_axis[np.argmax(x)] == 1700.0
    assert x.max() == pytest.approx(0.8, rel=1e-9)

    cm_axis = np.arange(500.0, 4000.0, 1.0)
    mol = one_band(1715.0, width=15.0)
    x = render(mol, cm_axis, "cm-1")[0]
    assert cm_axis[np.argmax(x)] == 1715.0
    # FWHM of the rendered band equals the requested width
    above = cm_axis[x >= 0.5 * x.max()]
    assert above[-1] - above[0] == pytest.approx(15.0, abs=1.0)


def test_same_channels_render_identically_in_nm_and_cm1():
    mols = generate_molecules(4, seed=1)
    nm = default_axis("nir")
    np.testing.assert_allclose(render(mols, nm, "nm"), render(mols, 1e7 / nm, "cm-1"), rtol=1e-12)


def test_overtone_positions_follow_the_morse_formula():
    assert overtone_wavenumber(2900.0, 0.02, 1) == pytest.approx(2900.0)
    omega = 2900.0 / 0.96
    assert overtone_wavenumber(2900.0, 0.02, 2) == pytest.approx(2 * omega * (1 - 3 * 0.02))
    # anharmonicity puts the overtone below twice the fundamental
    assert overtone_wavenumber(2900.0, 0.02, 2) < 2 * 2900.0


def test_nir_bands_fall_in_the_textbook_regions():
    mols = generate_molecules(300, seed=0, region="nir")
    regions_nm = {
        "methyl/methylene C-H 1st overtone": (1650, 1800),
        "methyl/methylene C-H 2nd overtone": (1140, 1260),
        "methyl/methylene C-H combination": (2200, 2450),
        "water O-H 1st overtone": (1400, 1500),
        "water O-H combination": (1900, 1980),
        "alcohol O-H 1st overtone": (1350, 1550),
        "amine/amide N-H combination": (1950, 2200),
    }
    seen = {k: 0 for k in regions_nm}
    for m in mols:
        for label, centre in zip(m.labels, m.centres):
            if label in regions_nm:
                lo, hi = regions_nm[label]
                assert lo <= 1e7 / centre <= hi, (label, 1e7 / centre)
                seen[label] += 1
        # intensity falls with overtone order within one molecule's C-H bands
        first = [a for lbl, a in zip(m.labels, m.intensities) if lbl.endswith("C-H 1st overtone")]
        second = [a for lbl, a in zip(m.labels, m.intensities) if lbl.endswith("C-H 2nd overtone")]
        if first:
            assert max(second) < max(first)
    assert all(v > 0 for v in seen.values()), seen


def test_mir_bands_include_the_group_fundamentals():
    mols = generate_molecules(200, seed=0, region="mir")
    by_label: dict[str, list[float]] = {}
    for m in mols:
        for label, c in zip(m.labels, m.centres):
            by_label.setdefault(label, []).append(c)
    assert 1650 <= min(by_label["C=O stretch"]) and max(by_label["C=O stretch"]) <= 1750
    assert 2210 <= min(by_label["C≡N stretch"]) and max(by_label["C≡N stretch"]) <= 2260
    assert 3200 <= min(by_label["O-H stretch (H-bonded)"])
    assert all(600 <= c <= 1500 for c in by_label["skeletal"])


def test_mixtures_obey_beer_lambert():
    comps = generate_molecules(3, seed=5)
    axis = default_axis("nir")
    X, C = mixtures(40, comps, seed=2, axis=axis, unit="nm")
    assert X.shape == (40, 700) and C.shape == (40, 3)
    assert C.min() >= 0 and C.max() <= 1
    pure = render(comps, axis, "nm")
    np.testing.assert_allclose(X, C @ pure, rtol=1e-10)
    # linear in concentration: doubling one component's concentration adds its spectrum once more
    i = 7
    np.testing.assert_allclose(X[i] + C[i, 1] * pure[1], (C[i] + np.array([0, C[i, 1], 0])) @ pure, rtol=1e-10)
    X2, C2 = mixtures(40, comps, seed=2, axis=axis, unit="nm")
    np.testing.assert_array_equal(X, X2)
    Xd, Cd = mixtures(5, 4, seed=1)  # default axis of the region, components drawn
    assert Xd.shape == (5, 700) and Cd.shape == (5, 4)


def test_bad_input_is_rejected():
    with pytest.raises(ValueError, match="positive integer"):
        generate_molecules(0)
    with pytest.raises(ValueError, match="region"):
        generate_molecules(3, region="xray")
    with pytest.raises(ValueError, match="one value per band"):
        Molecule(id=0, region="nir", centres=[1, 2], widths=[1], intensities=[1], eta=[0])
    with pytest.raises(ValueError, match="unit"):
        mixtures(3, generate_molecules(2), axis=default_axis("nir"))
