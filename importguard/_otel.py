"""The OpenTelemetry bridge: import records become spans, once a real TracerProvider exists.

Never imported on the startup path (``opentelemetry.trace`` costs ~55 ms and
~70 modules): the hook buffers plain records, and this module is loaded only
when the application itself imports ``opentelemetry.trace`` (the hook's
``watch``), or when :func:`importguard.flush` is called.

Spans are never created early: through the API, a span started before a
provider is set goes to the proxy tracer and is dropped. So records wait in the
buffer and are replayed with their true start and end times when the app calls
``set_tracer_provider`` (wrapped when ``opentelemetry.trace`` finishes
importing), on ``flush()``, and at exit (a handler registered after the SDK's,
so it runs before the SDK shuts down). From then on the bridge is live: each
time a thread's outermost import finishes, its settled records are emitted.

A span is started as soon as its record is seen (children need their parent's
span context) and ended once its outcome is settled: at once for a success; for
a failure when its importer finished and swallowed-or-not is known.
"""

from __future__ import annotations

import os
from _thread import allocate_lock
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import ProxyTracerProvider, SpanKind, Status, StatusCode

from importguard import __version__, _exports, _hook, _records

#: Span attribute names. Semantic-convention names where they exist, written
#: out: importing opentelemetry-semantic-conventions costs ~37 ms.
ATTR_FILE = "code.file.path"
ATTR_ERROR_TYPE = "error.type"
ATTR_THREAD_ID = "thread.id"
ATTR_THREAD_NAME = "thread.name"
ATTR_PID = "process.pid"
ATTR_MODULE = "importguard.module.name"
ATTR_SELF_MS = "importguard.self_ms"
ATTR_LOADER = "importguard.loader"
ATTR_STATUS = "importguard.status"
ATTR_SWALLOWED = "importguard.swallowed"
ATTR_ROUTINE = "importguard.routine_probe"
ATTR_FROMLIST = "importguard.fromlist"
EVENT_VIOLATION = "importguard.export_violation"
ROOT_SPAN_NAME = "python startup"

_spans: dict[int, tuple[list[Any], Any]] = {}  # id(record) -> (record, started span), until ended
_contexts: dict[int, Any] = {}  # id(record) -> its span, or a context holding it once a child asked
_nested: dict[int, int] = {}  # id(record) -> summed duration of its direct children
_violations_of: dict[int, list[dict[str, Any]]] = {}  # id(record) -> its violations, per emit
_cursor = 0  # records before this index of the buffer have been seen
_undecided: list[list[Any]] = []  # seen, not yet started or skipped (IMPORTGUARD_MIN_MS waits for whole trees)
_root: Any = None
_root_end = 0
_live = False
_exit_registered = False
#: Held while a thread turns records into spans. With a SimpleSpanProcessor,
#: span.end() exports in the calling thread; if the exporter hangs, only that
#: thread waits: the others, and the exit, skip emitting instead of queueing behind it.
_emit_lock = allocate_lock()


def _after_fork_in_child() -> None:
    """A forked child starts over: its buffer holds its own records only, and the
    parent's spans are the parent's to end. (Telling by the buffer's length
    missed a child whose first import loaded more modules than the parent had
    emitted: it skipped that many of its own.) And it has one thread: a lock
    held by another thread at fork time would be held for ever there."""
    global _emit_lock
    _emit_lock = allocate_lock()
    _reset()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def disabled() -> bool:
    """``IMPORTGUARD_OTEL=0``, ``OTEL_SDK_DISABLED=true``, or importguard in
    ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS``."""
    from importguard import _session

    if _session.settings is not None and not _session.settings.get("otel", True):
        return True
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return True
    listed = os.environ.get("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", "")
    return "importguard" in {part.strip() for part in listed.split(",")}


def _provider() -> Any:
    provider = trace.get_tracer_provider()
    return None if isinstance(provider, ProxyTracerProvider) else provider


def _settled(rec: list[Any], final: bool) -> bool:
    if rec[_records.T1] == 0:
        return False
    if rec[_records.STATUS] == "ok" or rec[_records.SWALLOWED] is not None:
        return True
    return final


