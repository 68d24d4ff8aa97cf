"""The portable engine: a finder at the front of ``sys.meta_path``.

``IMPORTGUARD_ENGINE=finder``, and what ``auto`` uses where importlib's private
``_find_and_load_unlocked`` is missing or changed (``_hook.unusable``). It makes
the same records, export checks, callbacks and spans as the function engine
(``_hook.py``), through the same helpers; docs/engines.md compares the two.

How it sees an import
---------------------
importlib's ``_find_spec`` asks each finder of ``sys.meta_path`` in turn, and
this one sits first. When it is asked on behalf of a real import (importlib's
``_find_spec`` called by importlib's own import code), it starts the record,
asks the finders after it itself, and returns their spec with the loader
replaced by a stand-in of its own (:class:`_Exec`, or :class:`_Legacy` for a
``load_module``-only loader). importlib then calls the stand-in's
``create_module`` and ``exec_module``: before anything of the module runs, the
stand-in puts the real loader back on the spec and the module, then runs it
and finishes the record. The module, its code and the program only ever see
the real loader. Every other question (``importlib.util.find_spec``,
``importlib.reload``, ``pkgutil``, a program asking finders itself) gets None
at once: not recorded, not searched twice.

A miss: importlib would ask the finders after this one again and raise
``ModuleNotFoundError``. Where the import came through the import statement
or ``__import__``, import.c strips importlib's frames (and this finder's,
which carry importlib's file name) from the traceback, so the finder raises
importlib's exact error itself and nothing is searched twice. Through
``importlib.import_module`` nothing strips them: the finder returns None and
importlib searches again and raises (the record then holds a stand-in of the
error, see ``_records.StandIn``).

What it cannot see
------------------
* Modules served by a finder placed ahead of it later (pytest's assertion
  rewriter): the import never reaches it. A finder ahead that searches the
  import system again on the import's behalf (wrapt's post-import hooks) is
  recognised and the import recorded as usual.
* The moment between importlib receiving the spec and calling the loader: an
  import that dies there (an asynchronous exception) leaves a record whose
  end it never saw; it is settled when the thread's next import starts (or at
  exit) as failed with :class:`LostImport`.

Tracebacks: every frame of this module that can be on the stack while the
program's code runs (``find_spec``, ``create_module``, ``exec_module``,
``load_module``) carries ``<frozen importlib._bootstrap>`` as its file name,
so CPython strips it with importlib's own; where it does not strip, the
frame removes its own traceback entry before re-raising (3.11+), as the
function engine does.
"""

import sys
from time import perf_counter_ns

from importguard import _gc, _hook, _records

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

_bootstrap: "Any" = sys.modules["_frozen_importlib"]
_getframe = sys._getframe
_ModuleType = type(sys)


def _code(name: str) -> "Any":
    return getattr(getattr(_bootstrap, name, None), "__code__", None)


#: importlib's own code objects, to tell an import from a look-up by the frames.
_FIND_SPEC = _code("_find_spec")
_GCD = _code("_gcd_import")
_CWFR = _code("_call_with_frames_removed")
_FROMLIST = _code("_handle_fromlist")
#: The file name of importlib's bootstrap code (the object itself: compared by identity first).
_IMPORTLIB: str = _FIND_SPEC.co_filename if _FIND_SPEC is not None else "<frozen importlib._bootstrap>"
_legacy_find = getattr(_bootstrap, "_find_spec_legacy", None)  # 3.10, 3.11: find_module() fallback
_init_module_attrs = getattr(_bootstrap, "_init_module_attrs", None)
#: importlib's miss message, "No module named 'x'" (3.10-3.14). Unknown: never raise it here.
_MISS = "No module named " if getattr(_bootstrap, "_ERR_MSG_PREFIX", None) == "No module named " else None
#: import.c keeps importlib's frames in tracebacks under -v.
_RAISE_MISSES = _MISS is not None and not sys.flags.verbose
_RERAISE_READS_TB = sys.version_info >= (3, 11)

# Phases of an import in flight. Below _FOUND, imports may nest in it (the
# search, create_module, the module's code); from _FOUND on, importlib is
# between two calls to this module, and a new import in the same thread means
# it either nests (a signal handler) or this one died unseen.
_SEARCH, _CREATE, _EXEC, _FOUND, _CREATED, _PENDING = range(6)

_active = False
_modules = sys.modules
_thread_state = _records.thread_state
_getlimit = sys.getrecursionlimit
_setlimit = sys.setrecursionlimit
_limit = _records.limit
_LOW = _hook._LOW
_DEEP = _hook._DEEP
_MARGIN = _records.MARGIN
_buffer_append = _records.buffer.append
_loaded = _records.loaded
_before = _records.callbacks_before
_on_error = _records.callbacks_error
_MISSING = object()
#: The imports in flight, by id() of their record: records cannot grow a slot.
_inflight: "dict[int, _Import]" = {}


class LostImport(Exception):
    """How the finder engine records an import that ended where it cannot see:
    after a finder returned the spec and before importlib called the loader
    (an asynchronous exception, or importlib failing in between)."""


LostImport.__module__ = "importguard"


class _Import:
    """One import in flight: its record and what finishing it needs.

    A bare ``_Import`` stands for an import waiting for its parent package
    (``import a.b`` imports ``a`` first); the subclasses are also the loader
    stand-ins put on the spec.
    """

    __slots__ = ("rec", "phase", "frame", "state", "spec", "real")

    def __init__(self, rec: "list[Any]", phase: int, frame: "Any", state: "list[Any]") -> None:
        self.rec = rec
        self.phase = phase
        self.frame = frame  # importlib's frame of this import, while it can die unseen
        self.state = state
        self.spec: "Any" = None
        self.real: "Any" = None

    def __repr__(self) -> str:
        return f"<importguard stand-in for {self.real!r}>"


