"""One recording session: start it, follow it across ``fork``, finish it at exit.

``start`` is where both roads in meet: the ``.pth`` bootstrap (``IMPORTGUARD=1``)
and :func:`importguard.install`. Builtins only until exit; the exit handler
imports what the report needs then, inside ``_hook.quiet()`` so those imports
are importguard's own and not recorded as the app's.
"""

import os
import sys

from importguard import _callbacks, _hook, _records

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: The effective plain settings of the running session (see ``_config.load``), or None.
settings: "dict[str, Any] | None" = None
_exit_registered = False
_fork_registered = False
_ROOT_PID = "_IMPORTGUARD_ROOT_PID"
#: Where include/exclude came from, for the message at exit if a pattern matched nothing.
_glob_sources: "dict[str, str]" = {}


def _private_atexit() -> "Any":
    """An ``atexit`` module instance that is not put in ``sys.modules``.

    ``atexit`` is not loaded at startup on most Pythons; importing it would take
    it off the app's ``-X importtime`` tree. Its registry is per interpreter,
    so a private instance of the builtin module registers into the same list.
    """
    if "atexit" in sys.modules:
        return sys.modules["atexit"]
    import _imp

    bootstrap = sys.modules["_frozen_importlib"]
    try:
        spec = bootstrap.ModuleSpec("atexit", bootstrap.BuiltinImporter, origin="built-in")
        module = _imp.create_builtin(spec)
        _imp.exec_builtin(module)
        return module
    except Exception:
        with _hook.quiet():
            import atexit
        return atexit


def start(new_settings: "dict[str, Any]") -> bool:
    """Install the hook for *new_settings*; returns False (with one message) if it cannot."""
    global settings, _exit_registered, _fork_registered
    is_main = getattr(sys.modules.get("_thread"), "_is_main_interpreter", None)
    if is_main is not None and not is_main():
        # A subinterpreter (3.12+) runs site, so the .pth, again, in the same
        # process: its session would write its report at its end to the main
        # interpreter's path (same pid) and wrap a second os._exit. The session
        # is the main interpreter's; subinterpreters are not recorded.
        return False
    settings = new_settings
    for key, env in (("include", "IMPORTGUARD_INCLUDE"), ("exclude", "IMPORTGUARD_EXCLUDE")):
        config = new_settings.get("config")
        _glob_sources[key] = env if env in os.environ else f"[tool.importguard] {key} in {config}" if config else key
    if not new_settings.get("inherit", True):
        os.environ.pop("IMPORTGUARD", None)
    os.environ.setdefault(_ROOT_PID, str(os.getpid()))
    from importguard import _exports

    _hook.exports_on, _hook.check_every_module = _exports.configure(new_settings)
    _hook.max_records = int(new_settings.get("max_records") or 20_000)
    _records.redact = bool(new_settings.get("redact"))
    _records.count_failures = bool(new_settings.get("metrics"))
    if new_settings.get("otel", True):
        _hook.otel_on = True
        trace_module = sys.modules.get("opentelemetry.trace")
        if trace_module is not None:  # installed late, after the app imported OpenTelemetry
            _watch_trace(trace_module)
        else:
            _hook.watch["opentelemetry.trace"] = _watch_trace
    if not _hook.install():
        sys.stderr.write(
            "importguard: this Python's importlib has no _find_and_load_unlocked to hook; "
            "importguard is off. Use Python 3.10-3.13, or report this Python version.\n"
        )
        return False
    if not _exit_registered:
        _private_atexit().register(at_exit)
        _exit_registered = True
    if os._exit is _real_os_exit:
        os._exit = _exit_now  # type: ignore[assignment]
    if not _fork_registered and hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_records.reset_after_fork)
        _fork_registered = True
    with _hook.quiet():
        if new_settings.get("hooks"):
            _callbacks.load_hook_specs(tuple(new_settings["hooks"]), "IMPORTGUARD_HOOKS")
        if new_settings.get("entry_points"):
            _callbacks.load_entry_points()
    return True


