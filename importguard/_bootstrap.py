"""The ``.pth`` entry point: from ``IMPORTGUARD=1`` to a recording hook, with builtins only.

``importguard.pth`` calls :func:`boot` only when ``IMPORTGUARD`` is set to
something other than an off word (unset, empty, 0, false, no, off), so the
disabled path costs one dict lookup and imports nothing. A value it does not
understand still boots, so that :mod:`_config` can say what is wrong.
``site`` may process the same ``.pth`` twice (a venv adds site-packages
twice), and ``importguard.install()`` may follow: booting is idempotent.
"""

import sys

_booted = False


def boot() -> None:
    """Read the configuration, report its problems, and start recording if enabled. Never raises."""
    global _booted
    if _booted:
        return
    _booted = True
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
