"""The OpenTelemetry bridge: import records become spans, once a real TracerProvider exists.

Never imported on the startup path (``opentelemetry.trace`` costs ~55 ms and
~70 modules): the hook buffers plain records, and this module is loaded only
when the application itself imports ``opentelemetry.trace`` (the hook's
``watch``), or when :func:`importguard.flush` is called.

Spans are never created early: through the API, a span started before a
provider is set goes to the proxy tracer and is dropped; and an SDK provider
with no span processor yet drops what ends on it. So records wait in the
buffer and are replayed with their true start and end times once the provider
can export: when the app calls ``set_tracer_provider`` with a provider that
has a processor, or adds the first processor to it (``opentelemetry-instrument``
sets the provider first), on ``flush()``, and at exit (a handler registered
after the SDK's, so it runs before the SDK shuts down). From then on the
bridge is live: each time a thread's outermost import finishes, its settled
records are emitted.

A span is started as soon as its record is seen (children need their parent's
span context) and ended once its outcome is settled: at once for a success; for
a failure inside an import when its importer finished. A failure outside any
import (an import in a request handler) is settled when the span that was
current at the import ends (the request): it escaped if its exception is
leaving that span or the span recorded it, else it was swallowed. Outside any
span, at the next emission (see :func:`_runtime_settled`).
"""

from __future__ import annotations

import os
import sys
from _thread import allocate_lock, get_ident
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import ProxyTracerProvider, SpanKind, Status, StatusCode

from importguard import __version__, _convert, _exports, _records

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
#: id(record with an open span, or undecided) -> summed cumulative ns of its
#: direct children seen finished: its self time, as the report computes it.
_nested: dict[int, int] = {}
_unfinished: list[list[Any]] = []  # seen while still in progress: their time is added to their parent later
_violations_of: dict[int, list[dict[str, Any]]] = {}  # id(record) -> its violations, per emit
#: Position in the buffer up to which records have been seen, and {id(record):
#: ns} of children a fold took out before this bridge saw them. Registered
#: with _records, which moves it when records before it leave the buffer.
_cursor: list[Any] = [0, {}]
_undecided: dict[int, list[Any]] = {}  # seen, not yet started or skipped (IMPORTGUARD_MIN_MS waits for whole trees)
#: span id of the span current at a run-time failure -> those failures, until that span ends.
_waiting: dict[int, list[list[Any]]] = {}
#: Run-time failures made outside any span, waiting for the next emission: id -> (record, emissions seen).
_later: dict[int, list[Any]] = {}
_root: Any = None
_root_end = 0
_live = False
_exit_registered = False
_watcher: Any = None  # our span processor on the app's provider (see _watch_spans)
_watched: Any = None  # the provider it was added to
_awaiting: Any = None  # a provider set without a span processor, whose first one we wait for
#: Held while a thread turns records into spans. With a SimpleSpanProcessor,
#: span.end() exports in the calling thread; if the exporter hangs, only that
#: thread waits: the others, and the exit, skip emitting instead of queueing behind it.
_emit_lock = allocate_lock()


def _pinned() -> list[list[Any]]:
    """Records a fold must leave in the buffer: open spans and undecided trees."""
    return [rec for rec, _span in _spans.values()] + list(_undecided.values())


_records.cursors.append(_cursor)
_records.pins.append(_pinned)


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


#: The session's settings, as :func:`configure` last got them (None: no session).
_settings: dict[str, Any] | None = None
_selector_for: tuple[Any, Any] = (None, None)  # (settings, predicate): compiled once per session


def configure(settings: dict[str, Any] | None) -> None:
    """Take the session's *settings* (``otel``, ``min_ms``, ``include``/``exclude``):
    called through the records when this module registers, and when a session starts."""
    global _settings, _selector_for
    _settings = settings
    _selector_for = (None, None)


def _listen(on: bool) -> None:
    """Emit each time a thread's outermost import finishes (*on*), or stop."""
    if on and _on_toplevel_done not in _records.on_outermost:
        _records.on_outermost.append(_on_toplevel_done)
    elif not on and _on_toplevel_done in _records.on_outermost:
        _records.on_outermost.remove(_on_toplevel_done)


