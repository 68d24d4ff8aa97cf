"""One direction of dependency among importguard's modules (#16).

Every module is parsed with ``ast`` (nothing is imported): its imports at
module level and inside functions, and every string naming one of importguard's
modules (``sys.modules["importguard._x"]``, ``sys.modules.get(...)``,
``__import__``, a hook spec ``"importguard._x:function"``) count as a
dependency. There must be no cycle among them, and none may point against the
layer order below (the same table is in docs/architecture.md):

    startup -> hook -> records <- sinks <- CLI and API

The data goes that way; the imports go down the table: a layer may import
its own layer (without a cycle) and the layers listed as below it, nothing
else. The hook fills the records; sinks read them and register with them
(``_records.add_sink``, ``pins``, ``cursors``, ``on_outermost``) instead of
being looked up; the session (startup) is the one place that configures the
hook and the sinks; the CLI and the Python API may use anything.
"""

from __future__ import annotations

import ast
import pathlib
from collections.abc import Iterable, Mapping

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "importguard"

#: layer -> (its modules, the layers it may import besides its own).
#: A new module goes in here: test_every_module_has_a_layer says so.
LAYERS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    # Plain helpers and tables, builtins only: settings, globs, file formats.
    "base": (frozenset({"_globs", "_config", "_snapshot", "_stubs", "_startup"}), frozenset()),
    # The records and what fills them inside an import: the buffer and thread
    # state (_records), export checks, user callbacks, GC time.
    "records": (frozenset({"_records", "_exports", "_callbacks", "_gc"}), frozenset({"base"})),
    # The engines: the hot path (_hook) and the finder engine.
    "hook": (frozenset({"_hook", "_finder"}), frozenset({"records", "base"})),
    # Readers of the records, off the import path: reports, formats, summary, spans, metrics, typed results.
    "sinks": (
        frozenset({"_convert", "_report", "_formats", "_html", "_summary", "_otel", "_metrics", "_types"}),
        frozenset({"records", "base"}),
    ),
    # The startup path's entry and the session: installs the hook, configures it and the sinks, finishes.
    # (_pool_sigterm: the SIGTERM handler's help for multiprocessing pools, loaded by the session.)
    # (__init__: the package itself; only its functions are scanned, and its _boot,
    # the .pth entry, is startup: it moved there from _bootstrap, now a shim, #14.)
    "startup": (
        frozenset({"__init__", "_bootstrap", "_session", "_pool_sigterm"}),
        frozenset({"hook", "sinks", "records", "base"}),
    ),
    # The command line (separate processes, and the children they start) and the Python API.
    "cli": (
        frozenset(
            {"_cli", "__main__", "_api", "_patching", "_instrumentor", "_pytest_plugin", "_walk", "_advise_child"}
        ),
        frozenset({"startup", "hook", "sinks", "records", "base"}),
    ),
}


