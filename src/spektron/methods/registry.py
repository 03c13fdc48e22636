"""Transfer methods by name, so the harness and the CLI never import them directly.

This module imports nothing of the package: the built-in methods register themselves
when :mod:`spektron.methods.catalogue` imports their modules, on the first lookup.

A method is registered with a factory returning a fresh strategy (a scikit-learn
style estimator with ``fit(context)`` / ``predict(X_target)``). Later modules add
theirs with one decorator, without touching the benchmark::

    @register_method("coral", requires_pairs=False, description="CORAL on the encoder")
    class CoralStrategy(TransferStrategy): ...
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

__all__ = ["MethodSpec", "register_method", "get_method", "method_spec", "available_methods", "check_methods"]


@dataclass(frozen=True)
class MethodSpec:
    name: str
    factory: Callable
    requires_pairs: bool
    description: str


_REGISTRY: dict[str, MethodSpec] = {}
_BUILTINS_LOADED = False


def _load_builtins() -> None:
    """Import the catalogue of built-in methods (once, on the first lookup)."""
    global _BUILTINS_LOADED
    if _BUILTINS_LOADED:
        return
    _BUILTINS_LOADED = True
    import importlib

    importlib.import_module("spektron.methods.catalogue")


def register_method(name: str, factory: Callable | None = None, *, requires_pairs: bool, description: str = ""):
    """Register ``factory`` under ``name``; usable as a decorator when ``factory`` is omitted.

    Re-registering a name with a different factory is an error (two methods must not
    silently share one name); registering the same factory again is a no-op.
    """
    if not name or not isinstance(name, str) or "," in name or name != name.strip():
        raise ValueError(f"invalid method name {name!r}")

    def _register(fn: Callable) -> Callable:
        old = _REGISTRY.get(name)
        if old is not None and old.factory is not fn:
            raise ValueError(f"method {name!r} is already registered")
        _REGISTRY[name] = MethodSpec(name, fn, bool(requires_pairs), description or (fn.__doc__ or "").strip().split("\n")[0])
        return fn

    return _register if factory is None else _register(factory)


def method_spec(name: str) -> MethodSpec:
    _load_builtins()
    if name not in _REGISTRY:
        raise ValueError(f"unknown method {name!r}; available: {', '.join(available_methods())}")
    return _REGISTRY[name]


def get_method(name: str, **params):
    """A fresh, unfitted strategy for ``name`` (``params`` go to its constructor)."""
    return method_spec(name).factory(**params)


def available_methods() -> list[str]:
    """Registered method names, in registration order."""
    _load_builtins()
    return list(_REGISTRY)


def check_methods(names) -> list[str]:
    """Validate a list of method names (one error naming every unknown one)."""
    names = list(names)
    if not names:
        raise ValueError("no methods given")
    unknown = [n for n in names if n not in available_methods()]
    if unknown:
        word = "method" if len(unknown) == 1 else "methods"
        raise ValueError(f"unknown {word} {', '.join(map(repr, unknown))}; available: {', '.join(available_methods())}")
    return names