def _watch_trace(module: "Any") -> None:
    """``opentelemetry.trace`` was imported by the app: load the bridge now (cheap: OTel is loaded)."""
    with _hook.quiet():
        from importguard import _otel

        patch = getattr(_otel, "on_trace_imported", None)
        if patch is not None:  # else _otel is importing this very moment, and patches at its end
            patch(module)


def report_path(path: str) -> str:
    """The file this process writes: ``{pid}`` is replaced, and a child process
    that inherited the same path writes ``name.<pid>.json`` so it never
    overwrites its parent's report."""
    pid = os.getpid()
    if "{pid}" in path:
        return path.replace("{pid}", str(pid))
    if os.environ.get(_ROOT_PID, str(pid)) != str(pid):
        from importguard._report import suffix_of

        # Before the whole format suffix: x.speedscope.json -> x.<pid>.speedscope.json.
        found = suffix_of(path)
        ext = found[0] if found is not None else os.path.splitext(path)[1]
        return f"{path[:len(path) - len(ext)]}.{pid}{ext}"
    return path


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


def at_exit() -> None:
    """Settle what is left, write the report, print the summary. Never raises."""
    global _finished_pid
    if settings is None or _finished_pid == os.getpid():
        return
    _finished_pid = os.getpid()
    exc = getattr(sys, "last_exc", None) or getattr(sys, "last_value", None)
    try:
        _finish()
    finally:
        if isinstance(exc, KeyboardInterrupt) and sys.version_info < (3, 13):
            # CPython 3.10-3.12 exits by SIGINT after an uncaught KeyboardInterrupt only while
            # _Py_UnhandledKeyboardInterrupt is set; any exec/eval of a string (namedtuple,
            # enum, imported above for the report) clears it. An exec that raises it sets it again.
            try:
                exec("raise KeyboardInterrupt", {})
            except KeyboardInterrupt:
                pass


def _finish() -> None:
    if settings is None:
        return
    if settings.get("otlp"):
        try:
            with _hook.quiet():
                _records.settle_at_exit()
                from importguard import _otel

                _otel.send_otlp(settings["otlp"])
        except ImportError as exc:
            _records.internal_error("sending spans to " + settings["otlp"], exc,
                                    "install the sdk extra: pip install 'importguard[sdk]'.", once="otlp")
        except Exception as exc:
            _records.internal_error("sending spans to " + settings["otlp"], exc, "no spans were sent.", once="otlp")
    with _hook.quiet():
        try:
            _records.settle_at_exit()
        except Exception as exc:
            _records.internal_error("settling failures at exit", exc)
        path = settings.get("report")
        written = None
        data = None
        if path:
            try:
                from importguard import _report

                data = _report.build(settings)
                written = _report.write_report(report_path(path), data)
            except Exception as exc:
                data = None  # the summary must count this error too
                shown = path if len(path) <= 200 else path[:200] + "..."
                _records.internal_error(
                    "writing the report", exc, f"no report was written to {shown}.", once="report"
                )
        summary = _want_summary(settings.get("summary", "auto"))
        if summary:
            try:
                from importguard import _report, _summary

                sys.stderr.write(_summary.render_report(data or _report.build(settings), written))
            except Exception as exc:
                _records.internal_error("printing the summary", exc, "no summary printed.")
        otel = sys.modules.get("importguard._otel")
        # Only where the globs were used (a report, the summary, spans), and in the
        # process that started the session: children inherit the settings, and
        # tools compare a child's stderr byte for byte.
        if (written or summary or getattr(otel, "_live", False)) and os.environ.get(_ROOT_PID) == str(os.getpid()):
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
        lines.append(one_line(
            f"importguard: {_glob_sources.get(key, key)}: the pattern{'s' if len(missed) > 1 else ''} {quoted} "
            f"matched no imported module (of the {len(names):,} this process recorded); check the spelling "
            "(globs over dotted module names, e.g. 'myapp' or 'myapp.*'; 'myapp.*' leaves out the package itself)"
        ))
    return lines
