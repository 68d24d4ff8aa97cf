"""Inside a program that ``importguard advise`` runs: when each module is first used; deferral for ``--verify``.

Only advise's child processes load this module, through ``IMPORTGUARD_HOOKS``
(``importguard._advise_child:diagnose`` or ``:defer``), at interpreter startup
inside ``_records.quiet()``. A plain ``IMPORTGUARD=1`` run never imports it. It is
on the program's startup path there, so it uses builtins only (no
``__future__``, ``typing``, ``dis`` or ``tracemalloc``: each would put modules
in ``sys.modules`` that the program then finds loaded).

How a use is seen
=================
When a module finishes executing (an "after" callback), its class is swapped
for :class:`_Watched`, a ``ModuleType`` subclass whose ``__getattribute__`` is
not a function but a descriptor (:class:`_Trap`). An attribute read on the
module makes CPython look ``__getattribute__`` up on the type and call the
descriptor's ``__get__`` with the module: that Python code looks at the reading
frame, notes the use, swaps the class back to ``ModuleType`` and returns the
*C* method ``ModuleType.__getattribute__`` bound to the module, which CPython
then calls with the attribute name. So the read itself (and the
``AttributeError`` of a missing name, PEP 562 ``__getattr__`` included) runs in
C exactly as without advise, and no frame of ours is in any traceback. After
the first use the module is a plain module again: reads cost nothing more.

``__get__`` does not receive the attribute name, so what counts as a use is
decided from the reading frame:

* importlib's own frames (``<frozen importlib._bootstrap>``: a submodule
  import reading its package's ``__path__``, ``importlib.import_module``
  checking ``__spec__``) are the import machinery, not a use; neither are
  importguard's own;
* the ``IMPORT_NAME`` instruction (``import m`` when ``m`` is already loaded:
  CPython reads ``m.__spec__`` to see whether it is still initializing) is a
  reference, noted as another import statement of ``m``, not a use. The
  opcode is learnt at start by running one such statement on a probe module,
  so no opcode table is needed per Python version;
* ``_handle_fromlist`` and module ``repr()`` read from importlib's frames on
  behalf of the program: a use, at the program's frame;
* everything else (``m.attr``, ``from m import name``, ``getattr``,
  ``dir()``, ``vars()``...) is a use.

Import cycles: ``import m`` while ``m`` is still initializing in the same
thread makes importlib call ``_bootstrap._lock_unlock_module(m)``; a wrapper
there records the import stack from ``m`` down to the statement.

``--verify``: :func:`defer` puts a finder at the front of ``sys.meta_path``
whose specs, for the modules named in ``_IMPORTGUARD_DEFER``, carry a loader
that creates the module but runs its code only on first use, decided by the
same rules as above (an ``importlib.util.LazyLoader`` would be forced by the
``__spec__`` read of a second ``import m``, and importing ``importlib.util``
here would preload ``contextlib``, ``functools``, ``types`` and ``warnings``
for the program). The baseline runs install the same finder with nothing to
defer, so both pay the same.
"""

import os
import sys
from _thread import get_ident
from time import perf_counter_ns, process_time_ns

from importguard import _callbacks, _hook, _records, _startup

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import FrameType
    from types import ModuleType as _ModuleType
    from typing import Any
else:
    _ModuleType = type(sys)
_GETATTRIBUTE: "Any" = _ModuleType.__getattribute__
_IMPORTLIB_FILES = _records._IMPORTLIB_FILES
_is_machinery = _records._is_machinery
_OWN_DIR = _records.OWN_DIR
#: importlib functions that read a module's attributes for the program's statement.
_USE_IN_IMPORTLIB = ("_handle_fromlist", "_module_repr", "_module_repr_from_spec")

#: The opcode of IMPORT_NAME on this Python, learnt by :func:`_calibrate` (-1: unknown).
_import_name_op = -1
_calibrating: "list[int] | None" = None