def _parent_context(rec: list[Any], tracer: Any, parent: Any) -> Any:
    global _root
    if parent is not None and id(parent) in _contexts:
        found = _contexts[id(parent)]
        if not isinstance(found, otel_context.Context):
            # Most imports have no children: build the context only when one asks.
            found = _contexts[id(parent)] = trace.set_span_in_context(found)
        return found
    captured = rec[_records.CONTEXT]
    if captured is not None and trace.get_current_span(captured).get_span_context().is_valid:
        return captured
    if _root is None:
        _root = tracer.start_span(
            ROOT_SPAN_NAME,
            context=otel_context.Context(),
            kind=SpanKind.INTERNAL,
            start_time=rec[_records.T0] + _records.epoch_offset_ns,
            attributes={ATTR_PID: os.getpid()},
        )
    return trace.set_span_in_context(_root)


def _start(rec: list[Any], tracer: Any, parent: Any = ...) -> None:
    """Start *rec*'s span under *parent*'s (default: its importer's), else the
    context captured at import time, else the process root span."""
    if parent is ...:
        parent = rec[_records.PARENT]
    name = rec[_records.NAME]
    span = tracer.start_span(
        f"import {name}",
        context=_parent_context(rec, tracer, parent),
        kind=SpanKind.INTERNAL,
        start_time=rec[_records.T0] + _records.epoch_offset_ns,
        attributes={ATTR_MODULE: name, ATTR_THREAD_ID: rec[_records.THREAD]},
    )
    _spans[id(rec)] = (rec, span)
    _contexts[id(rec)] = span


def _end(rec: list[Any]) -> None:
    global _root_end
    _rec, span = _spans.pop(id(rec))
    # Every child of a finished import has been seen by now (they start inside
    # it), so its context is no longer needed to parent anything.
    _contexts.pop(id(rec), None)
    total = rec[_records.T1] - rec[_records.T0]
    parent = rec[_records.PARENT]
    if parent is not None:
        _nested[id(parent)] = _nested.get(id(parent), 0) + total
    status = rec[_records.STATUS] or "incomplete"
    attrs: dict[str, Any] = {
        ATTR_STATUS: status,
        ATTR_SELF_MS: (total - _nested.pop(id(rec), 0)) / 1e6,
    }
    thread_name = _records.thread_names.get(rec[_records.THREAD])
    if thread_name:
        attrs[ATTR_THREAD_NAME] = thread_name
    file = _records.file_of(rec)
    if file:
        attrs[ATTR_FILE] = file
    loader = _records.loader_kind(rec[_records.SPEC]) if not isinstance(rec[_records.SPEC], str) else None
    if loader:
        attrs[ATTR_LOADER] = loader
    end_ns = rec[_records.T1] + _records.epoch_offset_ns
    error = rec[_records.ERROR]
    if error is not None:
        cls, message, frames, _importer, via_fromlist, _cause = error
        qualname = _records.qualname_of(cls)
        message = _records.shown(message)
        swallowed = rec[_records.SWALLOWED]
        attrs[ATTR_ERROR_TYPE] = qualname
        attrs[ATTR_FROMLIST] = bool(via_fromlist)
        if swallowed is not None:
            attrs[ATTR_SWALLOWED] = swallowed
        # "optional dependency missing" is one query away: not found, and caught.
        attrs[ATTR_ROUTINE] = status == "not_found" and swallowed is True
        span.add_event(
            "exception",
            attributes={
                "exception.type": qualname,
                "exception.message": message,
                "exception.stacktrace": _records._format_traceback(frames, qualname, message),
                "exception.escaped": swallowed is False,
            },
            timestamp=end_ns,
        )
        span.set_status(Status(StatusCode.ERROR, f"{qualname}: {message}"))
    for v in _violations_of.get(id(rec), ()):
        span.add_event(
            EVENT_VIOLATION,
            attributes={
                "importguard.missing": list(v["missing"]),
                "importguard.source": v["source"],
                "importguard.declared_in": v["declared_in"] or "",
                "importguard.mode": v["mode"],
            },
            timestamp=end_ns,
        )
    span.set_attributes(attrs)
    span.end(end_time=end_ns)
    _root_end = max(_root_end, end_ns)


def _root_of(rec: list[Any]) -> list[Any]:
    while rec[_records.PARENT] is not None:
        rec = rec[_records.PARENT]
    return rec