def _modules(root: pathlib.Path) -> dict[str, pathlib.Path]:
    """Dotted name (``importguard._x``, ``importguard._cli.check``) -> file, for every module of the package."""
    found = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _docstrings(tree: ast.AST) -> set[int]:
    """ids of the docstring nodes (prose may name modules; it is not a dependency)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


def dependencies(root: pathlib.Path) -> dict[str, dict[str, tuple[int, str]]]:
    """module -> {module it depends on: (line, how)} for every module under *root*;
    of the package ``__init__`` only its functions (its module level imports
    nothing at run time, see test_package_init_reaches_nothing, and its
    ``TYPE_CHECKING`` block names the public API's modules for type checkers)."""
    modules = _modules(root)
    top = root.name

    def resolve(dotted: str) -> str | None:
        while dotted and dotted not in modules:
            dotted = dotted.rpartition(".")[0]
        return dotted if dotted and dotted != top else None

    graph: dict[str, dict[str, tuple[int, str]]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        skip = _docstrings(tree)
        out = graph.setdefault(name, {})
        roots: list[ast.AST] = [tree]
        if name == top:
            roots = [node for node in tree.body if isinstance(node, ast.FunctionDef)]
        for node in (inner for root in roots for inner in ast.walk(root)):
            targets: list[tuple[str, str]] = []
            if isinstance(node, ast.Import):
                targets = [(alias.name, "import") for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(parts + ([node.module] if node.module else []))
                # `from importguard import _x` names the module _x; `from importguard._x import f`, _x.
                targets = [(f"{base}.{alias.name}", "import") for alias in node.names] + [(base, "import")]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
                text = node.value.partition(":")[0]  # "importguard._x:function", a hook spec
                if text.startswith(top + ".") and text in modules:
                    targets = [(text, "by name")]
            elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == top:
                targets = [(f"{top}.{node.attr}", "attribute")]
            for target, how in targets:
                found = resolve(target)
                if found is not None and found != name and not name.startswith(found + "."):
                    out.setdefault(found, (getattr(node, "lineno", 0), how))
    return graph


def layer_of(module: str) -> str | None:
    short = module.split(".")[1] if "." in module else "__init__"
    for layer, (members, _below) in LAYERS.items():
        if short in members:
            return layer
    return None


def cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, {}):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def against_the_order(graph: dict[str, dict[str, tuple[int, str]]]) -> list[str]:
    bad = []
    for module, deps in sorted(graph.items()):
        mine = layer_of(module)
        for dep, (line, how) in sorted(deps.items()):
            theirs = layer_of(dep)
            if mine is None or theirs is None or theirs == mine:
                continue
            if theirs not in LAYERS[mine][1]:
                bad.append(f"{module} ({mine}) -> {dep} ({theirs}), line {line} ({how})")
    return bad


def _describe(graph: dict[str, dict[str, tuple[int, str]]], component: list[str]) -> str:
    edges = [
        f"{a} -> {b} (line {graph[a][b][0]}, {graph[a][b][1]})"
        for a in component
        for b in component
        if b in graph.get(a, {})
    ]
    return "; ".join(edges)


def test_every_module_has_a_layer() -> None:
    missing = [m for m in _modules(PACKAGE) if m != PACKAGE.name and layer_of(m) is None]
    assert missing == [], f"put these modules in a layer of LAYERS (and docs/architecture.md): {missing}"


def test_no_import_cycle() -> None:
    graph = dependencies(PACKAGE)
    found = cycles(graph)
    assert found == [], "import cycles (module-level, in functions or by name):\n" + "\n".join(
        _describe(graph, c) for c in found
    )


def test_dependencies_follow_the_layer_order() -> None:
    assert against_the_order(dependencies(PACKAGE)) == []


def test_package_init_reaches_nothing() -> None:
    """``importguard/__init__.py`` runs at startup: it imports nothing at run time
    (its public names load lazily, PEP 562), and the names other modules take
    from it are constants it assigns (``__version__``), not a way round the layers."""
    tree = ast.parse((PACKAGE / "__init__.py").read_text(encoding="utf-8"))
    runtime_imports = [node.lineno for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
    assert runtime_imports == []
    constants = {
        t.id
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for t in node.targets
        if isinstance(t, ast.Name)
    }
    submodules = {m.rpartition(".")[2] for m in _modules(PACKAGE)}
    taken = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == PACKAGE.name and not node.level:
                taken |= {alias.name for alias in node.names if alias.name not in submodules}
    assert taken and taken <= constants, taken - constants


# -- the scanner itself, on a package built here ---------------------------------------------


def _package(tmp_path: pathlib.Path, files: dict[str, str]) -> pathlib.Path:
    root = tmp_path / "importguard"
    for rel, text in {"__init__.py": "", **files}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


@pytest.mark.parametrize(
    "body, how",
    [
        ("from importguard import _hook\n", "import"),
        ("def f():\n    from importguard import _hook\n", "import"),
        ("def f():\n    import importguard._hook\n", "import"),
        ("import sys\ndef f():\n    return sys.modules.get('importguard._hook')\n", "by name"),
        ("import sys\nx = sys.modules['importguard._hook'].quiet\n", "by name"),
        ("import importguard\ndef f():\n    return importguard._hook\n", "attribute"),
        ("from . import _hook\n", "import"),
    ],
)
def test_the_scanner_sees_every_kind_of_reach(tmp_path: pathlib.Path, body: str, how: str) -> None:
    root = _package(tmp_path, {"_hook.py": "from importguard import _records\n", "_records.py": body})
    graph = dependencies(root)
    assert graph["importguard._records"]["importguard._hook"][1] == how
    assert cycles(graph) == [["importguard._hook", "importguard._records"]]
    assert against_the_order(graph) == [
        f"importguard._records (records) -> importguard._hook (hook), line "
        f"{graph['importguard._records']['importguard._hook'][0]} ({how})"
    ]


def test_the_scanner_ignores_prose_and_other_strings(tmp_path: pathlib.Path) -> None:
    root = _package(
        tmp_path,
        {
            "_hook.py": "from importguard import _records\n",
            "_records.py": '"""Read by importguard._hook."""\nSCHEMA = "importguard.report/1"\n',
            "_cli/__init__.py": "",
            "_cli/check.py": "from importguard import _records\nfrom . import status\n",
            "_cli/status.py": "",
        },
    )
    graph = dependencies(root)
    assert graph["importguard._records"] == {}
    assert set(graph["importguard._cli.check"]) == {"importguard._records", "importguard._cli.status"}
    assert cycles(graph) == [] and against_the_order(graph) == []