class _Exec(_Import):
    """Loader stand-in for a loader with ``exec_module``."""

    __slots__ = ()

    # Each entry point is one try: an asynchronous exception (a signal handler
    # raising) may land between any two calls, and must leave no record on the
    # thread's stack; `stage` says what it interrupted.
    def create_module(self, spec: "Any") -> "Any":
        state = self.state
        if state[3] or _getlimit() < _LOW or len(state[0]) >= _DEEP - 1:
            if _getlimit() < _LOW and _gc._callbacks is not None:
                _gc.low_limit()  # as the function engine: no callback frame past the edge
            if _limit[0] != _getlimit():
                _limit[0] = _getlimit() + _limit[1]  # the program set its own limit since
            state[3] += _MARGIN
            _limit[1] += _MARGIN
            _limit[0] += _MARGIN
            _setlimit(_limit[0])
        try:
            real = self.real
            self.phase = _CREATE
            if state[3]:
                room = _held(state[0])  # this frame, while the real create_module runs
                if _limit[0] != _getlimit():
                    _limit[0] = _getlimit() + _limit[1]  # the program set its own limit since
                room -= state[3]
                state[3] += room
                _limit[1] += room
                _limit[0] += room
                while True:
                    try:
                        _setlimit(_limit[0])
                        break
                    except RecursionError:  # at the very edge: one frame short (see _room)
                        state[3] += 1
                        _limit[1] += 1
                        _limit[0] += 1
            # The real one may look at its spec; importlib then calls exec_module
            # through it: this stand-in, or a loader wrapping it (wrapt's).
            outer = spec.loader
            spec.loader = real
            module = real.create_module(spec)
            if state[3]:
                if _limit[0] != _getlimit():
                    _limit[0] = _getlimit() + _limit[1]  # the program set its own limit since
                state[3] += _MARGIN
                _limit[1] += _MARGIN
                _limit[0] += _MARGIN
                _setlimit(_limit[0])
            spec.loader = outer
            if module is None:
                # What importlib would create, with the real loader already on it,
                # so that importlib's attribute setup leaves __loader__ alone.
                module = _ModuleType(spec.name)
                module.__loader__ = real
            self.phase = _CREATED
            if state[3]:
                room = _held(state[0])
                if _limit[0] != _getlimit():
                    _limit[0] = _getlimit() + _limit[1]  # the program set its own limit since
                room -= state[3]
                state[3] += room
                _limit[1] += room
                _limit[0] += room
                while True:
                    try:
                        _setlimit(_limit[0])
                        break
                    except RecursionError:  # at the very edge: one frame short (see _room)
                        state[3] += 1
                        _limit[1] += 1
                        _limit[0] += 1
        except BaseException as exc:
            if _limit[0] != _getlimit():
                _limit[0] = _getlimit() + _limit[1]  # the program set its own limit since
            state[3] += _MARGIN
            _limit[1] += _MARGIN
            _limit[0] += _MARGIN
            _setlimit(_limit[0])
            _fail(self, exc, 7)
            _strip(exc, _CREATE_CODE)
            if state[3]:
                room = _held(state[0])
                if _limit[0] != _getlimit():
                    _limit[0] = _getlimit() + _limit[1]  # the program set its own limit since
                room -= state[3]
                state[3] += room
                _limit[1] += room
                _limit[0] += room
                while True:
                    try:
                        _setlimit(_limit[0])
                        break
                    except RecursionError:  # at the very edge: one frame short (see _room)
                        state[3] += 1
                        _limit[1] += 1
                        _limit[0] += 1
            raise
        return module

    def exec_module(self, module: "Any") -> None:
        state = self.state
        if state[3] or _getlimit() < _LOW or len(state[0]) >= _DEEP - 1:
            if _limit[0] != _getlimit():
                _limit[0] = _getlimit() + _limit[1]  # the program set its own limit since
            state[3] += _MARGIN
            _limit[1] += _MARGIN
            _limit[0] += _MARGIN
            _setlimit(_limit[0])
        stage = 0
        try:
            spec = self.spec
            real = self.real
            if spec.loader is self:
                spec.loader = real
            # The common case without a call: the module this stand-in's
            # create_module made, the real loader already on it.
            if (
                type(module) is not _ModuleType
                or (namespace := module.__dict__).get("__loader__") is self
                or namespace.get("__spec__") is not spec
            ):
                _unwrap_module(self, module, real)
            self.phase = _EXEC
            self.frame = None
            if state[3]:
                room = _held(state[0])  # this frame, while the module runs
                if _limit[0] != _getlimit():
                    _limit[0] = _getlimit() + _limit[1]  # the program set its own limit since
                room -= state[3]
                state[3] += room
                _limit[1] += room
                _limit[0] += room
                while True:
                    try:
                        _setlimit(_limit[0])
                        break
                    except RecursionError:  # at the very edge: one frame short (see _room)
                        state[3] += 1
                        _limit[1] += 1
                        _limit[0] += 1
            real.exec_module(module)
            stage = 1
            if state[3]:
                if _limit[0] != _getlimit():
                    _limit[0] = _getlimit() + _limit[1]  # the program set its own limit since
                state[3] += _MARGIN
                _limit[1] += _MARGIN
                _limit[0] += _MARGIN
                _setlimit(_limit[0])
            strict = _loaded_ok(self)
            if state[3]:
                room = _held(state[0])
                if _limit[0] != _getlimit():
                    _limit[0] = _getlimit() + _limit[1]  # the program set its own limit since
                room -= state[3]
                state[3] += room
                _limit[1] += room
                _limit[0] += room
                while True:
                    try:
                        _setlimit(_limit[0])
                        break
                    except RecursionError:  # at the very edge: one frame short (see _room)
                        state[3] += 1
                        _limit[1] += 1
                        _limit[0] += 1
        except BaseException as exc:
            if _limit[0] != _getlimit():
                _limit[0] = _getlimit() + _limit[1]  # the program set its own limit since
            state[3] += _MARGIN
            _limit[1] += _MARGIN
            _limit[0] += _MARGIN
            _setlimit(_limit[0])
            if stage:
                if _after_interrupted(self, exc):
                    raise
                return
            # importlib takes the module out of sys.modules next (and tolerates
            # it gone): done here, the record is settled as the function
            # engine's is, after it (repeats merge, error callbacks see it gone).
            _modules.pop(self.spec.name, None)
            _fail(self, exc, 6)
            _strip(exc, _EXEC_CODE)
            if state[3]:
                room = _held(state[0])
                if _limit[0] != _getlimit():
                    _limit[0] = _getlimit() + _limit[1]  # the program set its own limit since
                room -= state[3]
                state[3] += room
                _limit[1] += room
                _limit[0] += room
                while True:
                    try:
                        _setlimit(_limit[0])
                        break
                    except RecursionError:  # at the very edge: one frame short (see _room)
                        state[3] += 1
                        _limit[1] += 1
                        _limit[0] += 1
            raise
        if strict is not None:
            raise strict


