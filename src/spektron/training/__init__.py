"""Training: losses and schedules (the trainer builds on them).

Only modules that do not import ``spektron.models`` at import time may be imported
eagerly here: the model imports ``spektron.training.losses``, so an eager import of
code that imports the model would make a circular import.
"""

from spektron.training.losses import (
    domain_cross_entropy,
    gaussian_kl_per_dim,
    load_balancing_loss,
    masked_mse,
    router_z_loss,
    sinkhorn_domain_loss,
)
from spektron.training.schedules import cosine_beta, cyclical_beta, grl_alpha, beta_at, schedule_values

__all__ = [
    "cosine_beta",
    "cyclical_beta",
    "domain_cross_entropy",
    "gaussian_kl_per_dim",
    "grl_alpha",
    "beta_at",
    "load_balancing_loss",
    "masked_mse",
    "router_z_loss",
    "schedule_values",
    "sinkhorn_domain_loss",
]

# Trainer side (issue 5). Resolved lazily (PEP 562): these modules import
# spektron.models, which imports this package, so an eager import would be circular.
_LAZY = {
    "ConfigError": "spektron.training.config",
    "DataConfig": "spektron.training.config",
    "TrainConfig": "spektron.training.config",
    "load_run_config": "spektron.training.config",
    "PretrainResult": "spektron.training.trainer",
    "Trainer": "spektron.training.trainer",
    "pretrain": "spektron.training.trainer",
    "evaluate_views": "spektron.training.diagnostics",
    "plot_training_dynamics": "spektron.training.plots",
}
__all__ += sorted(_LAZY)


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