def stop() -> None:
    """Stop emitting spans as imports finish (records are still kept): ``uninstrument()``."""
    _listen(False)


def disabled() -> bool:
    """``IMPORTGUARD_OTEL=0``, ``OTEL_SDK_DISABLED=true``, or importguard in
    ``OTEL_PYTHON_DISABLED_INSTRUMENTATIONS``."""
    if _settings is not None and not _settings.get("otel", True):
        return True
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return True
    listed = os.environ.get("OTEL_PYTHON_DISABLED_INSTRUMENTATIONS", "")
    return "importguard" in {part.strip() for part in listed.split(",")}


def _provider() -> Any:
    provider = trace.get_tracer_provider()
    return None if isinstance(provider, ProxyTracerProvider) else provider


def _processors(provider: Any) -> Any:
    """The span processors of an SDK provider (a tuple), or None for any other provider."""
    return getattr(getattr(provider, "_active_span_processor", None), "_span_processors", None)


def _can_export(provider: Any) -> bool:
    """Whether spans ended now reach an exporter: an SDK provider drops them
    while it has no span processor (``opentelemetry-instrument`` sets the
    provider, then adds the processors)."""
    found = _processors(provider)
    if found is None:
        return True  # not the SDK's: it decides
    return any(p is not _watcher for p in found)


def _await_processor(provider: Any) -> None:
    """The provider just set has no span processor: send the backlog when it gets one."""
    global _awaiting
    if _awaiting is provider:
        return
    _awaiting = provider
    original = getattr(provider, "add_span_processor", None)
    if original is None:
        return

    def add_span_processor(span_processor: Any) -> None:
        original(span_processor)
        try:
            del provider.add_span_processor  # the method is the class's again
        except AttributeError:
            pass
        emit()

    try:
        provider.add_span_processor = add_span_processor
    except (AttributeError, TypeError):
        pass  # a provider that takes no attributes: the next emission checks again
    # Until then, every outermost import finishing checks again too.
    _listen(True)


def _settled(rec: list[Any], final: bool) -> bool:
    if rec[_records.T1] == 0:
        return False
    if rec[_records.STATUS] == "ok" or rec[_records.SWALLOWED] is not None:
        return True
    # A run-time failure outside any span: at the first emission after its own.
    return final or (id(rec) in _later and _later[id(rec)][1] > 0)


def _parent_context(rec: list[Any], tracer: Any, parent: Any) -> Any:
    global _root
    if parent is not None and id(parent) in _contexts:
        found = _contexts[id(parent)]
        if not isinstance(found, otel_context.Context):
            # Most imports have no children: build the context only when one asks.
            found = _contexts[id(parent)] = trace.set_span_in_context(found)
        return found
    captured = _captured_span(rec)
    if captured is not None:
        return rec[_records.CONTEXT]
    if _root is None:
        _root = tracer.start_span(
            ROOT_SPAN_NAME,
            context=otel_context.Context(),
            kind=SpanKind.INTERNAL,
            start_time=rec[_records.T0] + _records.epoch_offset_ns,
            attributes={ATTR_PID: os.getpid()},
        )
    return trace.set_span_in_context(_root)


def _captured_span(rec: list[Any]) -> Any:
    """The valid span that was current where an import outside any import started, or None."""
    captured = rec[_records.CONTEXT]
    if captured is None:
        return None
    span = trace.get_current_span(captured)
    return span if span.get_span_context().is_valid else None


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
    if id(rec) in _records.toplevel_failures:
        _runtime_failure(rec)


def _runtime_failure(rec: list[Any]) -> None:
    """A failure outside any import whose outcome is not known yet: wait for the
    span that was current at the import to end, or (outside any span) for the
    next emission."""
    current = _captured_span(rec)
    # A span sampled out (or ended already: a backlog) never reaches a processor.
    if current is not None and current.is_recording() and _watch_spans():
        _waiting.setdefault(current.get_span_context().span_id, []).append(rec)
    else:
        _later[id(rec)] = [rec, 0]