class _Namespace(_Exec):
    """Stand-in for a namespace package's missing loader (``spec.loader`` None;
    PathFinder's on 3.10): importlib's own namespace set-up runs in exec_module."""

    __slots__ = ()

    def create_module(self, spec: "Any") -> "Any":
        try:
            module = _ModuleType(spec.name)
            module.__file__ = None  # where importlib's namespace set-up puts it (bpo-32305)
            self.phase = _CREATED
        except BaseException as exc:
            _fail(self, exc, 7)
            state = self.state
            if state[3]:
                room = _held(state[0])
                if _limit[0] != _getlimit():
                    _limit[0] = _getlimit() + _limit[1]  # the program set its own limit since
                room -= state[3]
                state[3] += room
                _limit[1] += room
                _limit[0] += room
                while True:
                    try:
                        _setlimit(_limit[0])
                        break
                    except RecursionError:  # at the very edge: one frame short (see _room)
                        state[3] += 1
                        _limit[1] += 1
                        _limit[0] += 1
            raise
        return module

    def exec_module(self, module: "Any") -> None:
        state = self.state
        if state[3] or _getlimit() < _LOW or len(state[0]) >= _DEEP - 1:
            if _limit[0] != _getlimit():
                _limit[0] = _getlimit() + _limit[1]  # the program set its own limit since
            state[3] += _MARGIN
            _limit[1] += _MARGIN
            _limit[0] += _MARGIN
            _setlimit(_limit[0])
        stage = 0
        try:
            spec = self.spec
            if spec.loader is self:
                spec.loader = None
            if getattr(module, "__loader__", None) is self:
                module.__loader__ = None
            self.phase = _EXEC
            self.frame = None
            if state[3]:
                room = _held(state[0])
                if _limit[0] != _getlimit():
                    _limit[0] = _getlimit() + _limit[1]  # the program set its own limit since
                room -= state[3]
                state[3] += room
                _limit[1] += room
                _limit[0] += room
                while True:
                    try:
                        _setlimit(_limit[0])
                        break
                    except RecursionError:  # at the very edge: one frame short (see _room)
                        state[3] += 1
                        _limit[1] += 1
                        _limit[0] += 1
            if _init_module_attrs is not None:
                _init_module_attrs(spec, module)  # sets the namespace loader on spec and module
            if spec.loader is not None:
                spec.loader.exec_module(module)
            stage = 1
            if state[3]:
                if _limit[0] != _getlimit():
                    _limit[0] = _getlimit() + _limit[1]  # the program set its own limit since
                state[3] += _MARGIN
                _limit[1] += _MARGIN
                _limit[0] += _MARGIN
                _setlimit(_limit[0])
            strict = _loaded_ok(self)
            if state[3]:
                room = _held(state[0])
                if _limit[0] != _getlimit():
                    _limit[0] = _getlimit() + _limit[1]  # the program set its own limit since
                room -= state[3]
                state[3] += room
                _limit[1] += room
                _limit[0] += room
                while True:
                    try:
                        _setlimit(_limit[0])
                        break
                    except RecursionError:  # at the very edge: one frame short (see _room)
                        state[3] += 1
                        _limit[1] += 1
                        _limit[0] += 1
        except BaseException as exc:
            if _limit[0] != _getlimit():
                _limit[0] = _getlimit() + _limit[1]  # the program set its own limit since
            state[3] += _MARGIN
            _limit[1] += _MARGIN
            _limit[0] += _MARGIN
            _setlimit(_limit[0])
            if stage:
                if _after_interrupted(self, exc):
                    raise
                return
            _modules.pop(self.spec.name, None)  # as in _Exec.exec_module
            _fail(self, exc, 6)
            _strip(exc, _NS_EXEC_CODE)
            if state[3]:
                room = _held(state[0])
                if _limit[0] != _getlimit():
                    _limit[0] = _getlimit() + _limit[1]  # the program set its own limit since
                room -= state[3]
                state[3] += room
                _limit[1] += room
                _limit[0] += room
                while True:
                    try:
                        _setlimit(_limit[0])
                        break
                    except RecursionError:  # at the very edge: one frame short (see _room)
                        state[3] += 1
                        _limit[1] += 1
                        _limit[0] += 1
            raise
        if strict is not None:
            raise strict


class _Legacy(_Import):
    """Loader stand-in for a loader with ``load_module`` only."""

    __slots__ = ()

    def __getattr__(self, attr: str) -> "Any":
        # importlib names the loader in its ImportWarning (_object_name).
        if attr == "__qualname__":
            real = self.real
            return getattr(real, "__qualname__", None) or type(real).__qualname__
        raise AttributeError(attr)

    def load_module(self, fullname: str) -> "Any":
        state = self.state
        if state[3] or _getlimit() < _LOW or len(state[0]) >= _DEEP - 1:
            if _limit[0] != _getlimit():
                _limit[0] = _getlimit() + _limit[1]  # the program set its own limit since
            state[3] += _MARGIN
            _limit[1] += _MARGIN
            _limit[0] += _MARGIN
            _setlimit(_limit[0])
        stage = 0
        try:
            spec = self.spec
            real = self.real
            if spec.loader is self:
                spec.loader = real
            self.phase = _EXEC
            self.frame = None
            if state[3]:
                room = _held(state[0])
                if _limit[0] != _getlimit():
                    _limit[0] = _getlimit() + _limit[1]  # the program set its own limit since
                room -= state[3]
                state[3] += room
                _limit[1] += room
                _limit[0] += room
                while True:
                    try:
                        _setlimit(_limit[0])
                        break
                    except RecursionError:  # at the very edge: one frame short (see _room)
                        state[3] += 1
                        _limit[1] += 1
                        _limit[0] += 1
            module = real.load_module(fullname)
            stage = 1
            if state[3]:
                if _limit[0] != _getlimit():
                    _limit[0] = _getlimit() + _limit[1]  # the program set its own limit since
                state[3] += _MARGIN
                _limit[1] += _MARGIN
                _limit[0] += _MARGIN
                _setlimit(_limit[0])
            strict = _loaded_ok(self)
            if state[3]:
                room = _held(state[0])
                if _limit[0] != _getlimit():
                    _limit[0] = _getlimit() + _limit[1]  # the program set its own limit since
                room -= state[3]
                state[3] += room
                _limit[1] += room
                _limit[0] += room
                while True:
                    try:
                        _setlimit(_limit[0])
                        break
                    except RecursionError:  # at the very edge: one frame short (see _room)
                        state[3] += 1
                        _limit[1] += 1
                        _limit[0] += 1
        except BaseException as exc:
            if _limit[0] != _getlimit():
                _limit[0] = _getlimit() + _limit[1]  # the program set its own limit since
            state[3] += _MARGIN
            _limit[1] += _MARGIN
            _limit[0] += _MARGIN
            _setlimit(_limit[0])
            if stage:
                if _after_interrupted(self, exc):
                    raise
                return module
            _fail(self, exc, 7)
            _strip(exc, _LOAD_CODE)
            if state[3]:
                room = _held(state[0])
                if _limit[0] != _getlimit():
                    _limit[0] = _getlimit() + _limit[1]  # the program set its own limit since
                room -= state[3]
                state[3] += room
                _limit[1] += room
                _limit[0] += room
                while True:
                    try:
                        _setlimit(_limit[0])
                        break
                    except RecursionError:  # at the very edge: one frame short (see _room)
                        state[3] += 1
                        _limit[1] += 1
                        _limit[0] += 1
            raise
        if strict is not None:
            raise strict
        return module


