"""The import hook: one function that every real import runs through. Hot path.

Where it sits, and why there
----------------------------
CPython's import statement, ``importlib.import_module`` and ``__import__`` all
end in ``importlib._bootstrap._find_and_load``, which, once it holds the
module's lock and has seen the module is not in ``sys.modules`` yet, calls the
module-level function ``_find_and_load_unlocked(name, import_)`` to search
``sys.meta_path`` and execute the module. ``_find_and_load`` looks that function
up as a global on every call, so replacing the attribute on
``_frozen_importlib`` wraps exactly the real imports, once each, in the
importing thread:

* every finder is covered, including those that pytest, wrapt, six or ddtrace
  insert *ahead* of ours later: nothing has to sit in ``sys.meta_path`` or
  notice new entries;
* a miss costs the import system nothing extra (a finder in front that searched
  the others itself would make every miss search twice, ~43 us each);
* nothing is wrapped or mirrored: specs, loaders, ``__loader__``,
  ``__spec__``, ``importlib.resources``, zipimport, namespace packages,
  ``LazyLoader`` and ``load_module``-only loaders are exactly what they are
  without the hook;
* ``importlib.util.find_spec`` look-ups, ``importlib.reload`` and imports of
  modules already in ``sys.modules`` never get here, so they are not recorded
  as imports;
* a second thread waiting on the lock of a module another thread is loading
  does not get here either, so each load is one record in the right thread.

The same function is also what ``-X importtime`` times (from C, around
``_find_and_load``), which is why the numbers agree.

Tracebacks: CPython strips frames whose code comes from
``<frozen importlib._bootstrap>`` out of import tracebacks (``import.c``,
``remove_importlib_frames``). The wrapper's code object carries that file name,
so it is stripped with importlib's own frames. Where import.c does not trim
(``importlib.import_module``; a finder or loader raising something other than
``ImportError``), the wrapper removes its own traceback entry before
re-raising, on 3.11+; on 3.10 one extra importlib-looking line remains there.

Cost: builtins only, one list per import, no locks (the GIL makes list.append
atomic). Everything slower happens in ``_records`` on the failure path or later.
"""

import sys
from time import perf_counter_ns

from importguard import _gc, _records

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

_bootstrap: "Any" = sys.modules["_frozen_importlib"]
_ModuleType = type(sys)

#: The function we wrap, captured at install time (it may itself be someone's wrapper).
_real: "Callable[[str, Any], Any] | None" = None
#: False after uninstall() when another tool wrapped on top of us and we could not unhook.
_active = False
#: importguard's own reactions to particular modules being imported, run once:
#: {module name: function(module)} (the OpenTelemetry bridge watches opentelemetry.trace).
watch: "dict[str, Callable[[Any], None]]" = {}
#: Called when a thread's outermost import finishes: the list sinks register
#: with in ``_records`` (the span bridge, once live); empty, one truth test.
_outermost = _records.on_outermost
#: Whether imports outside any import capture the current OpenTelemetry context.
otel_on = False
_modules = sys.modules
#: Past this many records, the oldest successful ones are folded into per-module
#: totals when a thread's outermost import finishes (IMPORTGUARD_MAX_RECORDS).
max_records = 20_000
_limit = _records.limit
_getlimit = sys.getrecursionlimit
_setlimit = sys.setrecursionlimit
#: Below this recursion limit every import pays for the hook's frame (see the hook).
_LOW = 1000
#: From this many imports in progress in a thread, whatever the limit.
_DEEP = 16

#: Export checks (set by _session from the config): on at all; and whether
#: every module needs a look (contracts, a snapshot or stubs), not only those with __all__.
exports_on = False
check_every_module = False
#: The settings ``_exports`` is configured from when :func:`exports` loads it.
export_settings: "dict[str, Any]" = {}
#: ``_exports`` once loaded (see :func:`exports`), else None: with default
#: settings the startup path does not load it; a module whose ``__all__``
#: the inline look cannot clear does, and a pending name implies it is loaded.
_exports: "Any" = None

