"""Run configuration for pretraining: one typed object, read from TOML or YAML.

A run file has top-level training keys and two tables::

    steps = 1500
    lr = 1e-3
    [data]
    source = "synthetic"
    n_molecules = 256
    [model]                # any field of SpektronConfig
    d_model = 64

:func:`load_run_config` parses it and validates *everything* before any
training starts; a bad value stops the run with one line naming the key (a
:class:`ConfigError`, which is a ``ValueError``), never a traceback from step 300.
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import asdict, dataclass, field, fields
from importlib.resources import as_file, files
from pathlib import Path
from typing import Any, Literal

from spektron.models.config import SpektronConfig

__all__ = ["ConfigError", "DataConfig", "TrainConfig", "load_run_config"]

DataSource = Literal["synthetic", "qm9s", "pool"]
DATA_SOURCES: tuple[str, ...] = ("synthetic", "qm9s", "pool")
REGIONS: tuple[str, ...] = ("mir", "nir")


class ConfigError(ValueError):
    """A run-configuration value is invalid; the message is one line naming the key."""


@dataclass
class DataConfig:
    """Where pretraining spectra come from and how many instruments see them.

    Parameters
    ----------
    source : ``"synthetic"`` (built-in generator), ``"qm9s"`` (a local QM9S copy) or
        ``"pool"`` (a directory of real single-instrument CSVs, each spectrum seen
        through the simulated instruments).
    path : file or directory for ``qm9s`` and ``pool``; unused for ``synthetic``.
    region : ``"mir"`` (cm⁻¹) or ``"nir"`` (nm) for the built-in generator.
    n_instruments : simulated instruments (SPEC section 4: 4).
    n_molecules : size of the training molecule pool; smaller pools are easier.
    n_eval_molecules : held-out molecules, each seen through every instrument, for
        the diagnostics.
    """

    source: DataSource = "synthetic"
    path: str | None = None
    region: str = "mir"
    n_instruments: int = 4
    n_molecules: int = 1024
    n_eval_molecules: int = 64

    def validate(self) -> None:
        if self.source not in DATA_SOURCES:
            raise ConfigError(f"data.source must be one of {', '.join(DATA_SOURCES)}, got {self.source!r}")
        if self.region not in REGIONS:
            raise ConfigError(f"data.region must be one of {', '.join(REGIONS)}, got {self.region!r}")
        if self.source in ("qm9s", "pool"):
            if not self.path:
                raise ConfigError(f"data.path is required when data.source is {self.source!r}")
            if not Path(self.path).exists():
                raise ConfigError(f"data.path does not exist: {self.path}")
        _int_at_least("data.n_instruments", self.n_instruments, 2)
        _int_at_least("data.n_molecules", self.n_molecules, 1)
        _int_at_least("data.n_eval_molecules", self.n_eval_molecules, 10)


@dataclass
class TrainConfig:
    """Everything a pretraining run needs: optimisation, schedule of side jobs, data, model.

    Parameters
    ----------
    steps : optimiser steps in total.
    batch_size : spectra per step (per process under torchrun).
    lr : peak AdamW learning rate (SPEC: 1e-4).
    weight_decay : AdamW decoupled weight decay on weight matrices.
    warmup_steps : linear warm-up steps before the cosine decay.
    min_lr_ratio : the cosine decays to ``lr * min_lr_ratio``.
    grad_clip : global gradient-norm clip (0 disables).
    adversary_lr_mult : learning-rate multiplier of the reversed instrument classifier
        (a faster adversary keeps up with the encoder; 1 = same rate).
    seed : seeds the model initialisation, the masks and the data stream.
    log_every, eval_every, ckpt_every : steps between loss records, diagnostics and
        checkpoints (0 disables diagnostics or periodic checkpoints).
    keep_checkpoints : how many recent checkpoints to keep (0 keeps all).
    num_threads : torch intra-op threads (0 leaves torch's default).
    data : :class:`DataConfig`.
    model : :class:`~spektron.models.config.SpektronConfig`; its ``n_instruments``
        follows ``data.n_instruments`` unless the file sets it.
    """

    steps: int = 1000
    batch_size: int = 32
    lr: float = 1e-4
    weight_decay: float = 0.01
    warmup_steps: int = 50
    min_lr_ratio: float = 0.1
    grad_clip: float = 1.0
    adversary_lr_mult: float = 1.0
    seed: int = 0
    log_every: int = 10
    eval_every: int = 100
    ckpt_every: int = 200
    keep_checkpoints: int = 2
    num_threads: int = 0
    data: DataConfig = field(default_factory=DataConfig)
    model: SpektronConfig = field(default_factory=SpektronConfig)

    def validate(self) -> None:
        """Raise :class:`ConfigError` (one line) for the first impossible value."""
        _int_at_least("steps", self.steps, 1)
        _int_at_least("batch_size", self.batch_size, 2)
        for name in ("warmup_steps", "log_every", "eval_every", "ckpt_every", "keep_checkpoints",
                     "num_threads", "seed"):
            _int_at_least(name, getattr(self, name), 0)
        if self.warmup_steps >= self.steps:
            raise ConfigError(f"warmup_steps ({self.warmup_steps}) must be smaller than steps ({self.steps})")
        if self.log_every == 0:
            raise ConfigError("log_every must be at least 1")
        _positive("lr", self.lr)
        _non_negative("weight_decay", self.weight_decay)
        _non_negative("grad_clip", self.grad_clip)
        _positive("adversary_lr_mult", self.adversary_lr_mult)
        if not (_is_number(self.min_lr_ratio) and 0.0 <= self.min_lr_ratio <= 1.0):
            raise ConfigError(f"min_lr_ratio must lie in [0, 1], got {self.min_lr_ratio!r}")
        self.data.validate()
        if self.model.n_instruments != self.data.n_instruments:
            raise ConfigError(
                f"model.n_instruments ({self.model.n_instruments}) does not match the "
                f"{self.data.n_instruments} instruments of the data (data.n_instruments)"
            )
        if self.batch_size < self.data.n_instruments:
            raise ConfigError(
                f"batch_size ({self.batch_size}) must be at least data.n_instruments "
                f"({self.data.n_instruments}) so every batch can hold every instrument"
            )

    # ---------------------------------------------------------- serialisation
    def to_dict(self) -> dict[str, Any]:
        """Nested plain dict (TOML/JSON/checkpoint safe); ``None`` values are dropped for TOML."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("data", "model")}
        out["data"] = {k: v for k, v in asdict(self.data).items() if v is not None}
        out["model"] = self.model.to_dict()
        return out

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """Build and validate a config from a nested dict; unknown keys are errors."""
        if not isinstance(values, dict):
            raise ConfigError(f"a run configuration must be a table of keys, got {type(values).__name__}")
        values = dict(values)
        data_values = _table(values.pop("data", {}), "data")
        model_values = _table(values.pop("model", {}), "model")
        _reject_unknown(values, {f.name for f in fields(cls)} - {"data", "model"}, "")
        _reject_unknown(data_values, {f.name for f in fields(DataConfig)}, "data.")
        _reject_unknown(model_values, {f.name for f in fields(SpektronConfig)}, "model.")
        data = DataConfig(**data_values)
        model_values.setdefault("n_instruments", data.n_instruments)
        try:
            model = SpektronConfig.from_dict(model_values)
        except ValueError as err:
            raise ConfigError(f"model.{err}") from None
        config = cls(**values, data=data, model=model)
        _check_types(config)
        config.validate()
        return config


#: The packaged run file used when none is given (``spektron/configs/small.toml``).
DEFAULT_RUN_CONFIG = "small.toml"


def load_run_config(path: str | os.PathLike | None, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Read a ``.toml`` / ``.yaml`` / ``.yml`` run file (None: the packaged
    :data:`DEFAULT_RUN_CONFIG`), apply ``overrides``, validate.

    ``overrides`` uses dotted keys for the tables (``{"steps": 10, "data.source": "qm9s",
    "model.lambda_adv": 0.0}``), as the command-line options do.
    """
    if path is None:
        with as_file(files("spektron") / "configs" / DEFAULT_RUN_CONFIG) as packaged:
            return load_run_config(packaged, overrides)
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    suffix = path.suffix.lower()
    text = path.read_text(encoding="utf-8")
    try:
        if suffix == ".toml":
            values = tomllib.loads(text)
        elif suffix in (".yaml", ".yml"):
            import yaml

            values = yaml.safe_load(text) or {}
        else:
            raise ConfigError(f"config file must end in .toml, .yaml or .yml, got {path.name}")
    except (tomllib.TOMLDecodeError, ImportError) as err:
        raise ConfigError(f"cannot parse {path.name}: {str(err).splitlines()[0]}") from None
    except Exception as err:  # yaml.YAMLError and friends
        if isinstance(err, ConfigError):
            raise
        raise ConfigError(f"cannot parse {path.name}: {str(err).splitlines()[0]}") from None
    return TrainConfig.from_dict(apply_overrides(values, overrides or {}))


def apply_overrides(values: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """Copy of ``values`` with dotted-key ``overrides`` set (``None`` overrides are skipped)."""
    out = {k: (dict(v) if isinstance(v, dict) else v) for k, v in values.items()}
    for key, value in overrides.items():
        if value is None:
            continue
        *tables, leaf = key.split(".")
        target = out
        for table in tables:
            target = target.setdefault(table, {})
        target[leaf] = value
    return out


# ---------------------------------------------------------------- helpers
def _table(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"[{name}] must be a table of keys, got {value!r}")
    return dict(value)


def _reject_unknown(values: dict[str, Any], known: set[str], prefix: str) -> None:
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"unknown config key {prefix + unknown[0]!r}" +
                          (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""))


_INT_FIELDS = ("steps", "batch_size", "warmup_steps", "seed", "log_every", "eval_every", "ckpt_every",
               "keep_checkpoints", "num_threads")
_FLOAT_FIELDS = ("lr", "weight_decay", "min_lr_ratio", "grad_clip", "adversary_lr_mult")


def _check_types(config: TrainConfig) -> None:
    for name in _INT_FIELDS:
        value = getattr(config, name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{name} must be an integer, got {value!r}")
    for name in _FLOAT_FIELDS:
        if not _is_number(getattr(config, name)):
            raise ConfigError(f"{name} must be a number, got {getattr(config, name)!r}")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _int_at_least(name: str, value: Any, lo: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        what = "a positive integer" if lo == 1 else ("a non-negative integer" if lo == 0 else f"an integer ≥ {lo}")
        raise ConfigError(f"{name} must be {what}, got {value!r}")


def _positive(name: str, value: Any) -> None:
    if not (_is_number(value) and value > 0):
        raise ConfigError(f"{name} must be a positive number, got {value!r}")


def _non_negative(name: str, value: Any) -> None:
    if not (_is_number(value) and value >= 0):
        raise ConfigError(f"{name} must be a non-negative number, got {value!r}")