class Finder:
    """importguard's finder (``IMPORTGUARD_ENGINE=finder``): it finds nothing
    itself; it records the imports that pass through it."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<importguard finder>"

    def find_spec(self, name: str, path: "Any" = None, target: "Any" = None) -> "Any":
        if not _active:
            return None
        # A real import: importlib's _find_spec asking, on behalf of importlib's
        # own import code (_find_and_load_unlocked on 3.10-3.14).
        try:
            asking = _getframe(1)
        except ValueError:
            return None
        importing = asking.f_back
        if importing is None or asking.f_code.co_filename != _IMPORTLIB or importing.f_code.co_filename != _IMPORTLIB:
            # A look-up (importlib.util.find_spec, reload, pkgutil...): a finder
            # without modules answers None. Unless a finder ahead of this one is
            # searching again for the import in progress (wrapt).
            outer = _on_behalf(asking, name, target)
            if outer is None:
                return None
            importing = outer.f_back
            behalf = True
        else:
            behalf = False
        try:
            state = _records.threads.state  # per greenlet once greenlet is imported
        except AttributeError:
            state = _thread_state()
        if state[2]:  # importguard's own work
            return _own_spec(name) if name[:12] == "importguard." else None
        if state[3] or _getlimit() < _LOW or len(state[0]) >= _DEEP - 1:
            if _limit[0] != _getlimit():
                _limit[0] = _getlimit() + _limit[1]  # the program set its own limit since
            state[3] += _MARGIN
            _limit[1] += _MARGIN
            _limit[0] += _MARGIN
            _setlimit(_limit[0])
        finders: "Any" = sys.meta_path
        rest: "list[Any] | None"
        if type(finders) is list and finders and finders[0] is self:
            rest = finders[1:]
        else:
            rest = _after(self, finders)
            if rest is None:  # not in sys.meta_path (any more): importlib is iterating a copy
                return None
        pushed: "list[_Import]" = []
        aux = None
        stage = 0
        spec = None
        try:
            aux = _begin(state, name, importing, pushed)
            if aux is None:  # a before-callback imported the module
                if state[3]:
                    room = _held(state[0])
                    if _limit[0] != _getlimit():
                        _limit[0] = _getlimit() + _limit[1]  # the program set its own limit since
                    room -= state[3]
                    state[3] += room
                    _limit[1] += room
                    _limit[0] += room
                    while True:
                        try:
                            _setlimit(_limit[0])
                            break
                        except RecursionError:  # at the very edge: one frame short (see _room)
                            state[3] += 1
                            _limit[1] += 1
                            _limit[0] += 1
                return _reuse(name)
            if state[3]:
                room = _held(state[0])  # this frame, while the finders after it search
                if _limit[0] != _getlimit():
                    _limit[0] = _getlimit() + _limit[1]  # the program set its own limit since
                room -= state[3]
                state[3] += room
                _limit[1] += room
                _limit[0] += room
                while True:
                    try:
                        _setlimit(_limit[0])
                        break
                    except RecursionError:  # at the very edge: one frame short (see _room)
                        state[3] += 1
                        _limit[1] += 1
                        _limit[0] += 1
            stage = 1
            for finder in rest:
                try:
                    find = finder.find_spec
                except AttributeError:
                    if _legacy_find is None:
                        continue
                    spec = _legacy_find(finder, name, path)
                else:
                    spec = find(name, path, target)
                if spec is not None:
                    break
            stage = 2
            if state[3]:
                if _limit[0] != _getlimit():
                    _limit[0] = _getlimit() + _limit[1]  # the program set its own limit since
                state[3] += _MARGIN
                _limit[1] += _MARGIN
                _limit[0] += _MARGIN
                _setlimit(_limit[0])
            if spec is not None:
                _wrap(aux, name, spec)
                if state[3]:
                    room = _held(state[0])
                    if _limit[0] != _getlimit():
                        _limit[0] = _getlimit() + _limit[1]  # the program set its own limit since
                    room -= state[3]
                    state[3] += room
                    _limit[1] += room
                    _limit[0] += room
                    while True:
                        try:
                            _setlimit(_limit[0])
                            break
                        except RecursionError:  # at the very edge: one frame short (see _room)
                            state[3] += 1
                            _limit[1] += 1
                            _limit[0] += 1
                return spec
            miss = _missed(aux, name, importing, behalf)
            if state[3]:
                room = _held(state[0])
                if _limit[0] != _getlimit():
                    _limit[0] = _getlimit() + _limit[1]  # the program set its own limit since
                room -= state[3]
                state[3] += room
                _limit[1] += room
                _limit[0] += room
                while True:
                    try:
                        _setlimit(_limit[0])
                        break
                    except RecursionError:  # at the very edge: one frame short (see _room)
                        state[3] += 1
                        _limit[1] += 1
                        _limit[0] += 1
        except BaseException as exc:
            if _limit[0] != _getlimit():
                _limit[0] = _getlimit() + _limit[1]  # the program set its own limit since
            state[3] += _MARGIN
            _limit[1] += _MARGIN
            _limit[0] += _MARGIN
            _setlimit(_limit[0])
            if aux is None:  # starting the record
                if _begin_interrupted(state, pushed, exc):
                    raise
                return None
            if stage == 1:  # a finder raised: the import fails with it
                _fail(aux, exc, 6)
                _strip(exc, _FIND_CODE)
                if state[3]:
                    room = _held(state[0])
                    if _limit[0] != _getlimit():
                        _limit[0] = _getlimit() + _limit[1]  # the program set its own limit since
                    room -= state[3]
                    state[3] += room
                    _limit[1] += room
                    _limit[0] += room
                    while True:
                        try:
                            _setlimit(_limit[0])
                            break
                        except RecursionError:  # at the very edge: one frame short (see _room)
                            state[3] += 1
                            _limit[1] += 1
                            _limit[0] += 1
                raise
            if _finish_interrupted(aux, exc, "failure" if spec is None else "start"):
                raise
            if state[3]:
                room = _held(state[0])
                if _limit[0] != _getlimit():
                    _limit[0] = _getlimit() + _limit[1]  # the program set its own limit since
                room -= state[3]
                state[3] += room
                _limit[1] += room
                _limit[0] += room
                while True:
                    try:
                        _setlimit(_limit[0])
                        break
                    except RecursionError:  # at the very edge: one frame short (see _room)
                        state[3] += 1
                        _limit[1] += 1
                        _limit[0] += 1
            return spec
        if miss is not None:
            raise miss  # outside any except: the same __context__ as importlib's own
        return None


def _held(stack: "list[list[Any]]") -> int:
    """This engine's frames on the thread's Python stack for the imports on
    *stack*: one for each import in its search, ``create_module`` or
    ``exec_module`` (the finder's or the stand-in's frame), none for an import
    waiting for its parent package or between two calls of importlib's."""
    held = 0
    for rec in stack:
        aux = _inflight.get(id(rec))
        if aux is not None and aux.phase < _FOUND:
            held += 1
    return held


