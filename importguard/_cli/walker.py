"""The parent side of ``check``'s and ``snapshot``'s child interpreter (``importguard._walk``).

The packages are imported in a fresh interpreter with the hook on, so that
nothing this process imported can hide a failure; this module starts it,
shows its progress, enforces its time limit and reads back what it wrote.
The child is started by its module name (``python -m importguard._walk``) and
stays a flat module: under this package, its ``__init__`` would be one more
module imported in the checked interpreter (and listed by ``check --format
junit``), and ``ImportTimeout``'s name, ``importguard._walk.ImportTimeout``, is
part of ``check``'s output.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from typing import Any

from importguard._cli.status import UsageError

#: Extra seconds past --timeout before a walker that stopped answering is killed
#: (its own alarm interrupts any module that runs Python code or sleeps).
_GRACE_S = 30.0


def run_walker(
    packages: list[str],
    mode: str,
    python: str,
    exclude: Sequence[str] = (),
    timeout: float = 0.0,
    snapshot: str | None = None,
) -> dict[str, Any]:
    """Run ``_walk`` in a child interpreter; return what it wrote.

    The child gets a pipe on which it names each module before importing it:
    a progress line on a terminal, and the module to blame if it hangs past
    its own alarm. However ``check`` ends (Ctrl-C, SIGTERM, SIGHUP, a bug), the
    child's process group is killed and the temporary file removed.
    """
    import signal
    import time

    fd, out = tempfile.mkstemp(prefix="importguard-", suffix=".json")
    os.close(fd)
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMPORTGUARD") or k in _PASSED_ON}
    env.update(
        IMPORTGUARD="1",
        IMPORTGUARD_SUMMARY="0",
        IMPORTGUARD_EXPORTS="record",  # report everything, raise nothing
        IMPORTGUARD_STUBS="1",
        IMPORTGUARD_PACKAGES=",".join(packages),
        # A check must not change the tree it checks (a pre-commit hook that
        # leaves __pycache__ behind "modified files"); cached bytecode is still read.
        PYTHONDONTWRITEBYTECODE="1",
    )
    if snapshot:
        env["IMPORTGUARD_SNAPSHOT"] = os.path.abspath(snapshot)
    # The checked packages must be importable from here, as `python -c "import pkg"` would.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (os.getcwd(), env.get("PYTHONPATH", "")) if p)
    read_end, write_end = os.pipe()
    argv = [python, "-m", "importguard._walk", out, mode, "--progress-fd", str(write_end)]
    for glob in exclude:
        argv += ["--exclude", glob]
    if timeout:
        argv += ["--timeout", str(timeout)]
    argv += ["--", *packages]
    show = _progress_on_terminal()
    previous: dict[int, Any] = {}

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    # While Popen runs, Ctrl-C, SIGTERM and SIGHUP are held and acted on once `proc` is
    # bound: raised inside Popen (or between its return and the assignment) they would
    # leave a walker running with nobody to kill it (seen once under load on 3.13).
    held: list[int] = []

    def hold(signum: int, frame: Any) -> None:
        held.append(signum)

    proc = None
    logs = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")  # noqa: SIM115 (closed in finally)
    try:
        watched = [s for s in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", None)) if s is not None]
        for signum in watched:
            previous[signum] = signal.signal(signum, hold)
        try:
            proc = subprocess.Popen(
                argv, env=env, stdout=logs, stderr=logs, pass_fds=(write_end,), start_new_session=True
            )
        except OSError as exc:
            raise RuntimeError(f"cannot run {python}: {exc.strerror or exc}") from None
        finally:
            os.close(write_end)
            for signum in watched:
                signal.signal(signum, previous[signum] if signum == signal.SIGINT else stop)
        for signum in held[:1]:
            # What the handler now in place would have done had the signal come a moment later.
            handler = signal.getsignal(signum)
            if callable(handler):
                handler(signum, None)
            elif handler == signal.SIG_DFL:
                raise SystemExit(128 + signum)
        current, started, count, buffered = "", time.monotonic(), 0, b""
        limit = timeout + _GRACE_S if timeout else None
        with os.fdopen(read_end, "rb") as progress:
            read_end = -1
            import selectors

            selector = selectors.DefaultSelector()
            selector.register(progress, selectors.EVENT_READ)
            while True:
                if not selector.select(timeout=1.0):
                    if limit is not None and current and time.monotonic() - started > limit:
                        raise RuntimeError(
                            f"importing {current} did not finish within {timeout:g} s and did not "
                            f"answer the time limit; the walker was killed. Exclude it with "
                            f"--exclude {current}"
                        )
                    continue
                chunk = os.read(progress.fileno(), 65536)
                if not chunk:
                    break
                buffered += chunk
                *lines, buffered = buffered.split(b"\n")
                if lines:
                    count += len(lines)
                    current = lines[-1].decode("utf-8", "replace")
                    started = time.monotonic()
                    if show:
                        sys.stderr.write(f"\r\x1b[Kimportguard {mode}: {count} modules, importing {current}"[:200])
                        sys.stderr.flush()
        code = proc.wait()
        if show:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
        logs.seek(0)
        if code != 0 or os.path.getsize(out) == 0:
            raise RuntimeError(f"the child interpreter failed (exit {code}):\n{logs.read().strip()}")
        with open(out, encoding="utf-8") as fh:
            data: dict[str, Any] = json.load(fh)
        return data
    finally:
        if read_end >= 0:
            os.close(read_end)
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass
            proc.wait()
        logs.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        try:
            os.unlink(out)
        except OSError:
            pass


#: Settings a user's environment may give the walker: where the snapshot and the configuration are.
_PASSED_ON = ("IMPORTGUARD_SNAPSHOT", "IMPORTGUARD_CONFIG")


def _progress_on_terminal() -> bool:
    try:
        return bool(sys.stderr.isatty()) and os.environ.get("TERM") != "dumb"
    except Exception:
        return False


def check_settings() -> tuple[list[str], dict[str, tuple[tuple[str, ...] | None, str]]]:
    """([tool.importguard.check] exclude, [tool.importguard.accept]) of the project here."""
    from importguard import _config

    settings, problems = _config.load(cwd=os.getcwd())
    for problem in problems:
        if problem.setting in ("check", "accept"):
            raise UsageError(str(problem)[len("importguard: ") :])
    table = settings.get("check") or {}
    return list(table.get("exclude", ())), dict(settings.get("accept") or {})


#: Per-module import time limit of check and snapshot: generous, a hang is what it is for.
DEFAULT_TIMEOUT_S = 120.0


def seconds(text: str) -> float:
    """``--timeout``'s type: a number of seconds, 0 or more (0: no limit)."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds (0 or more; 0: no limit)")
    return value
