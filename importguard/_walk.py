"""Import every module of some packages, in a child process with the hook on.

``importguard check`` and ``importguard snapshot`` run this module as a script
(``python -m importguard._walk``, started by ``importguard._cli.walker``) in a
fresh interpreter, so the packages are imported for the first time, exactly as
an application would import them, and nothing the parent imported can hide a
failure. It stays flat, outside the ``_cli`` package, whose ``__init__`` would
be one more module imported in that interpreter. Side effects are fine here:
names left to a module ``__getattr__`` (PEP 562), which the import-time check
never resolves, are resolved now, and a raise is a violation.

The walk lists package directories itself (``pkgutil.iter_modules``) instead
of using ``pkgutil.walk_packages``, which imports every subpackage a second
time to find its ``__path__``: a failed one was then recorded twice, the second
time swallowed by pkgutil. Each module is imported once, with a time limit
(``--timeout``), and announced on the progress pipe before it starts, so the
parent can show progress and knows which module hangs.

The child writes one JSON file: the import report, what the walk did, and for
snapshots the public names of every module.
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import pkgutil
import signal
import sys
from types import ModuleType
from typing import IO, Any

from importguard import _exports, _records, _report, _session
from importguard._globs import compile_globs


class ImportTimeout(BaseException):
    """A module took longer than ``--timeout`` to import.

    A ``BaseException``, like ``KeyboardInterrupt``: a module's own ``except
    Exception`` around an import must not swallow the walker's time limit.
    """


ImportTimeout.__module__ = "importguard._walk"  # its home, also when this file runs as __main__


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


class Walk:
    """One walk over some packages: what was checked, excluded and skipped."""

    def __init__(
        self, exclude: list[str], timeout: float, progress: IO[str] | None, api: dict[str, list[str]] | None = None
    ) -> None:
        self.excluded_match = compile_globs(exclude) if exclude else None
        self.timeout = timeout
        self.progress = progress
        self.checked: list[str] = []
        self.excluded: list[str] = []
        self.skipped: list[str] = []  # files whose name is not an identifier: no import statement can name them
        self.timed_out: list[str] = []
        self._current = ""
        #: snapshot: each module's public names, taken when the import that loaded it returned
        self.api = api
        self._packages: tuple[str, ...] = ()

    def _alarm(self, signum: int, frame: Any) -> None:
        raise ImportTimeout(
            f"importing {self._current} took longer than {self.timeout:g} s (importguard check "
            f"--timeout); it was interrupted"
        )

    def _import(self, name: str) -> ModuleType | None:
        self._current = name
        if self.progress is not None:
            try:
                self.progress.write(name + "\n")
                self.progress.flush()
            except OSError:
                self.progress = None
        timer = self.timeout > 0 and hasattr(signal, "setitimer")
        if timer:
            signal.setitimer(signal.ITIMER_REAL, self.timeout)
        try:
            module = importlib.import_module(name)
            self._take_api()
            return module
        except ImportTimeout as exc:
            self.timed_out.append(name)
            _failed(exc)
        except BaseException as exc:  # recorded by the hook; keep walking the others
            _failed(exc)
        finally:
            if timer:
                signal.setitimer(signal.ITIMER_REAL, 0)
        return None

    def _take_api(self) -> None:
        """Record the public names of the modules just loaded, as an importer first sees them.

        Taken when the outermost import returns, the moment export checks judge
        (names other modules add later, such as sqlalchemy's generated event
        classes, are not the module's own API and would not be there for a
        program that imports it alone)."""
        if self.api is None:
            return
        for mod_name, module in list(sys.modules.items()):
            if mod_name in self.api or not isinstance(module, ModuleType):
                continue
            if not any(mod_name == p or mod_name.startswith(p + ".") for p in self._packages):
                continue
            if not all(part.isidentifier() for part in mod_name.split(".")):
                continue
            if self.excluded_match is not None and self.excluded_match(mod_name):
                continue
            try:
                self.api[mod_name] = public_names(module)
            except Exception as exc:  # a module whose namespace cannot be read: noted, not fatal
                self.api[mod_name] = []
                _records.internal_error(f"reading the public names of {mod_name}", exc)

    def visit(self, name: str) -> None:
        if self.excluded_match is not None and self.excluded_match(name):
            self.excluded.append(name)
            return
        self.checked.append(name)
        module = sys.modules.get(name)
        if module is None:
            if _attempted(name):
                return  # already failed inside its package: one record each
            module = self._import(name)
            if module is None:
                return
        paths = getattr(module, "__path__", None)
        if paths is None:
            return
        try:
            children = sorted({info.name for info in pkgutil.iter_modules(list(paths))})
        except Exception:
            return
        for leaf in children:
            if leaf == "__main__":
                continue  # running it is not importing it
            if not leaf.isidentifier():
                # pkg/hook-pkg.py (PyInstaller hooks): a file, not a module any import statement can name.
                self.skipped.append(f"{name}.{leaf}")
                continue
            self.visit(f"{name}.{leaf}")

    def run(self, packages: list[str]) -> None:
        self._packages = tuple(packages)
        previous = None
        if self.timeout > 0 and hasattr(signal, "setitimer"):
            previous = signal.signal(signal.SIGALRM, self._alarm)
        try:
            for name in packages:
                self.visit(name)
        finally:
            if previous is not None:
                signal.signal(signal.SIGALRM, previous)
        _records.settle_toplevel(None)


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
                v["related_failures"].append(
                    {"name": f"{v['module']}.__getattr__({name!r})", "error": f"{type(exc).__name__}: {exc}"}
                )
            else:
                still_lazy.append(name)
        v["lazy"] = still_lazy
        if v["missing"] and v in _exports.unverified:
            _exports.unverified.remove(v)
            _exports.violations.append(v)


# -- the public API of a module, for snapshots ---------------------------------------------

_distributions: dict[str, list[str]] | None = None
_STDLIB = "<the standard library>"


def _distribution_of(module: str) -> frozenset[str]:
    """The distributions that provide *module*'s top-level package (its own name if none is known)."""
    global _distributions
    top = module.partition(".")[0]
    if top in sys.stdlib_module_names or top in sys.builtin_module_names:
        return frozenset({_STDLIB})
    if _distributions is None:
        try:
            from importlib.metadata import packages_distributions

            _distributions = dict(packages_distributions())
        except Exception:
            _distributions = {}
    return frozenset(_distributions.get(top) or (top,))


