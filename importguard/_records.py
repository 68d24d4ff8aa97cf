"""The record buffer: one cheap list per import, settled here, converted later.

The hot path (``_hook.py``) appends a list per real import and fills it in
place; everything that costs more than a few attribute stores (reading a
traceback, deciding whether a failure was swallowed, folding) lives here and
runs on the failure path or when an importer finishes. Turning records into
dicts is report-time work, in ``_convert``. Builtins only: this is imported
at startup. Sinks register here (:func:`add_sink`, :data:`pins`,
:data:`cursors`, :data:`on_outermost`): this module imports none of them.

A record is a list; its slots (the layout is private, read it through
``_convert.to_dicts`` or :func:`importguard.records`):
"""

import sys
from _thread import RLock, _local, get_ident
from time import perf_counter_ns, time_ns

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import FrameType
    from typing import Any

    Record = list[Any]

NAME = 0  #: module name (``spec.name``), as passed to the import system
PARENT = 1  #: the record being imported in this thread when this one started, or None
THREAD = 2  #: ``_thread.get_ident()`` of the importing thread
T0 = 3  #: perf_counter_ns at start
T1 = 4  #: perf_counter_ns at end; 0 while in progress
STATUS = 5  #: None in progress, then "ok", "not_found" or "error"
SPEC = 6  #: the module's __spec__ after success; after an error in its code, its file
EXC = 7  #: the exception until its importer settles it; at top level only (type, args, frames)
ERROR = 8  #: (type, message, frames, importer, via_fromlist, caused_by record) after failure: see E_TYPE...
SWALLOWED = 9  #: None until settled, then True/False (failures only)
FAILED_KIDS = 10  #: failed child records waiting for this import to finish, or None
DUPLICATE_OF = 11  #: the nested record that really loaded this module (circular package import)
CONTEXT = 12  #: the OpenTelemetry context current when an import outside any import started
GC = 13  #: None, or [(start, end, generation)] of the collections that ran in this import's own code (_gc)
SIZE = 14

# The fields of the failure in slot ERROR, read by these names outside the
# engines. A plain tuple, not a class: it is built on every failed import (a
# probe failing per request pays for it), and a tuple subclass with named
# properties measured +1.4k instructions per miss (callgrind, 100 vs 400
# misses): its construction and unpacking leave the interpreter's fast paths.
E_TYPE = 0  #: the exception's class
E_MESSAGE = 1  #: its message
E_FRAMES = 2  #: (code, lasti) of each traceback entry outside importlib, innermost last
E_IMPORTER = 3  #: the import statement as (code, lasti), or None (see :func:`location`)
E_FROMLIST = 4  #: whether the statement was ``from pkg import name`` probing for a submodule
E_CAUSE = 5  #: the failed child record whose failure this one is, or None

#: Every record of this process, in start order (parents before children).
buffer: "list[Record]" = []
#: Per-thread state, ``threads.state = [import stack, ident, quiet depth, room]``
#: (room: how far this thread has raised the recursion limit, see set_room). A
#: thread-local rather than a dict keyed by ident: it is read on every import
#: (half the cost of ``dict.get(get_ident())``) and goes away with its thread,
#: so a server that starts a thread per request does not grow it.
threads: "Any" = _local()
_thread_locals = threads
STACK, IDENT, QUIET, ROOM = 0, 1, 2, 3
#: Thread names, captured when a thread first imports (threads may be gone by report time).
thread_names: "dict[int, str]" = {}
#: The record that last loaded each module name (finds circular-package duplicates).
loaded: "dict[str, Record]" = {}
#: Failures made outside any import (``__main__``, functions at run time) whose
#: outcome is not settled yet: {id(record): record}, oldest first. A dict: a
#: server settles them one at a time, and removal from a list was O(n) each.
toplevel_failures: "dict[int, Record]" = {}
#: importguard's own errors: (where, exception type, message). Never raised into the app.
internal_errors: "list[tuple[str, str, str]]" = []
#: The engine recording this process's imports: "function" (``_hook``) or "finder"
#: (``_finder``); set by ``_session`` when it installs one (docs/engines.md).
engine = "function"

#: The running session's plain settings (``_config``), set by ``_session`` when it
#: starts, before it configures the sinks; None without a session.
settings: "dict[str, Any] | None" = None
#: Sinks loaded in this process (the OpenTelemetry bridge), registered by
#: themselves when loaded (see :func:`add_sink`): (configure, finish, live).
sinks: "list[tuple[Callable[[dict[str, Any] | None], None], Callable[[float], Any], Callable[[], bool]]]" = []
#: Called when a thread's outermost import finishes (the hook holds this very
#: list): sinks that act as imports finish register here, and leave again.
on_outermost: "list[Callable[[], Any]]" = []
#: Declarations with names missing when their module finished, waiting for
#: ``_exports.judge`` (``_exports.pending`` is this list): here so that the
#: hook tests it for truth without ``_exports`` loaded (it loads with the
#: first module whose ``__all__`` needs more than the hook's inline look).
exports_pending: "list[list[Any]]" = []
#: User callbacks by stage, (predicate, callback) pairs: ``_callbacks`` fills
#: them and sets :data:`run_callbacks` when it is loaded (the first
#: ``on_import``, or hooks in the settings), so the startup path does not load
#: it; the engines hold these very lists and test them for truth.
callbacks_before: "list[tuple[Callable[[str], bool], Callable[[Any], object]]]" = []
callbacks_after: "list[tuple[Callable[[str], bool], Callable[[Any], object]]]" = []
callbacks_error: "list[tuple[Callable[[str], bool], Callable[[Any], object]]]" = []


def _no_callbacks(entries: "list[Any]", when: str, rec: "list[Any]", module: "Any", error: "Any") -> None:
    """Stands for ``_callbacks.run`` until it is loaded; the lists are empty until then."""


run_callbacks: "Callable[[list[Any], str, list[Any], Any, Any], None]" = _no_callbacks


