"""Public names a stub file (``.pyi``) declares, read with ``ast`` (imported only when a stub is checked).

A stub describes more than the module has at run time: TypeVars, ParamSpecs,
Protocols, TypedDicts and type aliases are for type checkers (``attr.In``,
matplotlib's ``DeprecationKwargs``), and some aliases name platform-specific
types that exist only elsewhere (numpy's ``float96`` and ``complex192`` are
``floating[_96Bit]`` aliases that the module has on 32-bit x86 only). Those
are left out of the names the module must provide. A name the stub re-exports
from another module of the same package (``from ._typing import float96``) is
followed to that module's stub, or its source, to see what it is.
"""

from __future__ import annotations

import ast
import os
import sys

#: Calls whose result is a typing construct: a name bound to one is not a runtime export.
_TYPING_CALLS = frozenset({"TypeVar", "ParamSpec", "TypeVarTuple"})
#: Classes deriving from these are typing-only in a stub.
_TYPING_BASES = frozenset({"Protocol", "TypedDict"})
#: How many re-exports are followed to find what a name is.
_MAX_HOPS = 4


def _version_test(test: ast.expr) -> bool | None:
    """Evaluate ``sys.version_info >= (3, N)``-style tests; None if it is anything else."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and len(test.comparators) == 1):
        return None
    left, op, right = test.left, test.ops[0], test.comparators[0]
    if not (
        isinstance(left, ast.Attribute)
        and left.attr == "version_info"
        and isinstance(left.value, ast.Name)
        and left.value.id == "sys"
    ):
        return None
    try:
        value = ast.literal_eval(right)
    except ValueError:
        return None
    if not isinstance(value, tuple):
        return None
    here = sys.version_info[: len(value)]
    ops = {
        ast.GtE: here >= value,
        ast.Gt: here > value,
        ast.Lt: here < value,
        ast.LtE: here <= value,
        ast.Eq: here == value,
        ast.NotEq: here != value,
    }
    return ops.get(type(op))


def _tail(node: ast.expr) -> str | None:
    """The last name of ``X``, ``typing.X`` or ``X[...]``."""
    if isinstance(node, ast.Subscript):
        node = node.value
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _is_type_expression(value: ast.expr) -> bool:
    """``A[B]``, ``A | B``, ``Literal[...]``: in a stub, an alias for type checkers."""
    if isinstance(value, ast.Subscript):
        return True
    return isinstance(value, ast.BinOp) and isinstance(value.op, ast.BitOr)


class _Stub:
    """The top-level bindings of one stub (or source) file, version branches evaluated."""

    def __init__(self, path: str) -> None:
        with open(path, encoding="utf-8") as fh:
            tree = ast.parse(fh.read(), filename=path)
        self.path = path
        self.all: list[str] | None = None
        self.defined: dict[str, ast.stmt] = {}
        #: name -> (module, its name there, relative level), for `from m import a as a` re-exports
        self.reexports: dict[str, tuple[str, str, int]] = {}
        self.typing_only: set[str] = set()
        self._collect(tree.body)

    def _collect(self, body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.defined[node.name] = node
            elif isinstance(node, ast.ClassDef):
                self.defined[node.name] = node
                bases = {_tail(b) for b in node.bases}
                if bases & _TYPING_BASES or bases & self.typing_only:
                    self.typing_only.add(node.name)
            elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                self.defined[node.target.id] = node
                if _tail(node.annotation) == "TypeAlias":
                    self.typing_only.add(node.target.id)
            elif isinstance(node, ast.Assign):
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
                if "__all__" in names:
                    try:
                        declared = ast.literal_eval(node.value)
                        self.all = [n for n in declared if isinstance(n, str)]
                    except ValueError:
                        pass
                for name in names:
                    self.defined[name] = node
                    value = node.value
                    if (isinstance(value, ast.Call) and _tail(value.func) in _TYPING_CALLS) or _is_type_expression(
                        value
                    ):
                        self.typing_only.add(name)
            elif type(node).__name__ == "TypeAlias":  # `type X = ...` (3.12+)
                name_node = getattr(node, "name", None)
                if isinstance(name_node, ast.Name):
                    self.defined[name_node.id] = node
                    self.typing_only.add(name_node.id)
            elif isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    bound = alias.asname or alias.name
                    self.reexports[bound] = (node.module or "", alias.name, node.level)
                    if alias.asname and alias.asname == alias.name:
                        self.defined[bound] = node
            elif isinstance(node, ast.Import):
                # In a stub only `import x as x` re-exports.
                for alias in node.names:
                    if alias.asname and alias.asname == alias.name.rpartition(".")[2]:
                        self.defined[alias.asname] = node
            elif isinstance(node, ast.If):
                verdict = _version_test(node.test)
                if verdict is True:
                    self._collect(node.body)
                elif verdict is False:
                    self._collect(node.orelse)
                # Any other condition (platform, TYPE_CHECKING...): its names may
                # not exist here, so they are not claimed.


def _module_file(root: str, module: str) -> str | None:
    """The stub, or else the source, of *module* under the directory *root* holds its top-level package in."""
    base = os.path.join(root, *module.split("."))
    for candidate in (
        base + ".pyi",
        os.path.join(base, "__init__.pyi"),
        base + ".py",
        os.path.join(base, "__init__.py"),
    ):
        if os.path.isfile(candidate):
            return candidate
    return None


_parsed: dict[str, _Stub | None] = {}


def _load(path: str) -> _Stub | None:
    """The stub (or source) at *path*, parsed once per process: a package's stubs
    re-export hundreds of names from the same few modules (numpy)."""
    if path not in _parsed:
        try:
            _parsed[path] = _Stub(path)
        except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
            _parsed[path] = None
    return _parsed[path]


def _is_typing_only(stub: _Stub, name: str, module: str | None, root: str | None, hops: int = 0) -> bool:
    if name in stub.typing_only:
        return True
    found = stub.reexports.get(name)
    if found is None or module is None or root is None or hops >= _MAX_HOPS:
        return False
    source, original, level = found
    if level:
        package = module if stub.path.endswith(("__init__.pyi", "__init__.py")) else module.rpartition(".")[0]
        for _ in range(level - 1):
            package = package.rpartition(".")[0]
        source = f"{package}.{source}" if source else package
    if source.partition(".")[0] != module.partition(".")[0]:
        return False  # another package's names: not followed
    path = _module_file(root, source)
    other = _load(path) if path is not None else None
    if other is None:
        return False
    return _is_typing_only(other, original, source, root, hops + 1)


def stub_names(path: str, module: str | None = None) -> list[str]:
    """The public names *path* says the module *module* has at run time: its
    ``__all__`` if it has one, else every top-level name not starting with an
    underscore; less the typing-only ones (see the module docstring)."""
    stub = _load(path)
    if stub is None:
        stub = _Stub(path)  # raises what made it unreadable
    declared = stub.all if stub.all is not None else [n for n in stub.defined if not n.startswith("_")]
    root = None
    if module is not None:
        # The directory that holds the top-level package: the stub's own, up one per dot (and one for __init__).
        depth = module.count(".") + (1 if os.path.basename(path).startswith("__init__.") else 0)
        root = os.path.dirname(os.path.abspath(path))
        for _ in range(depth):
            root = os.path.dirname(root)
    return sorted({n for n in declared if not _is_typing_only(stub, n, module, root)})
