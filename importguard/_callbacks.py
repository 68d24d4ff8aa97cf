"""User callbacks on imports: the framework part of importguard.

``@importguard.on_import("myapp.*")`` registers a function that is called, in
the importing thread, when a matching module is imported. The hook consults the
three lists below on every import, so an empty list must cost one truth test;
this module uses builtins only.

What a callback receives is one :class:`ImportEvent`. What it may do:

* It runs inside the import statement, with the module's import lock held, so
  it must not wait for another thread that imports the same module.
* Exceptions it raises are recorded and reported once on stderr (and in the
  report's ``internal_errors``); the import goes on untouched.
* Imports it makes are recorded as usual, but callbacks are not re-entered for
  them (a per-thread guard), so a callback cannot recurse into itself.
"""

import sys

from importguard import _records
from importguard._globs import compile_globs, glob_problem

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import ModuleType
    from typing import Any

    Callback = Callable[["ImportEvent"], object]

WHEN = ("before", "after", "error")

#: (predicate, callback) pairs by stage; the hook tests these lists for truth.
#: They live in ``_records`` (the engines hold them from startup on, before
#: this module is loaded: it loads with the first callback).
BEFORE: "list[tuple[Callable[[str], bool], Callback]]" = _records.callbacks_before
AFTER: "list[tuple[Callable[[str], bool], Callback]]" = _records.callbacks_after
ERROR: "list[tuple[Callable[[str], bool], Callback]]" = _records.callbacks_error
_BY_WHEN = {"before": BEFORE, "after": AFTER, "error": ERROR}

_running: "set[int]" = set()  # threads inside a callback right now


class ImportEvent:
    """What a callback registered with :func:`on_import` receives.

    Attributes:
        name: the module's full name (``spec.name``).
        when: ``"before"`` (nothing has run yet), ``"after"`` (the module
            finished executing) or ``"error"`` (the import raised).
        module: the module object (``"after"`` only; whatever the import
            returned, so a module that replaced itself in ``sys.modules``
            appears as its replacement), else ``None``.
        error: the exception the import raised (``"error"`` only), else
            ``None``. It is re-raised after the callbacks, unchanged.
        parent: the name of the module whose import triggered this one in the
            same thread, or ``None`` for imports made outside any import.
        thread: the importing thread's ident.
        duration_ns: cumulative import time (``"after"``/``"error"``), else ``None``.
    """

    __slots__ = ("name", "when", "module", "error", "parent", "thread", "duration_ns")

    def __init__(
        self,
        name: str,
        when: str,
        module: "ModuleType | None",
        error: "BaseException | None",
        parent: "str | None",
        thread: int,
        duration_ns: "int | None",
    ) -> None:
        self.name = name
        self.when = when
        self.module = module
        self.error = error
        self.parent = parent
        self.thread = thread
        self.duration_ns = duration_ns

    def __repr__(self) -> str:
        return f"<ImportEvent {self.when} {self.name!r}>"


def on_import(*patterns: str, when: str = "after") -> "Callable[[Callback], Callback]":
    """Register the decorated function for imports of modules matching *patterns*.

    *patterns* are module globs (``"myapp"``, ``"myapp.*"``; ``*`` also matches
    dots, as in ``fnmatch``); none means every module. *when* is ``"before"``,
    ``"after"`` (default) or ``"error"``. The function receives one
    :class:`ImportEvent`; its return value is ignored. Returns the function
    unchanged, so it can still be called or passed to :func:`remove_callback`.
    """
    if when not in _BY_WHEN:
        raise ValueError(f"when={when!r}: expected one of {', '.join(WHEN)}")
    for pattern in patterns:
        problem = glob_problem(pattern)
        if problem is not None:
            raise ValueError(f"on_import: {problem}")
    match = compile_globs(patterns) if patterns else _every

    def register(fn: "Callback") -> "Callback":
        _BY_WHEN[when].append((match, fn))
        return fn

    return register


def _every(name: str) -> bool:
    return True


def remove_callback(fn: "Callback") -> bool:
    """Unregister *fn* from every stage; return whether it was registered."""
    found = False
    for entries in (BEFORE, AFTER, ERROR):
        for entry in entries[:]:
            if entry[1] is fn:
                entries.remove(entry)
                found = True
    return found


def clear() -> None:
    """Remove every callback (tests, ``uninstall``)."""
    for entries in (BEFORE, AFTER, ERROR):
        del entries[:]


def _describe(fn: "Any") -> str:
    module = getattr(fn, "__module__", None) or "?"
    return f"{module}.{getattr(fn, '__qualname__', repr(fn))}"


def run(
    entries: "list[tuple[Callable[[str], bool], Callback]]",
    when: str,
    rec: "list[Any]",
    module: "ModuleType | None",
    error: "BaseException | None",
) -> None:
    """Call the matching callbacks of one stage for the import *rec*; never raises."""
    ident = rec[_records.THREAD]
    if ident in _running:
        return
    _running.add(ident)
    # The loop lives in its own frame: CPython 3.13.0 can skip the finally of
    # a frame whose loop a signal handler raised in, which would leave this
    # thread's callbacks off for good (see _otel.emit).
    try:
        _run_entries(entries, when, rec, module, error, ident)
    finally:
        _running.discard(ident)


def _run_entries(
    entries: "list[tuple[Callable[[str], bool], Callback]]",
    when: str,
    rec: "list[Any]",
    module: "ModuleType | None",
    error: "BaseException | None",
    ident: int,
) -> None:
    name = rec[_records.NAME]
    event = None
    for match, fn in entries[:]:
        try:
            if not match(name):
                continue
            if event is None:
                parent = rec[_records.PARENT]
                duration = rec[_records.T1] - rec[_records.T0] if rec[_records.T1] else None
                event = ImportEvent(
                    name, when, module, error, parent[_records.NAME] if parent else None, ident, duration
                )
            fn(event)
        except Exception as exc:
            if _records.raised_by_signal_handler(exc):
                raise  # the program's own exception (a timeout, SIGTERM as an exception), not the callback's fault
            _records.internal_error(
                f"callback {_describe(fn)} ({when} import of {name!r})",
                exc,
                "the import went on (reported once per callback).",
                once=fn,
            )


def load_hook_specs(specs: "tuple[str, ...]", source: str) -> None:
    """Import each ``module`` or ``module:callable`` of IMPORTGUARD_HOOKS / ``hooks``.

    Importing the module lets its decorators register callbacks; a named
    callable is then called with no arguments. Failures are reported, not raised.
    """
    for spec in specs:
        module_name, _, attr = spec.partition(":")
        try:
            __import__(module_name)
            obj: Any = sys.modules[module_name]
            for part in attr.split(".") if attr else ():
                obj = getattr(obj, part)
            if attr:
                obj()
        except Exception as exc:
            _records.internal_error(
                f"{source} entry {spec!r}",
                exc,
                "it is skipped. Check the module path and that the name is a callable.",
            )


def load_entry_points(group: str = "importguard.hooks") -> None:
    """Load the ``importguard.hooks`` entry points (only when the config asks: ~50 ms)."""
    try:
        from importlib.metadata import entry_points

        eps = entry_points(group=group)
    except Exception as exc:
        _records.internal_error(f"entry point discovery ({group})", exc, "no entry-point hooks loaded.")
        return
    for ep in eps:
        try:
            obj = ep.load()
            if callable(obj):
                obj()
        except Exception as exc:
            _records.internal_error(f"entry point {ep.name} = {ep.value} ({group})", exc, "it is skipped.")


# The engines call run() through _records from now on (see _records.run_callbacks).
_records.run_callbacks = run