def add_sink(
    configure: "Callable[[dict[str, Any] | None], None]", finish: "Callable[[float], Any]", live: "Callable[[], bool]"
) -> None:
    """Register a sink: *configure(settings)* is called now with the session's
    settings and again whenever a session starts (:func:`configure_sinks`);
    *finish(timeout_s)* when the process ends where ``atexit`` does not run (a
    signal, exec); *live()* says whether it has sent anything. The session and
    the hook reach sinks only through this: no look-up by name, and no sink
    imports the session or the hook."""
    sinks.append((configure, finish, live))
    configure(settings)


def configure_sinks(new_settings: "dict[str, Any] | None") -> None:
    """A session starts with *new_settings*: every sink loaded so far takes them."""
    global settings
    settings = new_settings
    for configure, _finish, _live in sinks:
        configure(new_settings)


def private_builtin(name: str) -> "Any":
    """A fresh instance of builtin module *name*, not put in ``sys.modules``."""
    import _imp

    bootstrap = sys.modules["_frozen_importlib"]
    spec = bootstrap.ModuleSpec(name, bootstrap.BuiltinImporter, origin="built-in")
    module = _imp.create_builtin(spec)
    _imp.exec_builtin(module)
    return module


def private_atexit() -> "Any":
    """An ``atexit`` module instance that is not put in ``sys.modules``.

    ``atexit`` is not loaded at startup on most Pythons; importing it would take
    it off the app's ``-X importtime`` tree. Its registry is per interpreter,
    so a private instance of the builtin module registers into the same list.
    """
    if "atexit" in sys.modules:
        return sys.modules["atexit"]
    try:
        return private_builtin("atexit")
    except Exception:
        with quiet():
            import atexit
        return atexit


#: Wall-clock minus monotonic clock, so start times can be reported as epoch ns
#: while the hot path reads one clock only.
epoch_offset_ns = time_ns() - perf_counter_ns()

_IMPORTLIB_FILES = ("<frozen importlib._bootstrap>", "<frozen importlib._bootstrap_external>")


def thread_state() -> "list[Any]":
    """This thread's ``[stack, ident, quiet depth, room]``, created the first time it is needed
    (this greenlet's, once ``greenlet`` is imported: see :class:`GreenletStates`)."""
    try:
        return threads.state  # type: ignore[no-any-return]
    except AttributeError:
        pass
    return _new_thread_state()


def _new_thread_state() -> "list[Any]":
    ident = get_ident()
    state = [[], ident, 0, 0]
    _thread_locals.state = state
    name = None
    threading = sys.modules.get("threading")
    if threading is None:
        # No threading module yet: this is the main thread (a thread started
        # through bare _thread before threading is imported is left unnamed).
        name = "MainThread" if not thread_names else None
    else:
        # Not current_thread(): for a thread started through _thread it would
        # create and register a _DummyThread, which the app could observe.
        thread = getattr(threading, "_active", {}).get(ident)
        name = getattr(thread, "name", None)
    if name is not None:
        thread_names[ident] = name
    return state


class quiet:
    """Context manager: imports made by this thread inside it are importguard's own, not recorded.

    Here, with the thread state it counts in, rather than in ``_hook``: every
    layer above the records (export checks, sinks, the session) needs it, and
    none of them may import the hook for it."""

    __slots__ = ()

    def __enter__(self) -> None:
        thread_state()[QUIET] += 1

    def __exit__(self, *exc: object) -> None:
        thread_state()[QUIET] -= 1


class GreenletStates:
    """What ``threads`` becomes once ``greenlet`` is imported (gevent, eventlet):
    ``.state`` is the running greenlet's own.

    Greenlets switch in the middle of imports (a module's code does I/O, the
    hub runs another greenlet, which imports too), so one stack per OS thread
    gave records the wrong parent and negative self times. Each greenlet other
    than a thread's main one is a thread of its own in the records: its id()
    as ``thread``, gevent's Greenlet name (else ``greenlet-0x...``) as
    ``thread_name``. The state lives in a context variable: every greenlet runs
    in a context of its own (new ones start empty), and it goes with it.
    A program without greenlets never pays for this.
    """

    __slots__ = ("var", "getcurrent")

    def __init__(self, getcurrent: "Callable[[], Any]") -> None:
        from _contextvars import ContextVar

        self.var: "Any" = ContextVar("importguard_import_state", default=None)
        self.getcurrent = getcurrent

    @property
    def state(self) -> "list[Any]":
        state = self.var.get()
        if state is None:
            current = self.getcurrent()
            if getattr(current, "parent", None) is None:  # a thread's main greenlet: the thread's state
                try:
                    state = _thread_locals.state
                except AttributeError:
                    state = _new_thread_state()
            else:
                ident = id(current)
                state = [[], ident, 0, 0]
                try:
                    name = current.name  # gevent's Greenlet
                except Exception:
                    name = None
                thread_names[ident] = name if isinstance(name, str) else f"greenlet-{ident:#x}"
            self.var.set(state)
        return state  # type: ignore[no-any-return]


def follow_greenlets(module: "Any") -> "GreenletStates | None":
    """``greenlet`` was imported: states per greenlet from now on (see :class:`GreenletStates`)."""
    global threads
    getcurrent = getattr(module, "getcurrent", None)
    if getcurrent is None or isinstance(threads, GreenletStates):
        return None
    states = GreenletStates(getcurrent)
    threads = states
    return states


#: ``[the recursion limit importguard last set, the frames it added in all threads]``.
#: Each import in progress adds the hook's frame to the Python stack; the limit
#: is raised by exactly the frames importguard holds, so the program's own
#: frames meet the limit where they would without importguard. The limit is the
#: interpreter's, shared by all threads: so are these counts. Kept without a
#: lock: every update reads ``limit[0]`` and the real limit with no call in
#: between, and changes the counts and the limit with no call in between
#: either, so no other thread (and no signal handler) runs in the middle.
limit = [sys.getrecursionlimit(), 0]
#: Extra room while importguard's own bookkeeping runs after a failed import:
#: the failure may have been the recursion limit itself, and recording it takes frames.
MARGIN = 100


