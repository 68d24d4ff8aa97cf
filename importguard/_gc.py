"""Garbage collection inside imports: each collection's time, charged to the import it ran in.

A collection runs whenever allocations cross a threshold, so it lands in
whichever import happens to be running: one 16 ms full collection during
``import pandas`` makes one module look ten times slower than it is, and
another in the next run. ``-X importtime`` counts it in that module's self
time; importguard does too (so the numbers agree), and records it apart, so
reports show it and ``bench``/``compare``/budgets can leave it out
(``--gc exclude``).

While an import runs (in any thread), a ``gc.callbacks`` entry times each collection and
appends ``(start, end, generation)`` (``perf_counter_ns``) to the record on top
of the collecting thread's import stack (slot ``_records.GC``): the import whose
own code was running, so a collection counts in exactly one record's self time,
and in the cumulative time of its importers. Collections outside any import,
or during importguard's own work, are not recorded.

The callback is in the list only while some import is in progress (the hook
calls enter() at an outermost import and leave() when it ends; the finder
engine when a thread's import stack fills and empties), not for the
whole run: a collection outside imports then costs the program nothing, and
the callback's own Python frame cannot meet the recursion limit in the
program's code (on 3.12 and 3.13 a program recursing into RecursionError while
a collection started at that frame got "Exception ignored in: <function
_on_collect>" on stderr). The count is kept without a lock: a lost update
either leaves the callback in (as before) or takes it out during an import
(that import's collections are then not split out); neither changes the
program.

``gc`` is not loaded at startup in a plain interpreter; importing it would take
it off the program's ``-X importtime`` tree. A private instance of the builtin
module (not put in ``sys.modules``, as ``_session`` does for ``atexit``) gives
the interpreter's one ``callbacks`` list. Builtins only: imported at startup.
"""

import sys
from time import perf_counter_ns

from importguard import _records

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_threads = _records.threads
_GC = _records.GC
#: The interpreter's gc.callbacks list while recording, else None.
_callbacks: "list[Any] | None" = None
_started = 0
#: Set for good once an import runs under a recursion limit below 1000 (see low_limit).
_low_limit = False
#: Outermost imports in progress (threads and greenlets); see enter() and leave().
_importing = 0


def _on_collect(phase: str, info: "dict[str, Any]") -> None:
    # Called by the collector itself: it must never raise (an exception here
    # would be printed as unraisable, in the middle of the program's output).
    global _started
    if phase == "start":
        _started = perf_counter_ns()
        return
    end = perf_counter_ns()
    try:
        state = getattr(_threads, "state", None)  # None: this thread never imported
        if state is None:
            return
        stack = state[0]
        if stack and not state[2]:
            rec = stack[-1]
            events = rec[_GC]
            event = (_started, end, info.get("generation", -1))
            if events is None:
                rec[_GC] = [event]
            else:
                events.append(event)
    except Exception:  # never into the collector
        pass


def _gc_module() -> "Any":
    module = sys.modules.get("gc")
    if module is not None:
        return module
    return _records.private_builtin("gc")


def start() -> None:
    """Time collections from now on, during imports (idempotent). Never raises:
    without it, GC time is simply not split out."""
    global _callbacks
    if _callbacks is not None or _low_limit:
        return
    try:
        callbacks = _gc_module().callbacks
        if _importing > 0:
            _add(callbacks)
        _callbacks = callbacks
    except Exception as exc:
        _records.internal_error("timing garbage collection", exc, "collector time is not shown apart.")


def _add(callbacks: "list[Any]") -> None:
    if _on_collect not in callbacks:
        callbacks.append(_on_collect)


def enter() -> None:
    """An outermost import begins: collections are timed until the last one ends."""
    global _importing
    _importing += 1
    callbacks = _callbacks
    if callbacks is not None and _on_collect not in callbacks:
        callbacks.append(_on_collect)


def leave() -> None:
    """An outermost import ended: with none left, the callback leaves the list."""
    global _importing
    _importing = max(_importing - 1, 0)
    callbacks = _callbacks
    if not _importing and callbacks is not None:
        try:
            callbacks.remove(_on_collect)
        except ValueError:
            pass


def stop() -> None:
    """Stop timing collections (when the hook stops recording)."""
    global _callbacks
    callbacks, _callbacks = _callbacks, None
    if callbacks is not None:
        try:
            callbacks.remove(_on_collect)
        except ValueError:
            pass


def low_limit() -> None:
    """Stop timing collections for good: the program runs with a recursion limit below 1000.

    The callback is one more Python frame wherever a collection starts. The
    hook raises the limit by exactly the frames it holds itself, so that the
    program's own frames meet the limit where they would without importguard;
    a collection starting at that very edge could not enter the callback, and
    the collector would print "Exception ignored in: <function _on_collect>"
    in the middle of the program's output (seen on 3.12 with a limit of 23).
    Programs that lower the limit that far are rare (tests of the limit
    itself); their collections are then left in the imports' self time, as
    ``-X importtime`` leaves them.
    """
    global _low_limit
    _low_limit = True
    stop()


def events_ns(events: "list[tuple[int, int, int]] | None") -> int:
    """The collector time in a record's events."""
    return sum(end - begin for begin, end, _gen in events) if events else 0
