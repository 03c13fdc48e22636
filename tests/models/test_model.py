"""SpektronModel: config, encode/forward contract, gradients, parameter groups, save/load."""

from __future__ import annotations

import os

import pytest
import torch
from torch import nn

from spektron.models import SpektronConfig, SpektronModel, load_model, save_model
from spektron.models.patch_embedding import patchify, standardise
from spektron.training.objective import PretrainingObjective

AXIS = torch.linspace(4000.0, 10000.0, 700)


def _small(**changes) -> SpektronConfig:
    values = dict(d_model=32, n_layers=2, state_size=8, z_chem_dim=8, z_inst_dim=4, moe_every=1,
                  classifier_hidden=16, n_frequencies=8, dropout=0.0)
    values.update(changes)
    return SpektronConfig(**values)


def _spectra(n: int, c: int = 700, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, c, generator=g).cumsum(dim=1) * 0.01 + 0.5


# ------------------------------------------------------------------ config
def test_config_round_trip_and_unknown_key():
    cfg = SpektronConfig(d_model=64, beta_schedule="cyclical")
    assert SpektronConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="'d_modle'"):
        SpektronConfig.from_dict({**cfg.to_dict(), "d_modle": 3})


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"mask_ratio": 0.0}, "mask_ratio"),
        ({"mask_ratio": 1.0}, "mask_ratio"),
        ({"moe_top_k": 5}, "moe_top_k"),
        ({"beta_schedule": "linear"}, "beta_schedule"),
        ({"d_model": 0}, "d_model"),
        ({"dropout": 1.0}, "dropout"),
        ({"logvar_min": 5.0}, "logvar_min"),
        ({"lambda_adv": -1.0}, "lambda_adv"),
        ({"dt_min": 0.0}, "dt_min"),
    ],
)
def test_config_rejects_bad_values(changes, field):
    with pytest.raises(ValueError, match=field):
        SpektronConfig(**changes)


def test_config_defaults_follow_spec():
    cfg = SpektronConfig()
    assert (cfg.patch_size, cfg.z_chem_dim, cfg.z_inst_dim, cfg.mask_ratio) == (16, 128, 64, 0.35)
    assert (cfg.moe_experts, cfg.moe_top_k, cfg.lambda_moe, cfg.lambda_ot) == (4, 2, 1e-2, 0.0)
    assert (cfg.beta_start, cfg.beta_end, cfg.beta_anneal_frac, cfg.grl_gamma) == (0.1, 0.001, 0.6, 10.0)
    assert cfg.moe_layers() == (1, 3)


# ------------------------------------------------------ forward / backward
def test_default_model_forward_backward_gives_finite_gradients():
    torch.manual_seed(0)
    model = SpektronModel()  # the default configuration
    batch = {"x": _spectra(8), "axis": AXIS, "instrument": torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])}
    out = PretrainingObjective(model)(batch, beta=0.1, alpha=0.5)
    assert set(out) >= {"loss", "recon", "kl", "adv", "inst", "balance", "ot", "pair", "align", "adv_acc",
                        "inst_acc", "pair_acc"}
    assert torch.isnan(out.pop("pair_acc"))  # no molecule ids, no pairs to score
    for key, value in out.items():
        assert value.ndim == 0 and torch.isfinite(value), key
    out["loss"].backward()

    # Experts that received no token have no gradient (dropless top-k routing); the
    # routing statistics say which experts worked, so check exactly those.
    used = {}
    for i, block in enumerate(model.blocks):
        if block.ffn is not None:
            for e, expert in enumerate(block.ffn.experts):
                for p in expert.parameters():
                    used[id(p)] = (i, e)
    _, _, extras = model.encode(batch["x"], AXIS, mask=torch.zeros(8, 44, dtype=torch.bool))
    missing = []
    for name, p in model.named_parameters():
        if p.grad is None:
            missing.append(name)
            continue
        assert torch.isfinite(p.grad).all(), name
    expected_missing = [n for n, p in model.named_parameters() if id(p) in used and p.grad is None]
    assert missing == expected_missing
    # with 8 × 44 tokens every expert of this seed is used: all parameters got gradients
    assert missing == []
    assert extras["expert_load"].shape == (2, 4)


