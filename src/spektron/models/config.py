"""One typed configuration object for the Spektron model, its losses and schedules.

Everything a run can change lives here, flat, so that a checkpoint can embed it as
a plain dict (``to_dict``) and rebuild the identical model from it (``from_dict``).
Defaults follow ``SPEC.md`` sections 2–3 (width 256, 4 blocks, 64 oscillators per
direction: about 3.2 M parameters, a forward + backward pass on 32 spectra of 700
channels in well under a second on a 2-core CPU); a smaller model for quick CPU
pretraining is a matter of ``SpektronConfig(d_model=..., n_layers=...)``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

BetaSchedule = Literal["cosine", "cyclical"]
BETA_SCHEDULES: tuple[str, ...] = ("cosine", "cyclical")
ClassifierInput = Literal["mean", "sample", "both"]
CLASSIFIER_INPUTS: tuple[str, ...] = ("mean", "sample", "both")


@dataclass
class SpektronConfig:
    """Hyper-parameters of :class:`~spektron.models.SpektronModel` and its objective.

    Parameters
    ----------
    patch_size : int
        Channels per patch; the last partial patch is zero-padded and its padded
        channels are excluded from the reconstruction loss.
    d_model : int
        Width of the tokens and of the pooled backbone output.
    n_layers : int
        Number of D-LinOSS blocks.
    state_size : int
        Oscillators per D-LinOSS layer and direction.
    bidirectional : bool
        Also run every layer on the reversed patch sequence (spectra have no
        causal direction).
    dropout : float
        Dropout inside the blocks, in [0, 1).
    n_frequencies : int
        Sinusoidal features of the patch-centre wavenumber (the positional code).
    min_period, max_period : float
        Shortest and longest period, in cm⁻¹, of those features.
    r_min : float
        Smallest eigenvalue radius of the "ring" initialisation, in (0, 1].
    theta_max : float
        Largest eigenvalue angle of the ring initialisation, in (0, π].
    dt_min, dt_max : float
        Range of the initial step sizes Δt, inside (0, 1).
    moe_experts, moe_top_k : int
        Experts per mixture-of-experts layer and experts used per token.
    moe_every : int
        Block ``i`` (0-based) gets a mixture-of-experts feed-forward sub-layer when
        ``(i + 1) % moe_every == 0``; 0 means no mixture-of-experts layer at all.
    moe_hidden_mult : int
        Hidden width of each expert, as a multiple of ``d_model``.
    z_chem_dim, z_inst_dim : int
        Widths of the chemistry and instrument latents.
    split_latent : bool
        True: two latents, reversal on ``z_chem`` only. False (DANN-style ablation):
        one latent of ``z_chem_dim + z_inst_dim`` dimensions with reversal on all of
        it; ``z_inst`` is then empty and the instrument loss is 0.
    logvar_min, logvar_max : float
        Clamp of the posterior log-variances.
    n_instruments : int
        Classes of the instrument classifiers.
    classifier_hidden : int
        Hidden width of the instrument classifiers.
    input_noise_stat : bool
        Add the spectrum's log noise level (robust second-difference estimate) to
        the input statistics that reach the pooled vector, next to its offset and
        scale. False by default so that older checkpoints load unchanged.
    chem_input_stats : bool
        Whether the per-spectrum offset and scale statistics also reach ``z_chem``
        (True, the original design) or only ``z_inst``: they are mostly
        instrument signatures (gain, baseline offset), a direct path for the
        instrument into the chemistry code.
    classifier_standardise : bool
        Standardise the instrument classifiers' input with the batch statistics
        (per dimension, like the probe of the diagnostics): without it the
        adversary barely sees low-variance directions of ``z_chem`` that a
        standardised linear probe still reads the instrument from.
    recon_from_tokens : bool
        True (SPEC): the reconstruction head sees the backbone's token states plus
        the latent. False: it sees only the latent and each patch's wavenumber
        code, so everything it reconstructs must pass through the bottleneck (the
        tokens of a bidirectional backbone can otherwise inpaint masked patches from
        their neighbours without the latent, which lets a strong KL collapse it).
    classifier_input : ``"mean"``, ``"sample"`` or ``"both"``
        What the two instrument classifiers (the reversed adversary on ``z_chem``
        and the ``z_inst`` classifier) see: the posterior means (default), the
        reparameterised samples, or both (the two cross-entropies averaged). On
        samples alone the adversary can be fooled by noise: the KL shrinks the
        means until σ·ε dominates, the adversary sits at chance, and yet a probe on
        the means — what downstream code uses — still finds the instrument.
    mask_ratio : float
        Fraction of patches masked for the reconstruction loss, in (0, 1).
    w_kl : float
        Weight of the KL term, multiplied by β(t).
    beta_start, beta_end : float
        β at the start and at the end of the cosine anneal (and the high and low
        levels of the cyclical schedule).
    beta_anneal_frac : float
        Fraction of training over which β is annealed, in (0, 1].
    beta_schedule : ``"cosine"`` or ``"cyclical"``
    beta_cycles : int
        Number of cycles of the cyclical schedule.
    beta_cycle_rise, beta_cycle_plateau : float
        Fractions of a cycle spent rising and on the plateau; the rest falls.
    lambda_pair : float
        Weight of the cross-instrument pairing term: InfoNCE on the ``z_chem``
        posterior means of the same molecule seen through two different
        instruments (``batch["molecule"]`` ids; the trainer then draws paired
        batches of B/2 molecules × 2 instruments whenever ``lambda_pair``,
        ``lambda_align`` or ``lambda_invariance`` is positive). 0 (default) disables it.
    pair_temperature : float
        Temperature τ of that InfoNCE (cosine similarities divided by τ).
    lambda_align : float
        Weight of the per-dimension alignment of those pairs' ``z_chem`` means
        (squared difference in units of the batch standard deviation; see
        :func:`spektron.models.losses.paired_alignment`). 0 disables it.
    lambda_invariance : float
        Weight of the Barlow Twins invariance term on those pairs' ``z_chem`` means
        (Zbontar et al. 2021; :func:`spektron.models.losses.barlow_invariance`):
        ``Σ_d (1 − C_dd)²`` with ``C_dd`` the correlation, over the batch, of
        dimension d between the two views. Summed over dimensions and in
        standardised units, so a nearly switched-off dimension must be as
        instrument-free as an active one. 0 (default) disables it.
    invariance_redundancy : float
        Weight of the Barlow Twins redundancy term (off-diagonal ``C²``) inside
        that loss, relative to the invariance term; 0 (default) leaves it out.
    decoder_layers : int
        Hidden layers of the per-patch reconstruction MLP (1 = the original head).
    grl_gamma : float
        γ of the gradient-reversal warm-up α(p) = 2 / (1 + e^(−γp)) − 1.
    lambda_adv, lambda_inst, lambda_moe, lambda_router_z, lambda_ot : float
        Weights of the reversed classifier, the ``z_inst`` classifier, the MoE
        load-balancing loss, the router z-loss and the optional OT term.
    ot_reg : float
        Entropic regularisation of the Sinkhorn distance (in units of the mean
        squared distance per latent dimension).
    """

    # patching and positional code
    patch_size: int = 16
    n_frequencies: int = 32
    min_period: float = 8.0
    max_period: float = 32768.0
    # backbone
    d_model: int = 256
    n_layers: int = 4
    state_size: int = 64
    bidirectional: bool = True
    dropout: float = 0.1
    # D-LinOSS initialisation
    r_min: float = 0.9
    theta_max: float = math.pi
    dt_min: float = 0.1
    dt_max: float = 0.9
    # mixture of experts
    moe_experts: int = 4
    moe_top_k: int = 2
    moe_every: int = 2
    moe_hidden_mult: int = 2
    # variational information bottleneck
    z_chem_dim: int = 128
    z_inst_dim: int = 64
    split_latent: bool = True
    logvar_min: float = -10.0
    logvar_max: float = 4.0
    # heads
    n_instruments: int = 4
    classifier_hidden: int = 128
    recon_from_tokens: bool = True
    input_noise_stat: bool = False
    chem_input_stats: bool = True
    classifier_standardise: bool = False
    classifier_input: ClassifierInput = "mean"
    decoder_layers: int = 1
    # objective
    mask_ratio: float = 0.35
    w_kl: float = 1.0
    beta_start: float = 0.1
    beta_end: float = 0.001
    beta_anneal_frac: float = 0.6
    beta_schedule: BetaSchedule = "cosine"
    beta_cycles: int = 4
    beta_cycle_rise: float = 0.5
    beta_cycle_plateau: float = 0.25
    grl_gamma: float = 10.0
    lambda_adv: float = 1.0
    lambda_inst: float = 1.0
    lambda_moe: float = 1e-2
    lambda_router_z: float = 0.0
    lambda_ot: float = 0.0
    ot_reg: float = 0.1
    lambda_pair: float = 0.0
    pair_temperature: float = 0.1
    lambda_align: float = 0.0
    lambda_invariance: float = 0.0
    invariance_redundancy: float = 0.0

    def __post_init__(self) -> None:
        self.validate()

    # ------------------------------------------------------------------ checks
    def validate(self) -> None:
        """Raise ``ValueError`` naming the first field with an impossible value."""
        positive_ints = (
            "patch_size", "n_frequencies", "d_model", "n_layers", "state_size",
            "moe_experts", "moe_top_k", "moe_hidden_mult", "z_chem_dim",
            "n_instruments", "classifier_hidden", "beta_cycles", "decoder_layers",
        )
        for name in positive_ints:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name in ("moe_every", "z_inst_dim"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
        for name in ("bidirectional", "split_latent", "recon_from_tokens", "input_noise_stat", "chem_input_stats",
                     "classifier_standardise"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        if self.split_latent and self.z_inst_dim < 1:
            raise ValueError("z_inst_dim must be at least 1 when split_latent is True")
        if self.moe_top_k > self.moe_experts:
            raise ValueError(
                f"moe_top_k ({self.moe_top_k}) cannot exceed moe_experts ({self.moe_experts})"
            )
        _open_interval("mask_ratio", self.mask_ratio, 0.0, 1.0)
        _open_interval("dt_min", self.dt_min, 0.0, 1.0)
        _open_interval("dt_max", self.dt_max, 0.0, 1.0)
        if self.dt_min > self.dt_max:
            raise ValueError(f"dt_min ({self.dt_min}) must not exceed dt_max ({self.dt_max})")
        if not 0.0 < self.r_min <= 1.0:
            raise ValueError(f"r_min must lie in (0, 1], got {self.r_min!r}")
        if not 0.0 < self.theta_max <= math.pi:
            raise ValueError(f"theta_max must lie in (0, pi], got {self.theta_max!r}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {self.dropout!r}")
        if not 0.0 < self.min_period < self.max_period:
            raise ValueError(
                f"need 0 < min_period < max_period, got {self.min_period!r} and {self.max_period!r}"
            )
        if not self.logvar_min < self.logvar_max:
            raise ValueError(
                f"logvar_min ({self.logvar_min}) must be below logvar_max ({self.logvar_max})"
            )
        if self.beta_schedule not in BETA_SCHEDULES:
            raise ValueError(
                f"beta_schedule must be one of {', '.join(BETA_SCHEDULES)}, got {self.beta_schedule!r}"
            )
        if not 0.0 < self.beta_anneal_frac <= 1.0:
            raise ValueError(f"beta_anneal_frac must lie in (0, 1], got {self.beta_anneal_frac!r}")
        for name in ("beta_cycle_rise", "beta_cycle_plateau"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must lie in [0, 1], got {getattr(self, name)!r}")
        if self.beta_cycle_rise + self.beta_cycle_plateau > 1.0:
            raise ValueError("beta_cycle_rise + beta_cycle_plateau must not exceed 1")
        non_negative = (
            "w_kl", "beta_start", "beta_end", "grl_gamma", "lambda_adv", "lambda_inst",
            "lambda_moe", "lambda_router_z", "lambda_ot", "lambda_pair", "lambda_align",
            "lambda_invariance", "invariance_redundancy",
        )
        for name in non_negative:
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite non-negative number, got {value!r}")
        if self.classifier_input not in CLASSIFIER_INPUTS:
            raise ValueError(
                f"classifier_input must be one of {', '.join(CLASSIFIER_INPUTS)}, got {self.classifier_input!r}"
            )
        if not (isinstance(self.pair_temperature, (int, float)) and self.pair_temperature > 0):
            raise ValueError(f"pair_temperature must be positive, got {self.pair_temperature!r}")
        if not self.ot_reg > 0:
            raise ValueError(f"ot_reg must be positive, got {self.ot_reg!r}")

    # ------------------------------------------------------------ derived sizes
    @property
    def uses_pairs(self) -> bool:
        """Whether the objective needs batches holding one molecule through two instruments."""
        return self.lambda_pair > 0 or self.lambda_align > 0 or self.lambda_invariance > 0

    @property
    def latent_dim(self) -> int:
        """Total latent width, ``z_chem_dim + z_inst_dim``."""
        return self.z_chem_dim + self.z_inst_dim

    def moe_layers(self) -> tuple[int, ...]:
        """Indices of the blocks that carry a mixture-of-experts sub-layer."""
        if self.moe_every == 0:
            return ()
        return tuple(i for i in range(self.n_layers) if (i + 1) % self.moe_every == 0)

    # ---------------------------------------------------------- serialisation
    def to_dict(self) -> dict[str, Any]:
        """Plain ``dict`` of the fields (JSON- and ``torch.load``-safe)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> "SpektronConfig":
        """Build a config from a dict, refusing keys that are not fields."""
        if not isinstance(values, dict):
            raise ValueError(f"expected a dict of config values, got {type(values).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(
                f"unknown SpektronConfig key {unknown[0]!r}"
                + (f" (and {len(unknown) - 1} more: {unknown[1:]})" if len(unknown) > 1 else "")
            )
        return cls(**values)


def _open_interval(name: str, value: float, lo: float, hi: float) -> None:
    if not (isinstance(value, (int, float)) and lo < value < hi):
        raise ValueError(f"{name} must lie in ({lo:g}, {hi:g}), got {value!r}")
