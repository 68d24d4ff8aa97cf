"""Public names a stub file (``.pyi``) declares, read with ``ast`` (imported only when a stub is checked)."""

from __future__ import annotations

import ast
import sys


def _version_test(test: ast.expr) -> bool | None:
    """Evaluate ``sys.version_info >= (3, N)``-style tests; None if it is anything else."""
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and len(test.comparators) == 1):
        return None
    left, op, right = test.left, test.ops[0], test.comparators[0]
    if not (isinstance(left, ast.Attribute) and left.attr == "version_info"
            and isinstance(left.value, ast.Name) and left.value.id == "sys"):
        return None
    try:
        value = ast.literal_eval(right)
    except ValueError:
        return None
    if not isinstance(value, tuple):
        return None
    here = sys.version_info[: len(value)]
    ops = {ast.GtE: here >= value, ast.Gt: here > value, ast.Lt: here < value, ast.LtE: here <= value,
           ast.Eq: here == value, ast.NotEq: here != value}
    return ops.get(type(op))


def _collect(body: list[ast.stmt], names: set[str]) -> None:
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            # In a stub only `import x as x` / `from m import a as a` re-export.
            names.update(a.asname for a in node.names if a.asname and a.asname == a.name.rpartition(".")[2])
        elif isinstance(node, ast.If):
            verdict = _version_test(node.test)
            if verdict is True:
                _collect(node.body, names)
            elif verdict is False:
                _collect(node.orelse, names)
            # Any other condition (platform, TYPE_CHECKING...): its names may
            # not exist here, so they are not claimed.


def stub_names(path: str) -> list[str]:
    """The public names *path* defines: its ``__all__`` if it has one, else every
    top-level name not starting with an underscore."""
    with open(path, encoding="utf-8") as fh:
        tree = ast.parse(fh.read(), filename=path)
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            try:
                declared = ast.literal_eval(node.value)
            except ValueError:
                break
            return sorted({n for n in declared if isinstance(n, str)})
    names: set[str] = set()
    _collect(tree.body, names)
    return sorted(n for n in names if not n.startswith("_"))