# -- what the diagnosis collects ------------------------------------------------
#: id(module) -> its entry while it is watched (the entry outlives the watch in _entries).
_watched: "dict[int, list[Any]]" = {}
#: Every entry, in load order: [name, t0 (perf ns, of its loading record), importer
#: (file, line, via_fromlist) or None, first use (t, thread, file, line, function) or None,
#: references [(t, thread, file, line)], watched (bool)]. Places are kept as text, not
#: code objects: holding a module's code would keep in memory what its import frees.
_entries: "list[list[Any]]" = []
NAME, T0, IMPORTER, FIRST_USE, REFS, WATCHED = 0, 1, 2, 3, 4, 5
#: Sites kept per module for references (other import statements of it).
_MAX_REFS = 32
#: Import cycles seen: (tuple of names from the re-imported module down, file, line).
_cycles: "list[tuple[tuple[str, ...], str | None, int | None]]" = []
_start_ns = 0
_marker_ns = 0
_pid = 0
_out = ""
#: Memory kept by each import, cumulative (--memory): name -> bytes.
_memory: "dict[str, int] | None" = None
_mem_stacks: "dict[int, list[int]]" = {}
_traced: "Any" = None


def _user_frame(frame: "FrameType | None") -> "FrameType | None":
    """The first frame at or above *frame* that is not importlib or importguard (the program's)."""
    while frame is not None:
        code = frame.f_code
        if code.co_filename not in _IMPORTLIB_FILES and not _is_machinery(code):
            return frame
        frame = frame.f_back
    return None


USE, REFERENCE, MACHINERY, SCANNED = 1, 2, 3, 4


def classify(frame: "FrameType") -> "tuple[int, FrameType | None]":
    """Whether a read of a module attribute made in *frame* is a use, an import
    statement's reference, or the import machinery's own; and the program's frame."""
    code = frame.f_code
    filename = code.co_filename
    if filename in _IMPORTLIB_FILES:
        if code.co_name in _USE_IN_IMPORTLIB:
            return USE, _user_frame(frame)
        return MACHINERY, _user_frame(frame)
    if filename.startswith(_OWN_DIR):
        return MACHINERY, None
    lasti = frame.f_lasti
    if lasti >= 0 and _import_name_op >= 0 and _code_bytes(code)[lasti] == _import_name_op:
        return REFERENCE, frame
    return USE, frame


_last_code: "Any" = None
_last_bytes = b""


def _code_bytes(code: "Any") -> bytes:
    """``code.co_code``, kept for the last code object asked: reads come in runs from one
    importing module, and on 3.11 every ``co_code`` is a fresh copy of the whole body."""
    global _last_code, _last_bytes
    if code is not _last_code:
        _last_bytes = code.co_code
        _last_code = code
    return _last_bytes


class _Trap:
    """``_Watched.__getattribute__``: notes the first use, then lets C do the read."""

    __slots__ = ()

    def __get__(self, module: "Any", owner: "Any" = None) -> "Any":
        if module is None:
            return _GETATTRIBUTE
        try:
            frame: "FrameType | None" = sys._getframe(1)
            assert frame is not None
            if _calibrating is not None:
                _calibrating.append(frame.f_code.co_code[frame.f_lasti])
                return _GETATTRIBUTE.__get__(module, _ModuleType)
            kind, site = classify(frame)
            entry = _watched.get(id(module))
            where = _where(site)
            if kind == USE and site is not None:
                key = (where[0], where[1])
                if key in _scan_sites or (_scan_codes and _in_scan(site.f_back)):
                    kind = SCANNED
                else:
                    seen = _site_uses.setdefault(key, [])
                    # In a function seen scanning, a second line reading a second module scans too
                    # (inspect.getmodule: hasattr(module, '__file__') then module.__file__).
                    if len(seen) >= (1 if site.f_code in _scan_codes else SCAN - 1):
                        _scanning(key, site.f_code, seen)
                        kind = SCANNED
                    elif entry is not None:
                        seen.append((entry, module))
            if kind == USE:
                module.__class__ = _ModuleType
                _watched.pop(id(module), None)
                if entry is not None and entry[FIRST_USE] is None:
                    entry[FIRST_USE] = (perf_counter_ns(), get_ident(), *where)
            elif kind != SCANNED and site is not None and entry is not None and len(entry[REFS]) < _MAX_REFS:
                for ref in entry[REFS]:
                    if ref[2] == where[0] and ref[3] == where[1]:
                        break
                else:
                    entry[REFS].append((perf_counter_ns(), get_ident(), where[0], where[1]))
            frame = site = None
        except BaseException:
            # Never fail the program's read: stop watching this module instead.
            try:
                module.__class__ = _ModuleType
            except BaseException:
                pass
        return _GETATTRIBUTE.__get__(module, _ModuleType)