def set_room(state: "list[Any]", room: int) -> None:
    """Make the frames by which this thread raised the recursion limit *room*.

    A limit the program set itself since importguard last did (``limit[0]``)
    is taken as the program's: importguard's frames are added on top of it,
    so when the imports finish it is exactly what the program set. Lowering
    can fail at the very edge of the limit (CPython refuses a limit below the
    current depth): then the room stays, counted, as close to *room* as allowed,
    and the next change gives the rest back.
    """
    if limit[0] != sys.getrecursionlimit():  # limit[0] first: no call between the two reads
        limit[0] = sys.getrecursionlimit() + limit[1]
    delta = room - state[ROOM]
    while True:
        state[ROOM] += delta
        limit[1] += delta
        limit[0] += delta
        try:
            sys.setrecursionlimit(limit[0])
            return
        except (RecursionError, ValueError):
            state[ROOM] -= delta
            limit[1] -= delta
            limit[0] -= delta
            if delta >= -1:
                return
            delta += 1


def unwind(stack: "list[Record]", rec: "Record") -> None:
    """Remove *rec* from *stack* when it is not on top (an interrupted import left debris).

    By identity: ``list.remove`` would compare records element by element.
    """
    for i in range(len(stack) - 1, -1, -1):
        if stack[i] is rec:
            del stack[i:]
            return


def spec_of(module: "Any") -> "Any":
    """``__spec__`` of an object in ``sys.modules`` that is not a plain module.

    Read from the instance dict, so neither a LazyLoader module is forced nor a
    ``__getattr__`` is run; objects without one give ``None``.
    """
    try:
        return object.__getattribute__(module, "__dict__").get("__spec__")
    except Exception:
        return None


_printed: "set[object]" = set()
#: Distinct lines internal_error prints before one last line says there are more
#: (IMPORTGUARD_HOOKS naming thousands of missing modules is one setting, not a page).
MAX_LINES = 20


def internal_error(
    where: str, exc: BaseException, consequence: str = "importguard carried on.", once: object = None
) -> None:
    """Record a bug in importguard, a user callback or a hook spec, and report it
    on stderr once per *once* key (default: per *where*); never raise.

    The stderr line is one line (line breaks escaped), the exception's message
    cut short there (the report keeps it whole)."""
    try:
        message = str(exc)
    except Exception:
        message = f"<unprintable {type(exc).__name__}>"
    internal_errors.append((where, type(exc).__qualname__, message))
    key = where if once is None else once
    if key not in _printed:
        _printed.add(key)
        if len(message) > 300:
            message = f"{message[:300]}... ({len(message):,} characters)"
        if len(where) > 300:  # it can quote a setting's value
            where = f"{where[:300]}... ({len(where):,} characters)"
        if len(_printed) <= MAX_LINES:
            line = f"importguard: {where} raised {type(exc).__name__}: {message}; {consequence}"
        elif len(_printed) == MAX_LINES + 1:
            line = (
                "importguard: more errors of importguard's own followed; the report lists them all "
                "(internal_errors in IMPORTGUARD_REPORT)."
            )
        else:
            return
        try:
            with quiet():  # importguard's own import: _globs is not on the startup path
                from importguard._globs import one_line

            line = one_line(line)
        except Exception:  # it could not load (at the recursion limit): the common breaks
            line = line.replace("\r", "\\r").replace("\n", "\\n")
        try:
            sys.stderr.write(line + "\n")
        except Exception:
            pass


def _chain(exc: "BaseException | None") -> "list[BaseException]":
    seen: list[BaseException] = []
    while exc is not None and not any(e is exc for e in seen) and len(seen) < 100:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


def _settle(kids: "list[Record]", exc: "BaseException | None") -> "Record | None":
    """Settle failed children once their importer finished.

    A child escaped (not swallowed) when its exception is the importer's, or in
    its ``__cause__``/``__context__`` chain; otherwise the importer's execution
    went on past it (``except ImportError``), so it was swallowed. Returns the
    child whose failure the importer's exception is (its cause), if any.
    """
    chain = _chain(exc)
    cause = None
    for kid in kids:
        kid_exc = kid[EXC]
        if type(kid_exc) is StandIn:
            escaped = any(kid_exc.matches(e) for e in chain)
            first = bool(chain) and kid_exc.matches(chain[0])
        else:
            escaped = kid_exc is not None and any(e is kid_exc for e in chain)
            first = bool(chain) and chain[0] is kid_exc
        kid[SWALLOWED] = not escaped
        if escaped and (cause is None or first):
            cause = kid
        kid[EXC] = None  # let the traceback and its frames go
    return cause


class StandIn:
    """What a failure record holds, in place of the exception, when importlib
    raises that exception itself after the engine saw the failure.

    The finder engine (``_finder``) sees some failures before importlib raises
    them (a miss through ``importlib.import_module``, a module that deleted
    itself from ``sys.modules``): the exception that reaches the program is
    importlib's, not one importguard holds. Settling then matches it by type
    and arguments instead of identity.
    """

    __slots__ = ("cls", "args")

    def __init__(self, exc: BaseException) -> None:
        self.cls = type(exc)
        self.args = exc.args

    def matches(self, exc: BaseException) -> bool:
        return type(exc) is self.cls and exc.args == self.args


def settle_ok(rec: "Record") -> None:
    """The import *rec* finished: every failure inside it was swallowed."""
    kids = rec[FAILED_KIDS]
    rec[FAILED_KIDS] = None
    _settle(kids, None)