def _end(rec: list[Any]) -> None:
    global _root_end
    _rec, span = _spans.pop(id(rec))
    # Every child of a finished import has been seen by now (they start inside
    # it), so its context is no longer needed to parent anything.
    _contexts.pop(id(rec), None)
    _later.pop(id(rec), None)
    total = rec[_records.T1] - rec[_records.T0]
    status = rec[_records.STATUS] or "incomplete"
    own = total - _nested.pop(id(rec), 0) - _cursor[1].pop(id(rec), 0)
    attrs: dict[str, Any] = {ATTR_STATUS: status, ATTR_SELF_MS: own / 1e6}
    thread_name = _records.thread_names.get(rec[_records.THREAD])
    if thread_name:
        attrs[ATTR_THREAD_NAME] = thread_name
    file = _records.file_of(rec)
    if file:
        attrs[ATTR_FILE] = file
    loader = _convert.loader_kind(rec[_records.SPEC]) if not isinstance(rec[_records.SPEC], str) else None
    if loader:
        attrs[ATTR_LOADER] = loader
    end_ns = rec[_records.T1] + _records.epoch_offset_ns
    error = rec[_records.ERROR]
    if error is not None:
        cls, message, frames, _importer, via_fromlist, _cause = error
        qualname = _records.qualname_of(cls)
        message = _records.shown(message)
        swallowed = rec[_records.SWALLOWED]
        # The verdict every report format shows (one rule: _convert.verdict).
        routine = _convert.verdict(rec) == _convert.PROBE
        attrs[ATTR_ERROR_TYPE] = qualname
        attrs[ATTR_FROMLIST] = bool(via_fromlist)
        if swallowed is not None:
            attrs[ATTR_SWALLOWED] = swallowed
        # "optional dependency missing" is one query away: not found, and caught.
        attrs[ATTR_ROUTINE] = routine
        span.add_event(
            "exception",
            attributes={
                "exception.type": qualname,
                "exception.message": message,
                "exception.stacktrace": _convert.format_traceback(frames, qualname, message),
                # As the semantic conventions mean it: the exception left the
                # scope of this span (the import statement raised it), whatever
                # the importer did next; that is importguard.swallowed.
                "exception.escaped": True,
            },
            timestamp=end_ns,
        )
        if not routine:
            # A routine probe is not an error: every startup trace would be red.
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
    if _records.count_failures:
        from importguard import _metrics

        _metrics.record(rec, "runtime" if _captured_span(_root_of(rec)) is not None else "startup")
    if rec[_records.ERROR] is not None and id(rec) not in _records.toplevel_failures:
        # A repeat of an earlier run-time failure, kept for this span: now one count.
        _records.merge_repeat(rec)


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
        # As _records.quiet(), but restored inline: a signal handler raising at the
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


def _count_child(rec: list[Any]) -> None:
    """Add the finished *rec*'s time to its importer's, if that one will be a span."""
    parent = rec[_records.PARENT]
    if parent is not None and (id(parent) in _spans or id(parent) in _undecided):
        _nested[id(parent)] = _nested.get(id(parent), 0) + rec[_records.T1] - rec[_records.T0]


def _emit_locked(final: bool, state: list[Any], quiet: int) -> int:
    try:
        provider = _provider()
        if provider is None:
            return 0
        if not final and not _can_export(provider):
            _await_processor(provider)
            return 0
        state[_records.QUIET] = quiet + 1
        tracer = provider.get_tracer("importguard", __version__)
        buffer = _records.buffer
        if _cursor[0] > len(buffer):  # a forked child: its buffer started over
            _reset()
        new = buffer[_cursor[0] :]
        _cursor[0] = len(buffer)
        for rec in new:
            _undecided[id(rec)] = rec
        min_ns = _min_ns()
        still: dict[int, list[Any]] = {}
        keep = _selector()
        for key, rec in _undecided.items():  # in start order: parents before children
            if keep is not None and not keep(rec[_records.NAME]):
                # IMPORTGUARD_INCLUDE/EXCLUDE: children go under the nearest kept ancestor
                _nested.pop(key, None)
                _cursor[1].pop(key, None)
            elif min_ns <= 0:
                _start(rec, tracer, parent=_nearest_started(rec))
            elif _root_of(rec)[_records.T1] == 0 and not final:
                still[key] = rec  # decided when the whole tree has finished
            elif _qualifies(rec, min_ns):
                _start(rec, tracer, parent=_nearest_started(rec))
            else:
                _nested.pop(key, None)
                _cursor[1].pop(key, None)
        _undecided.clear()
        _undecided.update(still)
        # Self times: each child's time goes to its importer once it is finished.
        waiting = _unfinished[:]
        del _unfinished[:]
        for rec in waiting + new:
            if rec[_records.T1]:
                _count_child(rec)
            else:
                _unfinished.append(rec)
        _runtime_settled(final)
        _violations_of.clear()
        for v in _exports.violations:
            _violations_of.setdefault(id(v["_record"]), []).append(v)
        done = 0
        # Children before parents: they end first in time too.
        for rec, _span in sorted(_spans.values(), key=lambda item: -item[0][_records.T0]):
            if _settled(rec, final):
                _end(rec)
                done += 1
        for item in _later.values():
            item[1] += 1  # one more emission since the failure was seen
        if _records.count_failures:
            from importguard import _metrics

            _metrics.count_failures()
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


