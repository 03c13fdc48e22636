"""The transfer model file: loading runs no code from it (spektron.transfer.model_file)."""

from __future__ import annotations

import hashlib
import json
import os
import pickle

import numpy as np
import pytest
from typer.testing import CliRunner

from spektron._version import __version__
from spektron.cli.main import app
from spektron.transfer.model_file import FORMAT, MAGIC, disallowed_types
from spektron.transfer.saved import TransferModel, fit_transfer_model, load_model

from instrument_pair import AXIS, synthetic_pair

#: Every method ``--save`` accepts that needs no pretrained encoder (the deep ones: further below).
SAVABLE = ("none", "meancorr", "ds", "pds", "sst", "sbc", "augment", "dipls", "pynir-pfce-ss", "pynir-pfce-ns",
           "pynir-pfce-fs", "pycaltransfer-ds", "pycaltransfer-epo", "skada-coral", "skada-linot", "skada-sa",
           "spektron", "spektron-nottt", "spektron-single", "spektron-auto")


def _fit(method: str) -> tuple[TransferModel, np.ndarray]:
    X, T, y = synthetic_pair(n=36)
    model = fit_transfer_model(method, X[:30], y[:30], axis=AXIS, unit="nm", property_name="y",
                               pairs=(X[:5], T[:5], y[:5]), target_unlabelled=T[30:])
    return model, T[30:]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    model, Xt = _fit("spektron")
    path = model.save(tmp_path_factory.mktemp("model") / "m.spk")
    return model, Xt, path


def _payload(path) -> tuple[dict, bytes]:
    raw = path.read_bytes()
    assert raw.startswith(MAGIC)
    line, payload = raw[len(MAGIC):].split(b"\n", 1)
    return json.loads(line), payload


def _write(path, header: dict, payload: bytes):
    path.write_bytes(MAGIC + json.dumps(header).encode() + b"\n" + payload)
    return path


@pytest.mark.parametrize("method", SAVABLE)
def test_every_savable_method_round_trips_to_1e_12(method, tmp_path):
    model, Xt = _fit(method)
    loaded = load_model(model.save(tmp_path / "m.spk"))
    np.testing.assert_allclose(loaded.predict(Xt), model.predict(Xt), rtol=0, atol=1e-12)
    assert loaded.method == model.method and loaded.property_name == "y"
    assert [np.asarray(a).tolist() for a in loaded.flags(Xt)] == [np.asarray(a).tolist() for a in model.flags(Xt)]


def test_the_header_names_what_the_file_holds(saved):
    model, _, path = saved
    header, payload = _payload(path)
    assert header["format"] == FORMAT and header["version"] == 2 and header["spektron_version"] == __version__
    assert header["method"] == "spektron" and header["property"] == "y" and header["payload"] == "skops"
    assert header["size"] == len(payload) and header["sha256"] == hashlib.sha256(payload).hexdigest()
    assert disallowed_types(payload) == []


def test_a_pickle_that_would_run_code_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return os.system, (f"touch {marker}",)

    evil = tmp_path / "evil.spk"
    evil.write_bytes(pickle.dumps({"format": FORMAT, "version": 1, "model": Evil()}))
    res = CliRunner().invoke(app, ["predict", "--model", str(evil), "--spectra", str(evil), "--out",
                                   str(tmp_path / "p.csv")])
    assert res.exit_code == 2 and "is a pickle" in res.output and "--trust-pickle" in res.output
    with pytest.raises(ValueError, match="loading it can run any code it holds"):
        load_model(evil)
    assert not marker.exists() and not (tmp_path / "p.csv").exists()


def test_an_old_pickle_loads_only_when_trusted(saved, tmp_path):
    model, Xt, _ = saved
    old = tmp_path / "old.spk"
    old.write_bytes(pickle.dumps({"format": FORMAT, "version": 1, "model": model}))
    with pytest.raises(ValueError, match="is a pickle"):
        load_model(old)
    with pytest.warns(UserWarning, match="loading a pickle"):
        loaded = load_model(old, trust_pickle=True)
    np.testing.assert_array_equal(loaded.predict(Xt), model.predict(Xt))
    from spektron.data.readers import write_csv
    from spektron.data.spectra import SpectralData

    write_csv(SpectralData(Xt, AXIS, "nm", sample_ids=[f"s{i}" for i in range(len(Xt))]), tmp_path / "new.csv")
    res = CliRunner().invoke(app, ["predict", "--model", str(old), "--spectra", str(tmp_path / "new.csv"),
                                   "--out", str(tmp_path / "p.csv"), "--trust-pickle"])
    assert res.exit_code == 0, res.output
    assert f"warning: {old}: loading a pickle, which runs any code it holds (trusted on request)" in res.output
    assert (tmp_path / "p.csv").exists()


