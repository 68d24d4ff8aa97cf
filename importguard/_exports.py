"""Export checks: what a module declares it exports, against what it has.

Called by the hook after each successful import (so a module in the middle of
a circular import is never checked half-initialised). A name missing then
waits in :data:`pending` and is judged when the outermost import of that
thread returns (:func:`judge`), when the program could first observe it: a
package ``__init__`` often binds names on a submodule after the submodule ran.
A module whose declared names are all bound costs what it always did.
Declarations come from:

* ``__all__``: each entry must be bound, be a submodule of the package
  (``from pkg import *`` imports those), or be left to a PEP 562
  ``__getattr__``. Calling ``__getattr__`` (or ``hasattr``) here would run the
  module's lazy-loading code at import time, so such names are recorded as
  ``lazy`` and unverified, never resolved.
* ``[tool.importguard.exports]``: module (or glob) to the names it must
  provide, a contract that holds even when a name vanished from both the
  module and its ``__all__``.

Builtins only: this runs on the import path. ``warnings`` is imported the
first time a violation is warned about.
"""

import os
import sys

from importguard import _records
from importguard._config import MODES

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any


class ExportWarning(UserWarning):
    """A module lacks names it declares it exports (mode ``warn``).

    A ``UserWarning`` rather than an ``ImportWarning``: Python's default
    filters hide ``ImportWarning``. ``-W error`` or pytest's
    ``filterwarnings = error`` turn it into an exception, like any warning.
    """


ExportWarning.__module__ = "importguard"  # its public home, as shown in warnings


class ExportError(ImportError):
    """A module lacks names it declares it exports (mode ``error``).

    Raised by the import statement that imported the module, which is then
    removed from ``sys.modules`` as after any failed import. A subclass of
    ``ImportError``, so code that handles import failures handles this too.
    """


ExportError.__module__ = "importguard"  # its public home, as shown in tracebacks


#: Every violation found so far, JSON-ready but for ``"_record"`` (the import's record).
violations: "list[dict[str, Any]]" = []
#: Declarations whose only unbound names are left to a module ``__getattr__``
#: (same shape, ``missing`` empty): unverified at import time, resolved by ``check``.
unverified: "list[dict[str, Any]]" = []

#: Declarations with names missing when their module finished, waiting for the
#: judgment: [record, module object, its namespace, found, raw importer]. A
#: package ``__init__`` may bind names on a submodule after it ran
#: (``core.Engine = Engine``), so a name is judged when the program could first
#: observe it: when the outermost import of that thread returns (see :func:`judge`).
pending: "list[list[Any]]" = _records.exports_pending


def _violating_records() -> "list[Any]":
    """The records violations point at: a fold must leave them records (the report links to them)."""
    return [v["_record"] for v in violations]


# Registered, not looked up: the records never import this module back.
_records.pins.append(_violating_records)

_mode = "off"
_project_root: "str | None" = None
_packages: "tuple[str, ...]" = ()
_exact: "dict[str, tuple[str, ...]]" = {}
_globbed: "list[tuple[Callable[[str], bool], str, tuple[str, ...]]]" = []
_accept: "list[tuple[Callable[[str], bool], tuple[str, ...] | None, str]]" = []
_modes: "list[tuple[Callable[[str], bool], str]]" = []  # per-module modes, most specific first
_contract_file: "str | None" = None
_snapshot: "dict[str, tuple[str, ...]]" = {}
_snapshot_file: "str | None" = None
#: Why the configured snapshot could not be used (``check`` exits 2 with it), or None.
snapshot_problem: "str | None" = None
#: Public submodules the snapshot lists, per package: a module that disappeared is a violation.
_snapshot_children: "dict[str, tuple[str, ...]]" = {}
_stubs = False
_listings: "dict[str, frozenset[str]]" = {}  # directory -> its .pyi files (stubs on)
_VENDORED = (os.sep + "site-packages" + os.sep, os.sep + "dist-packages" + os.sep)


#: The settings :func:`configure` last took, and what it returned.
configured_from: "dict[str, Any] | None" = None
flags = (False, False)


