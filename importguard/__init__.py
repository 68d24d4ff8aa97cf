"""importguard: an import-time hook that records every import and checks what packages export.

Switch it on with ``IMPORTGUARD=1`` (no code change), or call :func:`install`.
This module stays tiny on purpose: it runs at interpreter startup whenever the
hook is on, so the public names below are resolved lazily (PEP 562), and the
modules behind them (attrs, wrapt, json...) load only when first used.

PYTEST_DONT_REWRITE: with ``IMPORTGUARD=1`` this module is imported at startup,
before pytest can rewrite it, and it has no assertions to rewrite; the marker
keeps ``pytest -p importguard`` from warning that it was imported too early.
"""

__version__ = "0.1.0"

__all__ = [
    "Config",
    "ExportError",
    "ExportWarning",
    "ImportEvent",
    "ImportFailure",
    "ImportRecord",
    "capture",
    "config",
    "flush",
    "install",
    "is_installed",
    "on_import",
    "records",
    "remove_callback",
    "startup_done",
    "uninstall",
    "wrap",
    "write_report",
]

# name -> private module that defines it
_LAZY = {
    "Config": "_types",
    "ExportError": "_exports",
    "ExportWarning": "_exports",
    "ImportFailure": "_types",
    "ImportRecord": "_types",
    "ImportEvent": "_callbacks",
    "on_import": "_callbacks",
    "remove_callback": "_callbacks",
    "capture": "_api",
    "config": "_api",
    "flush": "_api",
    "install": "_api",
    "is_installed": "_api",
    "records": "_api",
    "uninstall": "_api",
    "write_report": "_api",
    "wrap": "_patching",
    "startup_done": "_startup",
}

# `pytest -p importguard` registers this module as a plugin; pluggy finds the
# hooks through dir() and getattr(), which resolve them lazily from the plugin
# module, so a plain `import importguard` never imports pytest.
_PYTEST_HOOKS = ("pytest_configure", "pytest_sessionfinish", "pytest_terminal_summary", "importguard_records")
_LAZY.update(dict.fromkeys(_PYTEST_HOOKS, "_pytest_plugin"))

TYPE_CHECKING = False
if TYPE_CHECKING:
    from importguard._api import capture, config, flush, install, is_installed, records, uninstall, write_report
    from importguard._callbacks import ImportEvent, on_import, remove_callback
    from importguard._exports import ExportError, ExportWarning
    from importguard._patching import wrap
    from importguard._startup import startup_done
    from importguard._types import Config, ImportFailure, ImportRecord


_booted = False


def _boot() -> None:
    """The ``.pth`` entry point: read the configuration, report its problems,
    and start recording if enabled. Never raises.

    ``importguard.pth`` calls it only when ``IMPORTGUARD`` is set to something
    other than an off word (unset, empty, 0, false, no, off), so the disabled
    path costs one dict lookup and imports nothing. A value it does not
    understand still boots, so that :mod:`_config` can say what is wrong.
    ``site`` may process the same ``.pth`` twice (a venv adds site-packages
    twice), and ``importguard.install()`` may follow: booting is idempotent.
    It lives here, not in a module of its own, because this module is loaded
    anyway: one module less to find and load at every startup (#14).
    """
    global _booted
    if _booted:
        return
    _booted = True
    import sys

    is_main = getattr(sys.modules.get("_thread"), "_is_main_interpreter", None)
    if is_main is not None and not is_main():
        # A subinterpreter (3.12+) runs site, so the .pth, again in the same
        # process: the main interpreter's session is the one (see
        # _session.start), and its configuration problems were said once there.
        return
    try:
        from importguard import _config

        settings, problems = _config.load()
        for problem in problems:
            sys.stderr.write(f"{problem}\n")
        if settings["enabled"]:
            from importguard import _session

            _session.start(settings)
    except Exception as exc:
        try:
            from importguard import _hook

            _hook.uninstall()
        except Exception:
            pass
        sys.stderr.write(
            f"importguard: startup failed ({type(exc).__name__}: {exc}); importguard is off "
            "and the program runs without it. This is a bug in importguard; please report it.\n"
        )


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        # `from importguard import _report` in importguard's own work (quiet mode):
        # loaded from its directory whatever finders the program put first.
        hook = globals().get("_hook")
        own = hook.own_module(name) if hook is not None and name[:1] == "_" else None
        if own is not None:
            return own
        raise AttributeError(f"module 'importguard' has no attribute {name!r}")
    value = getattr(__import__(f"importguard.{module}", fromlist=[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | set(_PYTEST_HOOKS))
