"""Import every module of some packages, in a child process with the hook on.

``importguard check`` and ``importguard snapshot`` run this module as a script
(``python -m importguard._walk``) in a fresh interpreter, so the packages are
imported for the first time, exactly as an application would import them, and
nothing the parent imported can hide a failure. Side effects are fine here:
names left to a module ``__getattr__`` (PEP 562), which the import-time check
never resolves, are resolved now, and a raise is a violation.

The child writes one JSON file: the import report plus, for snapshots, the
public names of every module.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
from typing import Any

from importguard import _exports, _records, _report, _session


def _failed(exc: BaseException) -> None:
    # The walker goes on, but the failure counts: settle it as escaped (and
    # anything pending from before, like site's sitecustomize probe, as swallowed).
    _records.settle_toplevel(exc)


_names_seen: set[str] = set()
_names_upto = 0


def _attempted(name: str) -> bool:
    """Whether *name* was already imported or tried in this process (one record each).

    Kept incrementally: a scan of the whole buffer per module would make a walk
    of a large package quadratic.
    """
    global _names_upto
    buffer = _records.buffer
    # (the buffer only grows here; if folding shrank it, start over: names are only ever added)
    start = _names_upto if _names_upto <= len(buffer) else 0
    _names_seen.update(rec[_records.NAME] for rec in buffer[start:])
    _names_upto = len(buffer)
    return name in _names_seen


def walk(packages: list[str]) -> list[str]:
    """Import *packages* and all their submodules; return the names the walk imported itself."""
    seen: list[str] = []
    for name in packages:
        try:
            module = importlib.import_module(name)
        except BaseException as exc:  # recorded by the hook; keep walking the others
            _failed(exc)
            continue
        seen.append(name)
        paths = getattr(module, "__path__", None)
        if paths is None:
            continue
        # onerror: a subpackage that fails to import is already a record.
        for info in pkgutil.walk_packages(paths, prefix=name + ".", onerror=lambda _name: None):
            if info.name.rpartition(".")[2] == "__main__":
                continue  # running it is not importing it
            if info.name in sys.modules or _attempted(info.name):
                continue  # already imported, or already failed inside its package: one record each
            try:
                importlib.import_module(info.name)
                seen.append(info.name)
            except BaseException as exc:
                _failed(exc)
    _records.settle_toplevel(None)
    return seen


def resolve_lazy() -> None:
    """Resolve the names left to ``__getattr__``; a raise makes them missing."""
    for v in list(_exports.violations) + list(_exports.unverified):
        if not v["lazy"]:
            continue
        module = sys.modules.get(v["module"])
        still_lazy = []
        for name in v["lazy"]:
            try:
                getattr(module, name)
            except Exception as exc:
                v["missing"].append(name)
                v["related_failures"].append({"name": f"{v['module']}.__getattr__({name!r})",
                                              "error": f"{type(exc).__name__}: {exc}"})
            else:
                still_lazy.append(name)
        v["lazy"] = still_lazy
        if v["missing"] and v in _exports.unverified:
            _exports.unverified.remove(v)
            _exports.violations.append(v)


def public_names(module: Any) -> list[str]:
    """The public API of *module*: ``__all__`` if it declares one, else the names
    not starting with ``_``, leaving out modules it merely imported."""
    declared = getattr(module, "__all__", None)
    if declared is not None:
        return sorted({n for n in declared if isinstance(n, str)})
    prefix = module.__name__ + "."
    names = []
    for name, value in vars(module).items():
        if name.startswith("_"):
            continue
        if isinstance(value, type(sys)) and not value.__name__.startswith(prefix):
            continue
        names.append(name)
    return sorted(names)


def main(argv: list[str]) -> int:
    out_path, mode, packages = argv[0], argv[1], argv[2:]
    walk(packages)
    resolve_lazy()
    data = _report.build(_session.settings or {})
    if mode == "snapshot":
        ours = [m for m in sys.modules if any(m == p or m.startswith(p + ".") for p in packages)]
        data["api"] = {name: public_names(sys.modules[name]) for name in sorted(ours)
                       if isinstance(sys.modules[name], type(sys))}
    with open(out_path, "w", encoding="utf-8", errors="surrogateescape") as fh:
        json.dump(data, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
