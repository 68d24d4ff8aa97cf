"""One recording session: start it, follow it across ``fork``, finish it at exit.

``start`` is where both roads in meet: the ``.pth`` bootstrap (``IMPORTGUARD=1``)
and :func:`importguard.install`. Builtins only until exit; the exit handler
imports what the report needs then, inside ``_records.quiet()`` so those imports
are importguard's own and not recorded as the app's.
"""

import os
import sys

from importguard import _hook, _records

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: The effective plain settings of the running session (see ``_config.load``), or None.
settings: "dict[str, Any] | None" = None
_exit_registered = False
_fork_registered = False
_ROOT_PID = "_IMPORTGUARD_ROOT_PID"
#: When this session started (ns since the epoch): a run's start where /proc cannot tell.
_started_ns = 0
#: Where include/exclude came from, for the message at exit if a pattern matched nothing.
_glob_sources: "dict[str, str]" = {}


#: Kept for callers outside the package (benchmarks/advise); see ``_records.private_atexit``.
_private_atexit = _records.private_atexit


def start(new_settings: "dict[str, Any]") -> bool:
    """Install the hook for *new_settings*; returns False (with one message) if it cannot."""
    global settings, _exit_registered, _fork_registered, _started_ns
    is_main = getattr(sys.modules.get("_thread"), "_is_main_interpreter", None)
    if is_main is not None and not is_main():
        # A subinterpreter (3.12+) runs site, so the .pth, again, in the same
        # process: its session would write its report at its end to the main
        # interpreter's path (same pid) and wrap a second os._exit. The session
        # is the main interpreter's; subinterpreters are not recorded.
        return False
    settings = new_settings
    if not _started_ns:
        from time import time_ns

        _started_ns = time_ns()
    for key, env in (("include", "IMPORTGUARD_INCLUDE"), ("exclude", "IMPORTGUARD_EXCLUDE")):
        config = new_settings.get("config")
        _glob_sources[key] = env if env in os.environ else f"[tool.importguard] {key} in {config}" if config else key
    if not new_settings.get("inherit", True):
        os.environ.pop("IMPORTGUARD", None)
    os.environ.setdefault(_ROOT_PID, str(os.getpid()))
    _configure(new_settings)
    if new_settings.get("otel", True):
        _hook.otel_on = True
        trace_module = sys.modules.get("opentelemetry.trace")
        if trace_module is not None:  # installed late, after the app imported OpenTelemetry
            _watch_trace(trace_module)
        else:
            _hook.watch["opentelemetry.trace"] = _watch_trace
    if "greenlet" in sys.modules:
        _hook.follow_greenlets(sys.modules["greenlet"])
    else:
        _hook.watch["greenlet"] = _hook.follow_greenlets
    if not install_engine(new_settings):
        return False
    if not _exit_registered:
        _records.private_atexit().register(at_exit)
        _exit_registered = True
    if os._exit is _real_os_exit:
        os._exit = _exit_now  # type: ignore[assignment]
    for name, wrapper in _EXEC_WRAPPERS.items():
        if getattr(os, name, None) is _REAL_EXEC.get(name):
            setattr(os, name, wrapper)
    _catch_sigterm(bool(new_settings.get("sigterm", True)))
    if _sigterm_on:
        for name in _POOL_MODULES:
            if name in sys.modules:  # installed late, after the program used multiprocessing
                _watch_pool(sys.modules[name])
            else:
                _hook.watch[name] = _watch_pool
    if not _fork_registered and hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_records.reset_after_fork)
        _fork_registered = True
    if new_settings.get("hooks") or new_settings.get("entry_points"):
        _load_hooks(new_settings)
    return True


def _load_hooks(new_settings: "dict[str, Any]") -> None:
    """Register the callbacks the settings name (``_callbacks`` loads only then)."""
    with _records.quiet():
        from importguard import _callbacks

        if new_settings.get("hooks"):
            _callbacks.load_hook_specs(tuple(new_settings["hooks"]), "IMPORTGUARD_HOOKS")
        if new_settings.get("entry_points"):
            _callbacks.load_entry_points()