def configure(settings: "dict[str, Any]") -> "tuple[bool, bool]":
    """Set the checks up from plain settings.

    Returns (checks on, every module needs a look): the hook calls :func:`check`
    for modules with ``__all__``, and for every module when contracts, a
    snapshot or stubs are in play.
    """
    global _mode, _project_root, _packages, _contract_file, _snapshot_file, _stubs, snapshot_problem
    global configured_from, flags
    configured_from = settings
    if settings.get("exports") or settings.get("accept") or settings.get("modes"):
        from importguard._globs import compile_globs  # not at every startup: only for these tables
    _mode = str(settings.get("exports_mode", "warn"))
    _project_root = settings.get("project_root")
    _packages = tuple(settings.get("packages") or ())
    _contract_file = settings.get("config")
    _exact.clear()
    del _globbed[:]
    del _accept[:]
    for module, names in (settings.get("exports") or {}).items():
        if "*" in module or "?" in module:
            _globbed.append((compile_globs([module]), module, tuple(names)))
        else:
            _exact[module] = tuple(names)
    for module, (names, reason) in (settings.get("accept") or {}).items():
        _accept.append((compile_globs([module]), names, reason))
    del _modes[:]
    # Exact names before globs, longer globs before shorter: the most specific wins.
    for module, mode in sorted(
        (settings.get("modes") or {}).items(), key=lambda item: ("*" in item[0] or "?" in item[0], -len(item[0]))
    ):
        _modes.append((compile_globs([module]), mode))
    _snapshot.clear()
    _snapshot_children.clear()
    snapshot_problem = None
    _snapshot_file = settings.get("snapshot")
    setting = "IMPORTGUARD_SNAPSHOT (or snapshot in [tool.importguard])"
    if _snapshot_file is None and _project_root:
        default = os.path.join(_project_root, "importguard.lock")
        _snapshot_file = default if os.path.exists(default) else None
        setting = "the default snapshot, importguard.lock next to pyproject.toml"
    if _snapshot_file and _mode != "off":
        _load_snapshot(_snapshot_file, setting)
        children: "dict[str, list[str]]" = {}
        for module in _snapshot:
            parent, _, leaf = module.rpartition(".")
            if parent and not leaf.startswith("_"):
                children.setdefault(parent, []).append(leaf)
        _snapshot_children.update((parent, tuple(leaves)) for parent, leaves in children.items())
    _stubs = bool(settings.get("stubs"))
    on = _mode != "off" or any(mode != "off" for _match, mode in _modes)
    flags = on, on and bool(_exact or _globbed or _snapshot or _stubs)
    return flags


def _load_snapshot(path: str, setting: str) -> None:
    global snapshot_problem
    from importguard import _snapshot as snapshot_format
    from importguard._config import _read_regular
    from importguard._globs import one_line

    try:
        # Read at startup: only a regular file (a FIFO or a device there would
        # hang or flood the program's start, even as the default file name).
        _snapshot.update(snapshot_format.loads(_read_regular(path).decode("utf-8")))
    except (OSError, UnicodeDecodeError, snapshot_format.SnapshotError) as exc:
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        snapshot_problem = f"{setting}: cannot use the snapshot {path} ({detail})"
        sys.stderr.write(
            one_line(
                f"importguard: {setting}: cannot use the snapshot {path} ({detail}); snapshot "
                f"checks are off. Regenerate it with: importguard snapshot PKG... -o {path}"
            )
            + "\n"
        )


def _stub_of(file: "str | None") -> "str | None":
    """The ``.pyi`` next to a project module's ``.py``, if there is one (one listing per directory)."""
    if not file or not file.endswith(".py"):
        return None
    directory, _, base = file.rpartition(os.sep)
    listing = _listings.get(directory)
    if listing is None:
        try:
            listing = frozenset(n for n in os.listdir(directory) if n.endswith(".pyi"))
        except OSError:
            listing = frozenset()
        _listings[directory] = listing
    return file + "i" if base + "i" in listing else None


def _is_project(name: str, file: "str | None") -> bool:
    if _packages:
        return any(name == p or name.startswith(p + ".") for p in _packages)
    if _project_root and file:
        return file.startswith(_project_root + os.sep) and not any(v in file for v in _VENDORED)
    return False


