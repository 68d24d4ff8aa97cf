"""`importguard run`: a program with the hook on, its exit status, a report, spans to OTLP."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import clean_env, write_tree
from otlp_receiver import otlp_receiver

PROGRAM = {
    "tool/__init__.py": "",
    "tool/__main__.py": "import json, sys\ntry:\n    import nope_xyz\nexcept ImportError:\n    pass\nprint('args', sys.argv[1:])\nsys.exit(4)\n",
    "script.py": "import csv\nprint('script ran')\n",
}


def ig(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "importguard", "run", *args],
        cwd=cwd,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_run_a_module_keeps_its_exit_status_and_prints_the_summary(tmp_path: Path) -> None:
    write_tree(tmp_path, PROGRAM)
    proc = ig(tmp_path, "--report", "r.json", "-m", "tool", "a", "b")
    assert proc.returncode == 4
    assert proc.stdout == "args ['a', 'b']\n"
    assert proc.stderr.startswith("importguard: ") and "optional imports not found" in proc.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert {"tool", "json", "nope_xyz"} <= {r["name"] for r in report["imports"]}


def test_run_a_script_and_a_command(tmp_path: Path) -> None:
    write_tree(tmp_path, PROGRAM)
    proc = ig(tmp_path, "--no-summary", "script.py")
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "script ran\n", "")
    proc = ig(tmp_path, "--no-summary", "--report", "c.json", "--", sys.executable, "-c", "import decimal")
    assert proc.returncode == 0 and proc.stderr == ""
    assert "decimal" in {r["name"] for r in json.loads((tmp_path / "c.json").read_text())["imports"]}


def test_run_usage_errors(tmp_path: Path) -> None:
    assert ig(tmp_path).returncode == 2
    proc = ig(tmp_path, "--report", "x.pdf", "script.py")
    assert proc.returncode == 2 and "x.pdf: unknown report format" in proc.stderr
    proc = ig(tmp_path, "--", str(tmp_path / "missing-binary"))
    assert proc.returncode == 2 and "cannot run" in proc.stderr


def test_run_otlp_sends_the_spans(tmp_path: Path) -> None:
    write_tree(tmp_path, PROGRAM)
    with otlp_receiver() as receiver:
        base = receiver.url.rsplit("/v1/traces", 1)[0]
        proc = ig(tmp_path, "--no-summary", "--otlp", base, "-m", "tool", OTEL_SERVICE_NAME="cli-app")
    assert proc.returncode == 4, proc.stderr
    names = {s["name"] for s in receiver.spans}
    assert {"python startup", "import tool", "import json", "import nope_xyz"} <= names
    assert {s["resource"]["service.name"] for s in receiver.spans} == {"cli-app"}
    # sent at exit, from the exiting thread: no thread may start then (3.12+)
    assert proc.stderr == ""