def _imported_names(module: ModuleType) -> dict[str, str]:
    """Names the module's source binds with ``from X import name``, at top level: name -> X."""
    file = getattr(module, "__file__", None)
    if file and not file.endswith(".py"):
        # A compiled module (pydantic 1's Cython build) often ships its source beside it.
        directory, _, base = file.rpartition(os.sep)
        file = os.path.join(directory, base.partition(".")[0] + ".py")
        if not os.path.isfile(file):
            return {}
    if not file:
        return {}
    try:
        with open(file, "rb") as fh:
            tree = ast.parse(fh.read())
    except (OSError, SyntaxError, ValueError):
        return {}
    package = getattr(module, "__package__", None) or ""
    out: dict[str, str] = {}

    def scan(body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, ast.ImportFrom):
                source = node.module or ""
                if node.level:
                    base = package
                    for _ in range(node.level - 1):
                        base = base.rpartition(".")[0]
                    source = f"{base}.{source}" if source else base
                for alias in node.names:
                    out[alias.asname or alias.name] = source
            elif isinstance(node, (ast.If, ast.Try)):
                scan(node.body)
                scan(node.orelse)
                for handler in getattr(node, "handlers", ()):
                    scan(handler.body)
                scan(getattr(node, "finalbody", []))

    scan(tree.body)
    return out


def _origin(value: Any, imported_from: str | None) -> str | None:
    """The module a public name's object comes from, if it is known to come from elsewhere."""
    if isinstance(value, type) or callable(value) and hasattr(value, "__qualname__"):
        where = getattr(value, "__module__", None)
        if isinstance(where, str):
            return where
    return imported_from


def _provides(module: ModuleType, name: str) -> bool:
    """Whether *module* has *name* (side effects are fine here: ``__getattr__`` may run)."""
    if name in vars(module) or f"{module.__name__}.{name}" in sys.modules:
        return True
    paths = getattr(module, "__path__", None)
    if paths is not None and name in _exports._submodule_names(paths)[0]:
        return _exports._failure_of(f"{module.__name__}.{name}") is None
    try:
        getattr(module, name)
    except Exception:
        return False
    return True


