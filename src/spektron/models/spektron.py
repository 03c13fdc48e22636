"""The Spektron encoder: patches → D-LinOSS/MoE backbone → VIB latents → heads.

Input handling (documented because every caller depends on it):

* ``x`` (B, C) spectra and ``axis`` (C,) in **wavenumbers, cm⁻¹** (convert nm with
  ``1e7 / nm``). A descending axis is flipped internally so that the patch
  sequence always runs from low to high wavenumber (masks given to ``forward``
  index patches in that ascending order).
* Each spectrum is standardised inside the model (its own mean and standard
  deviation over the channels); reconstruction targets and losses are in these
  standardised units. The removed offset and gain are instrument signatures, so
  ``[asinh(mean), log std]`` is mapped by a linear layer and added to the pooled
  vector that feeds the VIB heads: ``z_inst`` (and, unless the adversary prevents
  it, ``z_chem``) can still see them; ``config.chem_input_stats = False`` gives
  them to ``z_inst`` only.
* With ``config.input_noise_stat`` the log noise level of the standardised
  spectrum (:func:`log_noise_level`) is mapped by its own linear layer and added
  to the vector that feeds the ``z_inst`` head only: the detector noise is the
  strongest signature of a simulated instrument (SNR 30–60 dB), a per-spectrum
  quadratic statistic a mean-pooled backbone hardly forms, and it says nothing
  about chemistry (fed to both heads it swamped ``z_chem``: retrieval fell to 35 %).
* Any number of channels C ≥ 2: the last partial patch is zero-padded; it is a
  normal token, but its padded channels never enter the reconstruction loss.
"""

from __future__ import annotations

from typing import Any, Iterator

import torch
from torch import Tensor, nn

from spektron.models.config import SpektronConfig
from spektron.models.dlinoss import DLinOSSBlock, DLinOSSLayer, ScanMethod
from spektron.models.heads import InstrumentClassifier, ReconstructionHead
from spektron.models.moe import MixtureOfExperts
from spektron.models.patch_embedding import PatchEmbedding, patch_centres, patchify, standardise
from spektron.models.patch_embedding import n_patches as count_patches
from spektron.models.losses import gaussian_kl_per_dim
from spektron.models.vib import VIBHead


def log_noise_level(xs: Tensor, eps: float = 1e-6) -> Tensor:
    """Robust per-spectrum noise estimate: ``log median |Δ²x|`` over the channels, (B,).

    The second difference cancels smooth signal (baselines, broad bands) and leaves
    white noise (scaled by √6); the median ignores the sharp band edges (the MAD
    noise estimate of Donoho & Johnstone 1994, applied to second differences).
    0 for spectra shorter than 3 channels.
    """
    if xs.shape[-1] < 3:
        return xs.new_zeros(xs.shape[:-1])
    return torch.diff(xs, n=2, dim=-1).abs().median(dim=-1).values.clamp_min(eps).log()