def _runtime_settled(final: bool) -> None:
    """Run-time failures made outside any span: settled as far as this emission can tell.

    In the thread that made it, any emission but the failure's own (in the
    hook, while its exception is being handled) means the thread went on past
    it: swallowed (unless its exception is still being handled up the stack,
    by the importer's ``except`` or a framework's error handler: then it
    waits). The first emission after the failure's own in another thread sends
    its span without ``importguard.swallowed``; the report settles it at exit.
    """
    if not _later:
        return
    here = get_ident()
    handling = sys.exc_info()[1]
    for rec, _seen in list(_later.values()):
        # (At the failure's own emission, in the hook, its exception is the one being handled.)
        if (
            rec[_records.THREAD] == here
            and id(rec) in _records.toplevel_failures
            and not _records.escaped_in(handling, [rec])
        ):
            _records.settle_one(rec, False)


def _watch_spans() -> bool:
    """Add our span processor to the app's SDK provider (once): it tells when
    the span current at a run-time failure ends. False if the provider takes none."""
    global _watcher, _watched
    provider = _provider()
    if _watched is provider and _watcher is not None:
        return True
    add = getattr(provider, "add_span_processor", None)
    if add is None or _processors(provider) is None:
        return False
    if _watcher is None:
        _watcher = _make_watcher()
    add(_watcher)
    _watched = provider
    return True


def _make_watcher() -> Any:
    sdk_trace = sys.modules.get("opentelemetry.sdk.trace")
    base: Any = getattr(sdk_trace, "SpanProcessor", object)

    class ImportguardSpanWatcher(base):  # type: ignore[misc]
        """Ends the spans of run-time failures when the span current at the import ends."""

        def on_start(self, span: Any, parent_context: Any = None) -> None:
            pass

        def _on_ending(self, span: Any) -> None:
            pass

        def on_end(self, span: Any) -> None:
            if _waiting:
                _span_ended(span)

        def shutdown(self) -> None:
            pass

        def force_flush(self, timeout_millis: int = 30000) -> bool:
            return True

    return ImportguardSpanWatcher()


def _span_ended(span: Any) -> None:
    """The span that was current at some run-time failures ended: settle and send them.

    Escaped if the failure's exception is what is leaving the span (it is being
    handled while the span ends: ``with span:`` or a context manager's
    ``__exit__``), or if the span recorded it (an ``exception`` event with its
    type, message and import statement: a framework's instrumentation that
    turned it into a 500); swallowed otherwise: the code in the span went on.
    """
    try:
        context = span.get_span_context() if hasattr(span, "get_span_context") else span.context
        failures = _waiting.pop(context.span_id, None)
        if failures is None:
            return
        pending = [rec for rec in failures if id(rec) in _records.toplevel_failures]
        leaving = _records.escaped_in(sys.exc_info()[1], pending)
        for rec in pending:
            _records.settle_one(rec, id(rec) in leaving or _recorded_on(span, rec))
        emit()
    except Exception as exc:
        if _records.raised_by_signal_handler(exc):
            raise
        _records.internal_error("OpenTelemetry export", exc, "import spans may be missing.", once="otel")