def _frames(tb: "Any") -> "list[tuple[Any, int]]":
    """(code, lasti) of each traceback entry outside importlib, innermost last.

    Not ``tb_lineno``: CPython computes a line number by scanning the code's
    line table from the start, thousands of instructions in a long module;
    :func:`line_of` does it only when a report asks.
    """
    out = []
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename not in _IMPORTLIB_FILES:
            out.append((code, tb.tb_lasti))
        tb = tb.tb_next
    return out[-64:]


def line_of(code: "Any", lasti: int) -> "int | None":
    """The source line of bytecode offset *lasti* in *code* (what ``f_lineno`` says)."""
    if lasti < 0:
        return int(code.co_firstlineno)
    for start, end, line in code.co_lines():
        if start <= lasti < end:
            return line  # type: ignore[no-any-return]
    return None


def location(raw: "tuple[Any, int] | None") -> "tuple[str, int | None] | None":
    """(file, line) of a (code, lasti) pair, or None."""
    if raw is None:
        return None
    return raw[0].co_filename, line_of(raw[0], raw[1])


OWN_DIR = _OWN_DIR = __file__[: -len("_records.py")]  # the importguard package directory, separator included


def _is_machinery(code: "Any") -> bool:
    """Frames that import on someone else's behalf: ``importlib.import_module``
    (the importer is whoever called it), ``runpy`` (``python -m`` importing the
    package: no importer in the program), and importguard's own (``check``)."""
    filename: str = code.co_filename
    if filename.startswith(_OWN_DIR):
        return True
    if code.co_name == "import_module" and filename.endswith("__init__.py") and "importlib" in filename:
        return True
    return filename == "<frozen runpy>" or filename.endswith(("/runpy.py", "\\runpy.py"))


def importer_location(depth: int = 3) -> "tuple[tuple[Any, int] | None, bool]":
    """The import statement being executed, as (code, lasti), and whether it
    came from a ``from`` list; :func:`location` turns it into (file, line).

    *depth* counts frames from this function up to the hook's own frame; from
    there, importlib's frames (and ``importlib.import_module``) are skipped.
    """
    # Fast path, the plain `import x` statement: the hook is called by
    # _find_and_load, which C calls straight from the importing frame. One
    # frame object instead of one per step of a walk.
    try:
        guess = sys._getframe(depth + 1)
    except ValueError:
        guess = None
    if guess is not None:
        code = guess.f_code
        if code.co_filename not in _IMPORTLIB_FILES and not _is_machinery(code):
            return (code, guess.f_lasti), False
        # `from pkg import name` looking for a submodule: C calls
        # _handle_fromlist, which imports through _call_with_frames_removed.
        try:
            handler = sys._getframe(depth + 2)
            if handler.f_code.co_name == "_handle_fromlist" and handler.f_code.co_filename in _IMPORTLIB_FILES:
                guess = handler.f_back
                if guess is not None:
                    code = guess.f_code
                    if code.co_filename not in _IMPORTLIB_FILES and not _is_machinery(code):
                        return (code, guess.f_lasti), True
        except ValueError:
            pass
    frame: "FrameType | None" = sys._getframe(depth - 1)
    via_fromlist = False
    while frame is not None:
        code = frame.f_code
        if code.co_filename not in _IMPORTLIB_FILES and not _is_machinery(code):
            return (code, frame.f_lasti), via_fromlist
        if code.co_name == "_handle_fromlist":
            via_fromlist = True
        frame = frame.f_back
    return None, via_fromlist


def failed(
    rec: "Record", exc: BaseException, depth: int = 3, status: "str | None" = None, stand_in: bool = False
) -> None:
    """Fill in a failed record (called from the hook's ``except``; off the success path).

    *depth*: frames from :func:`importer_location` up to the hook's own frame.
    *status*: ``not_found`` or ``error`` when the caller knows it (the finder
    engine); by default it is read from where *exc* was raised.
    *stand_in*: *exc* is an equal of what importlib will raise, not the
    exception itself (see :class:`StandIn`).
    """
    name = rec[NAME]
    tb = exc.__traceback__
    # The hook catches the exception one frame above importlib's own
    # _find_and_load_unlocked: if it was raised right there, the lookup found no
    # spec. Deeper means a finder, a loader or the module's code raised.
    inner = tb.tb_next if tb is not None else None
    if status is not None:
        rec[STATUS] = status
    elif (
        isinstance(exc, ModuleNotFoundError)
        and inner is not None
        and inner.tb_next is None
        and getattr(exc, "name", None) == name
    ):
        rec[STATUS] = "not_found"
    else:
        rec[STATUS] = "error"
    args = exc.args
    if rec[STATUS] == "not_found" and len(args) == 1 and isinstance(args[0], str):
        message = args[0]  # importlib's own "No module named ...": no str() call needed
    else:
        try:
            message = str(exc)
        except Exception:
            message = f"<unprintable {type(exc).__name__}>"
    importer, via_fromlist = importer_location(depth=depth)  # failed <- the hook
    kids = rec[FAILED_KIDS]
    cause = None
    if kids is not None:
        rec[FAILED_KIDS] = None
        cause = _settle(kids, exc)
    # Not found by importlib's own lookup: nothing but its frame on the traceback.
    if inner is not None and inner.tb_next is None and inner.tb_frame.f_code.co_filename in _IMPORTLIB_FILES:
        frames = []
    else:
        frames = _frames(inner)
    # The module was found if its own code ran: the first frame is its body.
    if frames and frames[0][0].co_name == "<module>" and rec[STATUS] == "error":
        rec[SPEC] = _failed_spec(inner, frames[0][0], name)
    rec[ERROR] = (type(exc), message, frames, importer, via_fromlist, cause)
    _hold(rec, StandIn(exc) if stand_in else exc, frames)


