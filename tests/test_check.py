"""`importguard check` and `importguard snapshot`: real packages, a real child interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from conftest import clean_env, run_python, write_tree
from test_exports import MONITORING


def cli(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "importguard", *args], cwd=cwd, env=clean_env(**env),
                          capture_output=True, text=True, timeout=120)


def test_check_finds_the_seed_incident(tmp_path: Path) -> None:
    write_tree(tmp_path, MONITORING)
    proc = cli(tmp_path, "check", "app")
    assert proc.returncode == 1, proc.stderr
    out = proc.stdout
    assert ("import failed: app.monitoring.alerts: because app.monitoring.core failed: ModuleNotFoundError: "
            "No module named 'app.monitoring.core' [swallowed] (from ") in out
    assert "export violation: app.monitoring lacks PerformanceMetric (declared by __all__" in out
    assert "lacks PerformanceMetric, alert_manager, CompactAlertManager (declared by pyproject" in out
    assert out.rstrip().endswith("app: 1 failed imports, 2 export violations")


def test_check_clean_package_exits_zero(tmp_path: Path) -> None:
    write_tree(tmp_path, {
        "pyproject.toml": "[project]\nname = 'ok'\n",
        "okpkg/__init__.py": "__all__ = ['a', 'helper']\nfrom . import a\ndef helper(): ...\n",
        "okpkg/a.py": """
            try:
                import optional_thing_xyz
            except ImportError:
                pass
            try:  # a parent package that is not there: still a routine probe
                from org_jython_like.python.core import PyStringMap
            except ImportError:
                pass
        """,
        "okpkg/__main__.py": "raise SystemExit('running me is not importing me')\n",
    })
    proc = cli(tmp_path, "check", "okpkg")
    assert (proc.returncode, proc.stdout.strip()) == (0, "importguard check okpkg: 0 failed imports, 0 export violations")


def test_check_resolves_lazy_names_and_reports_a_raise(tmp_path: Path) -> None:
    write_tree(tmp_path, {
        "lazy/__init__.py": """
            __all__ = ["fine", "broken"]
            def __getattr__(name):
                if name == "fine":
                    return 1
                raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        """,
    })
    proc = cli(tmp_path, "check", "lazy", "--format", "json")
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    (v,) = data["violations"]
    assert v["missing"] == ["broken"] and v["lazy"] == ["fine"]
    assert "AttributeError" in v["related_failures"][0]["error"]


def test_check_formats(tmp_path: Path) -> None:
    write_tree(tmp_path, MONITORING)
    gh = cli(tmp_path, "check", "app", "--format", "github").stdout.splitlines()
    assert any(line.startswith("::error file=") and "title=export violation: app.monitoring::" in line for line in gh)
    junit = cli(tmp_path, "check", "app", "--format", "junit").stdout
    suite = ET.fromstring(junit)
    failed = {case.get("name") for case in suite.iter("testcase") if case.find("failure") is not None}
    assert {"app.monitoring", "app.monitoring.alerts"} <= failed
    assert "app" not in failed


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert cli(tmp_path, "check").returncode == 2
    assert cli(tmp_path, "frobnicate").returncode == 2
    proc = cli(tmp_path, "check", "x", "--python", str(tmp_path / "no-such-python"))
    assert proc.returncode == 2 and "importguard check:" in proc.stderr


def test_snapshot_then_a_lost_name_is_a_violation(tmp_path: Path) -> None:
    write_tree(tmp_path, {
        "pyproject.toml": "[project]\nname = 'api'\n",
        "api/__init__.py": "from .core import Client, connect\nimport os\n",
        "api/core.py": "class Client: ...\ndef connect(): ...\n_private = 1\n",
    })
    proc = cli(tmp_path, "snapshot", "api")
    assert proc.returncode == 0, proc.stderr
    lock = (tmp_path / "importguard.lock").read_text()
    assert lock.splitlines()[0] == "# importguard snapshot 1"
    assert "[api]\nClient\nconnect\ncore\n" in lock  # os is an import, not API
    assert "[api.core]\nClient\nconnect\n" in lock
    # A refactor drops `connect` from the package and adds `Session`.
    (tmp_path / "api" / "__init__.py").write_text("from .core import Client, Session\n")
    (tmp_path / "api" / "core.py").write_text("class Client: ...\nclass Session: ...\n")
    report = tmp_path / "r.json"
    env = clean_env(IMPORTGUARD="1", IMPORTGUARD_SUMMARY="0", IMPORTGUARD_REPORT=str(report), IMPORTGUARD_EXPORTS="error")
    proc = run_python("import api\n", cwd=tmp_path, env=env)
    assert proc.returncode == 1
    assert "ExportError: api.core does not provide names it declares it exports:" in proc.stderr
    assert "connect  (declared by the snapshot" in proc.stderr
    assert cli(tmp_path, "check", "api").returncode == 1


def test_corrupt_or_newer_snapshot_is_one_message(tmp_path: Path) -> None:
    write_tree(tmp_path, {"pyproject.toml": "[project]\nname='x'\n", "importguard.lock": "# importguard snapshot 9\n[m]\nx\n"})
    env = clean_env(IMPORTGUARD="1", IMPORTGUARD_SUMMARY="0")
    proc = run_python("print('ran')", cwd=tmp_path, env=env)
    assert proc.stdout == "ran\n"
    assert proc.stderr.count("\n") == 1 and "written by a newer importguard" in proc.stderr
    (tmp_path / "importguard.lock").write_text("# importguard snapshot 1\n[m]\nnot a name\n")
    proc = run_python("print('ran')", cwd=tmp_path, env=env)
    assert proc.stdout == "ran\n" and "line 3: 'not a name' is not a Python name" in proc.stderr
    assert proc.stderr.startswith("importguard: the default snapshot, importguard.lock next to pyproject.toml: ")
    # The default file name is read only if it is a regular file: a FIFO there would block the start for ever.
    (tmp_path / "importguard.lock").unlink()
    os.mkfifo(tmp_path / "importguard.lock")
    proc = run_python("print('ran')", cwd=tmp_path, env=env)
    assert proc.stdout == "ran\n" and proc.stderr.count("\n") == 1 and "not a regular file" in proc.stderr
    # A snapshot named by the setting is named in the message.
    (tmp_path / "other.lock").write_text("garbage\n")
    proc = run_python("print('ran')", cwd=tmp_path, env={**env, "IMPORTGUARD_SNAPSHOT": "other.lock"})
    assert proc.stdout == "ran\n" and proc.stderr.startswith("importguard: IMPORTGUARD_SNAPSHOT")


def test_stub_declared_names(tmp_path: Path) -> None:
    write_tree(tmp_path, {
        "pyproject.toml": "[project]\nname = 'typed'\n",
        "typed/__init__.py": "from .impl import run\n",
        "typed/__init__.pyi": """
            import sys
            from .impl import run as run
            from os import path
            def stop() -> None: ...
            VERSION: str
            if sys.version_info >= (99, 0):
                def future() -> None: ...
            else:
                def present() -> None: ...
        """,
        "typed/impl.py": "def run(): ...\n",
    })
    proc = cli(tmp_path, "check", "typed", "--format", "json")
    assert proc.returncode == 1
    (v,) = json.loads(proc.stdout)["violations"]
    assert (v["source"], sorted(v["missing"])) == ("stub", ["VERSION", "present", "stop"])
    # at import time only when asked for
    env = dict(IMPORTGUARD="1", IMPORTGUARD_SUMMARY="0", IMPORTGUARD_EXPORTS="error")
    assert run_python("import typed", cwd=tmp_path, env=clean_env(**env)).returncode == 0
    proc = run_python("import typed", cwd=tmp_path, env=clean_env(IMPORTGUARD_STUBS="1", **env))
    assert proc.returncode == 1 and "(declared by the stub" in proc.stderr