def _qualifies(rec: list[Any], min_ns: int) -> bool:
    """With ``IMPORTGUARD_MIN_MS``: slow imports, every failure, every module with a violation."""
    if rec[_records.STATUS] != "ok" or rec[_records.T1] - rec[_records.T0] >= min_ns:
        return True
    return any(v["_record"] is rec for v in _exports.violations)  # rare: only fast, successful ones get here


def _nearest_started(rec: list[Any]) -> Any:
    parent = rec[_records.PARENT]
    while parent is not None and id(parent) not in _contexts:
        parent = parent[_records.PARENT]
    return parent


def emit(final: bool = False) -> int:
    """Turn what the buffer holds into spans, if a real provider is set; return how many ended.

    Safe to call any time, from any thread; never raises into the caller, but
    for the program's own exception from a signal handler that ran in the middle.
    """
    if disabled():
        return 0
    if _emit_lock.locked():
        # Another thread is emitting (or is stuck in a synchronous exporter): the
        # records stay in the buffer for the next emission. Also a re-entry.
        return 0
    # `with`, not acquire(False): a signal handler can raise where a call returns,
    # and right after acquire() returned the lock would be held for ever.
    with _emit_lock:
        # As _hook.quiet(), but restored inline: a signal handler raising at the
        # start of a Python __exit__ would leave this thread's imports unrecorded
        # for good. Restored here rather than in _emit_locked: CPython 3.13.0
        # skips the finally of a frame whose loop a signal handler raised in
        # (tests/reliability/test_rel_signals.py found it); this try has no loop.
        state = _records.thread_state()
        quiet = state[_records.QUIET]
        try:
            return _emit_locked(final, state, quiet)
        finally:
            state[_records.QUIET] = quiet


def _emit_locked(final: bool, state: list[Any], quiet: int) -> int:
    global _cursor
    try:
        provider = _provider()
        if provider is None:
            return 0
        state[_records.QUIET] = quiet + 1
        tracer = provider.get_tracer("importguard", __version__)
        buffer = _records.buffer
        if _cursor > len(buffer):  # a forked child: its buffer started over
            _reset()
        _undecided.extend(buffer[_cursor:])
        _cursor = len(buffer)
        min_ns = _min_ns()
        still = []
        keep = _selector()
        for rec in _undecided:  # in start order: parents before children
            if keep is not None and not keep(rec[_records.NAME]):
                continue  # IMPORTGUARD_INCLUDE/EXCLUDE: children go under the nearest kept ancestor
            if min_ns <= 0:
                _start(rec, tracer, parent=_nearest_started(rec))
            elif _root_of(rec)[_records.T1] == 0 and not final:
                still.append(rec)  # decided when the whole tree has finished
            elif _qualifies(rec, min_ns):
                _start(rec, tracer, parent=_nearest_started(rec))
        _undecided[:] = still
        _violations_of.clear()
        for v in _exports.violations:
            _violations_of.setdefault(id(v["_record"]), []).append(v)
        done = 0
        for rec, _span in list(_spans.values()):
            if _settled(rec, final):
                _end(rec)
                done += 1
        if _records.folded_unsent:
            _send_folded(tracer)
        if _root is not None and not _root_ended():
            _root.end(end_time=_root_end or None)
        _go_live()
        return done
    except Exception as exc:
        if _records.raised_by_signal_handler(exc):
            raise  # the program's own exception, delivered while spans were being made
        _records.internal_error("OpenTelemetry export", exc, "import spans may be missing.", once="otel")
        return 0


_selector_for: tuple[Any, Any] = (None, None)  # (settings, predicate): compiled once per session


def _selector() -> Any:
    global _selector_for
    from importguard import _report, _session

    settings = _session.settings or {}
    if _selector_for[0] is not settings:
        _selector_for = (settings, _report.selector(settings))
    return _selector_for[1]


def _min_ns() -> int:
    from importguard import _session

    settings = _session.settings or {}
    return int(float(settings.get("min_ms") or 0) * 1_000_000)