def _has(obj: "Any", namespace: "dict[str, Any] | None", name: str) -> bool:
    """Whether *name* is bound on *obj*, looked up statically (no ``__getattr__`` runs)."""
    if namespace is not None:
        return name in namespace
    try:
        if name in object.__getattribute__(obj, "__dict__"):
            return True
    except Exception:
        pass
    return any(name in vars(cls) for cls in type(obj).__mro__)


def _static_get(obj: "Any", name: str) -> "Any":
    try:
        instance = object.__getattribute__(obj, "__dict__")
        if name in instance:
            return instance[name]
    except Exception:
        pass
    for cls in type(obj).__mro__:
        if name in vars(cls):
            return vars(cls)[name]
    return None


def _has_lazy_getattr(obj: "Any", namespace: "dict[str, Any] | None") -> bool:
    if namespace is not None:
        return "__getattr__" in namespace
    return any("__getattr__" in vars(cls) for cls in type(obj).__mro__ if cls is not object)


_MODULE_SUFFIXES = ("py", "pyc", "so", "pyd")


def _submodule_names(paths: "Any") -> "tuple[set[str], bool]":
    """(names of the modules and packages in a package's directories, whether
    some directory could not be listed). Lists each directory once: a package
    whose ``__all__`` names dozens of submodules not yet imported is common."""
    names: set[str] = set()
    unknown = False
    try:
        entries = list(paths)
    except Exception:
        return names, True
    for entry in entries:
        try:
            listing = os.listdir(entry)
        except (OSError, TypeError, ValueError):
            unknown = True  # a zip file, a custom path hook: cannot tell without importing
            continue
        for item in listing:
            names.add(item)  # a package or a namespace package directory
            stem, dot, rest = item.partition(".")
            if dot and rest.rpartition(".")[2] in _MODULE_SUFFIXES:
                names.add(stem)  # m.py, m.cpython-312-x86_64-linux-gnu.so
    return names, unknown


#: Names of modules whose import failed, from the records scanned so far
#: (:func:`_failure_of`); the scan goes on from ``_scanned`` each time.
_failed_names: "dict[str, list[Any]]" = {}
_scanned = 0
_in_progress: "list[list[Any]]" = []


def _failure_of(module: str) -> "list[Any] | None":
    """The record of a failed import of *module*, if this process made one.

    Only asked about a submodule that is on disk but not loaded, which the
    ``__all__`` (or snapshot) of its package names. The records are scanned
    once, incrementally; those still in progress are looked at again later.
    """
    global _scanned
    buffer = _records.buffer
    if _scanned > len(buffer):  # folding shrank it: start over
        _scanned = 0
        del _in_progress[:]
    fresh = _in_progress[:] + buffer[_scanned:]
    _scanned = len(buffer)
    del _in_progress[:]
    for rec in fresh:
        if not rec[_records.T1]:
            _in_progress.append(rec)
        elif rec[_records.ERROR] is not None:
            _failed_names[rec[_records.NAME]] = rec
    return _failed_names.get(module)


def _unresolved(
    obj: "Any",
    namespace: "dict[str, Any] | None",
    module: str,
    names: "Any",
    failures: "list[dict[str, str]] | None" = None,
) -> "tuple[list[str], list[str]]":
    """(missing, lazy) among *names* for the module *obj*.

    A name that is not bound but is a submodule (in ``sys.modules`` or on disk;
    never imported to find out) is not missing: ``from pkg import *`` imports
    it. Unless its import failed in this process (and was swallowed): then
    ``from pkg import *`` fails too, and that failure goes to *failures*.
    """
    missing: list[str] = []
    lazy: list[str] = []
    paths = namespace.get("__path__") if namespace is not None else None
    lazy_ok = _has_lazy_getattr(obj, namespace)
    on_disk: "tuple[set[str], bool] | None" = None
    for entry in names:
        if not isinstance(entry, str):
            missing.append(repr(entry))
            continue
        if _has(obj, namespace, entry) or f"{module}.{entry}" in sys.modules:
            continue
        if paths is not None:
            if on_disk is None:
                on_disk = _submodule_names(paths)
            if entry in on_disk[0]:
                failed = _failure_of(f"{module}.{entry}")
                if failed is None:
                    continue
                missing.append(entry)
                if failures is not None:
                    err = failed[_records.ERROR]
                    failures.append(
                        {
                            "name": failed[_records.NAME],
                            "error": f"{_records.qualname_of(err[_records.E_TYPE])}: "
                            f"{_records.shown(err[_records.E_MESSAGE])}",
                        }
                    )
                continue
            if on_disk[1]:
                continue
        if lazy_ok:
            lazy.append(entry)
        else:
            missing.append(entry)
    return missing, lazy