def _recorded_on(span: Any, rec: list[Any]) -> bool:
    """Whether *span* has an ``exception`` event for *rec*'s failure."""
    cls, message, _frames, importer, _via, _cause = rec[_records.ERROR]
    qualname = _records.qualname_of(cls)
    where = _records.location(importer)
    needle = f'File "{where[0]}", line {where[1]}' if where is not None else None
    for event in getattr(span, "events", ()) or ():
        if event.name != "exception":
            continue
        attrs = event.attributes or {}
        if attrs.get("exception.type") != qualname or attrs.get("exception.message") != message:
            continue
        if needle is None or needle in str(attrs.get("exception.stacktrace", "")):
            return True
    return False


def _selector() -> Any:
    global _selector_for
    from importguard import _report

    settings = _settings or {}
    if _selector_for[0] is not settings:
        _selector_for = (settings, _report.selector(settings))
    return _selector_for[1]


def _min_ns() -> int:
    settings = _settings or {}
    return int(float(settings.get("min_ms") or 0) * 1_000_000)


def _send_folded(tracer: Any) -> None:
    """Imports folded into per-module totals (``IMPORTGUARD_MAX_RECORDS``) before
    they became spans: one span carrying a total per module, under the root,
    spanning the first start to the last end of what it folds."""
    global _root
    pending = dict(_records.folded_unsent)
    _records.folded_unsent.clear()
    offset = _records.epoch_offset_ns
    if _root is None:
        first = min(entry[3] for entry in pending.values())
        _root = tracer.start_span(
            ROOT_SPAN_NAME,
            context=otel_context.Context(),
            start_time=first + offset,
            attributes={ATTR_PID: os.getpid()},
        )
    items = sorted(pending.items())
    # The SDK keeps 128 events per span by default: a span per 100 modules.
    for first_item in range(0, len(items), 100):
        chunk = items[first_item : first_item + 100]
        span = tracer.start_span(
            "importguard folded imports",
            context=trace.set_span_in_context(_root),
            start_time=min(entry[3] for _n, entry in chunk) + offset,
            attributes={
                "importguard.folded.count": sum(entry[0] for _n, entry in chunk),
                "importguard.folded.modules": len(chunk),
            },
        )
        for name, (count, total, own, _t0, t1) in chunk:
            span.add_event(
                "importguard.folded_module",
                timestamp=t1 + offset,
                attributes={
                    ATTR_MODULE: name,
                    "importguard.count": count,
                    "importguard.total_ms": total / 1e6,
                    ATTR_SELF_MS: own / 1e6,
                },
            )
        span.end(end_time=max(entry[4] for _n, entry in chunk) + offset)


def _root_ended() -> bool:
    return bool(getattr(_root, "end_time", None))


def _reset() -> None:
    global _root, _root_end
    _spans.clear()
    _undecided.clear()
    _contexts.clear()
    _nested.clear()
    del _unfinished[:]
    _waiting.clear()
    _later.clear()
    _cursor[0] = 0
    _cursor[1].clear()
    _root = None
    _root_end = 0


def _go_live() -> None:
    """After the first emission: emit as imports finish, and once more before the SDK shuts down."""
    global _live, _exit_registered
    if not _live:
        _live = True
        _listen(True)
        _records.keep_for_sink = _wants_own_span
    if not _exit_registered:
        _exit_registered = True
        # Registered after the SDK's own shutdown handler, so it runs first.
        _records.private_atexit().register(_at_exit)


def _wants_own_span(rec: list[Any]) -> bool:
    """A repeat of a run-time failure made inside a span keeps its record until
    its own span is sent in that span's trace (then it is merged)."""
    return _live and _on_toplevel_done in _records.on_outermost and _captured_span(rec) is not None


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


def finish(timeout_s: float = 5.0, exc: BaseException | None = None) -> int:
    """Everything final, now, for an exit that skips ``atexit`` (SIGTERM, exec):
    settle the failures made outside any import (escaped if in *exc*'s chain),
    end every open import span, and ask the provider to export, waiting at
    most *timeout_s* seconds. Returns the number of spans ended; never raises.

    The export runs in a helper thread joined with the timeout, because the
    SDK's BatchSpanProcessor ignores force_flush's own; where no thread can
    start (interpreter shutdown, 3.12+) nothing is waited for.
    """
    try:
        _records.settle_toplevel(exc)
        done = emit(final=True)
        provider = _provider()
        flush_provider = getattr(provider, "force_flush", None)
        if flush_provider is None or timeout_s <= 0:
            return done
        with _records.quiet():
            import threading

        worker = threading.Thread(
            target=flush_provider, args=(int(timeout_s * 1000),), name="importguard-flush", daemon=True
        )
        try:
            worker.start()
        except RuntimeError:
            return done
        worker.join(timeout_s)
        return done
    except Exception as bug:
        if _records.raised_by_signal_handler(bug):
            raise
        _records.internal_error("OpenTelemetry export", bug, "import spans may be missing.", once="otel")
        return 0


