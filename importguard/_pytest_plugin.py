"""The pytest plugin: ``pytest -p importguard`` (or ``addopts = -p importguard`` in the ini file).

It records the imports made during the test session (the hook is installed
when the plugin loads, before test collection imports anything), shows what
it found at the end, and fails the run when a project module lacks names it
declares it exports. The ``importguard_records`` fixture yields the records of
the imports one test made.

Loaded through ``importguard/__init__.py``'s lazy attributes, so nothing here
is imported unless pytest asks for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import importguard
from importguard import _api, _convert, _exports


def _blocking() -> list[dict[str, Any]]:
    # Violations in the project's own modules that were not accepted: mode warn
    # or error (record-only ones belong to third-party code, or were accepted).
    return [_exports.resolved(v) for v in _exports.violations if v["missing"] and v["mode"] in ("warn", "error")]


def pytest_configure(config: pytest.Config) -> None:
    if not importguard.is_installed():
        importguard.install()
    config.addinivalue_line("markers", "importguard: (reserved for importguard)")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _blocking() and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    from importguard._summary import describe_failure, failed_statements

    blocking = _blocking()
    # A failure outside any import is settled at exit (escaped if the process
    # dies of it). By the terminal summary pytest has caught everything, so those
    # so far were swallowed: sitecustomize's absence is a routine probe, not a failure.
    records = [
        dict(r, swallowed=True) if r["swallowed"] is None and r["parent_id"] is None and r["error"] else r
        for r in _convert.to_dicts()
    ]
    failures, _probes = failed_statements(records)
    # The project's findings only: a failed import in a module of the project,
    # or one the project's own code made. Third-party packages' swallowed
    # failures are theirs (the report keeps them).
    ours = [(head, root) for head, root in failures if _ours(head)]
    others = len(failures) - len(ours)
    failures = ours
    if not blocking and not failures:
        return
    terminalreporter.section("importguard")
    for v in blocking:
        where = v["importer"]
        at = f" (imported at {where['file']}:{where['line']})" if where else ""
        terminalreporter.line(
            f"export violation: {v['module']} lacks {', '.join(v['missing'])} (declared by {v['source']}){at}", red=True
        )
    for head, root in failures:
        terminalreporter.line(f"import failed: {describe_failure(head, root)}")
    if others:
        terminalreporter.line(
            f"({others} failed import(s) inside third-party packages are not listed; IMPORTGUARD_REPORT keeps them)"
        )
    if blocking:
        terminalreporter.line(
            f"importguard: {len(blocking)} export violation(s) fail this run; accept known ones "
            "in [tool.importguard.accept] with a reason.",
            red=True,
        )


def _ours(head: dict[str, Any]) -> bool:
    importer = head.get("importer") or {}
    return _exports._is_project(head["name"], head.get("file")) or (
        bool(importer.get("file")) and _exports._is_project("", importer["file"])
    )


@pytest.fixture
def importguard_records() -> Callable[[], list[importguard.ImportRecord]]:
    """A function returning the imports made so far during the test, as :class:`importguard.ImportRecord`::

    def test_lazy(importguard_records):
        import myapp.cli
        assert "pandas" not in [r.name for r in importguard_records()]
    """
    return _api.recorder()