def check(rec: "list[Any]", obj: "Any", namespace: "dict[str, Any] | None") -> None:
    """Check the module of import record *rec* as it finishes; judge later.

    *namespace* is the module's ``__dict__`` (None for an object that replaced
    itself in ``sys.modules``: it is then looked up statically). Names found
    missing wait in :data:`pending` for :func:`judge`, when the outermost
    import of this thread returns: a package may still bind them.
    """
    name = rec[_records.NAME]
    found: list[dict[str, Any]] = []
    failures: list[dict[str, str]] = []
    declared = namespace.get("__all__") if namespace is not None else _static_get(obj, "__all__")
    file = _records.file_of(rec)
    if declared is not None:
        if isinstance(declared, str) or not hasattr(declared, "__iter__"):
            found.append(
                _violation(
                    rec, [f"__all__ is a {type(declared).__name__}, not a sequence of names"], [], "__all__", file
                )
            )
        else:
            entries = list(declared)
            try:
                # The common case in C: every declared name is bound.
                clean = namespace is not None and namespace.keys() >= set(entries)
            except TypeError:
                clean = False
            if not clean:
                missing, lazy = _unresolved(obj, namespace, name, entries, failures)
                if missing or lazy:
                    found.append(_violation(rec, missing, lazy, "__all__", file))
    stub = _stub_of(file) if _stubs and _is_project(name, file) else None
    if stub is not None:
        from importguard._stubs import stub_names

        with _records.quiet():  # ast and its friends are importguard's imports
            stub_declared = stub_names(stub, name)
        missing, lazy = _unresolved(obj, namespace, name, stub_declared, failures)
        if missing or lazy:
            found.append(_violation(rec, missing, lazy, "stub", stub))
    if _snapshot:
        snapshot = _snapshot.get(name)
        if snapshot:
            missing, lazy = _unresolved(obj, namespace, name, snapshot, failures)
            if missing or lazy:
                found.append(_violation(rec, missing, lazy, "snapshot", _snapshot_file))
        children = _snapshot_children.get(name)
        if children and namespace is not None and "__path__" in namespace:
            # Submodules the snapshot lists must still exist (bound, loaded or on disk).
            gone = [
                leaf
                for leaf in children
                if not (f"{name}.{leaf}" in sys.modules or leaf in _submodule_names(namespace["__path__"])[0])
            ]
            if gone:
                found.append(_violation(rec, gone, [], "snapshot", _snapshot_file))
                found[-1]["kind"] = "modules"
    contract = _exact.get(name)
    contract_names = list(contract) if contract else []
    for match, _pattern, names in _globbed:
        if match(name):
            contract_names.extend(names)
    if contract_names:
        missing, lazy = _unresolved(obj, namespace, name, dict.fromkeys(contract_names), failures)
        if missing or lazy:
            found.append(_violation(rec, missing, lazy, "pyproject", _contract_file))
    if not found:
        return
    for v in found:
        v["related_failures"].extend(f for f in failures if f not in v["related_failures"])
    real = [v for v in found if v["missing"]]
    unverified.extend(v for v in found if not v["missing"])  # only names left to __getattr__
    if real:
        raw, _ = _records.importer_location(depth=3)  # check <- the hook
        pending.append([rec, obj, namespace, real, raw])