def _configure(new_settings: "dict[str, Any]") -> None:
    """The one place that writes the hook's and the records' settings: each
    module below takes its own from *new_settings* (``configure``), and what
    the hot path reads is written here, into the hook's globals."""
    _hook.export_settings = new_settings
    if _hook._exports is not None or _exports_at_start(new_settings):
        _hook.exports_on, _hook.check_every_module = _hook.exports().flags
    else:
        # What _exports.configure returns for these settings, without loading
        # it: checks on unless the mode is off, no module needs a look
        # without an __all__. It loads with the first __all__ the hook's
        # inline look cannot clear (_hook.exports).
        _hook.exports_on = str(new_settings.get("exports_mode", "warn")) != "off"
        _hook.check_every_module = False
    _hook.max_records = int(new_settings.get("max_records") or 20_000)
    _records.redact = bool(new_settings.get("redact"))
    _records.count_failures = bool(new_settings.get("metrics"))
    _records.configure_sinks(new_settings)


def _exports_at_start(settings: "dict[str, Any]") -> bool:
    """Whether the export checks need ``_exports`` loaded now: whenever they are
    on, because loaded later it would load inside the program's imports, in
    its ``-X importtime`` tree and in the time of the import that needed it
    (``tests/test_fidelity.py``); or contracts, accepted names, per-module
    modes, stubs or a snapshot (given, or the default ``importguard.lock`` next
    to pyproject.toml, as ``_exports.configure`` looks for it). With
    ``IMPORTGUARD_EXPORTS=off`` and none of these, it never loads."""
    if str(settings.get("exports_mode", "warn")) != "off":
        return True
    if any(settings.get(key) for key in ("exports", "accept", "modes", "stubs", "snapshot")):
        return True
    root = settings.get("project_root")
    return isinstance(root, str) and os.path.exists(os.path.join(root, "importguard.lock"))


def _engine_source(settings: "dict[str, Any]") -> str:
    """Where the engine setting came from, as messages name it."""
    config = settings.get("config")
    if "IMPORTGUARD_ENGINE" in os.environ or not config:
        return "IMPORTGUARD_ENGINE"
    return f"[tool.importguard] engine in {config}"


def install_engine(settings: "dict[str, Any] | None" = None) -> bool:
    """Record with the engine the settings ask for (docs/engines.md).

    ``auto`` takes the function engine (``_hook``) where importlib's private
    function passes ``_hook``'s checks and probe import, else the finder
    (``_finder``), silently: the report and the summary name the engine.
    An engine asked for by name that cannot record here is one line on
    stderr, and importguard stays off.
    """
    settings = settings if settings is not None else (globals()["settings"] or {})
    choice = settings.get("engine") or "auto"
    if choice != "finder":
        if _records.engine == "finder":  # switching back
            _hook.uninstall()
            _hook.use(None)
            _records.engine = "function"
        if _hook.install():
            return True
        if choice == "function":
            sys.stderr.write(
                f"importguard: {_engine_source(settings)}=function, but {_hook.refused}; importguard is off. "
                "Use engine auto or finder to record with importguard's sys.meta_path finder instead.\n"
            )
            return False
    elif _records.engine == "function":
        _hook.uninstall()  # switching from the function engine, if it was on
    from importguard import _finder

    _finder.register()
    if _finder.install():
        return True
    sys.stderr.write(
        f"importguard: the finder engine cannot record on this Python ({_hook.refused}); "
        "importguard is off. Please report this Python version.\n"
    )
    return False


def _watch_trace(module: "Any") -> None:
    """``opentelemetry.trace`` was imported by the app: load the bridge now (cheap: OTel is loaded)."""
    with _records.quiet():
        from importguard import _otel

        patch = getattr(_otel, "on_trace_imported", None)
        if patch is not None:  # else _otel is importing this very moment, and patches at its end
            patch(module)


#: What importguard's SIGTERM handler needs from multiprocessing (see _pool_sigterm).
_POOL_MODULES = ("multiprocessing.pool", "multiprocessing.popen_fork")


def _watch_pool(module: "Any") -> None:
    """``multiprocessing.pool`` or ``.popen_fork`` was imported: re-send a pool worker's lost SIGTERM."""
    try:
        with _records.quiet():
            from importguard import _pool_sigterm

        if module.__name__ == _POOL_MODULES[0]:
            _pool_sigterm.patch_pool(module)
        else:
            _pool_sigterm.patch_popen(module)
    except Exception as exc:
        _records.internal_error("pool SIGTERM re-send", exc, "a pool worker that misses SIGTERM may hang.")


