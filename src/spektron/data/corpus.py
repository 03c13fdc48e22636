"""Pretraining batches: clean spectra seen through simulated instruments.

The corpus holds a **fixed, finite pool** of clean spectra per source — by default
2,000 synthetic molecules (:mod:`spektron.data.synthetic`), optionally real pool
files or a QM9S subset — and builds every batch by drawing rows, drawing an
instrument per row, and passing each row through that instrument with fresh noise.
A finite pool re-seen under many instruments and noise draws is what lets the
encoder learn *identity* (the same molecule across instruments) rather than just
marginal spectral statistics; the instrument is the only thing that varies
between two views of a molecule.

Batches are pure functions of ``(seed, rank, step)`` (:meth:`PretrainCorpus.batch`),
so a resumed or multi-worker run sees exactly the batches an uninterrupted one
would: resuming at step k means iterating from ``start_step=k``.

With ``paired=True`` a batch holds B/2 molecules, each seen through **two
different** instruments (rows ``i`` and ``i + B/2`` are the same molecule): the
positive pairs of SPEC section 4, for a cross-instrument pairing loss on the
chemistry latent.

Every batch comes from one source and carries that source's axis, converted to
wavenumber and ascending (``1e7 / nm``, channels reversed), which is what the model
expects::

    {"x": float32 (B, C), "axis": float32 (C,) cm⁻¹,
     "instrument": int64 (B,), "molecule": int64 (B,)}

``molecule`` is a global id: source ``s``'s row ``r`` has id ``offset_s + r``.
Each source is divided by one scalar (the standard deviation of its clean pool),
so sources with very different absorbance scales train together while gain,
baseline and offset — instrument signatures — survive.
"""

from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from spektron.data.instruments import SimulatedInstrument, apply_instruments, draw_instruments
from spektron.data.spectra import SpectralData
from spektron.data.synthetic import default_axis, default_unit, generate_molecules, render

#: Molecule ids of held-out sets start here, so they never meet a training pool's ids.
HELD_OUT_START = 1_000_000


def synthetic_pool(
    n_molecules: int = 2000,
    region: str = "nir",
    seed: int = 0,
    *,
    axis: np.ndarray | None = None,
    unit: str | None = None,
    start: int = 0,
) -> SpectralData:
    """Clean spectra of ``n_molecules`` synthetic molecules as one :class:`SpectralData`."""
    unit = default_unit(region) if unit is None else unit
    axis = default_axis(region, unit) if axis is None else np.asarray(axis, dtype=float)
    molecules = generate_molecules(n_molecules, seed=seed, region=region, start=start)
    X = render(molecules, axis, unit)
    return SpectralData(X=X, axis=axis, unit=unit, sample_ids=[str(m.id) for m in molecules],
                        instrument=f"synthetic-{region}")


def _as_wavenumber(data: SpectralData) -> tuple[np.ndarray, np.ndarray]:
    """(X, axis) in ascending cm⁻¹."""
    d = data.to_unit("cm-1")
    X, axis = (d.X[:, ::-1], d.axis[::-1]) if d.axis[0] > d.axis[-1] else (d.X, d.axis)
    return np.ascontiguousarray(X), np.ascontiguousarray(axis)


def _check_instruments(instruments: Sequence[SimulatedInstrument] | int, seed: int) -> list[SimulatedInstrument]:
    if isinstance(instruments, (int, np.integer)):
        return draw_instruments(int(instruments), seed=seed)
    instruments = list(instruments)
    if not instruments:
        raise ValueError("at least one instrument is needed")
    if not all(isinstance(i, SimulatedInstrument) for i in instruments):
        raise ValueError("instruments must be SimulatedInstrument objects (or a number to draw)")
    return instruments