#: A site that reads this many different modules first is going through ``sys.modules``
#: (``inspect.getmodule`` reads ``__file__`` of every module; reloaders, monkey-patchers, pickle
#: look for objects): a scan, not a use. Code that uses that many modules from one line (a plugin
#: loop) is taken for a scan too: its uses are missed, and --verify sees the difference.
SCAN = 8
#: (file, line) -> the first uses made there, [(entry, module)], until it is known to scan.
_site_uses: "dict[tuple[str | None, int | None], list[tuple[list[Any], Any]]]" = {}
_scan_sites: "set[tuple[str | None, int | None]]" = set()
#: The code of the functions seen scanning (a handful).
_scan_codes: "set[Any]" = set()


def _in_scan(frame: "FrameType | None", depth: int = 8) -> bool:
    """Whether a function known to scan modules is among the *depth* callers from *frame* up
    (``inspect.getmodule`` calls ``getabsfile``, which reads each module again)."""
    while frame is not None and depth > 0:
        if frame.f_code in _scan_codes:
            return True
        frame = frame.f_back
        depth -= 1
    return False


def _scanning(key: "tuple[str | None, int | None]", code: "Any", seen: "list[tuple[list[Any], Any]]") -> None:
    """*key* turned out to scan modules: what it read first was not a use; watch those modules again."""
    _scan_sites.add(key)
    _scan_codes.add(code)
    for entry, module in seen:
        first = entry[FIRST_USE]
        if first is not None and first[2] == key[0] and first[3] == key[1] and type(module) is _ModuleType:
            entry[FIRST_USE] = None
            _watched[id(module)] = entry
            module.__class__ = _Watched
    seen.clear()


class _Watched(_ModuleType):
    """A module that nobody outside its own import has read yet (during ``importguard advise``)."""

    __slots__ = ()
    __getattribute__ = _Trap()  # type: ignore[misc]


# What the program sees if it prints type(module) before its first use.
_Watched.__name__ = _Watched.__qualname__ = "module"
_Watched.__module__ = "builtins"


def _calibrate() -> None:
    """Learn IMPORT_NAME's opcode: run ``import probe`` on a watched probe module and
    look at the instruction CPython is executing when it reads ``probe.__spec__``."""
    global _calibrating, _import_name_op
    name = "_importguard_advise_probe"
    probe = _ModuleType(name)
    probe.__spec__ = None
    _calibrating = []
    sys.modules[name] = probe
    try:
        probe.__class__ = _Watched
        exec(compile(f"import {name}", "<importguard advise probe>", "exec"), {})
    finally:
        probe.__class__ = _ModuleType
        del sys.modules[name]
        seen, _calibrating = _calibrating, None
    _import_name_op = seen[0] if seen else -1


def _root_process() -> bool:
    """Only the program's first Python process is advised (children inherit the variables)."""
    return os.environ.get("_IMPORTGUARD_ROOT_PID") == str(os.getpid())


# -- the diagnostic run -------------------------------------------------------------


def _after(event: "_callbacks.ImportEvent") -> None:
    module = event.module
    rec = _records.loaded.get(event.name)
    if rec is None:
        return
    importer = None
    site = _user_frame(sys._getframe(1))
    if site is not None:
        frame: "FrameType | None" = sys._getframe(1)
        via_fromlist = False
        while frame is not None and frame is not site:
            if frame.f_code.co_name == "_handle_fromlist":
                via_fromlist = True
            frame = frame.f_back
        importer = (*_where(site)[:2], via_fromlist)
    frame = site = None
    watch = type(module) is _ModuleType
    entry = [event.name, rec[_records.T0], importer, None, [], watch]
    _entries.append(entry)
    if watch:
        _watched[id(module)] = entry
        module.__class__ = _Watched


def _mem_before(event: "_callbacks.ImportEvent") -> None:
    _mem_stacks.setdefault(event.thread, []).append(_traced.get_traced_memory()[0])


def _mem_after(event: "_callbacks.ImportEvent") -> None:
    stack = _mem_stacks.get(event.thread)
    if stack:
        kept = _traced.get_traced_memory()[0] - stack.pop()
        if _memory is not None and event.when == "after":
            _memory.setdefault(event.name, kept)