def public_names(module: Any) -> list[str]:
    """The public API of *module*, as a snapshot records it.

    With ``__all__``: the names it declares that the module has (a declared name
    it lacks is an ``__all__`` violation, not API to lock in). Without: the names
    not starting with ``_``, less modules (its own submodules are sections of the
    snapshot, whose disappearance is checked as such) and objects that come from another distribution or the standard library
    (``namedtuple``, ``absolute_import``, ``Optional``): removing an unused import
    is not an API regression. Re-exports of the package's own objects stay.
    """
    declared = vars(module).get("__all__")
    if declared is not None:
        try:
            entries = {n for n in declared if isinstance(n, str) and n.isidentifier()}
        except TypeError:
            entries = set()
        return sorted(n for n in entries if _provides(module, n))
    name = module.__name__
    own = _distribution_of(name)
    imported = _imported_names(module)
    names = []
    for attr, value in list(vars(module).items()):
        if attr.startswith("_") or not attr.isidentifier():
            continue
        if isinstance(value, ModuleType):
            # Its own submodules have sections of their own (and are bound here by
            # whoever imported them first, the walker included): not names.
            continue
        origin = _origin(value, imported.get(attr))
        if (
            origin is not None
            and origin.partition(".")[0] != name.partition(".")[0]
            and not (_distribution_of(origin) & own)
        ):
            continue
        names.append(attr)
    return sorted(names)


# -- why each failed import failed, for check ---------------------------------------------


def _requirements(distribution: str) -> tuple[str, list[str]]:
    """(the distribution's version, its required dependencies that are not installed).

    Required: no ``extra ==`` marker, and a marker (if any) true here.
    """
    from importlib import metadata

    try:
        dist = metadata.distribution(distribution)
    except metadata.PackageNotFoundError:
        return "", []
    missing = []
    for text in dist.requires or ():
        try:
            from packaging.requirements import Requirement

            req = Requirement(text)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            name = req.name
        except Exception:  # packaging absent or a requirement it cannot parse: the plain part
            if "extra" in text.partition(";")[2]:
                continue
            name = text.split(";")[0].split("[")[0].split("(")[0].strip()
            for sep in "<>=!~ ":
                name = name.partition(sep)[0]
        try:
            metadata.distribution(name)
        except metadata.PackageNotFoundError:
            missing.append(name)
    return dist.version or "", missing


def _cannot_import_name(message: str) -> tuple[str, str] | None:
    """("X", "M") from ImportError's "cannot import name 'X' from 'M' (...)"."""
    prefix = "cannot import name '"
    if not message.startswith(prefix):
        return None
    name, _, rest = message[len(prefix) :].partition("'")
    if not rest.startswith(" from '"):
        return None
    module = rest[len(" from '") :].partition("'")[0]
    return (name, module) if name and module else None


