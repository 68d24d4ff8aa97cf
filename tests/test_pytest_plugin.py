"""`pytest -p importguard`, run for real on a project written to a temp dir."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import clean_env, write_tree
from test_exports import MONITORING


def pytest_run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_plugin_fails_the_run_on_a_violation(tmp_path: Path) -> None:
    write_tree(tmp_path, MONITORING)
    write_tree(tmp_path, {"tests/test_app.py": "import app.api\n\ndef test_ok():\n    assert app.api\n"})
    plain = pytest_run(tmp_path)
    assert plain.returncode == 0, plain.stdout
    hooked = pytest_run(tmp_path, "-p", "importguard")
    assert hooked.returncode == 1, hooked.stdout
    assert "1 passed" in hooked.stdout
    assert "export violation: app.monitoring lacks PerformanceMetric (declared by __all__)" in hooked.stdout
    assert "import failed: app.monitoring.alerts" in hooked.stdout


def test_plugin_fixture_and_clean_run(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "pyproject.toml": "[project]\nname = 'clean'\n",
            "cleanpkg/__init__.py": "__all__ = ['x']\nx = 1\n",
            "tests/test_it.py": """
            def test_records(importguard_records):
                assert importguard_records() == []
                import cleanpkg, fractions
                names = [r.name for r in importguard_records()]
                assert "cleanpkg" in names and "fractions" in names, names

            def test_only_this_tests_imports(importguard_records):
                import cleanpkg  # already imported by the other test: not a real import
                assert [r.name for r in importguard_records()] == []

            def test_modules_found_by_pytests_rewriter_are_recorded():
                import importguard
                (me,) = [r for r in importguard.records() if r.name == "test_it"]
                assert me.loader == "_pytest.assertion.rewrite.AssertionRewritingHook", me.loader
        """,
        },
    )
    proc = pytest_run(tmp_path, "-p", "importguard")
    assert proc.returncode == 0, proc.stdout
    assert "3 passed" in proc.stdout
    assert "importguard" not in proc.stdout  # nothing to report


def test_plugin_summary_lists_the_projects_findings_only(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "project/pyproject.toml": "[project]\nname = 'proj'\n",
            "project/proj/__init__.py": "import thirdparty\ntry:\n    import proj.broken\nexcept ImportError:\n    pass\n",
            "project/proj/broken.py": "import no_such_helper_xyz.sub\n",
            "project/tests/test_it.py": "import proj\n\ndef test_ok():\n    assert proj\n",
            # a third-party package with its own swallowed failure and a bad __all__
            "vendor/thirdparty/__init__.py": "__all__ = ['gone']\ntry:\n    from . import impl\nexcept ImportError:\n    pass\n",
            "vendor/thirdparty/impl.py": "raise ImportError('their bug')\n",
        },
    )
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "importguard"],
        cwd=tmp_path / "project",
        env=clean_env(PYTHONPATH=str(tmp_path / "vendor")),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stdout
    assert "import failed: proj.broken: because no_such_helper_xyz failed" in proc.stdout
    assert "thirdparty" not in proc.stdout
    assert (
        "(1 failed import(s) inside third-party packages are not listed; IMPORTGUARD_REPORT keeps them)" in proc.stdout
    )