def _want_summary(setting: "Any") -> bool:
    if setting == "auto":
        try:
            return bool(sys.stderr.isatty())
        except Exception:
            return False
    return bool(setting)


def _exit_now(code: int) -> "Any":
    """``os._exit`` while the hook is on: atexit does not run there, so finish the session first.

    Forked children (``os.fork``, multiprocessing's fork and forkserver) leave
    through ``os._exit``; without this their records would never reach a
    report. The price: ``os._exit`` is this Python function, not the builtin.
    """
    try:
        at_exit()
    except BaseException:
        pass
    _real_os_exit(code)


_real_os_exit = os._exit
_finished_pid = 0
#: A signal that arrived while at_exit was writing: the process dies of it once that is done.
_die_after = 0
_finishing = False


# -- SIGTERM ---------------------------------------------------------------
# A process killed by SIGTERM with the default disposition runs no atexit
# handler: Kubernetes, systemd and supervisors end processes that way, and
# multiprocessing's Pool.terminate() its workers. While SIGTERM's disposition
# is SIG_DFL, importguard puts a Python-level handler in its place that
# finishes the session and then dies of the signal exactly as the default
# disposition would (the wait status says "killed by SIGTERM"). The program
# sees SIG_DFL: the builtin _signal module's getsignal/signal (which the
# signal module calls through) are wrapped to show it, and a program setting
# SIG_DFL gets importguard's handler back. Importing ``signal`` here is not
# possible: it imports enum, which the program may not.
#
# The price: a Python handler runs only in the main thread, between bytecodes.
# A main thread inside one long C call that does not return on EINTR dies when
# that call returns, not at once as without importguard; and a SIGTERM caught
# just before the main thread enters a wait that only another process ends (a
# Pool worker's sem_wait on the lock its terminating parent holds) is never
# acted on: the process waits for ever where SIG_DFL kills it. The ``sigterm``
# setting (on by default) leaves SIG_DFL alone for programs that cannot take that.

_signal: "Any" = sys.modules.get("_signal")
_SIGTERM: int = getattr(_signal, "SIGTERM", 0)
_SIG_DFL: "Any" = getattr(_signal, "SIG_DFL", 0)
_real_getsignal: "Any" = getattr(_signal, "getsignal", None)
_real_signal: "Any" = getattr(_signal, "signal", None)
#: The ``sigterm`` setting: off, SIGTERM keeps (or gets back) SIG_DFL.
_sigterm_on = True
#: Bound on handing pending spans to the exporter when the process ends by a signal or exec.
SPAN_FLUSH_TIMEOUT_S = 2.0


def _on_sigterm(signum: int, frame: "Any") -> None:
    """SIGTERM with the default disposition: write the report, flush spans, die of the signal."""
    global _die_after
    if _finishing:
        # at_exit is writing the report (the signal came during the normal exit,
        # or a second one came): it dies of the signal once that is done.
        _die_after = signum
        return
    try:
        at_exit()
        _flush_spans(SPAN_FLUSH_TIMEOUT_S)
    except BaseException:
        pass
    _die(signum)


def _die(signum: int) -> None:
    """End the process by *signum* with its default disposition, as if importguard had no handler."""
    try:
        _real_signal(signum, _SIG_DFL)
        mask = getattr(_signal, "pthread_sigmask", None)
        if mask is not None:
            mask(_signal.SIG_UNBLOCK, [signum])
        _signal.raise_signal(signum)
        os.kill(os.getpid(), signum)
    finally:
        _real_os_exit(128 + signum)  # not reached: the signal's default action ends the process


def _getsignal(signalnum: int, /) -> "Any":
    handler = _real_getsignal(signalnum)
    return _SIG_DFL if handler is _on_sigterm else handler


def _setsignal(signalnum: int, handler: "Any", /) -> "Any":
    if handler is _on_sigterm:  # somebody kept what getsignal hid, and puts it back
        handler = _SIG_DFL
    if (
        isinstance(signalnum, int)
        and signalnum == _SIGTERM
        and isinstance(handler, int)
        and handler == _SIG_DFL
        and settings is not None
        and _sigterm_on
    ):
        previous = _real_signal(signalnum, _on_sigterm)
    else:
        previous = _real_signal(signalnum, handler)
    return _SIG_DFL if previous is _on_sigterm else previous


