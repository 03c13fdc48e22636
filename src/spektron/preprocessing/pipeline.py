"""Build a preprocessing pipeline from a short spec such as ``"snv+sg1:15:2"``.

Steps (joined with ``+``, applied left to right):

- ``snv``: standard normal variate (Barnes et al., Appl. Spectrosc. 43, 772, 1989);
- ``msc``: multiplicative scatter correction against the mean spectrum
  (Geladi et al., Appl. Spectrosc. 39, 491, 1985);
- ``sg``/``smooth[:window[:polyorder]]``: Savitzky–Golay smoothing;
- ``sg1``/``sg2[:window[:polyorder]]``: Savitzky–Golay first/second derivative
  (Savitzky & Golay, Anal. Chem. 36, 1627, 1964);
- ``center``: subtract the mean spectrum of the fitting set.

An empty spec or ``"none"`` gives ``None`` (no preprocessing).
"""

from __future__ import annotations

from chemotools.derivative import SavitzkyGolay
from chemotools.scatter import MultiplicativeScatterCorrection, StandardNormalVariate
from chemotools.smooth import SavitzkyGolayFilter
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

__all__ = ["MeanCentering", "make_preprocessing"]


class MeanCentering(StandardScaler):
    """Subtract the mean spectrum learnt in ``fit`` (a ``StandardScaler`` without scaling).

    PLS centres internally; this step matters for models that do not (e.g. a
    k-NN in spectral space) and to make a pipeline's centring explicit.
    """

    def __init__(self, *, copy: bool = True):
        super().__init__(copy=copy, with_mean=True, with_std=False)


def _ints(args: list[str], defaults: tuple[int, int], step: str) -> tuple[int, int]:
    if len(args) > 2:
        raise ValueError(f"preprocessing step {step!r} takes at most window:polyorder")
    try:
        values = [int(a) for a in args]
    except ValueError:
        raise ValueError(f"preprocessing step {step!r}: window and polyorder must be integers") from None
    window, order = (values + list(defaults)[len(values):])[:2]
    if window < 3 or window % 2 == 0:
        raise ValueError(f"preprocessing step {step!r}: window must be odd and ≥ 3, got {window}")
    if not 0 <= order < window:
        raise ValueError(f"preprocessing step {step!r}: polyorder must lie in [0, window), got {order}")
    return window, order


def make_preprocessing(spec: str | None) -> Pipeline | None:
    """Parse a spec like ``"snv+sg1:15:2"`` into a scikit-learn :class:`Pipeline`."""

    if spec is None or spec.strip().lower() in ("", "none"):
        return None
    steps = []
    for i, raw in enumerate(spec.split("+")):
        name, *args = raw.strip().lower().split(":")
        if name == "snv" and not args:
            step = StandardNormalVariate()
        elif name == "msc" and not args:
            step = MultiplicativeScatterCorrection()
        elif name == "center" and not args:
            step = MeanCentering()
        elif name in ("sg", "smooth"):
            window, order = _ints(args, (11, 2), raw)
            step = SavitzkyGolayFilter(window_length=window, polyorder=order)
        elif name in ("sg1", "sg2"):
            deriv = int(name[-1])
            window, order = _ints(args, (15, 2), raw)
            if order < deriv:
                raise ValueError(f"preprocessing step {raw!r}: polyorder must be ≥ the derivative order {deriv}")
            step = SavitzkyGolay(window_length=window, polyorder=order, deriv=deriv)
        else:
            raise ValueError(
                f"unknown preprocessing step {raw!r}: expected snv, msc, center, sg[:w[:p]], sg1[:w[:p]], sg2[:w[:p]]"
            )
        steps.append((f"{i}_{name}", step))
    return Pipeline(steps)
