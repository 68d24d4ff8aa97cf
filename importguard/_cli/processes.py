"""Fresh child processes for ``bench`` and ``advise``, and the program forms of ``run`` and ``advise``.

What a child gets (the user's environment minus importguard's own variables,
plus settings that make a measurement reproducible), how one is timed, the
alternating order of many, and the progress bar over them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from typing import Any

from importguard._cli.status import UsageError

# The children's settings: environment variables win over [tool.importguard], so
# these pin everything that would change what is recorded or add work to it.
_HOOKED_SETTINGS = {
    "IMPORTGUARD": "1",
    "IMPORTGUARD_SUMMARY": "0",
    "IMPORTGUARD_INCLUDE": "",
    "IMPORTGUARD_EXCLUDE": "",
    "IMPORTGUARD_HOOKS": "",
    "IMPORTGUARD_ENTRY_POINTS": "0",
    "IMPORTGUARD_EXPORTS": "off",
    "IMPORTGUARD_STUBS": "0",
    "IMPORTGUARD_OTEL": "0",
    "IMPORTGUARD_MAX_RECORDS": str(10**9),
}


class Target:
    """One thing to measure: a module name or a shell command line."""

    __slots__ = ("kind", "text")

    def __init__(self, kind: str, text: str) -> None:
        self.kind = kind
        self.text = text

    def describe(self) -> dict[str, str]:
        """The target as it appears in the JSON: kind and text, nothing else."""
        return {"kind": self.kind, "target": self.text}


def child_env(hooked: bool, report: str | None = None) -> dict[str, str]:
    """The environment of a child: the user's, minus importguard's own variables, plus the bench settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMPORTGUARD", "_IMPORTGUARD"))}
    if hooked:
        env.update(_HOOKED_SETTINGS)
        if report is not None:
            env["IMPORTGUARD_REPORT"] = report
    return env


def run_timed(
    argv: str | list[str], env: dict[str, str], shell: bool = False, stdout: bool = False
) -> tuple[int, subprocess.CompletedProcess[str]]:
    """Run *argv* once with no input: (wall ns, the finished process, stderr and, with *stdout*, stdout kept)."""
    start = time.perf_counter_ns()
    try:
        proc = subprocess.run(
            argv,
            shell=shell,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if stdout else subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
        )
    except OSError as exc:
        raise UsageError(f"cannot run {argv if isinstance(argv, str) else argv[0]}: {exc.strerror or exc}") from None
    return time.perf_counter_ns() - start, proc


def schedule(targets: Sequence[Target], rounds: int) -> list[tuple[int, int, bool]]:
    """The order of the children: (round, target index, hooked), alternating round by round."""
    order: list[tuple[int, int, bool]] = []
    for rnd in range(rounds):
        one = [(rnd, i, hooked) for i in range(len(targets)) for hooked in (True, False)]
        order.extend(reversed(one) if rnd % 2 else one)
    return order


def progress_bar(total: int, desc: str) -> Any:
    """A tqdm bar of *total* runs on stderr when it is a terminal, else None."""
    if not _isatty(sys.stderr):
        return None  # a bar in a pipe or a CI log is noise
    import importlib

    # The size is shutil's, which falls back to 80x24 where a terminal reports
    # 0x0 (a fresh pty, some CI consoles): tqdm draws nothing at all on zero rows.
    size = shutil.get_terminal_size()
    return importlib.import_module("tqdm").tqdm(
        total=total, desc=desc, unit="run", file=sys.stderr, leave=False, ncols=size.columns, nrows=size.lines
    )


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except Exception:
        return False


def program_argv(module: str | None, program: list[str]) -> list[str]:
    """The command line of ``run``'s and ``advise``'s program forms: ``-- COMMAND``,
    ``script.py ARGS`` or ``-m module ARGS`` (the last two with this Python)."""
    argv = list(program)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if module:
        argv = [sys.executable, "-m", module, *argv]
    elif argv and argv[0].endswith(".py"):
        argv = [sys.executable, *argv]
    if not argv:
        raise UsageError("nothing to run: give a command after --, a script.py, or -m module")
    return argv