def judge(ident: int, act: bool = True) -> "Exception | None":
    """The outermost import of thread *ident* returned: judge its pending names.

    A name still missing now is a violation; one bound since (by a package
    ``__init__`` after its submodule ran) never was. With *act* (the outermost
    import succeeded), the mode applies: a warning, or the error to raise from
    the outermost import statement (the modules between it and the one at fault
    are taken out of ``sys.modules``, as the error passing through them would have).
    """
    # Taken out one by one (pop is atomic under the GIL): other threads may append theirs meanwhile.
    mine = []
    i = len(pending) - 1
    while i >= 0:
        if i < len(pending) and pending[i][0][_records.THREAD] == ident:
            mine.append(pending.pop(i))
        i -= 1
    mine.reverse()
    raise_first: "Exception | None" = None
    for rec, obj, namespace, found, raw in mine:
        name = rec[_records.NAME]
        real = []
        for v in found:
            if v["kind"] == "modules":
                still = [leaf for leaf in v["missing"] if f"{name}.{leaf}" not in sys.modules]
            else:
                still, _lazy = _unresolved(obj, namespace, name, v["missing"])
            v["missing"] = still
            if still:
                real.append(v)
            elif v["lazy"]:
                unverified.append(v)
        if not real:
            continue
        violations.extend(real)
        error = _act(rec, name, _records.file_of(rec), real, raw, act)
        if error is not None:
            _undo(rec, obj, error)
            raise_first = raise_first or error
    return raise_first


def _undo(rec: "list[Any]", obj: "Any", error: Exception) -> None:
    """Mode ``error``, judged late: the import at fault fails, and so do the
    modules its error would have passed through on the way out."""
    _records.fail_strict(rec, obj, error)
    parent = rec[_records.PARENT]
    while parent is not None:
        if parent[_records.STATUS] == "ok":
            sys.modules.pop(parent[_records.NAME], None)
            _records.loaded.pop(parent[_records.NAME], None)
        parent = parent[_records.PARENT]


def flush_pending() -> None:
    """Judge every pending name now (a report is being built: it is as late as it gets)."""
    for ident in {p[0][_records.THREAD] for p in pending}:
        judge(ident, act=False)


def fromlist_misses(records: "list[list[Any]]") -> "list[dict[str, Any]]":
    """``from pkg import Name`` where pkg had no ``Name`` and no submodule ``pkg.Name``.

    Derived from the records when a report is built (the failure path only
    marks the record), and recorded, never warned about: a ``try``/``except
    ImportError`` around such an import is a common feature probe.
    """
    if _mode == "off":
        return []
    out = []
    for rec in records:
        err = rec[_records.ERROR]
        if err is None or not err[_records.E_FROMLIST] or rec[_records.STATUS] != "not_found":
            continue
        package, _, missing = rec[_records.NAME].rpartition(".")
        parent = rec[_records.PARENT]
        out.append(
            {
                "module": package,
                "missing": [missing],
                "kind": "names",
                "lazy": [],
                "source": "fromlist",
                "declared_in": None,  # the importing file, from _importer: see resolved()
                "importer": None,
                "_importer": err[_records.E_IMPORTER],
                "chain": _chain(parent) if parent is not None else [],
                "mode": "record",
                "accepted": None,
                "related_failures": [],
                "_record": rec,
            }
        )
    return out


def _violation(
    rec: "list[Any]", missing: "list[str]", lazy: "list[str]", source: str, declared_in: "str | None"
) -> "dict[str, Any]":
    return {
        "module": rec[_records.NAME],
        "missing": missing,
        "kind": "names",
        "lazy": lazy,
        "source": source,
        "declared_in": declared_in,
        "importer": None,
        "chain": _chain(rec),
        "mode": "record",
        "accepted": None,
        "related_failures": _related(rec),
        "_record": rec,
    }


def _chain(rec: "list[Any]") -> "list[str]":
    names = []
    while rec is not None:
        names.append(rec[_records.NAME])
        rec = rec[_records.PARENT]
    return names[::-1]


def _related(rec: "list[Any]") -> "list[dict[str, str]]":
    """Failed imports inside this module that it swallowed: the usual way exports get lost."""
    out = []
    for kid in rec[_records.FAILED_KIDS] or ():
        err = kid[_records.ERROR]
        out.append(
            {
                "name": kid[_records.NAME],
                "error": f"{_records.qualname_of(err[_records.E_TYPE])}: {_records.shown(err[_records.E_MESSAGE])}"
                if err
                else "?",
            }
        )
    return out


def _effective_mode(name: str, file: "str | None", missing: "list[str]") -> "tuple[str, str | None]":
    # A mode configured for this module ([tool.importguard.modes]) is the
    # user's explicit choice, third-party module or not.
    mode = next((m for match, m in _modes if match(name)), None)
    if mode is None:
        mode = _mode if _is_project(name, file) else min(_mode, "record", key=MODES.index)
    for match, names, reason in _accept:
        if match(name) and (names is None or set(missing) <= set(names)):
            return "record", reason
    return mode, None