def _room(state: "list[Any]") -> None:
    """The function engine's recursion-limit rule (``_hook``), for this
    engine's frames: the limit is raised by exactly the frames it holds
    (:func:`_held`), so the program's frames meet the limit where they would
    without importguard. Applied where those frames change, when the thread
    pays (the limit below 1,000, 16 imports in progress, or room already held).

    The engine's own frames (``find_spec``, ``create_module``, ``exec_module``,
    ``load_module``) do not call this: they count with :func:`_held` and set
    the limit inline, the counts and ``setrecursionlimit`` with no call between
    them. From this function, two frames deeper, CPython refused the lower
    limit at the very edge (no limit at or below the current depth), and the
    program got one frame more than without importguard; and a signal handler,
    which runs where a call returns, could land between the counts and the
    limit and leave them apart for good. Refused even so (the import failed
    at the edge itself), the room stays one frame higher per refusal until the
    next change. This function serves the places with no frame of the
    engine's on the stack."""
    _records.set_room(state, _held(state[0]))


def _own_spec(name: str) -> "Any":
    """importguard's own modules, imported in quiet mode, load from its
    directory with a plain loader (``_hook.own_spec``), not through import
    hooks the program put behind this finder."""
    return _hook.own_spec(name)


def _strip(exc: BaseException, code: "Any") -> None:
    """Drop this module's own frame from *exc*'s traceback before a bare raise
    (3.11+ re-raises ``exc.__traceback__``; 3.10 the traceback saved when it
    was caught): where import.c does not strip importlib's frames it would
    show as one more importlib line."""
    tb = exc.__traceback__
    if _RERAISE_READS_TB and tb is not None and tb.tb_frame.f_code is code:
        exc.__traceback__ = tb.tb_next


def _after(me: "Finder", finders: "Any") -> "list[Any] | None":
    """The finders after *me* in *finders*, or None if *me* is not there."""
    listed: "list[Any]" = list(finders)
    for i, finder in enumerate(listed):
        if finder is me:
            return listed[i + 1 :]
    return None


def _on_behalf(asking: "Any", name: str, target: "Any") -> "Any":
    """The ``_find_spec`` frame of the real import of *name* that a look-up is
    made for, if the look-up (*asking* is the frame that asked this finder)
    comes from a finder asked by that import: wrapt's post-import hook finder
    sits ahead of this one and calls ``importlib.util.find_spec`` for the
    modules it watches, then wraps the loader of the spec it gets."""
    if asking.f_code is not _FIND_SPEC or target is not None:
        return None
    frame = asking.f_back
    for _ in range(8):
        if frame is None:
            return None
        if frame.f_code is _FIND_SPEC:
            above = frame.f_back
            if above is not None and above.f_code.co_filename == _IMPORTLIB and frame.f_locals.get("name") == name:
                return frame
            return None
        frame = frame.f_back
    return None


def _push(state: "list[Any]", name: str, phase: int, frame: "Any", pushed: "list[_Import]") -> "_Import":
    """A new record for *name* on this thread's stack, as the function engine starts one."""
    stack = state[0]
    parent = stack[-1] if stack else None
    rec = [name, parent, state[1], 0, 0, None, None, None, None, None, None, None, None, None]
    aux = _Import(rec, phase, frame, state)
    pushed.append(aux)  # first: whatever interrupts what follows, the caller can undo it
    if parent is None and _hook.otel_on:
        otel_context = _modules.get("opentelemetry.context")
        if otel_context is not None:
            rec[12] = otel_context.get_current()
    _inflight[id(rec)] = aux
    _buffer_append(rec)
    stack.append(rec)
    if parent is None and id(state) not in _importing:
        _importing[id(state)] = state
        _gc.enter()
    return aux


#: The thread states (threads, greenlets) with imports in progress, by id():
#: the collector's callback is in gc.callbacks while there is one (``_gc.enter``
#: and ``leave``, as the function engine brackets its outermost import). A
#: state is entered once (:func:`_push`) and left once, whichever path empties
#: its stack (:func:`_off_stack`, or an interrupt: :func:`_left`).
_importing: "dict[int, list[Any]]" = {}


def _left(state: "list[Any]") -> None:
    """The thread's stack may be empty now: then it no longer holds the callback in."""
    if not state[0] and _importing.pop(id(state), None) is not None:
        _gc.leave()


def _begin(state: "list[Any]", name: str, importing: "Any", pushed: "list[_Import]") -> "_Import | None":
    """Start the record of the import of *name* (importlib's frame *importing*),
    after settling what the thread's stack says about earlier imports.
    Returns None if a before-callback imported the module itself."""
    stack = state[0]
    while stack:
        top = stack[-1]
        aux = _inflight.get(id(top))
        if aux is None or aux.phase == _EXEC:
            break  # this import nests in the module running (its stand-in pops it, whatever happens)
        if aux.phase >= _FOUND and aux.frame is importing:
            # The same import: it waited for its parent package, or a finder
            # ahead dropped the spec this finder gave it and importlib asks again.
            if type(aux) is not _Import:
                _unwrap_spec(aux)
            new = _Import(top, _SEARCH, importing, state)
            pushed.append(new)
            _inflight[id(top)] = new
            return new
        # Anywhere else (the search, create_module, or between two calls of
        # importlib's) an import can only nest in it while its importlib frame
        # runs: a finder or an extension's init importing, a signal handler.
        # Otherwise it ended where this engine did not see it end.
        if aux.frame is not None and _alive(aux.frame, importing):
            break
        _lose(aux)
    for child, frame in _waiting(importing, name):
        # `import a.b` imports `a` first: a.b's import started before a's.
        waiting = _push(state, child, _PENDING, frame, pushed)
        waiting.rec[3] = perf_counter_ns()
        if _before:
            _records.run_callbacks(_before, "before", waiting.rec, None, None)
    aux = _push(state, name, _SEARCH, importing, pushed)
    if _before:
        _records.run_callbacks(_before, "before", aux.rec, None, None)
        if name in _modules:
            # The callback imported the module itself; loading it again would run it twice.
            rec = aux.rec
            rec[3] = rec[4] = perf_counter_ns()
            _off_stack(aux)
            rec[5] = "ok"
            rec[11] = _loaded.get(name)
            return None
    aux.rec[3] = perf_counter_ns()
    return aux


def _begin_interrupted(state: "list[Any]", pushed: "list[_Import]", exc: BaseException) -> bool:
    """An exception escaped :func:`_begin`: undo the records it pushed. True if
    the exception is the program's (the import fails with it, and so do the
    records), False if it is importguard's bug (reported; the import goes on
    unrecorded)."""
    stack = state[0]
    for aux in pushed:
        rec = aux.rec
        _inflight.pop(id(rec), None)
        for i in range(len(stack) - 1, -1, -1):
            if stack[i] is rec:
                del stack[i]
                break
    program = _records.interrupted(state, None, exc, "start")
    _left(state)
    for aux in pushed:
        rec = aux.rec
        if rec[5] is not None:
            continue
        if program:
            now = perf_counter_ns()
            rec[3] = rec[3] or now
            rec[4] = now
            _records.failed(rec, exc, depth=6, status="error")
        else:
            _drop(rec)
    return program