def fromlist_probe(rec: "Record", message: str, handler: "FrameType") -> bool:
    """``from pkg import name`` where pkg has no attribute ``name`` and no
    submodule either: ``_handle_fromlist`` (*handler*, importlib's frame) probed
    for ``pkg.name`` and swallows the miss itself.

    As common as optional imports, and the plain miss is cheap, so the hook
    settles it in place: no walk, nothing held, no traceback read. Returns
    False (the caller records an ordinary failure) when the ``from`` statement
    is importguard's own.
    """
    importer = handler.f_back
    if importer is None:
        return False
    code = importer.f_code
    if code.co_filename.startswith(_OWN_DIR):
        return False
    rec[STATUS] = "not_found"
    rec[ERROR] = (ModuleNotFoundError, message, (), (code, importer.f_lasti), True, None)
    rec[SWALLOWED] = True
    return True


def _failed_spec(tb: "Any", body: "Any", name: str) -> "Any":
    """What a module whose code raised was loaded with: its ``__spec__``, read
    from its body's frame (so the loader kind is the real one: ``source``,
    ``bytecode``, ``zip``...), or else its file name."""
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_code is body:
            spec = frame.f_globals.get("__spec__")
            if getattr(spec, "name", None) == name and getattr(spec, "origin", None) == body.co_filename:
                return spec
            break
        tb = tb.tb_next
    return body.co_filename


def _handler_codes() -> "set[Any]":
    """The code objects of the Python signal handlers installed now."""
    codes: set[Any] = set()
    signal_module = sys.modules.get("_signal")  # no handler can be installed without it
    if signal_module is None:
        return codes
    for signum in signal_module.valid_signals():
        handler = signal_module.getsignal(signum)
        # A function, a bound method, a functools.partial or an object with __call__.
        for _ in range(4):
            code = getattr(handler, "__code__", None)
            if code is not None:
                codes.add(code)
                break
            handler = (
                getattr(handler, "__func__", None)
                or getattr(handler, "func", None)
                or getattr(type(handler), "__call__", None)
            )
            if handler is None:
                break
    return codes


def raised_by_signal_handler(exc: BaseException) -> bool:
    """Whether *exc* was raised in (or under) a Python signal handler.

    Python runs a pending handler wherever a call returns, so one that raises
    (a timeout, SIGTERM turned into an exception) can raise in the middle of
    importguard's own bookkeeping. That exception is the program's and must
    propagate, not be reported and swallowed as an importguard bug. The
    handler's frame is on the traceback.
    """
    try:
        codes = _handler_codes()
        tb = exc.__traceback__
        while tb is not None and codes:
            if tb.tb_frame.f_code in codes:
                return True
            tb = tb.tb_next
    except Exception:
        pass
    return False


_STAGES = {
    "start": ("import hook (start)", "recording paused for this import."),
    "failure": ("import hook (failure)", "the import's own error was re-raised."),
    "success": ("import hook (success)", "the module was imported normally."),
}


def interrupted(state: "list[Any]", rec: "Record | None", exc: BaseException, stage: str) -> bool:
    """An exception escaped importguard's bookkeeping around the import *rec*
    at *stage* (``start``, ``failure``, ``success``); the hook has already
    taken *rec* off the top of this thread's stack, if it was there.

    Either importguard has a bug, or the exception is the program's: raised by
    a signal handler (which runs wherever a call returns, so also in the
    middle of this bookkeeping), or a BaseException such as KeyboardInterrupt.
    The program's propagates, as it would have from importlib's code: returns
    True, with *rec* finished (failed with *exc*, or ``ok`` if the module had
    loaded) and the recursion room given back, so the next import finds a
    consistent state. A bug is reported once and False returned: the hook
    carries on as before (for ``start``, the import runs unrecorded).
    """
    app = True
    try:
        app = not isinstance(exc, Exception) or raised_by_signal_handler(exc)
        stack = state[STACK]
        if rec is not None:
            unwind(stack, rec)
            if rec[STATUS] is None:
                now = perf_counter_ns()
                rec[T0] = rec[T0] or now
                rec[T1] = rec[T1] or now
                if stage == "success":
                    rec[STATUS] = "ok"  # the module loaded; the statement was interrupted after that
                elif app:
                    failed(rec, exc, depth=4)  # failed <- interrupted <- the hook
                elif stage == "start":
                    # The import is about to run unrecorded: the record would say nothing true.
                    for i in range(len(buffer) - 1, -1, -1):
                        if buffer[i] is rec:
                            del buffer[i]
                            break
                else:
                    rec[STATUS] = "error"
        # One frame of room per import in progress in this thread, if it pays.
        if state[ROOM]:
            set_room(state, min(state[ROOM], len(stack)))
    except Exception:
        pass
    if not app:
        where, consequence = _STAGES[stage]
        internal_error(where, exc, consequence)
    return app


def _hold(rec: "Record", exc: "BaseException | StandIn", frames: "list[tuple[Any, int]]") -> None:
    """Keep what settling *rec*'s failure needs, with its importer or at top level."""
    if count_failures:
        _tally(rec)
    parent = rec[PARENT]
    if parent is not None and parent[T1] == 0:
        rec[EXC] = exc  # until the importer finishes
        if parent[FAILED_KIDS] is None:
            parent[FAILED_KIDS] = [rec]
        else:
            parent[FAILED_KIDS].append(rec)
    else:
        # Outside any import, whatever catches this (or dies of it) may run for
        # the rest of the process: holding the exception would keep its
        # traceback, every frame on it and all their locals alive until exit.
        # Keep what identifies it instead (see _is_failure).
        rec[EXC] = exc if type(exc) is StandIn else (type(exc), exc.args, frames)
        _toplevel_failure(rec)


# Run-time failures that repeat (``try: import ujson / except ImportError`` in a
# request handler): the same module failing the same way at the same import
# statement is one record with a count, so memory and exit time do not grow
# with the number of requests. Side tables keyed by id(record): the record
# layout is shared with the hook and stays as it is.

