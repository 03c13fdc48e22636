"""Pretraining corpus: batch format, determinism, held-out paired views."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from spektron.data.corpus import HELD_OUT_START, PretrainCorpus, paired_views, synthetic_pool
from spektron.data.instruments import draw_instruments
from spektron.data.spectra import SpectralData
from spektron.data.synthetic import default_axis


@pytest.fixture(scope="module")
def corpus():
    return PretrainCorpus.from_synthetic(n_molecules=40, instruments=4, seed=0, batch_size=16)


def test_batch_shapes_and_dtypes(corpus):
    b = corpus.batch(0)
    assert set(b) == {"x", "axis", "instrument", "molecule"}
    assert b["x"].shape == (16, 700) and b["x"].dtype == torch.float32
    assert b["axis"].shape == (700,) and b["axis"].dtype == torch.float32
    assert b["instrument"].dtype == torch.int64 and b["molecule"].dtype == torch.int64
    # the model axis is in wavenumber, ascending: 1e7 / (2498 … 1100 nm)
    np.testing.assert_allclose(b["axis"].numpy(), np.sort(1e7 / default_axis("nir")), rtol=1e-6)
    assert b["instrument"].min() >= 0 and b["instrument"].max() < 4
    assert b["molecule"].min() >= 0 and b["molecule"].max() < 40
    assert torch.isfinite(b["x"]).all()


def test_batches_are_deterministic_functions_of_seed_rank_and_step(corpus):
    twin = PretrainCorpus.from_synthetic(n_molecules=40, instruments=4, seed=0, batch_size=16)
    for step in (0, 5):
        a, b = corpus.batch(step), twin.batch(step)
        assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(corpus.batch(0)["x"], corpus.batch(1)["x"])
    other_rank = PretrainCorpus.from_synthetic(n_molecules=40, instruments=4, seed=0, batch_size=16, rank=1)
    assert not torch.equal(other_rank.batch(0)["molecule"], corpus.batch(0)["molecule"])
    other_seed = PretrainCorpus.from_synthetic(n_molecules=40, instruments=4, seed=1, batch_size=16)
    assert not torch.equal(other_seed.batch(0)["x"], corpus.batch(0)["x"])


def test_iteration_resumes_at_start_step_and_workers_keep_the_order():
    kw = dict(n_molecules=20, instruments=2, seed=3, batch_size=8)
    full = list(PretrainCorpus.from_synthetic(**kw, n_batches=6))
    resumed = list(PretrainCorpus.from_synthetic(**kw, start_step=4, n_batches=2))
    assert len(full) == 6
    assert all(torch.equal(full[4 + i]["x"], r["x"]) for i, r in enumerate(resumed))
    loader = DataLoader(PretrainCorpus.from_synthetic(**kw, n_batches=6), batch_size=None, num_workers=2)
    via_workers = list(loader)
    assert all(torch.equal(a["x"], b["x"]) and torch.equal(a["molecule"], b["molecule"])
               for a, b in zip(full, via_workers))


def test_same_molecule_same_instrument_differs_only_by_noise(corpus):
    x = corpus._X[0][:1]
    inst = corpus.instruments[0]
    axis = corpus._axes[0]
    v1 = inst.apply(x, axis, "cm-1", rng=1)
    v2 = inst.apply(x, axis, "cm-1", rng=2)
    other = corpus.instruments[1].apply(x, axis, "cm-1", rng=1)
    assert np.abs(v1 - v2).max() < np.abs(v1 - other).max()


def test_paired_views_show_every_molecule_through_every_instrument(corpus):
    views = corpus.paired_views(10)
    n_inst = corpus.n_instruments
    assert views["x"].shape == (10 * n_inst, 700)
    assert torch.equal(views["instrument"], torch.arange(n_inst).repeat_interleave(10))
    assert torch.equal(views["molecule"], torch.arange(HELD_OUT_START, HELD_OUT_START + 10).repeat(n_inst))
    again = corpus.paired_views(10)
    assert torch.equal(views["x"], again["x"])
    # held-out molecules are not the training molecules
    train_ids = {int(m) for step in range(5) for m in corpus.batch(step)["molecule"]}
    assert train_ids.isdisjoint(views["molecule"].tolist())
    # the views of one molecule agree far better with each other than with other molecules
    x = views["x"].view(n_inst, 10, -1)
    same = (x[0] - x[1]).norm(dim=-1).mean()
    different = (x[0] - x[1].roll(1, dims=0)).norm(dim=-1).mean()
    assert same < 0.5 * different


def test_paired_views_from_a_given_source():
    src = synthetic_pool(6, "mir", seed=2)
    insts = draw_instruments(3, seed=0)
    views = paired_views(4, insts, seed=0, source=src)
    assert views["x"].shape == (12, src.n_channels)
    np.testing.assert_allclose(views["axis"].numpy(), src.axis, rtol=1e-6)
    with pytest.raises(ValueError, match="fewer than"):
        paired_views(10, insts, source=src)


def test_sources_with_their_own_axes_and_global_molecule_ids():
    nir = synthetic_pool(10, "nir", seed=0)
    mir_axis = np.arange(800.0, 1900.0, 4.0)
    mir = SpectralData(X=np.random.default_rng(0).random((5, mir_axis.size)) * 40.0, axis=mir_axis,
                       unit="cm-1", instrument="real_mir")
    corpus = PretrainCorpus([nir, mir], instruments=2, seed=0, batch_size=8, weights=[0.5, 0.5])
    assert corpus.offsets == [0, 10] and corpus.n_molecules == 15
    seen = set()
    for step in range(20):
        b = corpus.batch(step)
        if b["x"].shape[1] == mir_axis.size:
            np.testing.assert_allclose(b["axis"].numpy(), mir_axis, rtol=1e-6)
            assert b["molecule"].min() >= 10
            seen.add("mir")
        else:
            assert b["molecule"].max() < 10
            seen.add("nir")
    assert seen == {"nir", "mir"}
    # each source is brought to unit scale, so very different absorbances train together
    assert corpus._X[1].std() == pytest.approx(1.0, rel=1e-5)


def test_bad_arguments():
    pool = synthetic_pool(5)
    with pytest.raises(ValueError, match="batch_size"):
        PretrainCorpus([pool], batch_size=0)
    with pytest.raises(ValueError, match="weights"):
        PretrainCorpus([pool], weights=[1.0, 2.0])
    with pytest.raises(ValueError, match="sources"):
        PretrainCorpus([])
    with pytest.raises(ValueError, match="instrument"):
        PretrainCorpus([pool], instruments=[])
    with pytest.raises(TypeError, match="length"):
        len(PretrainCorpus([pool]))


def test_paired_batches_hold_each_molecule_through_two_different_instruments():
    corpus = PretrainCorpus.from_synthetic(40, 4, region="mir", seed=1, batch_size=10, paired=True)
    batch = corpus.batch(3)
    mol, inst = batch["molecule"].numpy(), batch["instrument"].numpy()
    np.testing.assert_array_equal(mol[:5], mol[5:])
    assert len(np.unique(mol[:5])) == 5
    assert (inst[:5] != inst[5:]).all()
    np.testing.assert_array_equal(corpus.batch(3)["x"].numpy(), batch["x"].numpy())  # still deterministic
    odd = PretrainCorpus.from_synthetic(40, 4, region="mir", seed=1, batch_size=7, paired=True).batch(0)
    assert odd["x"].shape[0] == 7 and len(set(odd["molecule"][:3].tolist())) == 3
    with pytest.raises(ValueError, match="paired"):
        PretrainCorpus.from_synthetic(10, 1, region="mir", seed=1, batch_size=4, paired=True)