def _act(
    rec: "list[Any]",
    name: str,
    file: "str | None",
    found: "list[dict[str, Any]]",
    raw: "tuple[Any, int] | None",
    act: bool = True,
) -> "Exception | None":
    missing = [n for v in found for n in v["missing"]]
    mode, accepted = _effective_mode(name, file, missing)
    importer = _records.location(raw)
    for v in found:
        v["mode"] = mode
        v["accepted"] = accepted
        v["importer"] = {"file": importer[0], "line": importer[1]} if importer else None
    if mode in ("off", "record") or not act:
        return None
    message = explain(name, file, found, importer)
    if mode == "warn":
        # quiet: showing a warning imports linecache and tokenize, importguard's doing.
        # Without an importer frame (python -m runs the package from runpy), the
        # warning points at the module that lacks the names.
        filename, lineno = importer if importer is not None else (file or name, 1)
        try:
            with _records.quiet():
                import warnings

                warnings.warn_explicit(message, ExportWarning, filename, lineno or 0)
        except Exception as exc:
            # The user's filters (-W error, pytest's filterwarnings = error) made the
            # warning an error: it fails the import, like mode "error" would.
            return exc
        return None
    return ExportError(message, name=name, path=file)


def explain(
    name: str, file: "str | None", found: "list[dict[str, Any]]", importer: "tuple[str, int | None] | None"
) -> str:
    """The violation message, written for the person who has to fix it."""
    lines = [f"{name} does not provide names it declares it exports:"]
    for v in found:
        where = {
            "__all__": f"__all__ in {v['declared_in'] or name}",
            "pyproject": f"[tool.importguard.exports] in {v['declared_in']}",
            "snapshot": f"the snapshot {v['declared_in']} (an API regression; regenerate it if intended)",
            "stub": f"the stub {v['declared_in']}",
        }.get(v["source"], v["source"])
        what = "modules " if v.get("kind") == "modules" else ""
        lines.append(f"  {what}{', '.join(v['missing'])}  (declared by {where})")
    related = found[0]["related_failures"]
    for failure in related:
        lines.append(
            f"  note: importing {failure['name']} failed inside {name} and was swallowed "
            f"({failure['error']}); the names may have come from there."
        )
    chain = " -> ".join(found[0]["chain"])
    at = f", imported at {importer[0]}:{importer[1]}" if importer else ""
    lines.append(f"  import chain: {chain}{at}")
    where_fix = file or name
    names = ", ".join(f'"{n}"' for n in sorted({n for v in found for n in v["missing"]}))
    lines.append(
        f"  fix: define or re-export these names in {where_fix}, or remove them from the "
        f"declaration; to accept it for now, add to [tool.importguard.accept]: "
        f'"{name}" = {{names = [{names}], reason = "..."}}'
    )
    return "\n".join(lines)


def resolved(v: "dict[str, Any]") -> "dict[str, Any]":
    """*v* with its importer location worked out (deferred for ``fromlist`` misses)."""
    raw = v.pop("_importer", None)
    if raw is not None:
        where = _records.location(raw)
        if where is not None:
            v["importer"] = {"file": where[0], "line": where[1]}
            v["declared_in"] = where[0]
    return v


def to_dicts(
    ids: "dict[int, int]", entries: "list[dict[str, Any]] | None" = None, records: "list[list[Any]] | None" = None
) -> "list[dict[str, Any]]":
    """Violations (or *entries*) for the report, each with the id of its import
    record; with *records*, the ``fromlist`` misses among them too."""
    if pending:
        flush_pending()
    out = []
    chosen = violations if entries is None else entries
    if records is not None:
        chosen = chosen + fromlist_misses(records)
    for v in chosen:
        item = {k: val for k, val in resolved(v).items() if k != "_record"}
        item["import_id"] = ids.get(id(v["_record"]))
        out.append(item)
    return out


# Loaded after a session started (the first __all__ the hook's inline look
# cannot clear, or a report reading the violations at exit): its settings apply.
if _records.settings is not None:
    configure(_records.settings)