def send_otlp(endpoint: str) -> None:
    """``importguard run --otlp``: at exit, send the spans with an SDK of our own,
    unless the program set a TracerProvider itself (then its exporter has them).

    No thread may start at interpreter shutdown from 3.12 on, so no
    BatchSpanProcessor and no ``Resource.create()`` (both use threads): the
    spans are collected and exported in batches from this thread, and the
    resource comes from ``OTEL_SERVICE_NAME``/``OTEL_RESOURCE_ATTRIBUTES``.
    A collector that refuses the connection is found in one connect (the
    exporter would retry for its whole timeout); the exporter's own log lines
    are silenced: importguard says what happened in one line.
    """
    import logging

    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import OTELResourceDetector, Resource
    from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
    from opentelemetry.sdk.trace.export import SpanExportResult

    if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        return
    base = endpoint.rstrip("/")
    ended: list[Any] = []

    class Collect(SpanProcessor):
        def on_end(self, span: Any) -> None:
            ended.append(span)

    # Not Resource.create(): it runs the resource detectors in a thread pool.
    resource = Resource({"service.name": "unknown_service"}).merge(OTELResourceDetector().detect())
    provider = TracerProvider(resource=resource, shutdown_on_exit=False)
    provider.add_span_processor(Collect())
    trace.set_tracer_provider(provider)
    emit(final=True)
    if not ended:
        return

    def failed(why: str, first: int = 0) -> None:
        lost = f"{len(ended) - first} of {len(ended)} spans were not sent"
        _records.internal_errors.append(("sending spans to " + endpoint, "ExportFailed", f"{why}: {lost}"))
        sys.stderr.write(f"importguard: sending spans to {endpoint} failed ({why}); {lost}.\n")

    refused = _refused(base)
    if refused:
        failed(refused)
        return
    exporter = OTLPSpanExporter(endpoint=base if base.endswith("/v1/traces") else base + "/v1/traces", timeout=5)
    quiet_loggers = [
        logging.getLogger(name)
        for name in (
            "opentelemetry.exporter.otlp.proto.http.trace_exporter",
            "opentelemetry.exporter.otlp.common.http",
            "opentelemetry.exporter.http.transport",
            "opentelemetry.exporter.otlp.proto.http",
        )
    ]
    before = [logger.disabled for logger in quiet_loggers]
    for logger in quiet_loggers:
        logger.disabled = True
    try:
        for first in range(0, len(ended), 512):
            # The first batch that fails (collector down, or silent for the exporter's
            # 5 s timeout) ends it: the exit waits one timeout, not one per batch.
            if exporter.export(ended[first : first + 512]) is not SpanExportResult.SUCCESS:
                failed("no answer within 5 s, or an error", first)
                break
        exporter.shutdown()  # type: ignore[no-untyped-call]
    finally:
        for logger, was in zip(quiet_loggers, before):
            logger.disabled = was


def _refused(url: str) -> str:
    """Why a connection to *url*'s host cannot be opened (refused, no such
    host: within 2 s), or "" if it can."""
    import socket
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        with socket.create_connection((parts.hostname or "localhost", port), timeout=2):
            return ""
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    except ValueError as exc:  # a port out of range
        return str(exc)


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


# Registered, not looked up: the session configures this bridge and asks it to
# finish through the records, and never imports it by name.
_records.add_sink(configure, finish, lambda: _live)

# When this module's own import is what imported opentelemetry.trace (flush()
# before the app used OpenTelemetry), the hook's watcher found this module half
# built and left the patch to us.
if not disabled():
    patch_set_tracer_provider(trace)
