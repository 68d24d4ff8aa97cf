"""Other ways to see when a module is first used, for benchmarks/advise_first_use.py.

Loaded like advise's own child module, through IMPORTGUARD_HOOKS (this
directory on PYTHONPATH). Each writes {module: first-seen perf_counter_ns} to
$FIRSTUSE_OUT at exit, so the benchmark can count what each one saw.
"""

import os
import sys
from time import perf_counter_ns
from types import CodeType, FrameType

seen: dict[str, int] = {}


def _write() -> None:
    out = os.environ.get("FIRSTUSE_OUT")
    if out:
        with open(out, "w") as fh:
            fh.write("\n".join(sorted(seen)))


def _at_exit() -> None:
    from importguard import _session

    _session._private_atexit().register(_write)


def profile() -> None:
    """sys.setprofile: every Python call (and C call) of the whole run goes through a Python function."""

    def hook(frame: FrameType, event: str, arg: object) -> None:
        if event == "call" and frame.f_code.co_name != "<module>":
            name = str(frame.f_globals.get("__name__"))
            if name not in seen:
                seen[name] = perf_counter_ns()

    sys.setprofile(hook)
    _at_exit()


def monitoring() -> None:
    """sys.monitoring PY_START (3.12+): one callback per code object, then DISABLE for it."""
    mon = sys.monitoring  # type: ignore[attr-defined,unused-ignore]  # 3.12+; mypy checks as 3.10
    tool = mon.PROFILER_ID
    mon.use_tool_id(tool, "firstuse")

    def start(code: CodeType, offset: int) -> object:
        if code.co_name != "<module>":
            frame = sys._getframe(1)
            name = str(frame.f_globals.get("__name__"))
            if name not in seen:
                seen[name] = perf_counter_ns()
        return mon.DISABLE

    mon.register_callback(tool, mon.events.PY_START, start)
    mon.set_events(tool, mon.events.PY_START)
    _at_exit()