def classify(data: dict[str, Any], packages: list[str]) -> list[dict[str, Any]]:
    """Each failed import statement that matters, with its root cause classified.

    ``category``: ``optional`` (a missing optional dependency: the root is a
    top-level module that is not installed while every required dependency of
    the distribution the failing module belongs to is), ``platform`` (the
    missing module, or the module a name is missing from, is in the standard
    library of some platform but not this one) or ``failure`` (everything else,
    a missing *required* dependency included). The root is looked for beyond
    the chain of failures too: ``botocore.crt.auth`` fails with "cannot import
    name 'awscrt' from 'botocore.compat'" because ``botocore.compat`` caught its
    own failed ``import awscrt`` earlier.
    """
    from importguard._summary import failed_statements

    records = data["imports"]
    real, _probes = failed_statements(records)
    not_found = {r["name"]: r for r in records if r["status"] == "not_found"}
    here = {name for name in sys.modules}
    required_cache: dict[str, tuple[list[str], list[str], list[str]]] = {}

    def required(module: str) -> tuple[list[str], list[str], list[str]]:
        """(distributions of module, their versions, required ones missing)."""
        top = module.partition(".")[0]
        if top not in required_cache:
            _distribution_of(top)  # loads the table
            dists = sorted((_distributions or {}).get(top) or ())
            versions, missing = [], []
            for dist in dists:
                version, lacking = _requirements(dist)
                versions.append(f"{dist} {version}".strip())
                missing.extend(lacking)
            required_cache[top] = (dists, versions, missing)
        return required_cache[top]

    out = []
    for head, root in real:
        err = root["error"] or {}
        item: dict[str, Any] = {
            "id": head["id"],
            "name": head["name"],
            "root": root["name"],
            "category": "failure",
            "missing": None,
            "reason": None,
        }
        missing_module = root["name"] if root["status"] == "not_found" else None
        missing_from = None
        if missing_module is None and err.get("type") in ("ImportError", "ModuleNotFoundError"):
            found = _cannot_import_name(err.get("message") or "")
            if found is not None:
                name, module = found
                # Did that module swallow a failed import of it (botocore.compat and awscrt)?
                if name in not_found and "." not in name:
                    missing_module = name
                else:
                    missing_from = module
            elif err.get("type") == "ModuleNotFoundError":
                message = err.get("message") or ""
                if message.startswith("No module named '"):
                    missing_module = message[len("No module named '") :].partition("'")[0]
        if err.get("type") == "importguard._walk.ImportTimeout":
            item["reason"] = "timed out"
        elif missing_module is not None and "." not in missing_module and missing_module not in here:
            item["missing"] = missing_module
            if missing_module in sys.stdlib_module_names:
                item["category"] = "platform"
                item["reason"] = f"{missing_module} is not in this platform's standard library"
            else:
                # The distribution whose code wanted it: the head's, or for a
                # bare missing module, that of the module that imported it.
                owner = head["parent"] if head is root and head["parent"] else head["name"]
                dists, versions, lacking = required(owner)
                if lacking:
                    item["reason"] = (
                        f"{missing_module} is not installed, and {', '.join(versions)} requires "
                        f"{', '.join(sorted(set(lacking)))}, which is not installed either"
                    )
                elif dists:
                    item["category"] = "optional"
                    item["reason"] = (
                        f"{missing_module} is not installed (not required by "
                        f"{', '.join(versions)}: an optional dependency)"
                    )
                else:
                    item["reason"] = f"{missing_module} is not installed"
        elif missing_from is not None and missing_from.partition(".")[0] in sys.stdlib_module_names:
            item["category"] = "platform"
            item["missing"] = missing_from
            item["reason"] = f"{missing_from} lacks a name on this platform"
        out.append(item)
    return out


def in_scope(name: str, file: str | None, packages: list[str]) -> bool:
    """Whether a finding belongs to what was checked: the packages named, or the project's own files."""
    if any(name == p or name.startswith(p + ".") for p in packages):
        return True
    root = _exports._project_root
    return bool(root and file and file.startswith(root + os.sep) and not any(v in file for v in _exports._VENDORED))


def main(argv: list[str]) -> int:
    out_path, mode = argv[0], argv[1]
    exclude: list[str] = []
    timeout = 0.0
    progress = None
    rest = argv[2:]
    while rest and rest[0].startswith("--"):
        if rest[0] == "--":
            rest = rest[1:]
            break
        option, value = rest[0], rest[1]
        rest = rest[2:]
        if option == "--exclude":
            exclude.append(value)
        elif option == "--timeout":
            timeout = float(value)
        elif option == "--progress-fd":
            progress = os.fdopen(int(value), "w", encoding="utf-8", errors="surrogateescape")
    packages = rest
    w = Walk(exclude, timeout, progress, {} if mode == "snapshot" else None)
    w.run(packages)
    resolve_lazy()
    data = _report.build(_session.settings or {})
    files = {r["name"]: r["file"] for r in data["imports"]}
    data["walk"] = {
        "packages": packages,
        "checked": w.checked,
        "excluded": w.excluded,
        "skipped": w.skipped,
        "timed_out": w.timed_out,
        "snapshot_problem": _exports.snapshot_problem,
        "causes": classify(data, packages),
        "in_scope": sorted(
            {n for n in files if in_scope(n, files[n], packages)}
            | {v["module"] for v in data["violations"] if in_scope(v["module"], files.get(v["module"]), packages)}
        ),
    }
    if w.api is not None:
        api = w.api
        # A module that failed to import here (an optional dependency missing)
        # still exists: an empty section, so that its disappearance is noticed.
        for name in w.checked:
            api.setdefault(name, [])
        data["api"] = api
    with open(out_path, "w", encoding="utf-8", errors="surrogateescape") as fh:
        json.dump(data, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