def test_recon_is_masked_mse_on_standardised_valid_channels():
    torch.manual_seed(0)
    model = SpektronModel(_small()).eval()
    x = _spectra(3, c=37)  # 3 patches of 16: the last has 5 real channels
    mask = torch.tensor([[False, False, True], [True, False, False], [False, True, True]])
    captured = {}
    model.reconstruct.register_forward_hook(lambda m, i, o: captured.update(pred=o))
    out = PretrainingObjective(model)({"x": x, "axis": torch.linspace(1000.0, 2000.0, 37)}, mask=mask)
    target, valid = patchify(standardise(x)[0], 16)
    weight = mask[:, :, None] & valid[None]
    expected = ((captured["pred"] - target) ** 2)[weight].mean()
    torch.testing.assert_close(out["recon"], expected)
    assert valid.sum() == 37 and not valid[2, 5:].any()


def test_encode_means_in_eval_and_samples_in_train():
    torch.manual_seed(0)
    model = SpektronModel(_small())
    x = _spectra(4)
    z_chem, z_inst, extras = model.eval().encode(x, AXIS)
    assert z_chem.shape == (4, 8) and z_inst.shape == (4, 4)
    torch.testing.assert_close(z_chem, extras["mu_chem"])
    torch.testing.assert_close(z_inst, extras["mu_inst"])
    assert extras["kl_chem_per_dim"].shape == (8,) and extras["tokens"].shape == (4, 44, 32)
    z_train, _, extras_train = model.train().encode(x, AXIS)
    torch.testing.assert_close(extras_train["mu_chem"], extras["mu_chem"])
    assert not torch.allclose(z_train, z_chem)


def test_descending_axis_is_read_in_ascending_order():
    model = SpektronModel(_small()).eval()
    x = _spectra(2, c=50)
    axis = torch.linspace(500.0, 1500.0, 50)
    a = model.encode(x, axis)[0]
    b = model.encode(x.flip(-1), axis.flip(-1))[0]
    torch.testing.assert_close(a, b)


def test_offset_and_gain_reach_the_latent():
    # standardisation removes them from the tokens; the side channel must put them back
    model = SpektronModel(_small()).eval()
    x = _spectra(2)
    _, z1, _ = model.encode(x, AXIS)
    _, z2, _ = model.encode(3.0 * x + 1.0, AXIS)
    assert (z1 - z2).abs().max() > 1e-4


def test_parallel_and_sequential_scan_give_the_same_model_output():
    model = SpektronModel(_small()).eval()
    x = _spectra(2)
    fast = model.encode(x, AXIS)[0]
    model.scan_method = "sequential"
    slow = model.encode(x, AXIS)[0]
    torch.testing.assert_close(fast, slow, atol=1e-4, rtol=1e-4)


def test_random_mask_ratio_and_generator():
    model = SpektronModel(_small())
    mask = model.random_mask(5, 44, torch.Generator().manual_seed(1))
    assert mask.shape == (5, 44) and (mask.sum(1) == round(0.35 * 44)).all()
    again = model.random_mask(5, 44, torch.Generator().manual_seed(1))
    assert torch.equal(mask, again)
    assert model.random_mask(2, 1).all()  # a single patch is masked (nothing else to predict)
    model.eval()
    batch = {"x": _spectra(3), "axis": AXIS}
    l1 = PretrainingObjective(model)(batch, generator=torch.Generator().manual_seed(7))["loss"]
    l2 = PretrainingObjective(model)(batch, generator=torch.Generator().manual_seed(7))["loss"]
    assert l1.item() == l2.item()


def test_without_instrument_labels_domain_terms_are_zero():
    model = SpektronModel(_small(lambda_ot=1.0))
    out = PretrainingObjective(model)({"x": _spectra(4), "axis": AXIS}, beta=0.0)
    assert out["adv"].item() == out["inst"].item() == out["ot"].item() == 0.0
    assert torch.isnan(out["adv_acc"]) and torch.isnan(out["inst_acc"])
    torch.testing.assert_close(out["loss"], out["recon"] + 1e-2 * out["balance"])


def test_loss_is_the_weighted_sum():
    torch.manual_seed(0)
    cfg = _small(w_kl=2.0, lambda_adv=0.5, lambda_inst=3.0, lambda_moe=0.1, lambda_ot=0.2)
    model = SpektronModel(cfg)
    out = PretrainingObjective(model)({"x": _spectra(6), "axis": AXIS, "instrument": torch.tensor([0, 1, 0, 1, 2, 2])}, beta=0.05)
    expected = out["recon"] + 2.0 * 0.05 * out["kl"] + 0.5 * out["adv"] + 3.0 * out["inst"] + 0.1 * out["balance"] + 0.2 * out["ot"]
    torch.testing.assert_close(out["loss"], expected)
    assert out["ot"].item() > 0


