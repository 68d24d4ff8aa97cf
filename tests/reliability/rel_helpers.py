"""Helpers shared by the reliability tests: run one program plain and hooked, compare."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, NamedTuple

from conftest import clean_env, hooked_env, run_python, with_override


class Run(NamedTuple):
    returncode: int
    stdout: str
    stderr: str
    report: dict[str, Any] | None


def _env(hooked: bool, report: Path, extra: dict[str, str]) -> dict[str, str]:
    return hooked_env(report, **extra) if hooked else with_override(clean_env(**extra))


def run(
    code: str, cwd: Path, *, hooked: bool, report: Path | None = None, args: list[str] | None = None, **extra: str
) -> Run:
    """Run *code* in a fresh interpreter, plain or with IMPORTGUARD=1; read the report if one was written."""
    report = report or (cwd / "report.json")
    if hooked and report.is_file():
        report.unlink()
    proc = run_python(code, cwd=cwd, env=_env(hooked, report, extra), args=args)
    data = json.loads(report.read_text()) if hooked and report.is_file() else None
    return Run(proc.returncode, proc.stdout, proc.stderr, data)


def plain_and_hooked_at_once(code: str, cwd: Path, *, timeout: float, **extra: str) -> tuple[Run, Run]:
    """As plain_and_hooked, but both processes run at the same time (programs that
    take a while to exit cost that once), and one still running after *timeout*
    seconds fails the test as a hang, naming which."""
    report = cwd / "report.json"
    if report.is_file():
        report.unlink()
    both = {k: v for k, v in extra.items() if k.startswith("PYTHON")}
    procs = {
        "plain": subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(code)],
            cwd=cwd,
            env=_env(False, report, both),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ),
        "hooked": subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(code)],
            cwd=cwd,
            env=_env(True, report, extra),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ),
    }
    deadline = time.monotonic() + timeout
    out = {}
    try:
        for which, proc in procs.items():
            try:
                stdout, stderr = proc.communicate(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                raise AssertionError(f"the {which} run did not exit within {timeout} s: it hangs") from None
            out[which] = (proc.returncode, stdout, stderr)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    data = json.loads(report.read_text()) if report.is_file() else None
    return Run(*out["plain"], None), Run(*out["hooked"], data)


def plain_and_hooked(code: str, cwd: Path, **extra: str) -> tuple[Run, Run]:
    """Both runs; PYTHON* settings in *extra* go to both, IMPORTGUARD* ones to the hooked run only."""
    both = {k: v for k, v in extra.items() if k.startswith("PYTHON")}
    # Environment variables only: mypy cannot tell their names from run()'s report= and args=.
    return run(code, cwd, hooked=False, **both), run(code, cwd, hooked=True, **extra)  # type: ignore[arg-type]


def names(report: dict[str, Any] | None) -> list[str]:
    assert report is not None, "no report was written"
    return [r["name"] for r in report["imports"]]


def importguard_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("importguard:")]