class SpektronModel(nn.Module):
    """Disentangling spectral encoder (SPEC §2–3).

    Parameters
    ----------
    config : SpektronConfig, optional
        All sizes, loss weights and schedule constants; defaults if omitted.

    Attributes
    ----------
    scan_method : ``"auto"``, ``"compiled"``, ``"convolution"``, ``"parallel"`` or ``"sequential"``
        How the D-LinOSS layers run their recurrence: ``"auto"`` (default) takes the
        compiled loop on the CPU (:mod:`~spektron.models.compiled_scan`), elsewhere the
        chunked convolution for sequences of at least
        :data:`~spektron.models.dlinoss.CONVOLUTION_MIN_LENGTH` patches and the
        parallel scan for shorter ones; the sequential loop is the slow reference.

    Examples
    --------
    >>> import torch
    >>> from spektron.models import SpektronConfig, SpektronModel
    >>> model = SpektronModel(SpektronConfig(d_model=32, n_layers=1, state_size=8,
    ...                                      z_chem_dim=8, z_inst_dim=4)).eval()
    >>> axis = torch.linspace(4000.0, 10000.0, 100)
    >>> z_chem, z_inst, extras = model.encode(torch.randn(3, 100), axis)
    >>> tuple(z_chem.shape), tuple(z_inst.shape)
    ((3, 8), (3, 4))
    """

    def __init__(self, config: SpektronConfig | None = None) -> None:
        super().__init__()
        config = SpektronConfig() if config is None else config
        if not isinstance(config, SpektronConfig):
            raise ValueError(f"config must be a SpektronConfig, got {type(config).__name__}")
        config.validate()
        self.config = config
        self.scan_method: ScanMethod = "auto"
        d = config.d_model

        self.embed = PatchEmbedding(config.patch_size, d, config.n_frequencies, config.min_period, config.max_period)
        moe_at = set(config.moe_layers())
        self.blocks = nn.ModuleList(
            DLinOSSBlock(
                d,
                DLinOSSLayer(
                    d, config.state_size, config.bidirectional, config.r_min, config.theta_max,
                    config.dt_min, config.dt_max,
                ),
                dropout=config.dropout,
                ffn=(
                    MixtureOfExperts(d, config.moe_experts, config.moe_top_k, config.moe_hidden_mult * d, config.dropout)
                    if i in moe_at else None
                ),
            )
            for i in range(config.n_layers)
        )
        self.norm = nn.LayerNorm(d)
        self.input_stats = nn.Linear(2, d)
        # Optional third instrument signature, the noise level (its own layer so that
        # checkpoints of models without it load unchanged).
        self.noise_stats = nn.Linear(1, d) if config.input_noise_stat else None

        chem_dim = config.z_chem_dim if config.split_latent else config.latent_dim
        self.vib_chem = VIBHead(d, chem_dim, config.logvar_min, config.logvar_max)
        self.vib_inst = (
            VIBHead(d, config.z_inst_dim, config.logvar_min, config.logvar_max) if config.split_latent else None
        )
        self.reconstruct = ReconstructionHead(d, config.latent_dim, config.patch_size, config.decoder_layers)
        std = config.classifier_standardise
        self.adversary = InstrumentClassifier(chem_dim, config.n_instruments, config.classifier_hidden,
                                              reverse=True, standardise=std)
        self.inst_classifier = (
            InstrumentClassifier(config.z_inst_dim, config.n_instruments, config.classifier_hidden, standardise=std)
            if config.split_latent else None
        )

    # ------------------------------------------------------------ input checks
    def prepare(self, x: Tensor, axis: Tensor) -> dict[str, Tensor]:
        dtype = self.input_stats.weight.dtype
        device = self.input_stats.weight.device
        x = torch.as_tensor(x, dtype=dtype, device=device)
        axis = torch.as_tensor(axis, dtype=dtype, device=device)
        if x.ndim != 2:
            raise ValueError(f"x must be a 2-D tensor (batch, channels), got shape {tuple(x.shape)}")
        if axis.ndim != 1 or axis.numel() != x.shape[1]:
            raise ValueError(
                f"axis must be 1-D with one value per channel ({x.shape[1]}), got shape {tuple(axis.shape)}"
            )
        if x.shape[0] == 0 or x.shape[1] < 2:
            raise ValueError(f"need at least one spectrum of at least 2 channels, got shape {tuple(x.shape)}")
        if not bool(torch.isfinite(x).all()):
            raise ValueError("x contains non-finite values (NaN or inf)")
        if not bool(torch.isfinite(axis).all()):
            raise ValueError("axis contains non-finite values")
        step = torch.diff(axis)
        if bool((step < 0).all()):
            x, axis = x.flip(-1), axis.flip(-1)
        elif not bool((step > 0).all()):
            raise ValueError("axis must be strictly monotonic (wavenumbers in cm-1)")
        xs, mean, log_std = standardise(x)
        patches, valid = patchify(xs, self.config.patch_size)
        prep = {
            "patches": patches,  # (B, N, p), standardised
            "valid": valid,  # (N, p) bool: real (not padded) channels
            "centres": patch_centres(axis, self.config.patch_size),  # (N,)
            "stats": torch.stack((torch.asinh(mean), log_std), dim=-1),  # (B, 2)
        }
        if self.noise_stats is not None:
            prep["noise"] = log_noise_level(xs).unsqueeze(-1)  # (B, 1)
        return prep

    def check_mask(self, mask: Tensor, batch: int, n_patches: int) -> Tensor:
        mask = torch.as_tensor(mask, device=self.input_stats.weight.device)
        if mask.dtype != torch.bool:
            raise ValueError(f"mask must be a bool tensor, got dtype {mask.dtype}")
        if mask.ndim == 1:
            mask = mask.expand(batch, -1)
        if tuple(mask.shape) != (batch, n_patches):
            raise ValueError(
                f"mask must have shape ({batch}, {n_patches}) (batch, patches) or ({n_patches},), got {tuple(mask.shape)}"
            )
        return mask

    def n_patches(self, n_channels: int) -> int:
        """Number of patches (tokens) a spectrum of ``n_channels`` becomes."""
        return count_patches(n_channels, self.config.patch_size)

    def random_mask(self, batch: int, n_patches: int, generator: torch.Generator | None = None) -> Tensor:
        """A (batch, n_patches) bool mask with ``round(mask_ratio · N)`` patches masked
        per spectrum (at least one, and at least one left visible when N ≥ 2)."""
        n_mask = int(round(self.config.mask_ratio * n_patches))
        n_mask = min(max(n_mask, 1), max(n_patches - 1, 1))
        scores = torch.rand(batch, n_patches, generator=generator)
        rank = scores.argsort(dim=1).argsort(dim=1)
        return (rank < n_mask).to(self.input_stats.weight.device)

    # ----------------------------------------------------------------- encoder
    def encode_prepared(self, prep: dict[str, Tensor], mask: Tensor | None) -> tuple[Tensor, Tensor, dict[str, Any]]:
        h = self.embed(prep["patches"], prep["centres"], mask)  # (B, N, d)
        moe_stats = []
        for block in self.blocks:
            h, stats = block(h, method=self.scan_method)
            if stats is not None:
                moe_stats.append(stats)
        h = self.norm(h)
        tokens_mean = h.mean(dim=1)
        pooled = tokens_mean + self.input_stats(prep["stats"])  # (B, d)
        # The noise level is an instrument signature only: it feeds z_inst, never z_chem.
        pooled_inst = pooled if self.noise_stats is None else pooled + self.noise_stats(prep["noise"])
        pooled_chem = pooled if self.config.chem_input_stats else tokens_mean

        z_chem, mu_chem, logvar_chem = self.vib_chem(pooled_chem)
        if self.vib_inst is not None:
            z_inst, mu_inst, logvar_inst = self.vib_inst(pooled_inst)
        else:  # single-latent ablation: an empty instrument latent
            z_inst = mu_inst = logvar_inst = pooled.new_zeros(pooled.shape[0], 0)

        zero = pooled.new_zeros(())
        extras: dict[str, Any] = {
            "mu_chem": mu_chem,
            "logvar_chem": logvar_chem,
            "mu_inst": mu_inst,
            "logvar_inst": logvar_inst,
            "kl_chem_per_dim": gaussian_kl_per_dim(mu_chem, logvar_chem),
            "kl_inst_per_dim": gaussian_kl_per_dim(mu_inst, logvar_inst),
            "tokens": h,
            "pooled": pooled,
            "patch_centres": prep["centres"],
            "moe_balance": torch.stack([s["balance"] for s in moe_stats]).mean() if moe_stats else zero,
            "moe_z_loss": torch.stack([s["z_loss"] for s in moe_stats]).mean() if moe_stats else zero,
            # (n_moe_layers, E): tokens each expert processed — summable over batches
            "expert_load": (
                torch.stack([s["tokens"] for s in moe_stats]).to(pooled.dtype)
                if moe_stats else pooled.new_zeros(0, self.config.moe_experts)
            ),
            "router_importance": (
                torch.stack([s["importance"] for s in moe_stats])
                if moe_stats else pooled.new_zeros(0, self.config.moe_experts)
            ),
        }
        return z_chem, z_inst, extras

    def encode(self, x: Tensor, axis: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor, dict[str, Any]]:
        """Spectra (B, C) on ``axis`` (C,) in cm⁻¹ → ``(z_chem, z_inst, extras)``.

        Posterior means in eval mode, reparameterised samples in train mode.
        ``extras``: ``mu_chem``, ``logvar_chem``, ``mu_inst``, ``logvar_inst``,
        ``kl_chem_per_dim`` and ``kl_inst_per_dim`` (batch means, per dimension),
        ``tokens`` (B, N, d), ``pooled`` (B, d), ``patch_centres`` (N,),
        ``moe_balance``, ``moe_z_loss``, ``expert_load`` (layers, E) token counts
        and ``router_importance`` (layers, E). ``mask`` (optional, (B, N) bool)
        replaces those patches by the mask token.
        """
        prep = self.prepare(x, axis)
        if mask is not None:
            mask = self.check_mask(mask, prep["patches"].shape[0], prep["patches"].shape[1])
        return self.encode_prepared(prep, mask)

    # ------------------------------------------------------------ forward
    def forward(self, x: Tensor, axis: Tensor, mask: Tensor | None = None) -> tuple[Tensor, Tensor, dict[str, Any]]:
        """The representations: :meth:`encode`. The pretraining objective built on them is
        :class:`spektron.training.objective.PretrainingObjective`."""
        return self.encode(x, axis, mask)

    # -------------------------------------------------------- parameter groups
    def ttt_parameters(self) -> list[nn.Parameter]:
        """What test-time training adapts (SPEC §6): every LayerNorm's affine
        parameters and the VIB projection heads; backbone and experts stay fixed."""
        params: dict[int, nn.Parameter] = {}
        for module in self.modules():
            if isinstance(module, nn.LayerNorm):
                for p in module.parameters():
                    params[id(p)] = p
        for head in (self.vib_chem, self.vib_inst):
            if head is not None:
                for p in head.parameters():
                    params[id(p)] = p
        return list(params.values())

    def backbone_parameters(self) -> list[nn.Parameter]:
        """Patch embedding, D-LinOSS blocks (experts included), final norm and the
        input-statistics map: everything before the VIB heads."""
        modules = (self.embed, self.blocks, self.norm, self.input_stats, self.noise_stats)
        return [p for m in modules if m is not None for p in m.parameters()]

    def head_parameters(self) -> list[nn.Parameter]:
        """VIB heads, reconstruction head and the instrument classifiers."""
        backbone = {id(p) for p in self.backbone_parameters()}
        return [p for p in self.parameters() if id(p) not in backbone]

    def freeze_except(self, params: Iterator[nn.Parameter] | list[nn.Parameter]) -> "SpektronModel":
        """Make only ``params`` trainable (``requires_grad``); returns ``self``.

        ``model.freeze_except(model.ttt_parameters())`` sets up test-time training;
        ``model.freeze_except(model.parameters())`` unfreezes everything again.
        """
        keep = {id(p) for p in params}
        own = {id(p) for p in self.parameters()}
        if not keep <= own:
            raise ValueError("freeze_except: some parameters do not belong to this model")
        for p in self.parameters():
            p.requires_grad_(id(p) in keep)
        return self

    def n_parameters(self, trainable_only: bool = False) -> int:
        """Number of parameters (optionally only those with ``requires_grad``)."""
        return sum(p.numel() for p in self.parameters() if p.requires_grad or not trainable_only)