#: What makes two run-time failures the same: {key: the first record}.
_first_failure: "dict[tuple[Any, ...], Record]" = {}
#: id(top-level failure record still in the buffer) -> its key.
_key_of: "dict[int, tuple[Any, ...]]" = {}
#: id(first record) -> [times it happened, times it escaped, perf_counter_ns of the last start]
#: (swallowed = times - escaped - an occurrence still unsettled, see :func:`repeat_counts`).
repeats: "dict[int, list[int]]" = {}
#: id(occurrence taken out of the buffer but not settled yet) -> its first record.
_merged_into: "dict[int, Record]" = {}
#: (key, thread) -> the latest occurrence not settled yet, once merged (at most one per key and thread).
_pending_repeat: "dict[tuple[Any, ...], Record]" = {}
#: Set by a sink that still needs a run-time failure as a record of its own
#: (the OpenTelemetry bridge, to send its span inside the request that made
#: it); such a failure is merged once the sink calls :func:`merge_repeat`.
keep_for_sink: "Callable[[Record], bool] | None" = None
#: Held while records are taken out of the buffer (a fold, a merged repeat):
#: two removals at once would shift each other's positions. Appends (the hot
#: path) never take it: they only add at the end, which removals leave alone.
_removing = RLock()
#: How far back from the buffer's end a repeat is looked for to take it out:
#: other threads' imports may have been appended after it; past this, the
#: next fold merges it instead.
_TAIL = 64


def failure_key(rec: "Record") -> "tuple[Any, ...]":
    """What makes two failures the same: module, exception type and message, import statement."""
    cls, message, _frames_, importer, via_fromlist, _cause = rec[ERROR]
    return (rec[NAME], rec[STATUS], cls, message, importer, via_fromlist)


def settled_probe(rec: "Record") -> None:
    """A ``from pkg import name`` miss outside any import, settled in place by the
    hook: counted into its first occurrence like any run-time failure."""
    if count_failures:
        _tally(rec)
    _toplevel_failure(rec)


#: IMPORTGUARD_METRICS: failures are tallied per (top-level package, status)
#: as they happen, repeats included, for the failure counter (``_metrics``).
count_failures = False
failure_tally: "dict[tuple[str, str], int]" = {}


def _tally(rec: "Record") -> None:
    key = (rec[NAME].partition(".")[0], rec[STATUS])
    failure_tally[key] = failure_tally.get(key, 0) + 1


def _toplevel_failure(rec: "Record") -> None:
    key = failure_key(rec)
    first = _first_failure.get(key)
    pending = rec[SWALLOWED] is None
    if first is None:
        _first_failure[key] = rec
        _key_of[id(rec)] = key
        if pending:
            toplevel_failures[id(rec)] = rec
        return
    # This thread reached the same failing statement again: it went on past its
    # previous occurrence, which is settled (swallowed, unless known already).
    # Other threads' occurrences stay pending: nothing is known of them here.
    thread = rec[THREAD]
    previous = _pending_repeat.pop((key, thread), None)
    if previous is not None:
        settle_one(previous, False)
    if first[THREAD] == thread and id(first) in toplevel_failures:
        settle_one(first, False)
    if pending:
        toplevel_failures[id(rec)] = rec
    _key_of[id(rec)] = key
    if keep_for_sink is not None and keep_for_sink(rec):
        return
    merge_repeat(rec)


def merge_repeat(rec: "Record") -> bool:
    """Count the run-time failure *rec* into the first record of the same failure
    and take it out of the buffer, if it can be found near the end; else leave
    it for the next :func:`fold`. Returns whether it was merged."""
    key = _key_of.get(id(rec))
    first = _first_failure.get(key) if key is not None else None
    if first is None or first is rec:
        return False
    with _removing:
        end = len(buffer)
        for i in range(end - 1, max(-1, end - 1 - _TAIL), -1):
            if buffer[i] is rec:
                going = _detachable(i, end)
                if going is None:
                    return False
                # From the last: positions below `end` do not move while other
                # threads append (removals hold the lock).
                for j in reversed(going):
                    del buffer[j]
                    _moved(j, 1)
                _merge(rec, first, key)  # type: ignore[arg-type]
                return True
    return False


def _detachable(i: int, end: int) -> "list[int] | None":
    """Positions of buffer[i] (a failure) and of the records after it that it
    started, if every one of those is a failure of a module that is not loaded
    (a success there, or an import interrupted after its module ran, is a
    module that stayed loaded: a record the report needs); else None. Other
    threads' records in between stay."""
    rec = buffer[i]
    modules = sys.modules
    if rec[NAME] in modules:
        return None  # interrupted after it loaded: the record is what says it loaded
    going = [i]
    for j in range(i + 1, end):
        other = buffer[j]
        parent = other[PARENT]
        while parent is not None and parent is not rec:
            parent = parent[PARENT]
        if parent is rec:
            if other[STATUS] == "ok" or other[T1] == 0 or other[NAME] in modules:
                return None
            going.append(j)
    return going


def _merge(rec: "Record", first: "Record", key: "tuple[Any, ...]") -> None:
    entry = repeats.get(id(first))
    if entry is None:
        entry = repeats[id(first)] = [1, 1 if first[SWALLOWED] is False else 0, first[T0]]
    entry[0] += 1
    entry[2] = rec[T0]
    _key_of.pop(id(rec), None)
    if id(rec) in toplevel_failures:
        _merged_into[id(rec)] = first
        _pending_repeat[(key, rec[THREAD])] = rec
    elif rec[SWALLOWED] is False:
        entry[1] += 1


def settle_one(rec: "Record", escaped: bool) -> None:
    """Settle the top-level failure *rec*: it escaped, or (False) the program went on past it."""
    if toplevel_failures.pop(id(rec), None) is None:
        return
    rec[SWALLOWED] = not escaped
    rec[EXC] = None
    first = _merged_into.pop(id(rec), None)
    if first is not None:
        slot = (failure_key(rec), rec[THREAD])
        if _pending_repeat.get(slot) is rec:
            del _pending_repeat[slot]
        if escaped:
            entry = repeats.get(id(first))
            if entry is not None:
                entry[1] += 1


