"""LoRA adapters: an exact no-op at the start, only adapter parameters train, merging."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from spektron.models import SpektronConfig, SpektronModel
from spektron.transfer.lora import LoRALinear, apply_lora, lora_parameters, merge_lora, spektron_lora_filter

TINY = SpektronConfig(d_model=16, n_layers=2, state_size=4, z_chem_dim=8, z_inst_dim=4, classifier_hidden=8,
                      moe_experts=2, moe_top_k=1, moe_every=2, patch_size=8, dropout=0.0)
AXIS = torch.linspace(4000.0, 10000.0, 64)


def _model():
    torch.manual_seed(0)
    return SpektronModel(TINY).eval()


def _codes(model, x):
    return model.encode(x, AXIS)[2]["mu_chem"]


def test_adapters_start_as_an_exact_no_op():
    model = _model()
    x = torch.randn(5, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        before = _codes(model, x).clone()
    params = apply_lora(model, rank=4, include=spektron_lora_filter)
    with torch.no_grad():
        after = _codes(model, x)
    assert torch.equal(before, after)
    wrapped = [n for n, m in model.named_modules() if isinstance(m, LoRALinear)]
    assert any(n.startswith("blocks.0.layer.B") for n in wrapped)
    assert any(n.startswith("vib_chem") for n in wrapped)
    assert not any(n.endswith("router") or n.startswith(("reconstruct", "adversary", "vib_inst")) for n in wrapped)
    assert len(params) == 2 * len(wrapped)
    assert {id(p) for p in model.parameters() if p.requires_grad} == {id(p) for p in params}


def test_one_training_step_changes_only_adapter_parameters():
    model = _model()
    apply_lora(model, rank=4, include=spektron_lora_filter)
    snapshot = {n: p.detach().clone() for n, p in model.named_parameters()}
    opt = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=0.1)
    x = torch.randn(6, 64, generator=torch.Generator().manual_seed(2))
    loss = _codes(model, x).pow(2).mean()
    loss.backward()
    opt.step()
    changed = {n for n, p in model.named_parameters() if not torch.equal(p, snapshot[n])}
    assert changed and all(n.endswith(("lora_A", "lora_B")) for n in changed)
    # B starts at zero, so the first step moves B (A gets no gradient while B = 0)
    assert any(n.endswith("lora_B") for n in changed)


def test_merge_restores_plain_linears_with_identical_outputs():
    model = _model()
    params = apply_lora(model, rank=2, alpha=4.0, include=spektron_lora_filter)
    with torch.no_grad():
        for p in params:
            p.add_(0.05 * torch.randn_like(p))
    x = torch.randn(4, 64, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        adapted = _codes(model, x).clone()
    merge_lora(model)
    assert not lora_parameters(model) and not any(isinstance(m, LoRALinear) for m in model.modules())
    with torch.no_grad():
        merged = _codes(model, x)
    torch.testing.assert_close(merged, adapted, rtol=1e-4, atol=1e-5)
    # the merged model loads into a fresh one: the structure is the original
    SpektronModel(TINY).load_state_dict(model.state_dict())


def test_lora_linear_matches_its_formula_and_validates():
    base = nn.Linear(5, 3)
    lora = LoRALinear(base, rank=2, alpha=6.0)
    with torch.no_grad():
        lora.lora_B.normal_()
    x = torch.randn(7, 5)
    expected = base(x) + 3.0 * x @ lora.lora_A.T @ lora.lora_B.T
    torch.testing.assert_close(lora(x), expected)
    with pytest.raises(ValueError, match="rank"):
        LoRALinear(base, rank=0)
    with pytest.raises(ValueError, match="nn.Linear"):
        LoRALinear(nn.Conv1d(1, 1, 1))
    model = nn.Sequential(nn.Linear(2, 2))
    apply_lora(model)
    with pytest.raises(ValueError, match="already carries"):
        apply_lora(model)
    with pytest.raises(ValueError, match="no nn.Linear"):
        apply_lora(nn.Sequential(nn.ReLU()))
