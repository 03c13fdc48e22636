"""The transfer model file: safe to share between sites, because loading it runs no code from it.

A transfer model is made to travel — the reference lab fits it, the site with the handheld
unit applies it — and a pickle runs whatever code it names when it is loaded. This file
holds no pickle. Its layout:

1. the line ``SPEKTRON-TRANSFER-MODEL``;
2. one line of JSON, the header: the format name and version, the Spektron version that
   wrote it, the method and property, and the payload's size and SHA-256;
3. the payload: the fitted model in the `skops <https://skops.readthedocs.io>`_ format
   (scikit-learn's persistence: objects are rebuilt from their stored state, and a type
   is rebuilt only when the loader trusts it).

Loading checks the header (format, version, the writing Spektron not newer than this one),
then the payload's size and checksum, then that every type the payload names is in the
allow-list — the classes of Spektron's own transfer and baseline packages, and the exact
third-party classes the peer methods hold (:data:`THIRD_PARTY_TYPES`) — and only then
rebuilds anything. A file failing any check is refused with one line. Pickle files of
format version 1 still load when the caller says it trusts them (``trust_pickle``; CLI
``--trust-pickle``), with a warning.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import pickle
import warnings
from pathlib import Path

from packaging.version import InvalidVersion, Version

from spektron._version import __version__
from spektron.atomic_io import atomic_write

__all__ = ["MAGIC", "FORMAT", "FORMAT_VERSION", "THIRD_PARTY_TYPES", "write_model_file", "read_model_file",
           "disallowed_types"]

MAGIC = b"SPEKTRON-TRANSFER-MODEL\n"
FORMAT = "spektron-transfer-model"
#: 1: a pickle (until 2026-12-08); 2: magic line, JSON header, skops payload.
FORMAT_VERSION = 2
#: The longest header line read before the file is refused (a header is a few hundred bytes).
MAX_HEADER = 1 << 16
#: Spektron's packages whose classes a model file may hold (functions never: a type is trusted
#: only when it resolves to a class defined in one of these).
TRUSTED_PACKAGES = ("spektron.transfer.", "spektron.baselines.")
#: Third-party classes (and one function reference) the peer methods' fitted objects hold, each by
#: its exact name: a package's whole namespace is never trusted.
THIRD_PARTY_TYPES = frozenset({
    "chemotools.adaptation._spectral_space_transform.SpectralSpaceTransform",
    "chemotools.derivative._savitzky_golay.SavitzkyGolay",
    "ot.backend.NumpyBackend",
    "ot.da.LinearTransport",
    "ot.da.distribution_estimation_uniform",
    "pynir.CalibrationTransfer.FS_PFCE",
    "pynir.CalibrationTransfer.NS_PFCE",
    "pynir.CalibrationTransfer.SS_PFCE",
    "scipy.optimize._optimize.OptimizeResult",
    "skada._mapping.CORALAdapter",
    "skada._mapping.LinearOTMappingAdapter",
    "skada._subspace.SubspaceAlignmentAdapter",
    "skada.base.SelectSource",
    "skada.base.Shared",
    "sklearn.utils._metadata_requests.MetadataRequest",
    "sklearn.utils._metadata_requests.MethodMetadataRequest",
})


def _is_trusted(name: str) -> bool:
    """In the allow-list: an exact third-party name, or a class defined in Spektron's transfer or
    baseline packages (resolved without running anything but the import of that Spektron module)."""
    if name in THIRD_PARTY_TYPES:
        return True
    if not name.startswith(TRUSTED_PACKAGES):
        return False
    module, _, attr = name.rpartition(".")
    try:
        obj = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError):
        return False
    return isinstance(obj, type) and obj.__module__ == module


def disallowed_types(payload: bytes) -> list[str]:
    """The types a skops payload names that are not in the allow-list (read from its schema,
    nothing rebuilt)."""
    return _named_types(payload)[1]


def _named_types(payload: bytes) -> tuple[list[str], list[str]]:
    """(every type skops would need trusted to rebuild the payload, those outside the allow-list)."""
    import skops.io as sio

    named = sio.get_untrusted_types(data=payload)
    return named, sorted(t for t in named if not _is_trusted(t))


def write_model_file(path: str | os.PathLike, model, *, method: str, property_name: str) -> Path:
    """Write ``model`` to ``path`` atomically in the safe format. A model holding a type outside
    the allow-list (the deep encoder's PyTorch networks) is refused, naming the method."""
    import skops.io as sio

    try:
        payload = sio.dumps(model)
    except Exception as exc:  # noqa: BLE001 - whatever skops cannot represent, the reason goes to the user
        raise ValueError(f"method {method!r} cannot be saved as a transfer model file: it holds an object the safe "
                         f"format cannot store ({type(exc).__name__}: {str(exc)[:120]})") from None
    bad = disallowed_types(payload)
    if bad:
        raise ValueError(f"method {method!r} cannot be saved as a transfer model file: it holds {bad[0]}"
                         f"{f' and {len(bad) - 1} more type(s)' if len(bad) > 1 else ''} outside the types a model "
                         "file may hold (spektron.transfer.model_file)")
    import skops

    header = {"format": FORMAT, "version": FORMAT_VERSION, "spektron_version": __version__,
              "skops_version": skops.__version__, "method": method, "property": property_name,
              "payload": "skops", "size": len(payload), "sha256": hashlib.sha256(payload).hexdigest()}
    path = Path(path)
    with atomic_write(path, "wb") as fh:
        fh.write(MAGIC)
        fh.write(json.dumps(header, sort_keys=True).encode() + b"\n")
        fh.write(payload)
    return path


def read_model_file(path: str | os.PathLike, *, trust_pickle: bool = False):
    """The model in a file written by :func:`write_model_file` (checked as the module docstring
    says), or — only with ``trust_pickle`` — in a format-1 pickle. Raises ``ValueError`` with one
    line naming the file and the reason; nothing from a refused file is rebuilt."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"transfer model not found: {path}")
    with open(path, "rb") as fh:
        head = fh.read(len(MAGIC))
        if head != MAGIC:
            return _read_pickle(path, head, trust_pickle)
        line = fh.readline(MAX_HEADER + 1)
        payload = fh.read()
    if not line.endswith(b"\n"):
        raise ValueError(f"{path}: the model file's header is truncated or longer than {MAX_HEADER} bytes")
    try:
        header = json.loads(line)
    except ValueError:
        raise ValueError(f"{path}: the model file's header is not valid JSON") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValueError(f"{path} is not a Spektron transfer model (header format {header.get('format')!r})"
                         if isinstance(header, dict) else f"{path}: the model file's header is not a JSON object")
    version = header.get("version")
    if not isinstance(version, int) or version > FORMAT_VERSION or version < 2:
        raise ValueError(f"{path} was written in format version {version!r}; this Spektron reads versions 2 to "
                         f"{FORMAT_VERSION} (upgrade spektron for a newer one)")
    try:
        newer = Version(str(header.get("spektron_version"))) > Version(__version__)
    except InvalidVersion:
        raise ValueError(f"{path}: the header's Spektron version {header.get('spektron_version')!r} is not a "
                         "version") from None
    if newer:
        raise ValueError(f"{path} was written by Spektron {header['spektron_version']}, newer than this one "
                         f"({__version__}); upgrade spektron to load it")
    if header.get("payload") != "skops":
        raise ValueError(f"{path}: unknown payload kind {header.get('payload')!r}")
    if header.get("size") != len(payload):
        raise ValueError(f"{path} is truncated or altered: its payload is {len(payload)} bytes, the header says "
                         f"{header.get('size')}")
    if hashlib.sha256(payload).hexdigest() != header.get("sha256"):
        raise ValueError(f"{path} is altered or damaged: its payload's SHA-256 differs from the header's")
    import skops.io as sio

    try:
        named, bad = _named_types(payload)
    except Exception as exc:  # noqa: BLE001 - a payload skops cannot even describe is not ours
        raise ValueError(f"{path}: the payload is not a readable skops archive ({type(exc).__name__})") from None
    if bad:
        raise ValueError(f"{path} names types outside those a transfer model may hold ({', '.join(bad[:3])}"
                         f"{', …' if len(bad) > 3 else ''}); refused, nothing was loaded")
    try:
        return sio.loads(payload, trusted=named)
    except Exception as exc:  # noqa: BLE001 - the checks passed but the state does not rebuild
        raise ValueError(f"{path}: the model could not be rebuilt ({type(exc).__name__}: {str(exc)[:120]})") from None


def _read_pickle(path: Path, head: bytes, trust_pickle: bool):
    """Format 1 (a pickle): refused unless trusted, since unpickling runs the code a file names."""
    if not head.startswith(b"\x80"):
        raise ValueError(f"{path} is not a Spektron transfer model")
    if not trust_pickle:
        raise ValueError(f"{path} is a pickle (a transfer model file of format version 1): loading it can run any "
                         "code it holds; pass --trust-pickle (Python: trust_pickle=True) only if you trust its source, "
                         "and save it again to get a safe file")
    warnings.warn(f"{path}: loading a pickle, which runs any code it holds (trusted on request)", UserWarning,
                  stacklevel=3)
    try:
        with open(path, "rb") as fh:
            payload = pickle.load(fh)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means: not our file
        raise ValueError(f"{path} is not a Spektron transfer model ({type(exc).__name__})") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path} is not a Spektron transfer model")
    if int(payload.get("version", 0)) != 1:
        raise ValueError(f"{path}: a pickle of format version {payload.get('version')!r}; only version 1 was a pickle")
    return payload["model"]