def repeat_counts(rec: "Record") -> "tuple[int, int, int] | None":
    """(times, escaped, last start as perf_counter_ns) of a run-time failure that
    happened more than once, counted into its first record; else None."""
    entry = repeats.get(id(rec))
    return None if entry is None else (entry[0], entry[1], entry[2])


def _is_failure(key: "tuple[Any, Any, Any] | StandIn", exc: BaseException) -> bool:
    """Whether *exc* is the exception a top-level failure record was made for.

    The record holds the exception's ``args`` tuple, so no other live object
    can have that identity; only the shared empty tuple needs the traceback's
    innermost frames to tell two ``raise SomeError()`` apart.
    """
    if isinstance(key, StandIn):
        return key.matches(exc)
    cls, args, frames = key
    if type(exc) is not cls or exc.args is not args:
        return False
    if args:
        return True
    tail = _frames(exc.__traceback__)
    return bool(tail[len(tail) - len(frames) :] == frames)


def escaped_in(exc: "BaseException | None", recs: "list[Record]") -> "set[int]":
    """ids of the records among *recs* (top-level failures not settled yet) whose
    exception is *exc* or in its cause/context chain. Each exception in the
    chain is at most one failure: the latest that matches (only a shared empty
    ``args`` can match more than one)."""
    found: set[int] = set()
    if exc is None or not recs:
        return found
    by_args: dict[int, list[Record]] = {}
    stand_ins: list[Record] = []
    for rec in recs:
        key = rec[EXC]
        if type(key) is StandIn:
            stand_ins.append(rec)
        elif key is not None:
            by_args.setdefault(id(key[1]), []).append(rec)
    for e in _chain(exc):
        for rec in reversed(by_args.get(id(e.args), ())):
            if id(rec) not in found and _is_failure(rec[EXC], e):
                found.add(id(rec))
                break
        else:
            for rec in reversed(stand_ins):
                if id(rec) not in found and rec[EXC].matches(e):
                    found.add(id(rec))
                    break
    return found


def fail_strict(rec: "Record", module: "Any", exc: BaseException) -> None:
    """Mode ``error``: the module ran, but its import now fails with *exc*.

    Undo what a successful import left, as importlib does after a failure: the
    ``sys.modules`` entry and the attribute on the parent package.
    """
    name = rec[NAME]
    if sys.modules.get(name) is module:
        del sys.modules[name]
    parent, _, child = name.rpartition(".")
    parent_module = sys.modules.get(parent) if parent else None
    if parent_module is not None and getattr(parent_module, "__dict__", {}).get(child) is module:
        try:
            delattr(parent_module, child)
        except Exception:
            pass
    loaded.pop(name, None)
    rec[STATUS] = "error"
    rec[ERROR] = (type(exc), str(exc), [], None, False, None)
    _hold(rec, exc, [])


def settle_toplevel(exc: "BaseException | None", only: "list[Record] | None" = None) -> None:
    """Settle failures made outside any import, given how their scope ended.

    *exc* is what the scope (the process, or a ``capture()`` block) died of,
    or ``None`` if it completed. A failure in its chain escaped; any other was
    swallowed. ``SystemExit`` and ``KeyboardInterrupt`` leave no trace at exit,
    so at process exit a top-level failure of that kind counts as escaped.
    Costs what is pending, not what happened: repeats of one failure leave at
    most one occurrence pending.
    """
    if only is None:
        pending = list(toplevel_failures.values())
    else:
        pending = [r for r in only if id(r) in toplevel_failures]
    escaped = escaped_in(exc, pending)
    for rec in pending:
        key = rec[EXC]
        cls = key.cls if type(key) is StandIn else key[0] if key is not None else None
        settle_one(rec, id(rec) in escaped or (only is None and cls is not None and issubclass(cls, SystemExit)))


def settle_at_exit() -> None:
    """At exit, ``sys.last_exc``/``sys.last_value`` is what killed the main thread, if anything."""
    settle_toplevel(getattr(sys, "last_exc", None) or getattr(sys, "last_value", None))


#: Successful imports folded out of the buffer: {module: [count, total_ns, self_ns]}, for reports.
folded: "dict[str, list[int]]" = {}
#: The same for those folded before the span bridge saw them, until it sends
#: them (and clears this), plus the first start and last end (perf_counter_ns):
#: {module: [count, total_ns, self_ns, first_t0, last_t1]}.
folded_unsent: "dict[str, list[int]]" = {}
folded_records = 0
#: id(record in the buffer) -> summed cumulative ns of its children folded
#: away, so its self time still leaves them out (reports and spans).
folded_children_ns: "dict[int, int]" = {}
#: Readers that walk the buffer from where they stopped (the OpenTelemetry
#: bridge) register ``[position, {id(record): ns}]`` here: records taken out of
#: the buffer before the position move it back, and a fold adds the time of
#: children it takes out unseen (from the position on) to their parent's entry.
cursors: "list[list[Any]]" = []
#: Modules that still need some records as records (open spans, export
#: violations) register a function here returning them; a fold leaves those in
#: the buffer. Registered by them: this module imports none of its readers.
pins: "list[Callable[[], Any]]" = []
#: A fold that could not get the buffer down (failures, pinned records) does
#: not run again before this many records: one fold per *keep* imports at most.
_fold_floor = 0


def _moved(index: int, count: int) -> None:
    """*count* records were removed from the buffer from *index* on: move the cursors."""
    for cursor in cursors:
        if cursor[0] > index:
            cursor[0] = max(index, cursor[0] - count)


def nested_ns(records: "list[Record]") -> "dict[int, int]":
    """id(record) -> summed cumulative ns of its direct children: those among
    *records*, and those folded away (self time = cumulative minus this)."""
    nested = {k: v for k, v in folded_children_ns.items()} if folded_children_ns else {}
    for rec in records:
        parent = rec[PARENT]
        if parent is not None and rec[T1]:
            nested[id(parent)] = nested.get(id(parent), 0) + rec[T1] - rec[T0]
    return nested