class PretrainCorpus(IterableDataset):
    """Infinite (or ``n_batches``-long) stream of pretraining batches.

    Parameters
    ----------
    sources : sequence of SpectralData
        Clean spectra; each source keeps its own axis.
    instruments : list of SimulatedInstrument, or int
        The simulated instruments (an int draws that many with ``seed``).
    batch_size : int
    seed : int
    weights : sequence of float, optional
        Probability of drawing a batch from each source (default: proportional to
        the number of spectra).
    standardise : bool
        Divide each source by the standard deviation of its clean pool.
    rank : int
        Process rank under data parallelism; each rank gets its own batch stream.
    paired : bool
        Draw batches of ``batch_size // 2`` molecules × 2 distinct instruments
        (an odd batch size gets one unpaired extra row) instead of independent rows.
    start_step, n_batches : int
        Iterate batches ``start_step, start_step + 1, …`` (``n_batches`` of them,
        or forever when None). Use with ``DataLoader(corpus, batch_size=None)``.
    """

    def __init__(
        self,
        sources: Sequence[SpectralData],
        instruments: Sequence[SimulatedInstrument] | int = 4,
        batch_size: int = 64,
        seed: int = 0,
        *,
        weights: Sequence[float] | None = None,
        standardise: bool = True,
        rank: int = 0,
        start_step: int = 0,
        n_batches: int | None = None,
        paired: bool = False,
    ) -> None:
        super().__init__()
        sources = list(sources)
        if not sources or not all(isinstance(s, SpectralData) for s in sources):
            raise ValueError("sources must be a non-empty list of SpectralData")
        if int(batch_size) != batch_size or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if rank < 0 or start_step < 0:
            raise ValueError("rank and start_step must be >= 0")
        if n_batches is not None and n_batches < 0:
            raise ValueError(f"n_batches must be >= 0, got {n_batches}")
        self.instruments = _check_instruments(instruments, seed)
        if paired and (len(self.instruments) < 2 or batch_size < 2):
            raise ValueError("paired batches need at least 2 instruments and batch_size >= 2")
        self.paired = bool(paired)
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.rank = int(rank)
        self.start_step = int(start_step)
        self.n_batches = n_batches
        self.names = [s.instrument or f"source{i}" for i, s in enumerate(sources)]
        self._X: list[np.ndarray] = []
        self._axes: list[np.ndarray] = []
        self._axes_t: list[torch.Tensor] = []
        self.offsets: list[int] = []
        self.scales: list[float] = []
        offset = 0
        for s in sources:
            X, axis = _as_wavenumber(s)
            scale = float(X.std()) if standardise else 1.0
            scale = scale if scale > 0 else 1.0
            self._X.append(np.ascontiguousarray(X / scale, dtype=np.float32))
            self._axes.append(axis)
            self._axes_t.append(torch.as_tensor(axis, dtype=torch.float32))
            self.scales.append(scale)
            self.offsets.append(offset)
            offset += s.n_samples
        self.n_molecules = offset
        sizes = np.array([x.shape[0] for x in self._X], dtype=float)
        w = sizes if weights is None else np.asarray(weights, dtype=float)
        if w.shape != sizes.shape or np.any(w < 0) or not np.isfinite(w).all() or w.sum() <= 0:
            raise ValueError(f"weights must be {sizes.size} non-negative numbers with a positive sum")
        self.weights = w / w.sum()
        self._synthetic: dict | None = None

    @classmethod
    def from_synthetic(
        cls,
        n_molecules: int = 2000,
        instruments: Sequence[SimulatedInstrument] | int = 4,
        region: str = "nir",
        seed: int = 0,
        batch_size: int = 64,
        *,
        axis: np.ndarray | None = None,
        unit: str | None = None,
        strength: float = 1.0,
        extra_sources: Sequence[SpectralData] = (),
        **kwargs,
    ) -> "PretrainCorpus":
        """A corpus on the built-in generator (plus optional real/QM9S ``extra_sources``).

        The synthetic pool holds ``n_molecules`` molecules (ids 0 … n − 1) rendered once
        on ``axis`` (default: the region's :func:`default_axis`). ``strength`` scales the
        instruments' distortions when ``instruments`` is a number to draw. Other keyword
        arguments go to the constructor (``rank``, ``start_step``, ``n_batches``, …).
        """
        unit = default_unit(region) if unit is None else unit
        axis = default_axis(region, unit) if axis is None else np.asarray(axis, dtype=float)
        if isinstance(instruments, (int, np.integer)):
            instruments = draw_instruments(int(instruments), seed=seed, strength=strength)
        pool = synthetic_pool(n_molecules, region, seed, axis=axis, unit=unit)
        corpus = cls([pool, *extra_sources], instruments, batch_size, seed, **kwargs)
        corpus._synthetic = {"region": region, "axis": axis, "unit": unit, "scale": corpus.scales[0]}
        return corpus

    # ----------------------------------------------------------------- batches
    @property
    def n_instruments(self) -> int:
        return len(self.instruments)

    def batch(self, step: int) -> dict[str, torch.Tensor]:
        """Batch number ``step`` of this rank (a pure function of seed, rank and step)."""
        rng = np.random.default_rng([self.seed, self.rank, int(step)])
        s = int(rng.choice(len(self._X), p=self.weights)) if len(self._X) > 1 else 0
        X = self._X[s]
        if self.paired:
            rows, inst = self._paired_draw(rng, X.shape[0])
        else:
            rows = rng.integers(0, X.shape[0], size=self.batch_size)
            inst = rng.integers(0, self.n_instruments, size=self.batch_size)
        x = apply_instruments(X[rows], inst, self.instruments, self._axes[s], "cm-1", rng)
        return {
            "x": torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)),
            "axis": self._axes_t[s],
            "instrument": torch.from_numpy(inst.astype(np.int64)),
            "molecule": torch.from_numpy((rows + self.offsets[s]).astype(np.int64)),
        }

    def _paired_draw(self, rng: np.random.Generator, n_rows: int) -> tuple[np.ndarray, np.ndarray]:
        """B/2 distinct molecules (when the pool allows), each through two different instruments."""
        half = self.batch_size // 2
        rows = rng.choice(n_rows, size=half, replace=half > n_rows)
        first = rng.integers(0, self.n_instruments, size=half)
        second = (first + rng.integers(1, self.n_instruments, size=half)) % self.n_instruments
        rows, inst = np.concatenate([rows, rows]), np.concatenate([first, second])
        if self.batch_size % 2:
            rows = np.append(rows, rng.integers(0, n_rows))
            inst = np.append(inst, rng.integers(0, self.n_instruments))
        return rows, inst

    def __iter__(self) -> Iterator[dict[str, torch.Tensor]]:
        info = get_worker_info()
        worker, n_workers = (0, 1) if info is None else (info.id, info.num_workers)
        step = self.start_step + worker
        end = None if self.n_batches is None else self.start_step + self.n_batches
        while end is None or step < end:
            yield self.batch(step)
            step += n_workers

    def __len__(self) -> int:
        if self.n_batches is None:
            raise TypeError("an unbounded PretrainCorpus has no length (set n_batches)")
        return int(self.n_batches)

    def paired_views(self, n_molecules: int = 256, seed: int | None = None) -> dict[str, torch.Tensor]:
        """Held-out synthetic molecules through every instrument of this corpus
        (same region, axis and scale as its synthetic pool)."""
        if self._synthetic is None:
            raise ValueError("this corpus was not built by from_synthetic; call paired_views() with a source")
        cfg = self._synthetic
        return paired_views(n_molecules, self.instruments, self.seed if seed is None else seed,
                            region=cfg["region"], axis=cfg["axis"], unit=cfg["unit"], scale=cfg["scale"])