def _lock_unlock_module(name: str) -> "Any":
    # Called by importlib when a module being imported is imported again: in
    # this thread's stack, that is an import cycle. Named like importlib's own
    # frames so that import tracebacks drop it (see _hook).
    try:
        stack = _records.thread_state()[_records.STACK]
        for i in range(len(stack) - 1, -1, -1):
            if stack[i][_records.NAME] == name:
                names = tuple(r[_records.NAME] for r in stack[i:])
                top = names[-1]
                # A package's own submodules importing it back are how packages work.
                if len(names) > 1 and not top.startswith(name + "."):
                    site = _user_frame(sys._getframe(1))
                    _cycles.append((names, *_where(site)[:2]))
                    site = None
                break
    except Exception:
        pass
    return _real_lock_unlock(name)


_lock_unlock_module.__code__ = _lock_unlock_module.__code__.replace(co_filename="<frozen importlib._bootstrap>")
_real_lock_unlock: "Any" = None


def _mark() -> None:
    global _marker_ns
    if not _marker_ns:
        _marker_ns = perf_counter_ns()


def diagnose() -> None:
    """``IMPORTGUARD_HOOKS`` entry of advise's diagnostic run: watch first uses, write them at exit.

    ``_IMPORTGUARD_ADVISE`` is ``OUT[;memory]``: the file to write (``{pid}``
    replaced) and whether to trace memory per import.
    """
    global _start_ns, _pid, _out, _memory, _traced, _real_lock_unlock
    if not _root_process():
        return
    spec = os.environ.get("_IMPORTGUARD_ADVISE", "")
    out, _, flags = spec.partition(";")
    if not out:
        return
    _pid = os.getpid()
    _out = out.replace("{pid}", str(_pid))
    _calibrate()
    _start_ns = perf_counter_ns()
    bootstrap: "Any" = sys.modules["_frozen_importlib"]
    _real_lock_unlock = bootstrap._lock_unlock_module
    bootstrap._lock_unlock_module = _lock_unlock_module
    if "memory" in flags.split(","):
        _traced = _records.private_builtin("_tracemalloc")
        _traced.start(1)
        _memory = {}
        _callbacks.on_import(when="before")(_mem_before)
        _callbacks.on_import(when="error")(_mem_after)
        _callbacks.on_import(when="after")(_mem_after)
    _callbacks.on_import(when="after")(_after)
    _startup.listener = _mark
    _records.private_atexit().register(_write)


def _where(frame: "FrameType | None") -> "tuple[str | None, int | None, str | None]":
    """(file, line, function) of *frame*, or Nones."""
    if frame is None:
        return None, None, None
    code = frame.f_code
    return code.co_filename, frame.f_lineno, getattr(code, "co_qualname", code.co_name)


def _write() -> None:
    """At exit: everything seen, as JSON, for the advise command to read."""
    if os.getpid() != _pid:
        return  # a forked child inherited the handler
    exit_ns = perf_counter_ns()
    if _traced is not None:
        _traced.stop()
    offset = _records.epoch_offset_ns
    try:
        with _records.quiet():
            from importguard import _report

            modules = []
            for name, t0, importer, first, refs, watched in _entries:
                modules.append(
                    {
                        "name": name,
                        "start_ns": t0 + offset,
                        "importer": None if importer is None else list(importer),
                        "watched": watched,
                        "first_use": None if first is None else [first[0] + offset, *first[1:]],
                        "references": [[t + offset, thread, file, line, None] for t, thread, file, line in refs],
                    }
                )
            data = {
                "schema": "importguard.advise-child/1",
                "pid": _pid,
                "python": sys.version.split()[0],
                "stdlib": os.path.dirname(os.__file__),
                "start_ns": _start_ns + offset,
                "marker_ns": _marker_ns + offset if _marker_ns else None,
                "exit_ns": exit_ns + offset,
                "import_name_opcode": _import_name_op,
                "modules": modules,
                "memory": _memory,
                "cycles": [{"modules": list(names), "importer": [file, line]} for names, file, line in _cycles],
                "scans": [
                    [code.co_filename, code.co_firstlineno, getattr(code, "co_qualname", code.co_name)]
                    for code in _scan_codes
                ],
            }
            _report.write_text(_out, _report.dumps(data) + "\n")
    except Exception as exc:
        _records.internal_error("writing what importguard advise needs", exc, "advise has nothing to read.")


# -- deferral, for --verify ---------------------------------------------------------