def test_objective_weights_override_the_config_for_one_objective_only():
    """A transfer that drops the adversary weighs it 0 in its objective; the model's
    configuration (what a saved model carries) stays as it was."""
    torch.manual_seed(0)
    model = SpektronModel(_small(lambda_adv=0.5, lambda_inst=3.0)).eval()
    batch = {"x": _spectra(6), "axis": AXIS, "instrument": torch.tensor([0, 1, 0, 1, 2, 2])}
    mask = model.random_mask(6, 44, torch.Generator().manual_seed(1))
    full = PretrainingObjective(model)(batch, beta=0.05, mask=mask)
    no_adv = PretrainingObjective(model, {"lambda_adv": 0.0})(batch, beta=0.05, mask=mask)
    torch.testing.assert_close(no_adv["loss"], full["loss"] - 0.5 * full["adv"])
    assert model.config.lambda_adv == 0.5
    with pytest.raises(ValueError, match="unknown objective weight"):
        PretrainingObjective(model, {"lambda_adverse": 0.0})
    with pytest.raises(ValueError, match="finite number ≥ 0"):
        PretrainingObjective(model, {"lambda_adv": -1.0})


def test_single_latent_ablation():
    model = SpektronModel(_small(split_latent=False)).eval()
    z_chem, z_inst, _ = model.encode(_spectra(3), AXIS)
    assert z_chem.shape == (3, 12) and z_inst.shape == (3, 0)
    out = PretrainingObjective(model.train())({"x": _spectra(3), "axis": AXIS, "instrument": torch.tensor([0, 1, 2])})
    assert out["inst"].item() == 0.0 and out["adv"].item() > 0


@pytest.mark.parametrize(
    "batch, message",
    [
        ({"x": torch.randn(2, 700), "axis": torch.linspace(0, 1, 699)}, "one value per channel"),
        ({"x": torch.full((2, 700), float("nan")), "axis": AXIS}, "non-finite"),
        ({"x": torch.randn(2, 700), "axis": AXIS[torch.randperm(700)]}, "monotonic"),
        ({"x": torch.randn(700), "axis": AXIS}, "2-D"),
        ({"x": torch.randn(2, 700), "axis": AXIS, "instrument": torch.tensor([0, 9])}, "n_instruments"),
        ({"x": torch.randn(2, 700), "axis": AXIS, "instrument": torch.tensor([0.0, 1.0])}, "integers"),
        ({"x": torch.randn(2, 700)}, "axis"),
    ],
)
def test_bad_input_raises_clear_errors(batch, message):
    with pytest.raises(ValueError, match=message):
        PretrainingObjective(SpektronModel(_small()))(batch)


def test_bad_mask_raises():
    model = SpektronModel(_small())
    with pytest.raises(ValueError, match="shape"):
        PretrainingObjective(model)({"x": _spectra(2), "axis": AXIS}, mask=torch.ones(2, 10, dtype=torch.bool))
    with pytest.raises(ValueError, match="no patch"):
        PretrainingObjective(model)({"x": _spectra(2), "axis": AXIS}, mask=torch.zeros(44, dtype=torch.bool))


# --------------------------------------------------------- parameter groups
def test_parameter_groups_and_freezing():
    model = SpektronModel(_small())
    ttt = {id(p) for p in model.ttt_parameters()}
    norms = [p for m in model.modules() if isinstance(m, nn.LayerNorm) for p in m.parameters()]
    vib = list(model.vib_chem.parameters()) + list(model.vib_inst.parameters())
    assert ttt == {id(p) for p in norms + vib}
    backbone, heads = model.backbone_parameters(), model.head_parameters()
    assert len(backbone) + len(heads) == len(list(model.parameters()))
    assert {id(p) for p in model.blocks[0].layer.parameters()} <= {id(p) for p in backbone}

    model.freeze_except(model.ttt_parameters())
    assert model.n_parameters(trainable_only=True) == sum(p.numel() for p in norms + vib)
    PretrainingObjective(model)({"x": _spectra(2), "axis": AXIS})["loss"].backward()
    for name, p in model.named_parameters():
        assert (p.grad is not None) == (id(p) in ttt), name
    model.freeze_except(model.parameters())
    assert model.n_parameters(trainable_only=True) == model.n_parameters()
    with pytest.raises(ValueError, match="belong"):
        model.freeze_except([nn.Parameter(torch.zeros(1))])


