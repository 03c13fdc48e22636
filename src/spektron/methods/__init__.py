"""The methods layer: the transfer context, the method contract and the registry.

Everything that transfers a calibration — classical (:mod:`spektron.baselines`), the
field's packages, Spektron (:mod:`spektron.transfer`) — is a
:class:`~spektron.methods.base.TransferStrategy` fitted on a
:class:`~spektron.methods.context.TransferContext` and registered by name; the
evaluation harness, the CLI and saved models look methods up here.
"""

from spektron.methods.base import TransferStrategy
from spektron.methods.context import ModelCache, TransferContext
from spektron.methods.regressor import TransferRegressor
from spektron.methods.registry import (
    MethodSpec,
    available_methods,
    check_methods,
    get_method,
    method_spec,
    register_method,
)

__all__ = [
    "MethodSpec",
    "ModelCache",
    "TransferContext",
    "TransferRegressor",
    "TransferStrategy",
    "available_methods",
    "check_methods",
    "get_method",
    "method_spec",
    "register_method",
]