def _waiting(frame: "Any", name: str) -> "list[tuple[str, Any]]":
    """The imports (outermost first, with importlib's frame of each) waiting
    for the import of *name* to finish: the submodules whose import imports
    their parent package first (importlib's frame *frame* of this import)."""
    out: "list[tuple[str, Any]]" = []
    code = frame.f_code
    while True:
        above = frame.f_back  # _find_and_load
        above = above.f_back if above is not None else None
        if above is not None and above.f_code is _GCD:  # the parent imported through _gcd_import
            above = above.f_back
        if above is None or above.f_code is not _CWFR:
            break
        above = above.f_back
        if above is None or above.f_code is not code:
            break
        child = above.f_locals.get("name")
        if type(child) is not str or child.rpartition(".")[0] != name:
            break
        out.append((child, above))
        frame, name = above, child
    out.reverse()
    return out


def _alive(frame: "Any", start: "Any") -> bool:
    """Whether *frame* is *start* or one of its callers (its import still runs)."""
    while start is not None:
        if start is frame:
            return True
        start = start.f_back
    return False


def _reuse(name: str) -> "Any":
    """A before-callback imported the module being imported: importlib will take
    the module's own spec (it checks sys.modules again) and load it a second
    time; give that spec a stand-in loader that hands back the loaded module."""
    module = _modules.get(name)
    spec = getattr(module, "__spec__", None)
    if spec is None or getattr(spec, "loader", None) is None:
        return None
    spec.loader = _Again(spec, spec.loader, module)
    return spec


class _Again:
    """Loader stand-in that returns the module already loaded and runs nothing."""

    __slots__ = ("spec", "real", "module")

    def __init__(self, spec: "Any", real: "Any", module: "Any") -> None:
        self.spec = spec
        self.real = real
        self.module = module

    def create_module(self, spec: "Any") -> "Any":
        return self.module

    def exec_module(self, module: "Any") -> None:
        if self.spec.loader is self:
            self.spec.loader = self.real


def _wrap(aux: "_Import", name: str, spec: "Any") -> None:
    """Give the spec importlib will load a stand-in loader, or settle the import
    now if importlib will fail before calling any loader."""
    target = spec
    if name in _modules:
        # A finder (or the parent package) loaded it during the search: importlib
        # then loads it again with the module's own spec, if it has one.
        try:
            own = _modules[name].__spec__
        except AttributeError:
            own = None
        if own is not None:
            target = own
    loader = target.loader
    if loader is None:
        if target.submodule_search_locations is None:
            return _expected(aux, ImportError("missing loader", name=name))
        cls: "type[_Import]" = _Namespace
    elif hasattr(loader, "exec_module"):
        if not hasattr(loader, "create_module"):
            return _expected(aux, ImportError("loaders that define exec_module() must also define create_module()"))
        cls = _Exec
    elif hasattr(loader, "load_module"):
        cls = _Legacy
    else:
        return None  # importlib fails on it (AttributeError); settled as lost
    stand_in = cls(aux.rec, _FOUND, aux.frame, aux.state)
    stand_in.spec = target
    stand_in.real = loader
    _inflight[id(aux.rec)] = stand_in
    try:
        target.loader = stand_in
    except Exception:
        # A spec whose loader cannot be replaced: the import runs unrecorded.
        _off_stack(stand_in)
        _drop(stand_in.rec)
    return None


def _unwrap_spec(aux: "_Import") -> None:
    spec = aux.spec
    if spec is not None and spec.loader is aux:
        spec.loader = aux.real


def _unwrap_module(aux: "_Import", module: "Any", real: "Any") -> None:
    """Put the real loader back where importlib (or a loader wrapping this
    stand-in, such as wrapt's) set the stand-in on the module."""
    try:
        if getattr(module, "__loader__", None) is aux:
            module.__loader__ = real
        spec = getattr(module, "__spec__", None)
        if spec is not None and spec is not aux.spec and getattr(spec, "loader", None) is aux:
            spec.loader = real
    except Exception:
        pass


def _off_stack(aux: "_Import", exc: "BaseException | None" = None) -> None:
    """Take the record off its thread's stack (and what was left above it,
    see :func:`_settle_above`) and give back the recursion room it took."""
    # Off the stack first: an interrupt anywhere after leaves no record on a
    # stack without its _inflight entry (the room is recomputed by repairs).
    # No call between the two deletions (a signal handler runs where a call returns).
    rec = aux.rec
    stack = aux.state[0]
    key = id(rec)
    if stack and stack[-1] is rec:
        del stack[-1]
        if key in _inflight:
            del _inflight[key]
    else:
        _settle_above(stack, rec, exc)
        _records.unwind(stack, rec)
        _inflight.pop(key, None)
    if not stack and _importing.pop(id(aux.state), None) is not None:
        _gc.leave()


def _drop(rec: "list[Any]") -> None:
    """Forget a record that would say nothing true."""
    buffer = _records.buffer
    for i in range(len(buffer) - 1, -1, -1):
        if buffer[i] is rec:
            del buffer[i]
            break


def _lose(aux: "_Import", pop: bool = True, exc: "BaseException | None" = None) -> None:
    """Settle an import that ended where this engine cannot see: failed with
    *exc* when that is known to be what ended it, else with LostImport.

    Settled before it leaves the stack, with plain stores after the one call
    that reads the clock: interrupted anywhere, the next import finds it
    there again and finishes the job (idempotent)."""
    rec = aux.rec
    if rec[5] is None:
        now = perf_counter_ns()
        rec[4] = rec[4] or now
        if exc is None:
            rec[8] = _LOST
            rec[5] = "error"
        else:
            _records.failed(rec, exc, status="error")
    if pop:
        _off_stack(aux)
    else:
        _inflight.pop(id(rec), None)
    _unwrap_spec(aux)
    aux.frame = None


_LOST: "tuple[Any, ...]" = (
    LostImport,
    "the import ended between finding the module and loading it, where importguard's "
    "finder engine cannot see how (docs/engines.md)",
    [],
    None,
    False,
    None,
)


def _expected(aux: "_Import", exc: BaseException) -> None:
    """importlib will fail this import with (an equal of) *exc* after the spec
    is returned, before any loader runs: settle it now."""
    _failed(aux, exc, "error", depth=8, stand_in=True)


