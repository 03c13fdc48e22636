"""Built-in generator of physically plausible vibrational spectra.

Pretraining needs many distinct "molecules" whose identity survives an instrument
change, and it must run on a fresh machine with no download. A molecule here is a
set of vibrational bands drawn from a table of functional groups with textbook
positions, widths and relative intensities (Socrates, *Infrared and Raman
Characteristic Group Frequencies*, 3rd ed., Wiley 2001; Workman & Weyer, *Practical
Guide to Interpretive Near-Infrared Spectroscopy*, CRC 2008):

* **mid-IR** (``region="mir"``): fundamentals of O–H, N–H, C–H, C≡N, C=O, C=C,
  aromatic ring modes, CH₂/CH₃ bends, C–O stretches, plus a few skeletal
  fingerprint bands (600–1500 cm⁻¹) that make every molecule unique.
* **NIR** (``region="nir"``): first, second and third overtones of the X–H
  stretches and stretch + bend combination bands. An anharmonic (Morse) oscillator
  with harmonic wavenumber ω and anharmonicity χ absorbs the 0 → n overtone at
  ``n ω (1 − (n + 1) χ)``; χ is drawn per group in 0.010–0.022. Intensity falls by
  roughly an order of magnitude per overtone order, widths grow with the order.

Bands are pseudo-Voigt profiles (a Lorentzian/Gaussian mix of equal FWHM, peak
height = band intensity) evaluated in wavenumber, so one molecule renders
consistently on an nm or a cm⁻¹ axis. Every molecule depends only on
``(seed, id)``, so ``generate_molecules(10, seed)`` is a prefix of
``generate_molecules(1000, seed)`` and held-out sets drawn with another ``start``
never repeat a training molecule's random stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from spektron.data.spectra import check_axis, normalise_unit

REGIONS: tuple[str, ...] = ("nir", "mir")
_REGION_UNITS = {"nir": "nm", "mir": "cm-1"}
_LN2 = float(np.log(2.0))


def _check_region(region: str) -> str:
    key = str(region).strip().lower()
    if key not in REGIONS:
        raise ValueError(f"unknown spectral region {region!r}: expected one of {', '.join(REGIONS)}")
    return key


def default_unit(region: str) -> str:
    """The unit the region is usually measured in: ``"nm"`` for NIR, ``"cm-1"`` for mid-IR."""
    return _REGION_UNITS[_check_region(region)]


def default_axis(region: str = "nir", unit: str | None = None) -> np.ndarray:
    """The default model grid of a region, ascending.

    ``"nir"``: 1100–2498 nm in 2 nm steps (700 channels, the corn instruments' grid).
    ``"mir"``: 500–3996 cm⁻¹ in 4 cm⁻¹ steps (875 channels, inside QM9S's 500–4000).
    With ``unit`` given, the same channels expressed in that unit (sorted ascending).
    """
    region = _check_region(region)
    axis = np.arange(1100.0, 2499.0, 2.0) if region == "nir" else np.arange(500.0, 4000.0, 4.0)
    if unit is None or normalise_unit(unit) == _REGION_UNITS[region]:
        return axis
    return np.sort(1e7 / axis)


def axis_to_wavenumber(axis: np.ndarray, unit: str) -> np.ndarray:
    """Channel positions in cm⁻¹ (``1e7 / nm`` for a wavelength axis)."""
    axis = check_axis(axis)
    if normalise_unit(unit) == "nm":
        if np.any(axis <= 0):
            raise ValueError("a wavelength axis must be positive")
        return 1e7 / axis
    return axis


# ----------------------------------------------------------------------------- data
@dataclass(frozen=True, eq=False)
class Molecule:
    """One synthetic molecule: its vibrational bands, all in wavenumber.

    Attributes
    ----------
    id : int
        Stable identity; with the generator seed it determines every band.
    region : ``"nir"`` or ``"mir"``
    centres : array (K,)
        Band centres in cm⁻¹.
    widths : array (K,)
        Full widths at half maximum in cm⁻¹.
    intensities : array (K,)
        Peak heights (absorbance of a unit concentration).
    eta : array (K,)
        Lorentzian fraction of each pseudo-Voigt band (0 = Gaussian, 1 = Lorentzian).
    labels : tuple of str
        What each band is (e.g. ``"C-H 1st overtone"``).
    """

    id: int
    region: str
    centres: np.ndarray
    widths: np.ndarray
    intensities: np.ndarray
    eta: np.ndarray
    labels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        arrays = [np.asarray(getattr(self, k), dtype=float).ravel() for k in ("centres", "widths", "intensities", "eta")]
        k = arrays[0].size
        if any(a.size != k for a in arrays):
            raise ValueError("centres, widths, intensities and eta must have one value per band")
        if np.any(arrays[0] <= 0) or np.any(arrays[1] <= 0):
            raise ValueError("band centres and widths must be positive (cm-1)")
        if np.any((arrays[3] < 0) | (arrays[3] > 1)):
            raise ValueError("eta (Lorentzian fraction) must lie in [0, 1]")
        for name, a in zip(("centres", "widths", "intensities", "eta"), arrays):
            object.__setattr__(self, name, a)
        object.__setattr__(self, "region", _check_region(self.region))
        object.__setattr__(self, "labels", tuple(self.labels))

    @property
    def n_bands(self) -> int:
        return int(self.centres.size)


@dataclass(frozen=True)
class BandTable:
    """Bands of many molecules padded to one width (padding has zero intensity).

    The vectorised form :func:`render` works on; build it once with
    :meth:`from_molecules` when the same molecules are rendered repeatedly.
    """

    centres: np.ndarray  # (n, K) cm-1
    widths: np.ndarray  # (n, K) cm-1 FWHM
    intensities: np.ndarray  # (n, K)
    eta: np.ndarray  # (n, K)

    @classmethod
    def from_molecules(cls, molecules: Sequence[Molecule]) -> "BandTable":
        molecules = list(molecules)
        if not molecules:
            raise ValueError("no molecules given")
        k = max(m.n_bands for m in molecules)
        n = len(molecules)
        c = np.full((n, k), 1000.0)
        w = np.ones((n, k))
        a = np.zeros((n, k))
        e = np.zeros((n, k))
        for i, m in enumerate(molecules):
            j = m.n_bands
            c[i, :j], w[i, :j], a[i, :j], e[i, :j] = m.centres, m.widths, m.intensities, m.eta
        return cls(c, w, a, e)

    @property
    def n_molecules(self) -> int:
        return int(self.centres.shape[0])


# ----------------------------------------------------------------------- band table
# (label, centre range cm-1, FWHM range cm-1, peak-intensity range, Lorentz fraction range)
_Band = tuple[str, tuple[float, float], tuple[float, float], tuple[float, float], tuple[float, float]]

#: Mid-IR functional groups: name → (selection weight, bands). Positions/intensities
#: follow the usual correlation charts (Socrates 2001); widths are condensed-phase.
MIR_GROUPS: dict[str, tuple[float, tuple[_Band, ...]]] = {
    "alcohol": (1.0, (
        ("O-H stretch (H-bonded)", (3200, 3550), (180, 350), (0.4, 1.0), (0.2, 0.6)),
        ("O-H in-plane bend", (1330, 1420), (30, 60), (0.1, 0.3), (0.3, 0.8)),
        ("C-O stretch", (1000, 1260), (20, 45), (0.5, 1.0), (0.3, 0.8)),
    )),
    "amine": (0.7, (
        ("N-H stretch", (3300, 3500), (30, 80), (0.1, 0.4), (0.3, 0.8)),
        ("N-H bend", (1550, 1650), (20, 50), (0.2, 0.5), (0.3, 0.8)),
        ("C-N stretch", (1020, 1250), (15, 35), (0.1, 0.35), (0.3, 0.8)),
    )),
    "aliphatic C-H": (2.0, (
        ("C-H asym. stretch", (2915, 2970), (12, 28), (0.3, 0.8), (0.4, 0.9)),
        ("C-H sym. stretch", (2845, 2885), (10, 25), (0.2, 0.5), (0.4, 0.9)),
        ("CH2 scissor", (1445, 1475), (10, 25), (0.1, 0.4), (0.4, 0.9)),
        ("CH3 umbrella", (1365, 1385), (8, 20), (0.1, 0.3), (0.4, 0.9)),
    )),
    "aromatic": (0.8, (
        ("aromatic C-H stretch", (3000, 3100), (10, 25), (0.05, 0.2), (0.4, 0.9)),
        ("ring C=C stretch", (1580, 1610), (8, 20), (0.2, 0.5), (0.4, 0.9)),
        ("ring C=C stretch", (1480, 1520), (8, 20), (0.2, 0.5), (0.4, 0.9)),
        ("C-H out-of-plane bend", (690, 900), (10, 25), (0.3, 0.8), (0.4, 0.9)),
    )),
    "nitrile": (0.3, (
        ("C≡N stretch", (2210, 2260), (8, 20), (0.2, 0.6), (0.4, 0.9)),
    )),
    "ketone/aldehyde": (0.8, (
        ("C=O stretch", (1650, 1750), (15, 35), (0.7, 1.0), (0.4, 0.9)),
    )),
    "ester": (0.6, (
        ("C=O stretch (ester)", (1730, 1750), (15, 30), (0.7, 1.0), (0.4, 0.9)),
        ("C-O-C asym. stretch", (1150, 1250), (25, 50), (0.5, 0.9), (0.3, 0.8)),
    )),
    "carboxylic acid": (0.4, (
        ("O-H stretch (acid dimer)", (2900, 3100), (400, 600), (0.3, 0.6), (0.1, 0.4)),
        ("C=O stretch (acid)", (1700, 1725), (20, 35), (0.8, 1.0), (0.4, 0.9)),
        ("C-O stretch (acid)", (1210, 1320), (20, 40), (0.4, 0.7), (0.3, 0.8)),
    )),
    "alkene": (0.6, (
        ("=C-H stretch", (3010, 3095), (10, 25), (0.1, 0.3), (0.4, 0.9)),
        ("C=C stretch", (1600, 1680), (10, 25), (0.1, 0.4), (0.4, 0.9)),
        ("=C-H wag", (890, 995), (10, 25), (0.3, 0.7), (0.4, 0.9)),
    )),
    "ether": (0.6, (
        ("C-O-C stretch", (1050, 1150), (20, 40), (0.5, 1.0), (0.3, 0.8)),
    )),
}
#: Skeletal fingerprint bands added to every mid-IR molecule (count, range, FWHM, intensity).
MIR_FINGERPRINT = ((2, 7), (600.0, 1500.0), (8.0, 25.0), (0.05, 0.35))


@dataclass(frozen=True)
class NIRGroup:
    """An X–H oscillator seen in the NIR through its overtones and combinations.

    ``stretch`` is the observed fundamental (cm⁻¹); the harmonic wavenumber follows
    from ``ω = ν₁ / (1 − 2χ)``. ``bends`` are the deformation modes it combines with.
    ``width`` is the FWHM (cm⁻¹) of the first overtone; order n has ``width · n / 2``.
    ``cross`` is the relative lowering of a combination band by cross-anharmonicity.
    """

    name: str
    weight: float
    stretch: tuple[float, float]
    chi: tuple[float, float]
    bends: tuple[tuple[float, float], ...]
    width: tuple[float, float]
    eta: tuple[float, float] = (0.0, 0.5)
    cross: tuple[float, float] = (0.0, 0.015)


#: NIR groups (Workman & Weyer 2008). With these ranges the bands fall at:
#: C–H 2nd overtone ~1150–1250 nm, O–H/N–H 1st overtone ~1350–1550 nm, C–H 1st
#: overtone ~1650–1800 nm, water O–H combination ~1900–1970 nm, N–H/O–H combinations
#: ~2000–2200 nm, C–H combinations ~2250–2450 nm.
NIR_GROUPS: tuple[NIRGroup, ...] = (
    NIRGroup("methyl/methylene C-H", 2.0, (2850, 2965), (0.017, 0.021), ((1440, 1475), (1370, 1385)), (70, 140)),
    NIRGroup("aromatic C-H", 0.6, (3030, 3075), (0.017, 0.021), ((1480, 1610),), (60, 120)),
    NIRGroup("alkene C-H", 0.4, (3010, 3095), (0.017, 0.021), ((1400, 1420),), (60, 120)),
    NIRGroup("alcohol O-H", 1.0, (3450, 3650), (0.018, 0.022), ((1200, 1420),), (180, 320)),
    NIRGroup("water O-H", 0.8, (3450, 3550), (0.012, 0.016), ((1640, 1650),), (200, 350), cross=(0.0, 0.005)),
    NIRGroup("amine/amide N-H", 0.8, (3280, 3420), (0.015, 0.020), ((1530, 1650),), (120, 220)),
    NIRGroup("carbonyl C=O", 0.4, (1700, 1750), (0.005, 0.010), (), (60, 110)),
)
#: Relative peak intensity per overtone order n (2 = first overtone) and for combinations.
NIR_ORDER_INTENSITY = {2: (0.25, 0.45), 3: (0.04, 0.08), 4: (0.006, 0.012)}
NIR_COMBINATION_INTENSITY = (0.7, 1.0)


def overtone_wavenumber(fundamental: np.ndarray | float, chi: np.ndarray | float, n: int) -> np.ndarray:
    """Wavenumber (cm⁻¹) of the 0 → n transition of a Morse oscillator.

    ``fundamental`` is the observed 0 → 1 band; with ``ω = ν₁ / (1 − 2χ)`` the
    overtone lies at ``n ω (1 − (n + 1) χ)``.
    """
    fundamental = np.asarray(fundamental, dtype=float)
    chi = np.asarray(chi, dtype=float)
    omega = fundamental / (1.0 - 2.0 * chi)
    return n * omega * (1.0 - (n + 1) * chi)


# ---------------------------------------------------------------------- generation
def _uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(rng.uniform(bounds[0], bounds[1]))


def _pick_groups(rng: np.random.Generator, names: Sequence[str], weights: np.ndarray, n_groups: tuple[int, int]) -> list[int]:
    k = int(rng.integers(n_groups[0], n_groups[1] + 1))
    k = min(k, len(names))
    p = weights / weights.sum()
    return sorted(rng.choice(len(names), size=k, replace=False, p=p).tolist())


def _mir_molecule(rng: np.random.Generator, mol_id: int, n_groups: tuple[int, int]) -> Molecule:
    names = list(MIR_GROUPS)
    weights = np.array([MIR_GROUPS[n][0] for n in names])
    bands: list[tuple[str, float, float, float, float]] = []
    for g in _pick_groups(rng, names, weights, n_groups):
        abundance = _uniform(rng, (0.3, 1.0))  # how many such groups the molecule has
        for label, pos, width, inten, eta in MIR_GROUPS[names[g]][1]:
            bands.append((label, _uniform(rng, pos), _uniform(rng, width), abundance * _uniform(rng, inten), _uniform(rng, eta)))
    count, pos, width, inten = MIR_FINGERPRINT
    for _ in range(int(rng.integers(count[0], count[1] + 1))):
        bands.append(("skeletal", _uniform(rng, pos), _uniform(rng, width), _uniform(rng, inten), _uniform(rng, (0.4, 0.9))))
    return _molecule(mol_id, "mir", bands)


def _nir_molecule(rng: np.random.Generator, mol_id: int, n_groups: tuple[int, int]) -> Molecule:
    names = [g.name for g in NIR_GROUPS]
    weights = np.array([g.weight for g in NIR_GROUPS])
    bands: list[tuple[str, float, float, float, float]] = []
    for gi in _pick_groups(rng, names, weights, n_groups):
        group = NIR_GROUPS[gi]
        # one to three chemically distinct environments of the same oscillator
        for _ in range(int(rng.integers(1, 4))):
            nu1 = _uniform(rng, group.stretch)
            chi = _uniform(rng, group.chi)
            w0 = _uniform(rng, group.width)
            abundance = _uniform(rng, (0.2, 1.0))
            orders = (2, 3, 4) if group.name != "carbonyl C=O" else (3,)
            for n in orders:
                lo, hi = NIR_ORDER_INTENSITY[n]
                scale = 0.3 if group.name == "carbonyl C=O" else 1.0
                bands.append((
                    f"{group.name} {('1st', '2nd', '3rd')[n - 2]} overtone",
                    float(overtone_wavenumber(nu1, chi, n)),
                    w0 * n / 2.0,
                    scale * abundance * _uniform(rng, (lo, hi)),
                    _uniform(rng, group.eta),
                ))
            for bend in group.bends:
                nu_b = _uniform(rng, bend)
                # cross-anharmonicity lowers a combination band by up to ~1.5 %
                nu_comb = (nu1 + nu_b) * (1.0 - _uniform(rng, group.cross))
                bands.append((
                    f"{group.name} combination",
                    nu_comb,
                    w0 * _uniform(rng, (0.9, 1.3)),
                    abundance * _uniform(rng, NIR_COMBINATION_INTENSITY) / len(group.bends),
                    _uniform(rng, group.eta),
                ))
    return _molecule(mol_id, "nir", bands)


def _molecule(mol_id: int, region: str, bands: list[tuple[str, float, float, float, float]]) -> Molecule:
    labels, c, w, a, e = zip(*bands)
    return Molecule(id=mol_id, region=region, centres=np.array(c), widths=np.array(w),
                    intensities=np.array(a), eta=np.array(e), labels=tuple(labels))


def generate_molecules(
    n: int,
    seed: int = 0,
    region: str = "nir",
    *,
    start: int = 0,
    n_groups: tuple[int, int] = (2, 5),
) -> list[Molecule]:
    """Draw ``n`` synthetic molecules with ids ``start, …, start + n − 1``.

    Each molecule picks ``n_groups`` (inclusive range) distinct functional groups,
    weighted by how common they are, and draws every band parameter inside the
    group's range. Molecule ``i`` depends only on ``(seed, i)``.
    """
    region = _check_region(region)
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    if start < 0:
        raise ValueError(f"start must be >= 0, got {start}")
    lo, hi = n_groups
    if not (1 <= lo <= hi):
        raise ValueError(f"n_groups must be a range (lo, hi) with 1 <= lo <= hi, got {n_groups}")
    make = _nir_molecule if region == "nir" else _mir_molecule
    return [make(np.random.default_rng([int(seed), int(start + i)]), int(start + i), (lo, hi)) for i in range(int(n))]


# ------------------------------------------------------------------------ rendering
def render(
    molecules: Sequence[Molecule] | BandTable | Molecule,
    axis: np.ndarray,
    unit: str = "nm",
    *,
    max_block: int = 4_000_000,
) -> np.ndarray:
    """Absorbance spectra (n_molecules, n_channels) of unit-concentration molecules.

    Profiles are evaluated in wavenumber at every channel, so the maximum of a band
    sits at the channel nearest its centre on either axis unit. Work is done in
    blocks of at most ``max_block`` band × channel values to bound memory.
    """
    if isinstance(molecules, Molecule):
        molecules = [molecules]
    table = molecules if isinstance(molecules, BandTable) else BandTable.from_molecules(molecules)
    nu = axis_to_wavenumber(axis, unit)  # (C,)
    n, k = table.centres.shape
    out = np.empty((n, nu.size))
    rows = max(1, int(max_block // max(1, k * nu.size)))
    for s in range(0, n, rows):
        sl = slice(s, s + rows)
        c = table.centres[sl, :, None]  # (b, K, 1)
        hw = 0.5 * table.widths[sl, :, None]
        d2 = ((nu[None, None, :] - c) / hw) ** 2  # (b, K, C)
        eta = table.eta[sl, :, None]
        profile = eta / (1.0 + d2) + (1.0 - eta) * np.exp(-_LN2 * d2)
        out[sl] = np.einsum("bk,bkc->bc", table.intensities[sl], profile)
    return out


def mixtures(
    n: int,
    components: Sequence[Molecule] | int,
    seed: int = 0,
    *,
    axis: np.ndarray | None = None,
    unit: str | None = None,
    region: str = "nir",
    concentration_range: tuple[float, float] = (0.0, 1.0),
) -> tuple[np.ndarray, np.ndarray]:
    """Spectra of ``n`` mixtures of ``components`` with known concentrations.

    Beer–Lambert: absorbance is the concentration-weighted sum of the pure-component
    spectra, ``A = C · S`` (path length folded into the concentrations), so property
    regression on synthetic data has an exact linear answer. ``components`` is a list
    of molecules or a number of molecules to draw (from ``region``). The axis defaults
    to the components' region's :func:`default_axis`.

    Returns ``(spectra (n, C), concentrations (n, n_components))``.
    """
    if isinstance(components, (int, np.integer)):
        components = generate_molecules(int(components), seed=seed, region=region, start=0)
    components = list(components)
    if not components:
        raise ValueError("no mixture components given")
    if int(n) != n or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    lo, hi = concentration_range
    if not (0 <= lo < hi):
        raise ValueError(f"concentration_range must satisfy 0 <= lo < hi, got {concentration_range}")
    region = components[0].region
    if axis is None:
        unit = default_unit(region) if unit is None else normalise_unit(unit)
        axis = default_axis(region, unit)
    elif unit is None:
        raise ValueError("give the unit of the axis ('nm' or 'cm-1')")
    pure = render(components, axis, unit)  # (q, C)
    rng = np.random.default_rng([int(seed), 0x6D6978])  # separate stream from the molecules
    conc = rng.uniform(lo, hi, size=(int(n), len(components)))
    return conc @ pure, conc
