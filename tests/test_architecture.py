"""The import graph follows the layers of docs/architecture.md: every import points to
the same or a lower layer, no module-level import cycle, and the package's own modules
are imported inside a function body only where a ``# lazy:`` comment says why."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "spektron"

#: Lowest first. A module belongs to the first entry that prefixes its dotted name
#: (relative to ``spektron``); the package root is ``""``.
LAYERS = (
    ("_version", "atomic_io", "run_layout", "timing"),
    ("data", "preprocessing"),
    ("models",),
    ("training",),
    ("methods.base", "methods.context", "methods.registry", "methods"),
    ("baselines",),
    ("transfer",),
    ("methods.catalogue",),  # imports every built-in method so that they register
    ("evaluation",),
    ("report",),
    ("workflows",),
    ("cli",),
    ("",),  # the package root: a facade (SpectralData, load_model) that nothing inside imports
)


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _layer(name: str) -> int:
    best, best_len = None, -1
    for i, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            matches = name == prefix or (prefix and name.startswith(prefix + "."))
            if matches and len(prefix) > best_len:
                best, best_len = i, len(prefix)
    if best is None:
        if "." not in name and (SRC / f"{name}.py").exists():
            raise AssertionError(f"spektron.{name} is in no layer of LAYERS: place it")
        return LAYERS.index(("",))
    return best


def _imports():
    """(importer, imported, at module level?, has a '# lazy:' comment) for every import of
    the package's own modules."""
    modules = {_module_name(p) for p in SRC.rglob("*.py")}
    out = []
    for path in sorted(SRC.rglob("*.py")):
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        tree = ast.parse(source)
        top = {id(node) for node in tree.body}
        me = _module_name(path)
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "spektron":
                base = node.module.removeprefix("spektron").lstrip(".")
                targets = [f"{base}.{a.name}".lstrip(".") if f"{base}.{a.name}".lstrip(".") in modules else base
                           for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name.removeprefix("spektron").lstrip(".") for a in node.names
                           if a.name.split(".")[0] == "spektron"]
            else:
                continue
            statement = "\n".join(lines[node.lineno - 1:node.end_lineno])
            for target in targets:
                out.append((me, target, id(node) in top or _in_if_at_top(tree, node), "# lazy:" in statement))
    return out


def _in_if_at_top(tree: ast.Module, node: ast.AST) -> bool:
    # `if TYPE_CHECKING:` / try-except blocks at module level count as module level
    for stmt in tree.body:
        if isinstance(stmt, (ast.If, ast.Try)) and any(n is node for n in ast.walk(stmt)):
            return True
    return False


IMPORTS = _imports()


def test_every_module_is_in_a_layer():
    for path in SRC.rglob("*.py"):
        _layer(_module_name(path))


def test_no_import_points_to_a_higher_layer():
    upward = [(a, b) for a, b, _, _ in IMPORTS if _layer(b) > _layer(a)]
    assert not upward, "imports from a lower layer to a higher one:\n" + "\n".join(
        f"  spektron.{a} ({LAYERS[_layer(a)][0] or 'root'}) -> spektron.{b} ({LAYERS[_layer(b)][0]})" for a, b in upward)


def test_no_module_level_import_cycle():
    graph: dict[str, set[str]] = {}
    for a, b, top, _ in IMPORTS:
        if top and a != b:
            graph.setdefault(a, set()).add(b)
    # Tarjan's strongly connected components
    index, low, stack, on, cycles, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in list(graph):
        if v not in index:
            visit(v)
    # a package __init__ re-exporting its own submodules is not a cycle of the design
    real = [c for c in cycles if len({m.split(".")[0] for m in c}) > 1
            or not any(m == c[0].split(".")[0] for m in c)]
    assert not real, f"module-level import cycles: {real}"


def test_function_body_imports_say_why():
    hidden = sorted({(a, b) for a, b, top, lazy in IMPORTS if not top and not lazy and not a.startswith("cli")})
    assert not hidden, ("imports of the package inside function bodies without a '# lazy:' reason "
                        "(move them to the top of the module):\n" + "\n".join(f"  spektron.{a} -> spektron.{b}"
                                                                              for a, b in hidden))


@pytest.mark.parametrize("module", ["spektron.report.html", "spektron.methods", "spektron.evaluation.results"])
def test_reading_results_and_listing_methods_do_not_load_torch(module):
    import subprocess
    import sys

    code = (f"import sys, importlib; importlib.import_module({module!r}); "
            "from spektron.methods import available_methods; available_methods(); "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