def _missed(aux: "_Import", name: str, importing: "Any", behalf: bool) -> "BaseException | None":
    """No finder had a spec: settle the miss. Returns the exception to raise
    (importlib's own error, where import.c strips importlib's frames from the
    traceback), or None: importlib then searches again and raises it itself."""
    exc = ModuleNotFoundError((_MISS or "No module named ") + repr(name), name=name)
    above = importing.f_back
    above = above.f_back if above is not None else None  # who called _find_and_load
    raising = (
        _RAISE_MISSES
        and not behalf
        and (above is None or above.f_code is _CWFR or above.f_code.co_filename != _IMPORTLIB)
    )
    handler = None
    if (
        "." in name
        and above is not None
        and above.f_code is _CWFR
        and aux.rec[10] is None
        and _modules.get(name, aux) is not None
    ):
        handler = above.f_back  # `from pkg import name`: _handle_fromlist probing for a submodule
        if handler is not None and handler.f_code is not _FROMLIST:
            handler = None
    above = None
    # Settled while the error is the one being handled, as in the function
    # engine's except: what runs now (callbacks, the OpenTelemetry bridge
    # deciding whether a run-time failure was caught) sees it so.
    try:
        raise exc
    except ModuleNotFoundError:
        _failed(aux, exc, "not_found", depth=7, stand_in=not raising, probe=handler)
    exc.__traceback__ = None  # raised afresh by find_spec, as importlib raises it
    return exc if raising else None


def _fail(aux: "_Import", exc: BaseException, depth: int) -> None:
    """The import failed with *exc* (the module's, a loader's or a finder's
    error, or an interrupt): record it, unless recording it is interrupted too."""
    try:
        _failed(aux, exc, "error", depth + 1)
    except BaseException as bug:
        if _finish_interrupted(aux, bug, "failure"):
            raise


def _failed(
    aux: "_Import", exc: BaseException, status: str, depth: int, stand_in: bool = False, probe: "Any" = None
) -> None:
    """The import of *aux* failed with *exc*: the failure path of the function
    engine (``_hook._find_and_load_unlocked``'s ``except``), and the same for
    the imports that were waiting for this one. *depth*: frames from
    ``_records.importer_location`` up to importlib's ``_find_and_load``."""
    rec = aux.rec
    state = aux.state
    # The failure may be the recursion limit itself: room for the bookkeeping
    # (as the function engine gives it), back to this engine's frames at the end.
    _records.set_room(state, state[3] + _MARGIN)
    if aux.phase == _EXEC:
        _children_failed_after_exec(rec, exc)
    rec[4] = perf_counter_ns()
    aux.frame = None
    _off_stack(aux, exc)
    if probe is not None and _records.fromlist_probe(rec, str(exc), probe):
        if not aux.state[0]:  # at run time, per request: repeats are one record
            _records.settled_probe(rec)
    else:
        _records.failed(rec, exc, depth=depth, status=status, stand_in=stand_in)
    if _on_error:
        _records.run_callbacks(_on_error, "error", rec, None, exc)
    stack = aux.state[0]
    while stack:
        waiting = _inflight.get(id(stack[-1]))
        if waiting is None or waiting.phase != _PENDING or waiting.rec[0].rpartition(".")[0] != rec[0]:
            break
        rec = waiting.rec
        rec[4] = perf_counter_ns()
        waiting.frame = None
        _off_stack(waiting)
        _records.failed(rec, exc, depth=depth, status="error", stand_in=stand_in)
        if _on_error:
            _records.run_callbacks(_on_error, "error", rec, None, exc)
    _hook.finish_failed(rec, stack)
    # The room stays raised: the caller gives it back in its own frame (_lower).


def _loaded_ok(aux: "_Import") -> "Exception | None":
    """The module of *aux* executed: finish its record as the function engine
    does (``_hook.finish_loaded``), then settle the imports waiting for it."""
    rec = aux.rec
    name = rec[0]
    rec[4] = perf_counter_ns()
    _off_stack(aux)
    module = _modules.get(name, _MISSING)
    if module is _MISSING:
        # The module deleted itself from sys.modules: importlib raises KeyError(name) next.
        _records.failed(rec, KeyError(name), depth=6, status="error", stand_in=True)
        if _on_error:
            _records.run_callbacks(_on_error, "error", rec, None, KeyError(name))
        return None
    state = aux.state
    stack = state[0]
    strict = _hook.finish_loaded(rec, module, rec[3], state)
    if strict is not None:
        return strict
    # No call for the common case, an import nested in a module's code.
    if stack:
        top = _inflight.get(id(stack[-1]))
        if top is not None and top.phase == _PENDING:
            if type(aux) is not _Legacy and stack[-1][0].rpartition(".")[0] == name:
                _watch(aux.spec, rec, name, module, state)
            _parent_done(state, name)
    elif type(aux) is not _Legacy:
        _watch(aux.spec, rec, name, module, state)
    return None


# importlib's code still runs after exec_module returns, and an asynchronous
# exception there (a signal handler raising) fails the import: _load_unlocked
# takes the module out of sys.modules again. This engine is not on the stack
# then. An import nested in a module's code is settled when that exception
# fails the importing module (_failed_after_exec). A thread's outermost
# import, and a package imported for a submodule waiting on it (`import a.b`
# importing `a`: no frame of this engine's is on the stack for `a.b` either),
# are watched through the one thing importlib does to the spec on its way out,
# ``spec._initializing = False`` in a finally: for that moment the spec's
# class is a subclass whose property sees it. Only those imports pay it.
_watchers: "dict[type, Any]" = {}
_watching: "dict[int, tuple[list[Any], str, Any, type, list[Any]]]" = {}


def _waits_for(top: "list[Any]", name: str) -> bool:
    """Whether the record *top* is a submodule import waiting for the package *name*."""
    waiting = _inflight.get(id(top))
    return waiting is not None and waiting.phase == _PENDING and top[0].rpartition(".")[0] == name


def _watch(spec: "Any", rec: "list[Any]", name: str, module: "Any", state: "list[Any]") -> None:
    cls = type(spec)
    sub = _watchers.get(cls)
    if sub is None:
        try:
            sub = type(
                cls.__name__,
                (cls,),
                {
                    "__slots__": (),
                    "__module__": cls.__module__,
                    "__qualname__": cls.__qualname__,
                    "_initializing": property(_initializing, _initialized),
                },
            )
        except TypeError:
            sub = False
        _watchers[cls] = sub
    if not sub:
        return
    _watching[id(spec)] = (rec, name, module, cls, state)
    try:
        spec.__class__ = sub
    except TypeError:
        _watching.pop(id(spec), None)


def _initializing(spec: "Any") -> "Any":
    return spec.__dict__.get("_initializing", False)


def _initialized(spec: "Any", value: "Any") -> None:
    spec.__dict__["_initializing"] = value
    if value:
        return
    try:
        entry = _watching.pop(id(spec), None)
        if entry is None:
            return
        rec, name, module, cls, state = entry
        object.__setattr__(spec, "__class__", cls)
        if _modules.get(name, _MISSING) is module:
            return
        exc = sys.exc_info()[1]  # what is leaving _load_unlocked through this finally
        if exc is not None:
            _failed_after_exec(rec, exc)
            stack = state[0]
            if stack and _waits_for(stack[-1], name):
                # The submodule import waiting for this package fails with it
                # (and any waiting for that one: _failed settles the chain).
                waiting = _inflight[id(stack[-1])]
                _failed(waiting, exc, "error", depth=4)
                if state[3]:
                    _room(state)  # no frame of this engine's here: as close as allowed
    except Exception:
        pass