for _name, _wrapper in (("getsignal", _getsignal), ("signal", _setsignal)):
    _wrapper.__name__ = _wrapper.__qualname__ = _name
    _wrapper.__doc__ = getattr(getattr(_signal, _name, None), "__doc__", None)
    _wrapper.__module__ = "_signal"


def _catch_sigterm(on: bool = True) -> None:
    """Put the handler in place of SIGTERM's default disposition (main thread only);
    with *on* false (the ``sigterm`` setting off), put SIG_DFL back if it is ours."""
    global _sigterm_on
    _sigterm_on = on
    if _real_signal is None or not _SIGTERM:
        return
    try:
        if not on:
            if _real_getsignal(_SIGTERM) is _on_sigterm:  # a restart with the setting now off
                _real_signal(_SIGTERM, _SIG_DFL)
            return
        if _signal.getsignal is not _getsignal:
            _signal.getsignal = _getsignal
            _signal.signal = _setsignal
        if _real_getsignal(_SIGTERM) == _SIG_DFL:
            _real_signal(_SIGTERM, _on_sigterm)
    except (ValueError, OSError):
        pass  # not the main thread (install() from a thread): the default disposition stays


def _flush_spans(timeout_s: float) -> None:
    """Hand the import spans still pending to the exporter, within *timeout_s*.

    For an end that skips atexit (a signal, exec), where the SDK's own exit
    flush does not run either. Through the sinks registered with the records
    (the OpenTelemetry bridge, if the program used OpenTelemetry).
    """
    for _setup, finish, _live in list(_records.sinks):
        with _records.quiet():
            finish(timeout_s)  # each sink's own bounded final flush


# -- exec ------------------------------------------------------------------
# os.execv/execve replace the process image: no atexit, no report. Every exec*
# function of os calls one of these two through the module's globals.

_REAL_EXEC: "dict[str, Any]" = {name: getattr(os, name) for name in ("execv", "execve") if hasattr(os, name)}


def _before_exec() -> None:
    """Write the report and flush spans before the image is replaced. Not final:
    if the exec fails, the process goes on and its exit writes the whole report again."""
    global _finishing
    if settings is None or _finishing:
        return
    _finishing = True  # before any call: a SIGTERM handled from here on waits for the report
    try:
        if _finished_pid != os.getpid():
            _finish()
            _flush_spans(SPAN_FLUSH_TIMEOUT_S)
    except BaseException:
        pass
    finally:
        _finishing = False
        if _die_after:
            _die(_die_after)


def _exec_wrapper(name: str) -> "Any":
    real = _REAL_EXEC[name]

    def wrapper(*args: "Any", **kwargs: "Any") -> "Any":
        _before_exec()
        return real(*args, **kwargs)

    wrapper.__name__ = wrapper.__qualname__ = name
    wrapper.__doc__ = real.__doc__
    wrapper.__module__ = real.__module__
    wrapper.__wrapped__ = real  # type: ignore[attr-defined]
    return wrapper


_EXEC_WRAPPERS = {name: _exec_wrapper(name) for name in _REAL_EXEC}


def at_exit() -> None:
    """Settle what is left, write the report, print the summary. Never raises."""
    global _finished_pid, _finishing
    if settings is None or _finishing:
        return
    _finishing = True  # before any call: a SIGTERM handled from here on waits for the report
    exc = None
    try:
        if _finished_pid == os.getpid():
            return
        _finished_pid = os.getpid()
        exc = getattr(sys, "last_exc", None) or getattr(sys, "last_value", None)
        _finish()
        _records.release()
    finally:
        _finishing = False
        if _die_after:
            _flush_spans(SPAN_FLUSH_TIMEOUT_S)
            _die(_die_after)
        if isinstance(exc, KeyboardInterrupt) and sys.version_info < (3, 13):
            # CPython 3.10-3.12 exits by SIGINT after an uncaught KeyboardInterrupt only while
            # _Py_UnhandledKeyboardInterrupt is set; any exec/eval of a string (namedtuple,
            # enum, imported above for the report) clears it. An exec that raises it sets it again.
            try:
                exec("raise KeyboardInterrupt", {})
            except KeyboardInterrupt:
                pass