def _send_folded(tracer: Any) -> None:
    """Imports folded into per-module totals (``IMPORTGUARD_MAX_RECORDS``) before
    they became spans: one span carrying a total per module, under the root."""
    global _root
    pending = dict(_records.folded_unsent)
    _records.folded_unsent.clear()
    if _root is None:
        _root = tracer.start_span(ROOT_SPAN_NAME, context=otel_context.Context(), attributes={ATTR_PID: os.getpid()})
    items = sorted(pending.items())
    # The SDK keeps 128 events per span by default: a span per 100 modules.
    for first in range(0, len(items), 100):
        chunk = items[first:first + 100]
        span = tracer.start_span(
            "importguard folded imports",
            context=trace.set_span_in_context(_root),
            attributes={"importguard.folded.count": sum(c for _n, (c, _t, _s) in chunk),
                        "importguard.folded.modules": len(chunk)},
        )
        for name, (count, total, own) in chunk:
            span.add_event("importguard.folded_module", attributes={
                ATTR_MODULE: name, "importguard.count": count,
                "importguard.total_ms": total / 1e6, ATTR_SELF_MS: own / 1e6,
            })
        span.end()


def _root_ended() -> bool:
    return bool(getattr(_root, "end_time", None))


def _reset() -> None:
    global _cursor, _root, _root_end
    _spans.clear()
    del _undecided[:]
    _contexts.clear()
    _nested.clear()
    _cursor = 0
    _root = None
    _root_end = 0


def _go_live() -> None:
    """After the first emission: emit as imports finish, and once more before the SDK shuts down."""
    global _live, _exit_registered
    if not _live:
        _live = True
        _hook.toplevel_done = _on_toplevel_done
    if not _exit_registered:
        _exit_registered = True
        from importguard import _session

        # Registered after the SDK's own shutdown handler, so it runs first.
        _session._private_atexit().register(_at_exit)


def _on_toplevel_done() -> None:
    emit()


def _at_exit() -> None:
    """End the spans still open, before the SDK's own exit handler shuts it down.

    No force_flush here: the SDK's handler (registered when the provider was
    made, so it runs after this one) exports what this queued, within its own
    bounds. A flush of ours would have none: BatchSpanProcessor.force_flush
    ignores its timeout (SDK 1.45) and waits for the export in progress, for
    ever if the exporter hangs, where the plain program exits. With
    ``shutdown_on_exit=False`` the program chose not to export at exit; the
    import spans still queued then go the way of its own.
    """
    _records.settle_at_exit()
    emit(final=True)


def flush(timeout_ms: int = 5000) -> int:
    """Emit every settled import as a span now, and ask the provider to export them.

    Failures made outside any import so far count as swallowed (the caller
    went on past them). Returns the number of spans ended. Does nothing, and
    creates no span, while no TracerProvider is set.

    *timeout_ms* bounds the wait only as far as the provider honours it: the
    SDK's BatchSpanProcessor (1.45) ignores it and waits for an export in
    progress, as it would for the program's own ``provider.force_flush()``.
    """
    _records.settle_toplevel(None)
    done = emit()
    provider = _provider()
    if done and provider is not None and hasattr(provider, "force_flush"):
        try:
            provider.force_flush(timeout_ms)
        except Exception as exc:
            _records.internal_error("OpenTelemetry flush", exc, "import spans may be missing.", once="otel")
    return done


def patch_set_tracer_provider(module: Any) -> None:
    """Wrap ``opentelemetry.trace.set_tracer_provider`` so that setting one emits the backlog.

    Applied the moment ``opentelemetry.trace`` finishes executing, before any
    ``from opentelemetry.trace import set_tracer_provider`` can copy the original.
    """
    original = module.set_tracer_provider
    if getattr(original, "__importguard__", False):
        return

    def set_tracer_provider(tracer_provider: Any) -> None:
        original(tracer_provider)
        emit()

    for attr in ("__module__", "__name__", "__qualname__", "__doc__", "__annotations__"):
        try:
            setattr(set_tracer_provider, attr, getattr(original, attr))
        except AttributeError:
            pass
    set_tracer_provider.__wrapped__ = original  # type: ignore[attr-defined]
    set_tracer_provider.__importguard__ = True  # type: ignore[attr-defined]
    module.set_tracer_provider = set_tracer_provider


def on_trace_imported(module: Any) -> None:
    """The hook's watcher for ``opentelemetry.trace`` (runs inside that import)."""
    if disabled():
        return
    patch_set_tracer_provider(module)


# When this module's own import is what imported opentelemetry.trace (flush()
# before the app used OpenTelemetry), the hook's watcher found this module half
# built and left the patch to us.
if not disabled():
    patch_set_tracer_provider(trace)