class _LazyTrap:
    """``_Lazy.__getattribute__``: runs the module's code on its first use, then lets C do the read."""

    __slots__ = ()

    def __get__(self, module: "Any", owner: "Any" = None) -> "Any":
        if module is None:
            return _GETATTRIBUTE
        kind, site = classify(sys._getframe(1))
        if kind == USE and not (_lazy_scans and _lazy_in_scan(site)):
            _load(module)
        site = None
        return _GETATTRIBUTE.__get__(module, _ModuleType)


class _Lazy(_ModuleType):
    """A deferred module whose code has not run yet (``importguard advise --verify``)."""

    __slots__ = ()
    __getattribute__ = _LazyTrap()  # type: ignore[misc]


_Lazy.__name__ = _Lazy.__qualname__ = "module"
#: (file, first line) of the functions the diagnosis found scanning modules.
_lazy_scans: "set[tuple[str, int]]" = set()


def _lazy_in_scan(frame: "FrameType | None", depth: int = 9) -> bool:
    while frame is not None and depth > 0:
        code = frame.f_code
        if (code.co_filename, code.co_firstlineno) in _lazy_scans:
            return True
        frame = frame.f_back
        depth -= 1
    return False


_Lazy.__module__ = "builtins"
#: id(module) -> (loader, the namespace as importlib left it before running the code).
_pending: "dict[int, tuple[Any, dict[str, Any]]]" = {}


def _load(module: "Any") -> None:
    """Run a deferred module's code now, keeping what was set on it meanwhile (as LazyLoader does)."""
    pending = _pending.pop(id(module), None)
    module.__class__ = _ModuleType
    if pending is None:
        return
    loader, then = pending
    now = module.__dict__
    updated = {k: v for k, v in now.items() if k not in then or now[k] is not then[k]}
    loader.exec_module(module)
    module.__dict__.update(updated)


class _LazyLoader:
    """Wraps a source or bytecode loader: the module is created and set up, its code runs on first use."""

    def __init__(self, loader: "Any") -> None:
        self.loader = loader

    def create_module(self, spec: "Any") -> "Any":
        return self.loader.create_module(spec)

    def exec_module(self, module: "Any") -> None:
        module.__spec__.loader = self.loader
        module.__loader__ = self.loader
        _pending[id(module)] = (self.loader, dict(module.__dict__))
        module.__class__ = _Lazy


class _DeferFinder:
    """First in ``sys.meta_path``: for the modules to defer, the real spec with a lazy loader."""

    def __init__(self, names: "frozenset[str]") -> None:
        self.names = names

    def find_spec(self, name: str, path: "Any" = None, target: "Any" = None) -> "Any":
        if name not in self.names:
            return None
        for finder in sys.meta_path:
            if finder is self:
                continue
            find = getattr(finder, "find_spec", None)
            if find is None:
                continue
            spec = find(name, path, target)
            if spec is not None:
                break
        else:
            return None
        external = sys.modules["_frozen_importlib_external"]
        if isinstance(spec.loader, (external.SourceFileLoader, external.SourcelessFileLoader)):
            spec.loader = _LazyLoader(spec.loader)
        return spec


def defer() -> None:
    """``IMPORTGUARD_HOOKS`` entry of advise's verify runs: stop recording, defer ``_IMPORTGUARD_DEFER``.

    Every verify run (the baseline too) boots importguard the same way and
    installs the same finder; only the set of names differs.
    """
    _hook.uninstall()
    if not _root_process():
        return
    global _lazy_scans
    names = frozenset(n for n in os.environ.get("_IMPORTGUARD_DEFER", "").split(",") if n)
    # The diagnosis's scanning functions, "first line:file" joined by NUL: not uses here either.
    for scan in os.environ.get("_IMPORTGUARD_SCANS", "").split("\0"):
        line, _, file = scan.partition(":")
        if file and line.isdigit():
            _lazy_scans.add((file, int(line)))
    _calibrate()
    sys.meta_path.insert(0, _DeferFinder(names))
    global _marker_out
    _marker_out = os.environ.get("_IMPORTGUARD_MARKER", "")
    if _marker_out:
        _startup.listener = _mark_to_file


_marker_out = ""


def _mark_to_file() -> None:
    """In a verify run: when the program called ``startup_done()``, as ``perf_counter_ns``
    (the same clock in every process: CLOCK_MONOTONIC on Linux) and as the CPU time the
    process had used, for advise to read."""
    global _marker_out
    out, _marker_out = _marker_out, ""
    if out:
        fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, f"{perf_counter_ns()} {process_time_ns()}".encode())
        finally:
            os.close(fd)