def _finish() -> None:
    # The program's recursion limit is the program's: writing the report (at a
    # limit of 15, or from a RecursionError deep down) gets room of its own.
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(limit + _records.MARGIN * 10)
    try:
        _finish_session()
    finally:
        try:
            sys.setrecursionlimit(limit)
        except (RecursionError, ValueError):
            pass


def _finish_session() -> None:
    if settings is None:
        return
    if settings.get("otlp"):
        try:
            with _records.quiet():
                _records.settle_at_exit()
                from importguard import _otel

                _otel.send_otlp(settings["otlp"])
        except ImportError as exc:
            _records.internal_error(
                "sending spans to " + settings["otlp"],
                exc,
                "install the sdk extra: pip install 'importguard[sdk]'.",
                once="otlp",
            )
        except Exception as exc:
            _records.internal_error("sending spans to " + settings["otlp"], exc, "no spans were sent.", once="otlp")
    with _records.quiet():
        try:
            if _records.engine == "finder":
                from importguard import _finder

                _finder.settle()
            _records.settle_at_exit()
        except Exception as exc:
            _records.internal_error("settling failures at exit", exc)
        path = settings.get("report")
        written = None
        data = None
        summary = _want_summary(settings.get("summary", "auto"))
        if path:
            try:
                from importguard import _report

                # Streamed unless the summary needs every record's dict anyway.
                data = _report.build(settings, stream=not summary)
                target = path.replace("{pid}", str(os.getpid()))
                found = _report.suffix_of(target)
                write = _report.write_json
                if found is not None and found[1] != "json":
                    from importguard import _formats  # the common case, JSON, goes without it

                    write = _formats.write_report
                written = write(target, data, claim=lambda: _report.claim(path, _ROOT_PID, _started_ns))
                if isinstance(data["imports"], _report.Stream):
                    data = None
            except Exception as exc:
                data = None  # the summary must count this error too
                shown = path if len(path) <= 200 else path[:200] + "..."
                _records.internal_error("writing the report", exc, f"no report was written to {shown}.", once="report")
        if summary:
            try:
                from importguard import _report, _summary

                sys.stderr.write(_summary.render_report(data or _report.build(settings), written))
                if path and written and _report.taken is not None:
                    sys.stderr.write(_report.sibling_line(path, written, _report.taken))
            except Exception as exc:
                _records.internal_error("printing the summary", exc, "no summary printed.")
        # Only where the globs were used (a report, the summary, spans), and in the
        # process that started the session: children inherit the settings, and
        # tools compare a child's stderr byte for byte.
        spans = any(live() for _setup, _finish, live in _records.sinks)
        if (written or summary or spans) and os.environ.get(_ROOT_PID) == str(os.getpid()):
            try:
                for line in unmatched_globs(settings):
                    sys.stderr.write(line + "\n")
            except Exception as exc:
                _records.internal_error("checking include/exclude", exc)


def unmatched_globs(settings: "dict[str, Any]") -> "list[str]":
    """One line per include/exclude setting with patterns that matched none of
    this process's recorded imports: a typo there silently selects nothing."""
    from bisect import bisect_left

    from importguard._globs import _wildcard, one_line, short_repr

    names = sorted({rec[_records.NAME] for rec in _records.buffer} | set(_records.folded))
    exact = set(names)

    def matched(pattern: str) -> bool:
        if "*" not in pattern and "?" not in pattern:
            return pattern in exact
        if pattern.endswith("*") and "*" not in pattern[:-1] and "?" not in pattern:
            prefix = pattern[:-1]
            at = bisect_left(names, prefix)
            return at < len(names) and names[at].startswith(prefix)
        return any(_wildcard(pattern, name) for name in names)

    lines = []
    for key in ("include", "exclude"):
        missed = [p for p in settings.get(key) or () if not matched(p)]
        if not missed:
            continue
        quoted = ", ".join(short_repr(p) for p in missed[:5])
        if len(missed) > 5:
            quoted += f" and {len(missed) - 5:,} more"
        lines.append(
            one_line(
                f"importguard: {_glob_sources.get(key, key)}: the pattern{'s' if len(missed) > 1 else ''} {quoted} "
                f"matched no imported module (of the {len(names):,} this process recorded); check the spelling "
                "(globs over dotted module names, e.g. 'myapp' or 'myapp.*'; 'myapp.*' leaves out the package itself)"
            )
        )
    return lines