def _failed_after_exec(rec: "list[Any]", exc: BaseException) -> None:
    """*rec*'s module ran, then its import failed in importlib's own code with
    *exc*: the record that said ok becomes that failure."""
    if rec[5] != "ok":
        return
    rec[5] = rec[6] = None
    if _loaded.get(rec[0]) is rec:
        del _loaded[rec[0]]
    _records.failed(rec, exc, status="error")
    if _on_error:
        _records.run_callbacks(_on_error, "error", rec, None, exc)


def _children_failed_after_exec(rec: "list[Any]", exc: BaseException) -> None:
    """The import *rec* failed with *exc*: if *exc* came up from importlib's
    loading of a module it imported after that module ran (see _watch), that
    import failed too."""
    tb = exc.__traceback__
    while tb is not None:
        frame = tb.tb_frame
        if frame.f_code.co_name == "_load_unlocked" and frame.f_code.co_filename == _IMPORTLIB:
            spec = frame.f_locals.get("spec")
            name = getattr(spec, "name", None)
            kid = _loaded.get(name) if type(name) is str else None
            if kid is not None and kid[1] is rec and kid[5] == "ok" and name not in _modules:
                _failed_after_exec(kid, exc)
        tb = tb.tb_next


def _parent_done(state: "list[Any]", name: str) -> None:
    """*name* was imported for a submodule import waiting on the stack: settle
    that one if importlib will now return without asking the finders."""
    stack = state[0]
    while stack:
        aux = _inflight.get(id(stack[-1]))
        if aux is None or aux.phase != _PENDING:
            return
        rec = aux.rec
        child = rec[0]
        if child.rpartition(".")[0] != name:
            return
        module = _modules.get(child, _MISSING)
        if module is not _MISSING and module is not None:
            # The package imported the submodule itself ("crazy side-effects" in importlib).
            rec[4] = perf_counter_ns()
            aux.frame = None
            _off_stack(aux)
            _hook.finish_loaded(rec, module, rec[3], state)
            name = child
            continue
        parent = _modules.get(name)
        if parent is not None and not hasattr(parent, "__path__"):
            exc = ModuleNotFoundError(f"{_MISS or 'No module named '}{child!r}; {name!r} is not a package", name=child)
            _failed(aux, exc, "not_found", depth=8, stand_in=True)
        return


def _finish_interrupted(aux: "_Import", exc: BaseException, stage: str) -> bool:
    """An exception escaped this engine's bookkeeping: as ``_records.interrupted``
    (True: it is the program's, re-raise it), with this engine's own state."""
    rec = aux.rec
    current = _inflight.pop(id(rec), None)
    _unwrap_spec(aux)
    if current is not None and current is not aux:
        _unwrap_spec(current)
    aux.frame = None
    _settle_above(aux.state[0], rec, exc)
    try:
        return _records.interrupted(aux.state, rec, exc, stage)
    finally:
        _left(aux.state)


def _after_interrupted(aux: "_Import", exc: BaseException) -> bool:
    """An exception escaped the bookkeeping after the module executed. Unlike
    the function engine's, this point is inside importlib's loading: an
    exception leaving ``exec_module`` fails the import (importlib takes the
    module out of sys.modules again). So the program's exception (a signal
    handler's) makes the record a failure; importguard's own bug does not
    (reported; the import goes on)."""
    rec = aux.rec
    program = not isinstance(exc, Exception) or _records.raised_by_signal_handler(exc)
    if program and rec[5] == "ok":
        rec[5] = rec[6] = None
        if _loaded.get(rec[0]) is rec:
            del _loaded[rec[0]]
    return _finish_interrupted(aux, exc, "failure" if program else "success")


def _settle_above(stack: "list[list[Any]]", rec: "list[Any]", exc: "BaseException | None") -> None:
    """Imports left above *rec* on its stack (they ended unseen): failed with
    *exc* where it is what ended *rec*'s import too (it came up through it),
    else LostImport."""
    for i in range(len(stack) - 1, -1, -1):
        if stack[i] is rec:
            for above in stack[i + 1 :]:
                debris = _inflight.get(id(above))
                if debris is not None:
                    _lose(debris, pop=False, exc=exc)
            return


def settle() -> None:
    """Settle the imports whose end this engine never saw (exit, a report now)."""
    mine = _thread_state()
    for aux in list(_inflight.values()):
        if aux.phase >= _FOUND:
            _lose(aux, pop=aux.state is mine)


def _after_fork() -> None:
    """In a forked child only this thread exists: forget the others' imports."""
    state = _thread_state()
    mine = {id(rec) for rec in state[0]}
    for key in list(_inflight):
        if key not in mine:
            del _inflight[key]
    for key in list(_importing):
        if key != id(state):
            del _importing[key]
            _gc.leave()


# Frames of this module on the import path look like importlib's (see the docstring).
for _function in (
    Finder.find_spec,
    _Exec.create_module,
    _Exec.exec_module,
    _Namespace.create_module,
    _Namespace.exec_module,
    _Legacy.load_module,
):
    _function.__code__ = _function.__code__.replace(co_filename=_IMPORTLIB)
del _function
_FIND_CODE = Finder.find_spec.__code__
_CREATE_CODE = _Exec.create_module.__code__
_EXEC_CODE = _Exec.exec_module.__code__
_NS_EXEC_CODE = _Namespace.exec_module.__code__
_LOAD_CODE = _Legacy.load_module.__code__

_finder = Finder()
_fork_registered = False


def installed() -> bool:
    """Whether the finder is recording (on, and still in ``sys.meta_path``)."""
    return _active and any(entry is _finder for entry in sys.meta_path)


def install() -> bool:
    """Put the finder first in ``sys.meta_path`` (if it is not there yet) and record."""
    global _active, _fork_registered
    if _FIND_SPEC is None:
        _hook.refused = "importlib has no _find_spec that asks the finders of sys.meta_path"
        return False
    if not any(entry is _finder for entry in sys.meta_path):
        sys.meta_path.insert(0, _finder)
    _active = True
    _gc.start()  # the callback goes in while a thread has imports in progress (_push)
    if not _fork_registered and hasattr(sys.modules.get("posix", object()), "register_at_fork"):
        import os

        os.register_at_fork(after_in_child=_after_fork)
        _fork_registered = True
    return True


def uninstall() -> None:
    """Stop recording and leave ``sys.meta_path``; imports in flight still finish their records."""
    global _active
    _active = False
    _gc.stop()
    meta_path = sys.meta_path
    for i, entry in enumerate(meta_path):
        if entry is _finder:
            del meta_path[i]
            break


def register() -> None:
    """Make this the engine behind ``_hook.install``/``uninstall``/``installed``."""
    _hook.use((install, uninstall, installed))
    _records.engine = "finder"
