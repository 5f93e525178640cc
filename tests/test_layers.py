"""Layers that go one way: every module imports on its own, and the package's import graph is acyclic and layered.

The layers, lowest first (a module may import from its own layer and the ones below):

    base → declarations → mechanisms → model → engine → study → outputs → report → exchange → interface

The static check reads every module's imports with :mod:`ast` — including the
ones inside functions — so an import hidden in a function cannot hide a cycle.
Inside functions only the optional or heavy third-party packages of
``LAZY_IMPORTS`` may be imported.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import chemohost

PACKAGE_DIR = Path(chemohost.__file__).parent

LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("base", ("chemohost._errors", "chemohost._deprecation", "chemohost.limits", "chemohost._yaml_config",
              "chemohost.provenance")),
    ("declarations", ("chemohost.citations", "chemohost.parameters", "chemohost.core", "chemohost.quantities",
                      "chemohost.drugs", "chemohost.regimen", "chemohost.cohort")),
    ("mechanisms", ("chemohost.mechanisms",)),
    ("model", ("chemohost.model",)),
    ("engine", ("chemohost.engine",)),
    ("sbml", ("chemohost.sbml",)),
    ("study", ("chemohost.recist", "chemohost.procedures", "chemohost.rules", "chemohost.study", "chemohost.equal_toxicity",
               "chemohost.resistance", "chemohost.trial")),
    ("outputs", ("chemohost.outcomes", "chemohost.metastasis", "chemohost.host_profile", "chemohost.validation",
                 "chemohost.targets", "chemohost.io")),
    ("analysis", ("chemohost.conclusions", "chemohost.sensitivity",
                  "chemohost.trial._readouts", "chemohost.trial._score")),  # trial read-outs use outcomes
    ("plotting", ("chemohost.plotting",)),
    ("report", ("chemohost.report", "chemohost.calibration")),
    ("exchange", ("chemohost.petab",)),
    ("interface", ("chemohost.explorer", "chemohost.serve", "chemohost.cli", "chemohost")),
)
"""Package modules by layer, lowest first; a name covers the module and everything below it, except
``chemohost`` (the package's own ``__init__``), which covers itself only."""

LAZY_IMPORTS = frozenset({
    "jax", "jaxlib", "diffrax", "optimistix", "equinox", "numpyro",  # the fit and jax extras
    "libsbml", "roadrunner", "petab",  # the sbml and petab extras
    "dask", "distributed", "zarr",  # the trial extra
    "panel", "bokeh", "playwright",  # the serve and test extras
    "matplotlib", "lifelines", "SALib",  # plotting and statistics, imported by the functions that use them
    "numba",  # the JIT compiler, imported when a kernel runs
    "fcntl", "ctypes",  # platform-specific parts of the standard library (file locks, renameat2)
})
"""Top-level third-party packages that may be imported inside functions (optional extras and heavy imports)."""


def _modules() -> dict[str, tuple[Path, bool]]:
    found = {}
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        parts = ["chemohost", *path.relative_to(PACKAGE_DIR).with_suffix("").parts]
        is_package = parts[-1] == "__init__"
        found[".".join(parts[:-1] if is_package else parts)] = (path, is_package)
    return found


TEMPLATES = frozenset({"chemohost.engine._kernel_template"})
"""Source files read as text by the code generator, never imported."""

MODULES = {name: where for name, where in _modules().items() if name not in TEMPLATES}


def _layer(module: str) -> int:
    best = max(((len(prefix), i) for i, (_, prefixes) in enumerate(LAYERS) for prefix in prefixes
                if module == prefix or (prefix != "chemohost" and module.startswith(prefix + "."))), default=None)
    assert best is not None, f"{module} has no layer; add it to LAYERS in {__file__}"
    return best[1]


def _type_checking_only(tree: ast.Module) -> set[int]:
    """Imports under ``if TYPE_CHECKING:``, which never run."""
    return {id(node) for block in ast.walk(tree)
            if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
            for stmt in block.body for node in ast.walk(stmt)}


def _in_functions(tree: ast.Module) -> set[int]:
    return {id(node) for fn in ast.walk(tree) if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            for node in ast.walk(fn) if isinstance(node, (ast.Import, ast.ImportFrom))}


def _targets(module: str, is_package: bool, node: ast.Import | ast.ImportFrom) -> list[str]:
    """Absolute names imported by ``node``: package modules where they are modules, else the module named.

    Third-party ``from x import y`` gives ``x.y``, which may be a module or a name in ``x``.
    """
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        base = module.split(".")[: len(module.split(".")) + (1 if is_package else 0) - node.level]
        source = ".".join(base + ([node.module] if node.module else []))
    else:
        source = node.module or ""
    if source.split(".")[0] != "chemohost":  # a third-party name may be a module (from scipy import stats)
        return [f"{source}.{a.name}" for a in node.names]
    return [f"{source}.{a.name}" if f"{source}.{a.name}" in MODULES else source for a in node.names]


def _imports() -> list[tuple[str, str, int, bool]]:
    """``(importer, imported, line, inside a function)`` for every import that runs."""
    found = []
    for module, (path, is_package) in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        skip, lazy = _type_checking_only(tree), _in_functions(tree)
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and id(node) not in skip:
                found += [(module, target, node.lineno, id(node) in lazy) for target in _targets(module, is_package, node)]
    return found


IMPORTS = _imports()


def _package_module(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for importer, imported, _, _ in IMPORTS:
        target = _package_module(imported) if imported.split(".")[0] == "chemohost" else None
        if target and target != importer:
            graph[importer].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


# ------------------------------------------------------------------------------------- the checker itself


def test_cycle_finder_finds_a_cycle_and_accepts_a_chain():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_relative_imports_resolve_to_package_modules():
    tree = ast.parse("from . import _figures\nfrom ..quantities import plasma\nfrom .. import __version__")
    resolved = [_targets("chemohost.report._outcomes", False, node) for node in tree.body]
    assert resolved == [["chemohost.report._figures"], ["chemohost.quantities"], ["chemohost"]]
    package = ast.parse("from ._model import Model").body[0]
    assert _targets("chemohost.model", True, package) == ["chemohost.model._model"]


def test_imports_inside_functions_are_found_and_type_checking_ones_skipped():
    tree = ast.parse("import os\nif TYPE_CHECKING:\n    from .model import Model\n"
                     "def f():\n    from .engine import simulate\n")
    imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert [id(n) in _in_functions(tree) for n in imports] == [False, False, True]
    assert [id(n) in _type_checking_only(tree) for n in imports] == [False, True, False]


# ------------------------------------------------------------------------------------- the package


def test_every_module_has_a_layer():
    assert LAYERS[_layer("chemohost.model._model")][0] == "model"
    with pytest.raises(AssertionError, match="no layer"):
        _layer("chemohost.not_in_the_map")
    for module in MODULES:
        _layer(module)


def test_import_graph_is_acyclic():
    cycles = _cycles(_graph())
    assert not cycles, "import cycles: " + "; ".join(" ↔ ".join(c) for c in cycles)


def test_imports_go_down_the_layers():
    upward = [
        f"{importer} ({LAYERS[_layer(importer)][0]}) imports {target} ({LAYERS[_layer(target)][0]})"
        for importer, targets in _graph().items() for target in sorted(targets)
        if _layer(target) > _layer(importer)
    ]
    assert not upward, "imports that go up a layer:\n" + "\n".join(upward)


def test_functions_import_only_optional_heavy_packages():
    hidden = dict.fromkeys(f"{importer}:{line} imports {imported}" for importer, imported, line, lazy in IMPORTS
                           if lazy and imported.split(".")[0] not in LAZY_IMPORTS)
    assert not hidden, "imports inside functions (move them to the top of the module):\n" + "\n".join(hidden)


# ------------------------------------------------------------------------------------- fresh interpreters

_FORK_SERVER = textwrap.dedent("""
    import importlib, os, sys, traceback

    count, names = int(sys.argv[1]), sys.argv[2:]
    for library in names[count:]:  # third-party modules, loaded once instead of once per child
        for candidate in (library, library.rpartition(".")[0]):
            try:
                importlib.import_module(candidate)
                break
            except ImportError:
                pass
    import chemohost  # noqa: F401  (every `import chemohost.x.y` first runs chemohost/__init__.py to its end)

    failed, running = [], {}
    for name in names[:count]:
        while len(running) >= os.cpu_count():
            pid, status = os.wait()
            if status:
                failed.append(running[pid])
            running.pop(pid)
        pid = os.fork()
        if pid == 0:
            try:
                importlib.import_module(name)
            except BaseException:
                traceback.print_exc()
                os._exit(1)
            os._exit(0)
        running[pid] = name
    while running:
        pid, status = os.wait()
        if status:
            failed.append(running.pop(pid))
        else:
            running.pop(pid)
    print("FAILED:", " ".join(sorted(failed)))
""")


def _environment() -> dict[str, str]:
    src = str(PACKAGE_DIR.parent)
    return {**os.environ, "PYTHONPATH": os.pathsep.join([src, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_every_module_imports_in_a_fresh_interpreter():
    """Each module is imported first in a process of its own.

    One fresh interpreter imports ``chemohost`` and forks a child per module: a
    fresh ``python -c "import chemohost.x.y"`` runs ``chemohost/__init__.py`` to its
    end before anything else, so each child starts exactly where that interpreter
    would be, and imports its module first. The third-party libraries the
    package imports at module level are loaded before ``chemohost``, once, so
    that each child runs only the package's own code. (The slow test below
    starts a new interpreter per module.)
    """
    names = sorted(m for m in MODULES if m != "chemohost")
    libraries = sorted({imported for _, imported, _, lazy in IMPORTS
                        if not lazy and imported.split(".")[0] not in ("chemohost", "__future__")})
    result = subprocess.run([sys.executable, "-c", _FORK_SERVER, str(len(names)), *names, *libraries],
                            capture_output=True, text=True, env=_environment(), timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    assert result.stdout.strip().endswith("FAILED:"), result.stdout[-2000:] + result.stderr[-4000:]


@pytest.mark.slow
def test_every_module_imports_in_its_own_new_interpreter():
    def load(name):
        run = subprocess.run([sys.executable, "-c", f"import {name}"], capture_output=True, text=True,
                             env=_environment(), timeout=300)
        return name, run.returncode, run.stderr[-1500:]

    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 1)) as pool:
        failed = [f"{name}:\n{err}" for name, rc, err in pool.map(load, sorted(MODULES)) if rc]
    assert not failed, "\n".join(failed)
