"""Helpers shared by the reliability tests: run one program plain and hooked, compare."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, NamedTuple

from conftest import clean_env, run_python


class Run(NamedTuple):
    returncode: int
    stdout: str
    stderr: str
    report: dict[str, Any] | None


def hooked_env(report: Path | str, **extra: str) -> dict[str, str]:
    settings = {"IMPORTGUARD": "1", "IMPORTGUARD_REPORT": str(report), "IMPORTGUARD_SUMMARY": "0"}
    settings.update(extra)
    return clean_env(**settings)


def run(code: str, cwd: Path, *, hooked: bool, report: Path | None = None, args: list[str] | None = None,
        **extra: str) -> Run:
    """Run *code* in a fresh interpreter, plain or with IMPORTGUARD=1; read the report if one was written."""
    report = report or (cwd / "report.json")
    if hooked and report.is_file():
        report.unlink()
    env = hooked_env(report, **extra) if hooked else clean_env(**extra)
    # To try a patched copy of the package: RELIABILITY_IMPORTGUARD_PATH=/tmp/copy (the
    # directory holding importguard/) goes first on the children's PYTHONPATH.
    override = os.environ.get("RELIABILITY_IMPORTGUARD_PATH")
    if override:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (override, env.get("PYTHONPATH")) if p)
    proc = run_python(code, cwd=cwd, env=env, args=args)
    data = json.loads(report.read_text()) if hooked and report.is_file() else None
    return Run(proc.returncode, proc.stdout, proc.stderr, data)


def plain_and_hooked(code: str, cwd: Path, **extra: str) -> tuple[Run, Run]:
    """Both runs; PYTHON* settings in *extra* go to both, IMPORTGUARD* ones to the hooked run only."""
    both = {k: v for k, v in extra.items() if k.startswith("PYTHON")}
    return run(code, cwd, hooked=False, **both), run(code, cwd, hooked=True, **extra)


def names(report: dict[str, Any] | None) -> list[str]:
    assert report is not None, "no report was written"
    return [r["name"] for r in report["imports"]]


def importguard_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("importguard:")]
