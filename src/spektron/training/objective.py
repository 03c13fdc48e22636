"""The pretraining objective (SPEC §3) of a :class:`~spektron.models.SpektronModel`.

``L = recon + w_kl·β·KL + λ_adv·CE(GRL(z_chem)) + λ_inst·CE(z_inst) + λ_moe·balance
+ λ_z·router-z [+ λ_ot·OT] [+ λ_pair·InfoNCE + λ_align·alignment] [+ λ_inv·Barlow]``
on one batch, from the model's representations (:meth:`SpektronModel.encode_prepared`)
and heads. Kept apart from the model so that the model describes an encoder and its
heads, and the objective — which terms, weighted how, on what labels — belongs to
training; the trainer, the transfer adaptation and test-time training each build one.
An ``nn.Module`` wrapping the model, so that data-parallel training wraps it whole.
(The weights themselves are still read from ``model.config``.)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from spektron.models.heads import InstrumentClassifier
from spektron.models.losses import (
    domain_cross_entropy,
    masked_mse,
    paired_alignment,
    paired_barlow,
    paired_infonce,
    sinkhorn_domain_loss,
)
from spektron.models.spektron import SpektronModel

__all__ = ["PretrainingObjective"]


#: The weights of the objective's terms (read from ``model.config`` unless overridden).
WEIGHTS = ("w_kl", "lambda_adv", "lambda_inst", "lambda_moe", "lambda_router_z", "lambda_ot", "lambda_pair",
           "lambda_align", "lambda_invariance")


class PretrainingObjective(nn.Module):
    """``PretrainingObjective(model)(batch, beta, alpha)`` → the weighted loss and its terms.

    ``weights`` overrides some of :data:`WEIGHTS` for this objective only (e.g. a transfer
    that fine-tunes a pretrained model without its adversary: ``{"lambda_adv": 0.0}``),
    leaving the model's configuration as it was saved.
    """

    def __init__(self, model: SpektronModel, weights: dict[str, float] | None = None) -> None:
        super().__init__()
        self.model = model
        weights = dict(weights or {})
        unknown = sorted(set(weights) - set(WEIGHTS))
        if unknown:
            raise ValueError(f"unknown objective weight(s) {', '.join(unknown)}; choose from {', '.join(WEIGHTS)}")
        for name, value in weights.items():
            if not (isinstance(value, (int, float)) and value >= 0 and value == value and value != float("inf")):
                raise ValueError(f"objective weight {name} must be a finite number ≥ 0, got {value!r}")
        self.weights = {name: float(value) for name, value in weights.items()}

    def weight(self, name: str) -> float:
        """The weight of one term: the override, else the model's configuration."""
        return self.weights.get(name, getattr(self.model.config, name))

    def forward(
        self,
        batch: dict[str, Tensor],
        beta: float | None = None,
        alpha: float = 1.0,
        mask: Tensor | None = None,
        generator: torch.Generator | None = None,
    ) -> dict[str, Tensor]:
        """The pretraining objective (SPEC §3) on one batch.

        ``batch``: ``x`` (B, C), ``axis`` (C,) in cm⁻¹, optionally ``instrument``
        (B,) integer labels in ``[0, n_instruments)`` — without them the domain
        losses are 0 and the accuracies NaN — and ``molecule`` (B,) integer ids:
        rows sharing an id are views of one sample and, when ``lambda_pair > 0``,
        the pairing InfoNCE pulls their ``z_chem`` means together. ``beta`` weights the KL (default
        ``config.beta_end``, the post-anneal value), ``alpha`` is the
        gradient-reversal strength. ``mask`` overrides the random patch mask;
        ``generator`` makes the random mask reproducible.

        Returns ``loss`` (weighted total), ``recon``, ``kl``, ``adv``, ``inst``,
        ``balance``, ``ot``, ``pair``, ``align``, ``invariance``, ``adv_acc``, ``inst_acc``, ``pair_acc``
        (scalar tensors; the accuracies detached). The classifiers see what
        ``config.classifier_input`` says (posterior means by default); the KL is
        always the closed form of the posterior, and the decoder always reads the
        sample.
        """
        model = self.model
        cfg = model.config
        if not isinstance(batch, dict) or "x" not in batch or "axis" not in batch:
            raise ValueError("batch must be a dict with at least 'x' (B, C) and 'axis' (C,)")
        beta = cfg.beta_end if beta is None else float(beta)
        prep = model.prepare(batch["x"], batch["axis"])
        B, N, _ = prep["patches"].shape
        mask = model.random_mask(B, N, generator) if mask is None else model.check_mask(mask, B, N)
        if not bool(mask.any()):
            raise ValueError("the mask selects no patch: nothing to reconstruct")

        z_chem, z_inst, extras = model.encode_prepared(prep, mask)
        if cfg.recon_from_tokens:
            context = extras["tokens"]
        else:  # only the latent and where each patch sits
            context = model.embed.position(prep["centres"]).expand(B, -1, -1)
        pred = model.reconstruct(context, torch.cat((z_chem, z_inst), dim=-1))  # (B, N, p)
        recon = masked_mse(pred, prep["patches"], mask.unsqueeze(-1) & prep["valid"])
        kl = extras["kl_chem_per_dim"].sum() + extras["kl_inst_per_dim"].sum()

        zero = recon.new_zeros(())
        nan = recon.new_full((), float("nan"))
        adv, inst, ot_cost, adv_acc, inst_acc = zero, zero, zero, nan, nan
        pair, align, pair_acc, invariance = zero, zero, nan, zero
        labels = batch.get("instrument")
        if labels is not None:
            labels = self._check_labels(labels, B)
            adv, adv_acc = self._classify(model.adversary, z_chem, extras["mu_chem"], labels, alpha)
            if model.inst_classifier is not None:
                inst, inst_acc = self._classify(model.inst_classifier, z_inst, extras["mu_inst"], labels, 1.0)
            if self.weight("lambda_ot") > 0:
                z_ot = z_chem if cfg.classifier_input == "sample" else extras["mu_chem"]
                ot_cost = sinkhorn_domain_loss(z_ot, labels, cfg.ot_reg)
        molecules = batch.get("molecule")
        if molecules is not None and cfg.uses_pairs:
            molecules = torch.as_tensor(molecules, device=recon.device)
            if tuple(molecules.shape) != (B,) or molecules.dtype.is_floating_point:
                raise ValueError(f"molecule ids must be integers of shape ({B},), got {tuple(molecules.shape)}")
            pair, pair_acc = paired_infonce(extras["mu_chem"], molecules, cfg.pair_temperature)
            align = paired_alignment(extras["mu_chem"], molecules)
            if self.weight("lambda_invariance") > 0:
                invariance = paired_barlow(extras["mu_chem"], molecules, cfg.invariance_redundancy)

        balance = extras["moe_balance"]
        loss = (
            recon
            + self.weight("w_kl") * beta * kl
            + self.weight("lambda_adv") * adv
            + self.weight("lambda_inst") * inst
            + self.weight("lambda_moe") * balance
            + self.weight("lambda_router_z") * extras["moe_z_loss"]
            + self.weight("lambda_ot") * ot_cost
            + self.weight("lambda_pair") * pair
            + self.weight("lambda_align") * align
            + self.weight("lambda_invariance") * invariance
        )
        return {
            "loss": loss, "recon": recon, "kl": kl, "adv": adv, "inst": inst, "balance": balance,
            "ot": ot_cost, "pair": pair, "align": align, "invariance": invariance, "adv_acc": adv_acc, "inst_acc": inst_acc, "pair_acc": pair_acc,
        }

    def _classify(
        self, classifier: InstrumentClassifier, sample: Tensor, mean: Tensor, labels: Tensor, alpha: float
    ) -> tuple[Tensor, Tensor]:
        """Cross-entropy and accuracy of ``classifier`` on what ``config.classifier_input`` names."""
        which = self.model.config.classifier_input
        if which == "sample":
            return domain_cross_entropy(classifier(sample, alpha), labels)
        on_mean = domain_cross_entropy(classifier(mean, alpha), labels)
        if which == "mean":
            return on_mean
        on_sample = domain_cross_entropy(classifier(sample, alpha), labels)
        return 0.5 * (on_mean[0] + on_sample[0]), on_mean[1]

    def _check_labels(self, labels: Tensor, batch: int) -> Tensor:
        labels = torch.as_tensor(labels, device=self.model.input_stats.weight.device)
        if labels.dtype.is_floating_point or labels.dtype == torch.bool:
            raise ValueError(f"instrument labels must be integers, got dtype {labels.dtype}")
        if tuple(labels.shape) != (batch,):
            raise ValueError(f"instrument labels must have shape ({batch},), got {tuple(labels.shape)}")
        if bool((labels < 0).any()) or bool((labels >= self.model.config.n_instruments).any()):
            raise ValueError(
                f"instrument labels must lie in [0, {self.model.config.n_instruments}) (config.n_instruments), "
                f"got values in [{int(labels.min())}, {int(labels.max())}]"
            )
        return labels.long()
