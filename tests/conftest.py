"""Shared helpers: real packages written to temporary directories, real subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent

# importguard caches parsed [tool.importguard] tables under $XDG_CACHE_HOME: the
# tests' thousands of temporary projects go to a directory of their own, not
# to the user's cache (subprocesses inherit it through clean_env).
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="importguard-test-cache-")


def _pth_installed() -> bool:
    import sysconfig

    return any(
        (Path(p) / "importguard.pth").exists()
        for p in {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    )


def pytest_sessionstart(session: pytest.Session) -> None:
    if not _pth_installed():
        raise pytest.UsageError(
            "importguard.pth is not installed in this environment; the subprocess tests need it. "
            "Install the package first: python -m pip install -e '.[test]'"
        )


def write_tree(base: Path, files: dict[str, str]) -> Path:
    """Write {relative path: source} under *base* (dedented); return *base*."""
    for rel, source in files.items():
        path = base / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source))
    return base


#: The engine the suite runs under: ``IMPORTGUARD_ENGINE=finder python -m pytest``
#: runs every test, subprocesses included, with the finder engine (CI runs
#: both); otherwise the default, which on 3.10-3.13 is the function engine.
ENGINE = "finder" if os.environ.get("IMPORTGUARD_ENGINE", "").strip().lower() == "finder" else "function"
FINDER = ENGINE == "finder"


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any IMPORTGUARD* or PYTHON* variable (but the
    engine under test), plus *extra*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMPORTGUARD", "_IMPORTGUARD", "PYTHON"))}
    if FINDER:
        env["IMPORTGUARD_ENGINE"] = "finder"
    env.update(extra)
    return env


def with_override(env: dict[str, str]) -> dict[str, str]:
    """To see a test fail on other code (the package before a fix):
    RELIABILITY_IMPORTGUARD_PATH=/tmp/copy (the directory holding importguard/)
    goes first on the children's PYTHONPATH."""
    override = os.environ.get("RELIABILITY_IMPORTGUARD_PATH")
    if override:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (override, env.get("PYTHONPATH")) if p)
    return env


def hooked_env(report: Path | str | None = None, **extra: str) -> dict[str, str]:
    """The environment of a hooked child: :func:`clean_env` with ``IMPORTGUARD=1``,
    no summary on stderr, the JSON report to *report* if given, then *extra*
    (which wins, ``IMPORTGUARD_SUMMARY`` included); RELIABILITY_IMPORTGUARD_PATH
    honoured (:func:`with_override`). The one place the tests build it."""
    settings = {"IMPORTGUARD": "1", "IMPORTGUARD_SUMMARY": "0"}
    if report is not None:
        settings["IMPORTGUARD_REPORT"] = str(report)
    settings.update(extra)
    return with_override(clean_env(**settings))


def run_python(
    code: str,
    *,
    cwd: Path,
    env: dict[str, str] | None = None,
    args: list[str] | None = None,
    check: bool = False,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -c code`` (dedented) in a fresh process of this interpreter."""
    cmd = [sys.executable, *(args or []), "-c", textwrap.dedent(code)]
    proc = subprocess.run(
        cmd, cwd=cwd, env=env if env is not None else clean_env(), capture_output=True, text=True, timeout=120
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


def run_hooked(
    code: str, *, cwd: Path, report: Path | None = None, check: bool = True, **env: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any] | None]:
    """Run *code* with IMPORTGUARD=1 and a JSON report; return the process and the report."""
    report = report or (cwd / "report.json")
    # A report this test run (one process group) wrote is another process's: a
    # second run would keep it and write report.<pid>.json (see docs/records.md).
    report.unlink(missing_ok=True)
    proc = run_python(code, cwd=cwd, env=hooked_env(report, **env), check=check)
    data = json.loads(report.read_text()) if report.exists() else None
    return proc, data


def by_name(report: dict[str, Any], name: str) -> dict[str, Any]:
    """The single import record for *name* in *report* (fails if there is not exactly one)."""
    found = [r for r in report["imports"] if r["name"] == name]
    assert len(found) == 1, f"{len(found)} records for {name!r}: {found}"
    record: dict[str, Any] = found[0]
    return record


@pytest.fixture
def tree(tmp_path: Path) -> Any:
    """Write a package tree into a fresh temp dir: ``tree({"pkg/__init__.py": "..."})``."""

    def make(files: dict[str, str]) -> Path:
        return write_tree(tmp_path, files)

    return make


@pytest.fixture
def fresh_modules(tmp_path: Path) -> Any:
    """Forget the modules the test imported from its temp dir, and restore sys.path.

    Only those: dropping importguard's own lazily loaded modules would leave
    the installed hook pointing at module instances nobody else sees.
    """
    before = set(sys.modules)
    path = sys.path[:]
    yield
    root = str(tmp_path)
    for name in set(sys.modules) - before:
        spec = getattr(sys.modules[name], "__spec__", None)
        origin = getattr(spec, "origin", None) or ""
        locations = list(getattr(spec, "submodule_search_locations", None) or [])
        if origin.startswith(root) or any(str(loc).startswith(root) for loc in locations):
            del sys.modules[name]
    sys.path[:] = path