def fold(keep: int) -> int:
    """Bound memory in a long-running process: fold the fastest successful,
    finished records into per-module totals until about *keep* records remain,
    and merge settled repeats of a run-time failure into its first record.

    Fastest first, by cumulative time: the slowest imports stay records (and
    spans) with their true times, and since an import's cumulative time is at
    least its children's, a kept import keeps its importer. Failures (but
    repeats), records with export violations and imports still in progress
    (or whose spans are still open) are never folded. Returns how many were.
    """
    if len(buffer) <= _fold_floor:
        return 0
    with _removing:
        return _fold(keep)


def _fold(keep: int) -> int:
    global folded_records, _fold_floor
    records = buffer[:]  # other threads may append while this runs: those stay as they are
    pinned: set[int] = set()
    for pin in pins:
        for rec in pin():
            pinned.add(id(rec))
    nested = nested_ns(records)
    excess = len(records) - keep
    candidates = []
    for i, rec in enumerate(records):
        if rec[T1] and rec[STATUS] == "ok" and id(rec) not in pinned:
            # equal times: the later (deeper) record first, so parents outlive children
            candidates.append((rec[T1] - rec[T0], -i))
    candidates.sort()
    drop = {-i for _t, i in candidates[: max(0, excess)]}
    # Records before every reader's position were seen (as spans) already.
    seen_before = min((cursor[0] for cursor in cursors), default=0)
    kept = []
    removed: list[int] = []
    count = 0
    for i, rec in enumerate(records):
        if i in drop:
            total = rec[T1] - rec[T0]
            own = total - nested.get(id(rec), 0)
            entry = folded.setdefault(rec[NAME], [0, 0, 0])
            entry[0] += 1
            entry[1] += total
            entry[2] += own
            unsent = folded_unsent.get(rec[NAME]) if i >= seen_before else ...
            if unsent is ...:
                pass  # the span bridge has sent it already, as a span of its own
            elif unsent is None:
                folded_unsent[rec[NAME]] = [1, total, own, rec[T0], rec[T1]]
            else:
                unsent[0] += 1
                unsent[1] += total
                unsent[2] += own
                unsent[3] = min(unsent[3], rec[T0])
                unsent[4] = max(unsent[4], rec[T1])
            parent = rec[PARENT]
            if parent is not None:
                folded_children_ns[id(parent)] = folded_children_ns.get(id(parent), 0) + total
                for cursor in cursors:
                    if i >= cursor[0]:  # that reader has not seen it: it cannot count it itself
                        cursor[1][id(parent)] = cursor[1].get(id(parent), 0) + total
            folded_children_ns.pop(id(rec), None)
            count += 1
            removed.append(i)
            continue
        key = _key_of.get(id(rec))
        if (
            key is not None
            and id(rec) not in toplevel_failures
            and id(rec) not in pinned
            and id(rec) not in nested
            and rec[NAME] not in sys.modules
        ):
            first = _first_failure.get(key)
            if first is not None and first is not rec:
                _merge(rec, first, key)
                removed.append(i)
                continue
        kept.append(rec)
    if removed:
        buffer[: len(records)] = kept
        for cursor in cursors:
            position = cursor[0]
            cursor[0] = position - sum(1 for i in removed if i < position)
        # a folded parent's entry is gone with it; keep only entries of records still here
        alive = {id(rec) for rec in buffer}
        for table in [folded_children_ns] + [cursor[1] for cursor in cursors]:
            for key_id in [k for k in table if k not in alive]:
                del table[key_id]
    folded_records += count
    _fold_floor = len(buffer) + keep
    return count


def release() -> None:
    """The process's final report is written: let the records go before the
    interpreter's exit-time collection, which would walk every one of them.

    Not while a reader still walks the buffer (the span bridge: a later flush
    sends what it has not sent yet). Pinned records need no such care: whoever
    pins them holds them.
    """
    if cursors:
        return
    del buffer[:]
    loaded.clear()


def reset_after_fork() -> None:
    """In a forked child: its records are its own; the parent reports the parent's."""
    global _fold_floor
    # Other threads do not exist in the child, and neither do their
    # thread-locals; the forking thread keeps its stack (fork inside an import).
    state = thread_state()
    buffer[:] = list(state[STACK])
    if limit[1] != state[ROOM]:  # the room of the parent's other threads' imports
        try:
            gone = limit[1] - state[ROOM]
            limit[1] -= gone
            limit[0] -= gone
            sys.setrecursionlimit(limit[0])
        except Exception:
            pass
    loaded.clear()
    folded.clear()
    folded_unsent.clear()
    folded_children_ns.clear()
    toplevel_failures.clear()
    _first_failure.clear()
    _key_of.clear()
    repeats.clear()
    _merged_into.clear()
    _pending_repeat.clear()
    _fold_floor = 0
    failure_tally.clear()
    for cursor in cursors:
        cursor[0] = 0
        cursor[1].clear()
    del internal_errors[:]


def file_of(rec: "Record") -> str | None:
    """The file a recorded module came from, if it has one."""
    return _file(rec[SPEC])


def _file(spec: "Any") -> str | None:
    if isinstance(spec, str):  # a failed module: the file its code ran from
        return spec
    origin = getattr(spec, "origin", None)
    if origin and getattr(spec, "has_location", False):
        return str(origin)
    return None


#: IMPORTGUARD_REDACT: exception messages leave the process (reports, spans) as this.
redact = False
REDACTED = "<redacted>"


def shown(message: str) -> str:
    """*message* as reports and spans may carry it (exception messages can hold secrets)."""
    return REDACTED if redact else message


def qualname_of(cls: type) -> str:
    """How a traceback names an exception class."""
    return cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