def paired_views(
    n_molecules: int,
    instruments: Sequence[SimulatedInstrument],
    seed: int = 0,
    *,
    region: str = "nir",
    axis: np.ndarray | None = None,
    unit: str | None = None,
    source: SpectralData | None = None,
    scale: float | None = None,
    start: int = HELD_OUT_START,
) -> dict[str, torch.Tensor]:
    """A deterministic held-out set: every molecule seen through EVERY instrument.

    Molecules are synthetic with ids ``start, start + 1, …`` (never in a training
    pool, whose ids start at 0), or the first ``n_molecules`` rows of ``source``.
    Rows are instrument-major: row ``i * n_molecules + j`` is molecule ``j`` through
    instrument ``i``, so ``x.view(n_instruments, n_molecules, C)`` lines the views
    up. ``scale`` divides the clean spectra (default: their own standard deviation;
    pass the training corpus's scale to match it).

    Returns ``{"x", "axis" (cm⁻¹, ascending), "instrument", "molecule"}`` as in a batch.
    """
    instruments = list(instruments)
    if not instruments:
        raise ValueError("at least one instrument is needed")
    if int(n_molecules) != n_molecules or n_molecules < 1:
        raise ValueError(f"n_molecules must be a positive integer, got {n_molecules!r}")
    if source is None:
        source = synthetic_pool(int(n_molecules), region, seed, axis=axis, unit=unit, start=start)
        ids = np.arange(start, start + int(n_molecules))
    else:
        if source.n_samples < n_molecules:
            raise ValueError(f"source has {source.n_samples} spectra, fewer than n_molecules={n_molecules}")
        source = source.select(np.arange(int(n_molecules)))
        ids = np.arange(int(n_molecules))
    X, ax = _as_wavenumber(source)
    if scale is None:
        scale = float(X.std()) or 1.0
    X = (X / scale).astype(np.float32)
    rng = np.random.default_rng([int(seed), 0x68656C64])
    n_inst = len(instruments)
    inst = np.repeat(np.arange(n_inst), X.shape[0])
    x = apply_instruments(np.tile(X, (n_inst, 1)), inst, instruments, ax, "cm-1", rng)
    return {
        "x": torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32)),
        "axis": torch.as_tensor(ax, dtype=torch.float32),
        "instrument": torch.from_numpy(inst.astype(np.int64)),
        "molecule": torch.from_numpy(np.tile(ids, n_inst).astype(np.int64)),
    }