def test_a_file_naming_a_type_outside_the_allow_list_is_refused_before_anything_is_built(saved, tmp_path):
    import skops.io as sio

    model, _, path = saved
    header, _ = _payload(path)
    # a model whose summary smuggles a reference to os.system: skops stores it by name
    model.summary["hook"] = os.system
    try:
        payload = sio.dumps(model)
    finally:
        del model.summary["hook"]
    assert any("system" in t for t in disallowed_types(payload))
    bad = _write(tmp_path / "bad.spk", dict(header, size=len(payload), sha256=hashlib.sha256(payload).hexdigest()),
                 payload)
    with pytest.raises(ValueError, match=r"names types outside those a transfer model may hold \(.*system"):
        load_model(bad)
    res = CliRunner().invoke(app, ["predict", "--model", str(bad), "--spectra", str(bad), "--out",
                                   str(tmp_path / "p.csv")])
    assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1 and "refused" in res.output
    # and saving such a model is refused too, by method name
    model.summary["hook"] = os.system
    try:
        with pytest.raises(ValueError, match="method 'spektron' cannot be saved as a transfer model file: it holds"):
            model.save(tmp_path / "never.spk")
    finally:
        del model.summary["hook"]
    assert not (tmp_path / "never.spk").exists()


def test_altered_truncated_or_newer_files_are_refused_in_one_line(saved, tmp_path):
    _, _, path = saved
    header, payload = _payload(path)
    flipped = bytearray(payload)
    flipped[len(flipped) // 2] ^= 0xFF
    cases = {
        "altered": (header, bytes(flipped), "SHA-256 differs"),
        "truncated": (header, payload[:-10], "truncated or altered"),
        "newer format": (dict(header, version=3), payload, "format version 3"),
        "newer spektron": (dict(header, spektron_version="99.0"), payload, "written by Spektron 99.0, newer"),
        "other format": (dict(header, format="something-else"), payload, "is not a Spektron transfer model"),
    }
    for name, (head, body, message) in cases.items():
        with pytest.raises(ValueError, match=message):
            load_model(_write(tmp_path / f"{name}.spk", head, body))
    (tmp_path / "header.spk").write_bytes(MAGIC + b"{not json")
    with pytest.raises(ValueError, match="header is truncated"):
        load_model(tmp_path / "header.spk")
    (tmp_path / "text.spk").write_text("not a model")
    with pytest.raises(ValueError, match="is not a Spektron transfer model"):
        load_model(tmp_path / "text.spk")


@pytest.mark.parametrize("method", ["spektron-deep", "dann", "lora", "spektron-codes"])
def test_the_deep_pipeline_round_trips_its_network_as_weights(method, tmp_path):
    """The deep methods keep their network as a configuration and a state dict (read back by
    torch's weights-only loader), so they travel in the safe file too (the other deep variants,
    checked once by hand on 2026-12-08, hold the same estimator)."""
    X, T, y = synthetic_pair(n=36)
    model = fit_transfer_model(method, X[:30], y[:30], axis=AXIS, unit="nm", property_name="y",
                               pairs=(X[:5], T[:5], y[:5]), target_unlabelled=T[30:],
                               params={"steps": 3, "ttt_steps": 1, "num_threads": 1})
    loaded = load_model(model.save(tmp_path / "deep.spk"))
    np.testing.assert_allclose(loaded.predict(T[30:]), model.predict(T[30:]), rtol=0, atol=1e-12)


def test_a_bare_object_outside_the_allow_list_is_refused_by_method_name(saved, tmp_path):
    import torch

    model, _, _ = saved
    deep = TransferModel(method="spektron-deep", params={}, strategy=torch.nn.Linear(2, 1), axis=model.axis,
                         unit=model.unit, property_name="y", domain=model.domain, domain_shift=model.domain_shift)
    with pytest.raises(ValueError, match="method 'spektron-deep' cannot be saved as a transfer model file"):
        deep.save(tmp_path / "deep.spk")
    assert not (tmp_path / "deep.spk").exists()