# ---------------------------------------------------------------- save/load
def test_save_load_reproduces_outputs_exactly(tmp_path):
    torch.manual_seed(0)
    model = SpektronModel(_small(beta_schedule="cyclical")).eval()
    x = _spectra(3)
    path = save_model(model, tmp_path / "sub" / "model.pt")
    assert os.listdir(tmp_path / "sub") == ["model.pt"]  # no temporary file left behind
    loaded = load_model(path)
    assert loaded.config == model.config and not loaded.training
    for a, b in zip(model.encode(x, AXIS)[:2], loaded.encode(x, AXIS)[:2]):
        assert torch.equal(a, b)
    mask = model.random_mask(3, 44, torch.Generator().manual_seed(0))
    assert torch.equal(PretrainingObjective(model)({"x": x, "axis": AXIS}, mask=mask)["loss"], PretrainingObjective(loaded)({"x": x, "axis": AXIS}, mask=mask)["loss"])


def test_load_rejects_foreign_files(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "missing.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="junk.pt is not a Spektron model file"):
        load_model(tmp_path / "junk.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not a Spektron model"):
        load_model(tmp_path / "other.pt")


def test_reconstruction_through_the_latent_only():
    model = SpektronModel(_small(recon_from_tokens=False))
    captured = {}
    model.reconstruct.register_forward_hook(lambda m, i, o: captured.update(context=i[0]))
    out = PretrainingObjective(model)({"x": _spectra(2), "axis": AXIS})
    out["loss"].backward()
    code = model.embed.position(torch.as_tensor(model.encode(_spectra(1), AXIS)[2]["patch_centres"]))
    torch.testing.assert_close(captured["context"], code.expand(2, -1, -1))
    assert model.vib_chem.proj.weight.grad.abs().sum() > 0


# ------------------------------------------------- disentanglement options
def test_adversary_sees_the_posterior_mean_not_the_sample():
    x, labels = _spectra(6), torch.tensor([0, 1, 2, 3, 0, 1])
    mask = torch.zeros(6, 44, dtype=torch.bool)
    mask[:, ::3] = True
    batch = {"x": x, "axis": AXIS, "instrument": labels}
    for which, same in (("mean", True), ("sample", False)):
        torch.manual_seed(0)
        model = SpektronModel(_small(classifier_input=which, logvar_max=0.0)).train()
        a, b = PretrainingObjective(model)(batch, mask=mask), PretrainingObjective(model)(batch, mask=mask)  # fresh reparameterisation noise each time
        assert (a["adv"].item() == b["adv"].item()) is same, which
        assert (a["inst"].item() == b["inst"].item()) is same, which
    # "both" averages the two cross-entropies
    torch.manual_seed(0)
    model = SpektronModel(_small(classifier_input="both")).train()
    out = PretrainingObjective(model)(batch, mask=mask)
    assert torch.isfinite(out["adv"]) and out["adv"].item() > 0
    with pytest.raises(ValueError, match="classifier_input"):
        _small(classifier_input="posterior")


def _paired_views(x):
    """Four spectra seen twice, through different instruments, with every other patch masked."""
    batch = {"x": torch.cat([x, x]), "axis": AXIS, "instrument": torch.tensor([0, 1, 2, 3, 1, 2, 3, 0]),
             "molecule": torch.tensor([5, 6, 7, 8, 5, 6, 7, 8])}
    mask = torch.zeros(8, 44, dtype=torch.bool)
    mask[:, 1::2] = True
    return batch, mask


def test_pairing_terms_enter_the_loss_and_reward_invariant_chemistry():
    torch.manual_seed(0)
    cfg = _small(lambda_pair=0.7, lambda_align=0.3, lambda_adv=0.0, lambda_inst=0.0, lambda_moe=0.0)
    model = SpektronModel(cfg).train()
    x = _spectra(4)
    batch, mask = _paired_views(x)
    out = PretrainingObjective(model)(batch, beta=0.0, mask=mask)
    torch.testing.assert_close(out["loss"], out["recon"] + 0.7 * out["pair"] + 0.3 * out["align"])
    # identical views: the means coincide, so alignment is 0 and retrieval in the batch is perfect
    assert out["align"].item() == pytest.approx(0.0, abs=1e-8)
    assert out["pair_acc"].item() == 1.0
    out["loss"].backward()
    assert model.vib_chem.proj.weight.grad.abs().sum() > 0
    # different spectra under the same ids: misaligned, positive alignment loss
    other = dict(batch, x=torch.cat([x, _spectra(4, seed=1)]))
    assert PretrainingObjective(model)(other, beta=0.0, mask=mask)["align"].item() > 0.1
    with pytest.raises(ValueError, match="molecule ids"):
        PretrainingObjective(model)(dict(batch, molecule=torch.zeros(8)), mask=mask)


def test_barlow_invariance_term_enters_the_loss():
    torch.manual_seed(0)
    cfg = _small(lambda_invariance=0.4, lambda_adv=0.0, lambda_inst=0.0, lambda_moe=0.0)
    assert cfg.uses_pairs and not _small().uses_pairs
    model = SpektronModel(cfg).train()
    x = _spectra(4)
    batch, mask = _paired_views(x)
    out = PretrainingObjective(model)(batch, beta=0.0, mask=mask)
    torch.testing.assert_close(out["loss"], out["recon"] + 0.4 * out["invariance"])
    assert out["invariance"].item() == pytest.approx(0.0, abs=1e-3)  # identical views
    other = dict(batch, x=torch.cat([x, _spectra(4, seed=1)]))
    mismatched = PretrainingObjective(model)(other, beta=0.0, mask=mask)
    assert mismatched["invariance"].item() > 1.0
    mismatched["loss"].backward()
    assert model.vib_chem.proj.weight.grad.abs().sum() > 0
    # off by default, and validated
    assert PretrainingObjective(model)(batch, mask=mask)["invariance"].item() != 0.0
    assert PretrainingObjective(SpektronModel(_small()).train())(batch, mask=mask)["invariance"].item() == 0.0
    with pytest.raises(ValueError, match="lambda_invariance"):
        _small(lambda_invariance=-1.0)


def test_noise_statistic_reads_the_noise_level():
    from spektron.models.spektron import log_noise_level

    g = torch.Generator().manual_seed(0)
    clean = torch.sin(torch.linspace(0, 20, 700)).expand(2, -1)
    noise = torch.randn(2, 700, generator=g)
    levels = log_noise_level(clean + torch.tensor([[0.01], [0.1]]) * noise)
    assert levels[1] - levels[0] == pytest.approx(torch.log(torch.tensor(10.0)).item(), abs=0.3)
    model = SpektronModel(_small(input_noise_stat=True)).eval()
    assert any(p is model.noise_stats.weight for p in model.backbone_parameters())
    x = _spectra(2)
    # only z_inst gets the statistic: z_chem matches a model without it (same weights)
    plain = SpektronModel(_small()).eval()
    plain.load_state_dict({k: v for k, v in model.state_dict().items() if not k.startswith("noise_stats")})
    c1, i1, _ = model.encode(x, AXIS)
    c0, i0, _ = plain.encode(x, AXIS)
    torch.testing.assert_close(c1, c0)
    assert not torch.allclose(i1, i0)
    assert SpektronModel(_small()).noise_stats is None  # default: the original architecture


def test_input_statistics_can_bypass_z_chem():
    torch.manual_seed(0)
    model = SpektronModel(_small(chem_input_stats=False)).eval()
    x = _spectra(2)
    c1, i1, _ = model.encode(x, AXIS)
    c2, i2, _ = model.encode(3.0 * x + 1.0, AXIS)  # same shape, other gain and offset
    torch.testing.assert_close(c1, c2, atol=1e-5, rtol=1e-4)
    assert not torch.allclose(i1, i2)


def test_standardised_classifier_is_scale_free():
    from spektron.models.heads import InstrumentClassifier

    torch.manual_seed(0)
    clf = InstrumentClassifier(5, 3, hidden=8, standardise=True)
    z = torch.randn(10, 5)
    torch.testing.assert_close(clf(z), clf(1e-2 * z + 2.0), atol=1e-4, rtol=1e-3)
    assert clf(z[:1]).shape == (1, 3)  # one row: passed unchanged


def test_deeper_latent_only_decoder():
    model = SpektronModel(_small(recon_from_tokens=False, decoder_layers=3))
    assert len(model.reconstruct.extra) == 2
    out = PretrainingObjective(model)({"x": _spectra(3), "axis": AXIS})
    assert torch.isfinite(out["recon"])
    with pytest.raises(ValueError, match="decoder_layers"):
        _small(decoder_layers=0)


def test_a_corrupt_model_file_is_one_line_without_unsafe_advice(tmp_path):
    from spektron.models import load_model

    bad = tmp_path / "bad.ckpt"
    bad.write_bytes(bytes(range(256)) * 2)
    with pytest.raises(ValueError) as info:
        load_model(bad)
    message = str(info.value)
    assert message.startswith(f"{bad} is not a Spektron model file (") and "\n" not in message
    assert "weights_only" not in message