_buffer_append = _records.buffer.append
_pending = _records.exports_pending
_threads = _records.threads
_thread_state = _records.thread_state
_loaded = _records.loaded
_before = _records.callbacks_before
_after = _records.callbacks_after
_on_error = _records.callbacks_error


def _find_and_load_unlocked(name: str, import_: "Any") -> "Any":
    try:
        state = _threads.state
    except AttributeError:
        state = _thread_state()
    # state[2]: this thread is doing importguard's own work (report at exit,
    # flush); its imports are not the app's.
    if not _active or state[2]:
        if state[2] and name[:12] == "importguard.":
            return _load_own(name, import_)
        return _real(name, import_)  # type: ignore[misc]
    # A signal handler runs wherever a call returns and may raise there, in the
    # middle of this bookkeeping too: each except below first takes the record
    # off this thread's stack (no call before the pop), then lets
    # _records.interrupted finish it and decide whose exception it is.
    stack = rec = None
    try:
        stack = state[0]
        ident = state[1]
        parent = stack[-1] if stack else None
        rec = [name, parent, ident, 0, 0, None, None, None, None, None, None, None, None, None]
        _buffer_append(rec)
        stack.append(rec)
        # This frame is one more on the Python stack for everything the import
        # runs. While the program's recursion limit is low (or 16 imports are
        # in progress, or this thread already pays), the limit goes up by the
        # frames importguard holds, so the program's frames meet it where they
        # would without the hook (see _records.limit); else the stack is far
        # from the limit and nothing is paid but these three tests. No call
        # between the reads, nor between the counts and the change: no other
        # thread runs in the middle.
        if state[3] or _getlimit() < _LOW or len(stack) >= _DEEP:
            if _getlimit() < _LOW and _gc._callbacks is not None:
                _gc.low_limit()  # the collector's callback would need a frame past the edge
            if _limit[0] != _getlimit():
                _limit[0] = _getlimit() + _limit[1]  # the program set its own limit since
            room = len(stack) - state[3]
            state[3] += room
            _limit[1] += room
            _limit[0] += room
            _setlimit(_limit[0])
        if parent is None:
            _gc.enter()  # collections are timed while an import runs
        if parent is None and otel_on:
            # The first import in a thread belongs to the span current there
            # (a lazy import inside a request handler), if the app uses OpenTelemetry.
            otel_context = _modules.get("opentelemetry.context")
            if otel_context is not None:
                rec[12] = otel_context.get_current()
        if _before:
            _records.run_callbacks(_before, "before", rec, None, None)
            if name in sys.modules:
                # The callback imported the module itself; importlib checked
                # sys.modules before calling us, so loading it again would run it twice.
                rec[3] = rec[4] = perf_counter_ns()
                if stack and stack[-1] is rec:
                    stack.pop()
                else:
                    _records.unwind(stack, rec)
                rec[5] = "ok"
                rec[11] = _loaded.get(name)
                if not stack:
                    _gc.leave()
                if state[3]:
                    _records.set_room(state, len(stack))
                return sys.modules[name]
        rec[3] = t0 = perf_counter_ns()
    except BaseException as exc:
        if stack and stack[-1] is rec:
            stack.pop()
        if _records.interrupted(state, rec, exc, "start"):
            raise
        return _real(name, import_)  # type: ignore[misc]
    strict = None
    try:
        module = _real(name, import_)  # type: ignore[misc]
    except BaseException as exc:
        try:
            rec[4] = perf_counter_ns()
            # The failure may be the recursion limit itself: room for the bookkeeping.
            held = state[3]
            # _records.set_room(state, held + _MARGIN), inline: ~1k instructions
            # less per failure. Raising cannot be refused (the depth is below
            # the limit), but should it be, the counts stay true.
            if _limit[0] != _getlimit():
                _limit[0] = _getlimit() + _limit[1]  # the program set its own limit since
            state[3] += _MARGIN
            _limit[1] += _MARGIN
            _limit[0] += _MARGIN
            try:
                _setlimit(_limit[0])
            except (RecursionError, ValueError):
                state[3] -= _MARGIN
                _limit[1] -= _MARGIN
                _limit[0] -= _MARGIN
            if not stack or stack.pop() is not rec:
                _records.unwind(stack, rec)
            probe = False
            if type(exc) is ModuleNotFoundError and "." in name and rec[10] is None and exc.name == name:
                # `from pkg import name` where pkg has no attribute `name`:
                # _handle_fromlist, two frames up, probes for a submodule and
                # swallows the miss itself (unless sys.modules[name] is None).
                # As common as optional imports, and the plain miss is cheap
                # (one directory searched), so it is settled right here: no
                # walk, nothing held, no traceback trimming (nobody sees it).
                try:
                    handler = sys._getframe(3)  # <- _find_and_load <- _call_with_frames_removed
                except ValueError:
                    handler = None
                if handler is not None and handler.f_code is _FROMLIST_CODE and _modules.get(name, rec) is not None:
                    tb = exc.__traceback__.tb_next  # type: ignore[union-attr]
                    # raised by importlib's lookup itself (no spec), from the program's code
                    if tb is not None and tb.tb_next is None:
                        probe = _records.fromlist_probe(rec, exc.msg, handler)
                        if probe and not stack:  # at run time, per request: repeats are one record
                            _records.settled_probe(rec)
                    tb = None
                handler = None
            if not probe:
                _records.failed(rec, exc)
            if _on_error:
                _records.run_callbacks(_on_error, "error", rec, None, exc)
            if not stack:
                _gc.leave()
                if _pending:
                    (_exports or exports()).judge(ident, False)  # recorded; the import's own error goes on
                if _outermost:
                    for done in _outermost:
                        done()
                # Run-time failures count too: a probe failing per request must
                # not grow the buffer for ever (repeats are merged by fold).
                if len(_records.buffer) > max_records:
                    _records.fold(max_records // 2)
            # Drop this frame's own traceback entry: where import.c does not trim
            # importlib's frames (importlib.import_module, a finder or loader
            # raising something other than ImportError) it would show as a second
            # _find_and_load_unlocked. A bare raise re-raises with
            # exc.__traceback__ on 3.11+; 3.10 re-raises the traceback saved when
            # the exception was caught, so there the frame stays (documented).
            if not probe:
                tb = exc.__traceback__
                if _RERAISE_READS_TB and tb is not None and tb.tb_frame.f_code is _CODE:
                    exc.__traceback__ = tb.tb_next
                tb = None  # it refers to this frame: a reference cycle once the frame exits
            # In this frame, not a call: at the very edge of the limit a call's
            # own frame would make the lowering impossible.
            room = min(held, len(stack)) - state[3]
            state[3] += room
            _limit[1] += room
            _limit[0] += room
            try:
                _setlimit(_limit[0])
            except RecursionError:
                # At the very edge: CPython allows no limit at or below the
                # current depth, which this frame is part of. One frame short;
                # the next change gives it back.
                state[3] += 1
                _limit[1] += 1
                _limit[0] += 1
                try:
                    _setlimit(_limit[0])
                except RecursionError:
                    state[3] -= room + 1
                    _limit[1] -= room + 1
                    _limit[0] -= room + 1
                    _records.set_room(state, min(held, len(stack)))
        except BaseException as bug:
            if stack and stack[-1] is rec:
                stack.pop()
            if _records.interrupted(state, rec, bug, "failure"):
                raise
        raise
    try:
        rec[4] = perf_counter_ns()
        # Self time is derived from the children's spans when records are read:
        # no arithmetic on the hot path.
        # (an empty stack: greenlets interleaved two imports on this thread)
        if not stack or stack.pop() is not rec:
            _records.unwind(stack, rec)
        rec[5] = "ok"
        # __spec__ straight from the module's dict: a LazyLoader module must not
        # be forced, and a PEP 562 __getattr__ must not run for a missing name.
        if type(module) is _ModuleType:
            namespace = module.__dict__
            rec[6] = namespace.get("__spec__")
        else:
            namespace = None
            rec[6] = _records.spec_of(module)
        prev = _loaded.setdefault(name, rec)
        if prev is not rec and prev[3] > t0:
            # A nested import loaded this module while we were importing its
            # parent package ("crazy side-effects" in importlib); the module ran
            # there, so checks and callbacks ran there too.
            rec[11] = prev
        else:
            if prev is not rec:  # imported again after leaving sys.modules
                _loaded[name] = rec
            if exports_on and (namespace is None or check_every_module or "__all__" in namespace):
                # The common case inline: an __all__ list or tuple whose names
                # are all bound (a call into _exports costs ~8k instructions).
                # A loop, not keys() >= set(declared): no set to build and free
                # (~400 instructions less for a 3-name __all__).
                declared = namespace["__all__"] if namespace is not None and not check_every_module else None
                kind = type(declared)
                clean = kind is list or kind is tuple
                if clean:
                    try:
                        for entry in declared:  # type: ignore[union-attr]
                            if entry not in namespace:  # type: ignore[operator]
                                clean = False
                                break
                    except TypeError:  # an unhashable entry: a violation for check() to word
                        clean = False
                    entry = None
                if not clean:
                    (_exports or exports(state)).check(rec, module, namespace)
            if rec[10] is not None:
                _records.settle_ok(rec)
            if _after:
                _records.run_callbacks(_after, "after", rec, module, None)
            if watch and name in watch:
                if state[3]:
                    _records.set_room(state, state[3] + _MARGIN)  # importguard's own imports
                watch.pop(name)(module)
        if not stack:
            _gc.leave()
            if _pending:
                # Names a module lacked when it finished are judged now, when the
                # program can first see them (a package may bind them later).
                strict = (_exports or exports()).judge(ident)
            if _outermost:
                if state[3]:
                    _records.set_room(state, state[3] + _MARGIN)  # spans: the exporter's frames
                for done in _outermost:
                    done()
            if len(_records.buffer) > max_records:
                _records.fold(max_records // 2)
        if state[3]:
            # Give this frame's room back (as at entry: no call in the middle).
            if _limit[0] != _getlimit():
                _limit[0] = _getlimit() + _limit[1]  # the program set its own limit inside the import
            room = len(stack) - state[3]
            state[3] += room
            _limit[1] += room
            _limit[0] += room
            try:
                _setlimit(_limit[0])
            except RecursionError:
                state[3] -= room
                _limit[1] -= room
                _limit[0] -= room
                _records.set_room(state, len(stack))
    except BaseException as bug:
        if stack and stack[-1] is rec:
            stack.pop()
        if _records.interrupted(state, rec, bug, "success"):
            raise
    if strict is not None:
        raise strict
    return module


# Keep the wrapper's frame out of import tracebacks (see the module docstring).
_find_and_load_unlocked.__code__ = _CODE = _find_and_load_unlocked.__code__.replace(
    co_filename="<frozen importlib._bootstrap>"
)
_RERAISE_READS_TB = sys.version_info >= (3, 11)
_FROMLIST_CODE = getattr(getattr(_bootstrap, "_handle_fromlist", None), "__code__", None)
_OWN_DIR = _records.OWN_DIR
_MARGIN = _records.MARGIN


_external: "Any" = sys.modules["_frozen_importlib_external"]


def _load_own(name: str, import_: "Any") -> "Any":
    """Import one of importguard's own modules in quiet mode (the report, the
    summary, the OpenTelemetry bridge: loaded at exit or when first needed),
    straight from importguard's directory with a plain ``SourceFileLoader``.

    By then the program may have installed import hooks of its own that
    rewrite every module they load: ``beartype.claw.beartype_all()``,
    typeguard's ``install_import_hook()``. importguard's modules name types
    that exist only for type checkers (``TYPE_CHECKING``), so instrumented
    they fail; and they are not the program's to instrument. Anything else
    (no such file: a zip or a .pyc-only install) takes the normal road.
    """
    spec = own_spec(name)
    if spec is None:
        return _real(name, import_)  # type: ignore[misc]
    module = _bootstrap._load_unlocked(spec)
    setattr(_modules["importguard"], name[12:], module)
    return module


def own_spec(name: str) -> "Any":
    """The spec of importguard's own module *name* (``importguard.x``) with a
    plain ``SourceFileLoader`` from importguard's directory, or None (no such
    file: a zip or a .pyc-only install). Both engines load importguard's own
    modules in quiet mode with it (see :func:`_load_own`)."""
    child = name[12:]
    path = _OWN_DIR + child + ".py"
    if "." in child or not _external._path_isfile(path):
        return None
    return _external.spec_from_file_location(name, path, loader=_external.SourceFileLoader(name, path))


def own_module(attr: str) -> "Any":
    """importguard's own module ``importguard.<attr>``, loaded now from its
    directory (:func:`own_spec`) if this thread is doing importguard's own work
    (quiet mode) and it is not loaded yet; else None.

    ``from importguard import _report`` asks the package for the attribute
    first (``importguard.__getattr__`` calls this), before any finder: so the
    finder engine, which a finder the program put ahead of it (typeguard's
    ``install_import_hook()``) would bypass, loads importguard's modules as
    :func:`_load_own` does for the function engine.
    """
    name = "importguard." + attr
    if not _thread_state()[2] or name in _modules:
        return None
    spec = own_spec(name)
    load = getattr(_bootstrap, "_load", None)
    if spec is None or load is None:
        return None
    module = load(spec)
    setattr(_modules["importguard"], attr, module)
    return module


def follow_greenlets(module: "Any") -> None:
    """The hook's watcher for ``greenlet``: read the running greenlet's state from now on."""
    global _threads
    with _records.quiet():  # _contextvars, if the program has not imported it: importguard's
        states = _records.follow_greenlets(module)
    if states is not None:
        _threads = states


def finish_loaded(rec: "list[Any]", module: "Any", t0: int, state: "list[Any]") -> "Exception | None":
    """The success path of an import whose record is off the stack: status,
    spec, circular duplicates, export checks, callbacks, the OpenTelemetry
    watch, and what a thread's outermost import finishing triggers.

    For engines that cannot inline it: the finder (``_finder``). The wrapper
    above runs these same steps inline, because a call per import is paid by
    every import (see benchmarks/README.md); keep the two in step (the whole
    test suite runs under both engines).

    *rec*: the record, its end time set, off the stack; *module*: what the
    import returned; *t0*: its start (``rec[3]``); *state*: the importing
    thread's state (``_records.thread_state()``). Where importguard's own work
    may import (watchers, spans) it raises the thread's recursion room by
    ``_records.MARGIN`` while the thread pays, and leaves it raised: the caller
    gives the room back for its own frames. Returns the error to raise in
    export mode ``error``, or None.
    """
    strict = None
    stack = state[0]
    name = rec[0]
    rec[5] = "ok"
    if type(module) is _ModuleType:
        namespace = module.__dict__
        rec[6] = namespace.get("__spec__")
    else:
        namespace = None
        rec[6] = _records.spec_of(module)
    prev = _loaded.setdefault(name, rec)
    if prev is not rec and prev[3] > t0:
        rec[11] = prev
    else:
        if prev is not rec:
            _loaded[name] = rec
        if exports_on and (namespace is None or "__all__" in namespace or check_every_module):
            (_exports or exports(state)).check(rec, module, namespace)
        if rec[10] is not None:
            _records.settle_ok(rec)
        if _after:
            _records.run_callbacks(_after, "after", rec, module, None)
        if watch and name in watch:
            if state[3]:
                _records.set_room(state, state[3] + _MARGIN)  # importguard's own imports
            watch.pop(name)(module)
    if not stack:
        if _pending:
            strict = (_exports or exports()).judge(rec[2])
        if _outermost:
            if state[3]:
                _records.set_room(state, state[3] + _MARGIN)  # spans: the exporter's frames
            for done in _outermost:
                done()
        if len(_records.buffer) > max_records:
            _records.fold(max_records // 2)
    return strict


def finish_failed(rec: "list[Any]", stack: "list[list[Any]]") -> None:
    """What the wrapper's failure path does once a thread's outermost import
    failed (for the finder engine, as :func:`finish_loaded`): *rec* is the
    failed record, already settled by ``_records.failed``, and *stack* the
    thread's import stack without it. The caller gives the recursion room
    for the bookkeeping (``_records.MARGIN``), as the wrapper's failure path does."""
    if not stack:
        if _pending:
            (_exports or exports()).judge(rec[2], False)  # recorded; the import's own error goes on
        if _outermost:
            for done in _outermost:
                done()
        if len(_records.buffer) > max_records:
            _records.fold(max_records // 2)


def exports(state: "list[Any] | None" = None) -> "Any":
    """``_exports``, loaded (as importguard's own import) the first time an
    export check needs it, and configured from :data:`export_settings`.

    *state*: the importing thread's, when called inside an import: where the
    thread pays for importguard's frames (a low recursion limit), the load
    gets room as watchers do (``_records.MARGIN``); the hook gives it back."""
    global _exports
    module = _exports
    if module is None:
        if state is not None and state[3]:
            _records.set_room(state, state[3] + _MARGIN)
        with _records.quiet():
            from importguard import _exports as module
    if module.configured_from is not export_settings:
        module.configure(export_settings)
    _exports = module
    return module


#: Another engine recording instead of this module's wrapper: its
#: (install, uninstall, installed), registered by it (``_finder.register``).
_other: "tuple[Callable[[], bool], Callable[[], None], Callable[[], bool]] | None" = None
#: Why :func:`install` refused this Python (see :func:`unusable`), or None.
refused: "str | None" = None


def use(engine: "tuple[Callable[[], bool], Callable[[], None], Callable[[], bool]] | None") -> None:
    """Let another engine answer :func:`install`, :func:`uninstall` and
    :func:`installed` (None: this module's wrapper again)."""
    global _other
    _other = engine


def installed() -> bool:
    """Whether the hook is recording."""
    if _other is not None:
        return _other[2]()
    return _active and _real is not None


def install() -> bool:
    """Wrap ``_find_and_load_unlocked``; idempotent. Returns False (and sets
    :data:`refused`) if this Python lacks it or calls it differently."""
    global _real, _active, refused
    if _other is not None:
        return _other[0]()
    current = getattr(_bootstrap, "_find_and_load_unlocked", None)
    if current is _find_and_load_unlocked:
        _active = True
        _gc.start()
        return True
    why = unusable(current)
    if why is not None:
        refused = why
        return False
    first = _real is None
    if _real is None:
        _real = current
    elif current is not _real:
        # Someone replaced the function while we were uninstalled: wrap theirs.
        _real = current
    _bootstrap._find_and_load_unlocked = _find_and_load_unlocked
    _active = True
    if first:
        why = _probe()
        if why is not None:
            uninstall()
            _real = None
            refused = why
            return False
    _gc.start()
    refused = None
    return True


def uninstall() -> None:
    """Stop recording. Unhooks if nobody wrapped on top of us; else becomes a pass-through."""
    global _active
    if _other is not None:
        _other[1]()
        return
    _active = False
    _gc.stop()
    if getattr(_bootstrap, "_find_and_load_unlocked", None) is _find_and_load_unlocked and _real is not None:
        _bootstrap._find_and_load_unlocked = _real


# What the wrapper relies on, checked before it is installed: a changed
# function is never wrapped blindly (docs/engines.md, "auto").
_ARGS = ("name", "import_")
#: The versions whose importlib has been scanned (by the tests) and calls
#: _find_spec from _find_and_load_unlocked only.
_SCANNED = ((3, 10), (3, 13))


def unusable(function: "Any" = None) -> "str | None":
    """Why wrapping importlib's ``_find_and_load_unlocked`` would not record
    every import on this Python, or None when it would.

    Checked: the function exists and takes exactly ``(name, import_)``;
    ``_find_and_load`` looks it up by name (so replacing the module attribute
    reaches every call); and no other code of ``importlib._bootstrap`` finds
    modules itself (calls ``_find_spec``), which would import modules the
    wrapper never sees, as a new lazy-import path could. :func:`install` then
    imports a probe module through the wrapper before trusting it.
    """
    if function is None:
        function = getattr(_bootstrap, "_find_and_load_unlocked", None)
    if function is _find_and_load_unlocked:
        function = _real
    code = getattr(function, "__code__", None)
    if code is None:
        return "importlib has no _find_and_load_unlocked function"
    if (
        code.co_argcount != 2
        or code.co_posonlyargcount
        or code.co_kwonlyargcount
        or code.co_flags & 0x0C
        or code.co_varnames[:2] != _ARGS
    ):
        shown = ", ".join(code.co_varnames[: code.co_argcount + code.co_kwonlyargcount])
        return f"importlib's _find_and_load_unlocked takes ({shown}), not (name, import_)"
    outer = getattr(getattr(_bootstrap, "_find_and_load", None), "__code__", None)
    if outer is None or "_find_and_load_unlocked" not in outer.co_names:
        return "importlib's _find_and_load does not call _find_and_load_unlocked by name"
    # Scanning importlib's code costs ~0.5 M instructions at every start; on
    # 3.10-3.13 the answer is known (tests/test_engines.py scans each of them).
    others = (
        []
        if _SCANNED[0] <= sys.version_info[:2] <= _SCANNED[1]
        else _callers_of("_find_spec", "_find_and_load_unlocked")
    )
    if others:
        return f"importlib also finds modules outside _find_and_load_unlocked (in {', '.join(others)})"
    return None


def _callers_of(name: str, allowed: str) -> "list[str]":
    """The functions and methods of ``importlib._bootstrap`` (nested functions
    included) other than *allowed* whose code uses the global *name*."""
    found: "list[str]" = []
    function_type = type(_callers_of)
    code_type = type(_callers_of.__code__)
    wrappers = (classmethod, staticmethod)
    own = ("_frozen_importlib", "importlib._bootstrap")

    def uses(code: "Any") -> bool:
        return name in code.co_names or any(type(const) is code_type and uses(const) for const in code.co_consts)

    # Type tests, not getattr with a default: a failed attribute look-up costs
    # an exception, and this runs at every interpreter start (auto).
    for key, value in list(vars(_bootstrap).items()):
        kind = type(value)
        if kind is function_type:
            if key != allowed and uses(value.__code__):
                found.append(key)
        elif isinstance(value, type) and value.__dict__.get("__module__") in own:
            for attr, member in list(vars(value).items()):
                if type(member) in wrappers:
                    member = member.__func__
                if type(member) is function_type and uses(member.__code__):
                    found.append(f"{key}.{attr}")
    return sorted(found)


_PROBE = "_importguard_probe_"


class _ProbeFinder:
    """Finder and loader of one empty module, imported once through the wrapper
    when it is installed: its ``exec_module`` looks for the wrapper's frame."""

    __slots__ = ("saw",)

    def __init__(self) -> None:
        self.saw = 0

    def find_spec(self, name: str, path: "Any" = None, target: "Any" = None) -> "Any":
        return _bootstrap.ModuleSpec(name, self) if name.startswith(_PROBE) else None

    def create_module(self, spec: "Any") -> None:
        return None

    def exec_module(self, module: "Any") -> None:
        frame: "Any" = sys._getframe(1)
        for _ in range(8):
            if frame is None:
                break
            if frame.f_code is _CODE:
                self.saw += 1
                break
            frame = frame.f_back
        frame = None


def _probe() -> "str | None":
    """Import a throw-away module through the installed wrapper (recording
    nothing): None if the wrapper ran around its loading, else why not."""
    finder = _ProbeFinder()
    name = f"{_PROBE}{id(finder)}"
    state = _thread_state()
    meta_path = sys.meta_path
    state[2] += 1
    try:
        meta_path.insert(0, finder)
        try:
            # What import.c calls for every import, called from here: an
            # __import__ would show in -X importtime's output and to audit hooks.
            _bootstrap._find_and_load(name, _bootstrap._gcd_import)
        finally:
            sys.modules.pop(name, None)
            for i, entry in enumerate(meta_path):  # by identity: a finder's __eq__ is its own business
                if entry is finder:
                    del meta_path[i]
                    break
    except Exception as exc:
        return f"a probe import through the wrapper failed ({type(exc).__name__}: {exc})"
    finally:
        state[2] -= 1
    if finder.saw != 1:
        return "a probe import did not run through _find_and_load_unlocked"
    return None
