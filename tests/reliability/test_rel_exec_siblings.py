"""exec, and processes that share one report path.

``os.execv`` and friends replace the process image: no atexit runs, so before
importguard wrapped them the records so far were dropped (pex apps re-exec
themselves and never got a report). Processes run one after another in one
shell script (make, tox, ``a && b``) inherit the same ``IMPORTGUARD_REPORT``;
the second silently replaced the first's report. The rule now: a regular file
at the path written since the run (the process group) started is another
process's, so this one writes ``name.<pid>.ext`` instead.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from conftest import write_tree
from rel_helpers import _env, names, plain_and_hooked

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX exec and process groups")


def _reports(directory: Path, stem: str = "report", ext: str = ".json") -> dict[str, dict[str, Any]]:
    return {p.name: json.loads(p.read_text()) for p in sorted(directory.glob(f"{stem}*{ext}"))}


def _top(report: dict[str, Any]) -> list[str]:
    """The program's own top-level imports (3.13 imports linecache at startup, for one)."""
    return [r["name"] for r in report["imports"] if r["parent"] is None and r["name"] in ("json", "decimal")]


def _session(cmd: list[str], cwd: Path, hooked: bool = True, **extra: str) -> subprocess.CompletedProcess[str]:
    """Run *cmd* as a new command line of an interactive shell would: its own session and process group."""
    return subprocess.run(
        cmd,
        cwd=cwd,
        env=_env(hooked, cwd / "report.json", extra),
        capture_output=True,
        text=True,
        timeout=120,
        start_new_session=True,
    )


def test_exec_writes_the_report_before_the_image_is_replaced(tmp_path: Path) -> None:
    code = """
        import json, os, sys
        print('before', flush=True)
        os.execv(sys.executable, [sys.executable, '-c', 'import decimal; print("after")'])
    """
    plain, hooked = plain_and_hooked(code, tmp_path)
    assert plain.stdout == "before\nafter\n"
    assert (hooked.returncode, hooked.stdout, hooked.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    reports = _reports(tmp_path)
    pid = reports["report.json"]["pid"]
    # The exec'd image is the same pid, but another process image: its own file.
    assert set(reports) == {"report.json", f"report.{pid}.json"}
    assert _top(reports["report.json"]) == ["json"]
    assert _top(reports[f"report.{pid}.json"]) == ["decimal"]


@pytest.mark.parametrize(
    "call",
    [
        "os.execv('/bin/true', ['true'])",
        "os.execl('/bin/true', 'true')",
        "os.execlp('true', 'true')",
        "os.execvpe('true', ['true'], dict(os.environ))",
        "os.execle('/bin/true', 'true', dict(os.environ))",
    ],
)
def test_every_exec_function_writes_the_report(tmp_path: Path, call: str) -> None:
    plain, hooked = plain_and_hooked(f"import json, os\n{call}\n", tmp_path)
    assert plain.returncode == hooked.returncode == 0 and hooked.stderr == ""
    assert "json" in names(hooked.report)


def test_a_failed_exec_goes_on_and_the_exit_writes_the_whole_report(tmp_path: Path) -> None:
    code = """
        import json, os
        try:
            os.execv('/nonexistent/program', ['x'])
        except OSError as exc:
            print(type(exc).__name__)
        import decimal
    """
    plain, hooked = plain_and_hooked(code, tmp_path)
    assert plain.stdout == "FileNotFoundError\n"
    assert (hooked.returncode, hooked.stdout, hooked.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    assert list(_reports(tmp_path)) == ["report.json"]  # written twice, by the same image: replaced
    assert _top(hooked.report or {}) == ["json", "decimal"]


def test_pex_app_that_reexecs_itself(tmp_path: Path) -> None:
    pex = shutil.which("pex", path=os.path.dirname(sys.executable))
    if pex is None:
        pytest.skip("pex is not installed")
    write_tree(tmp_path, {"src/pexapp.py": "import json\n\ndef main():\n    import decimal\n    print('app ran')\n"})
    built = subprocess.run(
        [pex, "-D", "src", "-e", "pexapp:main", "-o", "app.pex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    env_root = tmp_path / "pexroot"
    plain = subprocess.run(
        [sys.executable, "app.pex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(False, tmp_path / "report.json", {"PEX_ROOT": str(env_root)}),
    )
    hooked = subprocess.run(
        [sys.executable, "app.pex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(True, tmp_path / "report.json", {"PEX_ROOT": str(env_root)}),
    )
    assert plain.stdout == hooked.stdout == "app ran\n" and plain.returncode == hooked.returncode == 0
    assert hooked.stderr == plain.stderr
    # pex 2.x execs twice: its bootstrap re-execs itself from the unzipped PEX, which
    # then execs the app under the base interpreter (outside this venv, so without
    # importguard: the app's own imports are not recorded, plain or hooked). Each
    # image that had the hook wrote its own report; before, the second replaced the first.
    reports = _reports(tmp_path)
    assert len(reports) == 2, sorted(reports)
    assert len({r["pid"] for r in reports.values()}) == 1
    assert "pex.layout" in names(reports["report.json"])
    (second,) = (r for name, r in reports.items() if name != "report.json")
    assert "pex.pex_bootstrapper" in names(second)
    assert all(r["internal_errors"] == [] for r in reports.values())


def test_siblings_in_one_shell_script_keep_both_reports(tmp_path: Path) -> None:
    script = f'"{sys.executable}" -c "import json"; "{sys.executable}" -c "import decimal"'
    proc = _session(["sh", "-c", script], tmp_path)
    assert proc.returncode == 0 and proc.stderr == ""
    reports = _reports(tmp_path)
    assert len(reports) == 2, sorted(reports)
    first = reports.pop("report.json")
    ((name, second),) = reports.items()
    assert name == f"report.{second['pid']}.json"
    assert _top(first) == ["json"] and _top(second) == ["decimal"]


def test_sibling_line_when_the_summary_is_on(tmp_path: Path) -> None:
    script = f'"{sys.executable}" -c "import json"; "{sys.executable}" -c "import decimal"'
    proc = _session(["sh", "-c", script], tmp_path, IMPORTGUARD_SUMMARY="1")
    lines = [line for line in proc.stderr.splitlines() if "another process of this run" in line]
    assert len(lines) == 1, proc.stderr
    assert f"{tmp_path / 'report.json'} holds the report of another process of this run" in lines[0]
    assert "importguard report merge" in lines[0]


def test_a_new_command_line_replaces_the_previous_runs_report(tmp_path: Path) -> None:
    for module in ("json", "decimal"):
        proc = _session([sys.executable, "-c", f"import {module}"], tmp_path)
        assert proc.returncode == 0 and proc.stderr == ""
    reports = _reports(tmp_path)
    assert list(reports) == ["report.json"] and _top(reports["report.json"]) == ["decimal"]


@pytest.mark.parametrize("ext", [".txt", ".html", ".speedscope.json", ".trace.json"])
def test_siblings_keep_both_reports_in_every_format(tmp_path: Path, ext: str) -> None:
    script = f'"{sys.executable}" -c "import json"; "{sys.executable}" -c "import decimal"'
    proc = subprocess.run(
        ["sh", "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(True, tmp_path / f"report{ext}", {}),
        start_new_session=True,
    )
    assert proc.returncode == 0 and proc.stderr == ""
    written = sorted(p.name for p in tmp_path.glob(f"report*{ext}"))
    assert len(written) == 2 and f"report{ext}" in written, written
    other = next(w for w in written if w != f"report{ext}")
    assert other[len("report.") : -len(ext)].isdigit()


def test_siblings_finishing_at_once_keep_every_report(tmp_path: Path) -> None:
    # Eight processes started together by one shell, all finishing at the same moment:
    # the directory lock makes them pick their names one after another.
    one = f'"{sys.executable}" -c "import json, time; time.sleep(0.5)" &'
    proc = _session(["sh", "-c", " ".join([one] * 8) + " wait"], tmp_path)
    assert proc.returncode == 0 and proc.stderr == ""
    reports = _reports(tmp_path)
    assert len(reports) == 8 and len({r["pid"] for r in reports.values()}) == 8, sorted(reports)


MANY = """
    import importlib, sys
    sys.path.insert(0, {root!r})
    for i in range(20000):
        importlib.import_module(f"flat.m{{i}}")
"""


def test_writing_a_big_report_does_not_multiply_peak_memory(tmp_path: Path) -> None:
    # 20,000 records, an ~8 MB report: building every dict, every piece of text and the
    # joined text at exit took the process from ~40 MB to ~134 MB peak RSS.
    write_tree(tmp_path, {"flat/__init__.py": "", **{f"flat/m{i}.py": "" for i in range(20000)}})
    code = textwrap.dedent(MANY.format(root=str(tmp_path)))
    peaks = {}
    for with_report in (False, True):
        env = _env(True, tmp_path / "report.json", {"IMPORTGUARD_MAX_RECORDS": "100000"})
        if not with_report:
            env.pop("IMPORTGUARD_REPORT")
        # The child's peak RSS, read by a plain parent once it has exited (report written).
        script = (
            "import json, resource, subprocess, sys\n"
            "subprocess.run([sys.executable, '-c', sys.argv[1]], env=json.loads(sys.argv[2]), check=True)\n"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", script, code, json.dumps(env)],
            cwd=tmp_path,
            env=_env(False, tmp_path / "report.json", {}),
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        peaks[with_report] = int(out.stdout.split()[-1]) / 1024  # MB
    report = json.loads((tmp_path / "report.json").read_text())
    assert len(report["imports"]) >= 20000
    assert peaks[True] - peaks[False] < 20, peaks  # was +94 MB


def test_json_report_streamed_is_byte_for_byte_the_same(tmp_path: Path) -> None:
    code = """
        import json, decimal, email.mime.text
        try:
            import nope
        except ImportError:
            pass
        import importguard
        importguard.write_report("eager.json")
    """
    proc = subprocess.run(
        [sys.executable, "-c", code.replace("\n        ", "\n")],
        cwd=tmp_path,
        env=_env(True, tmp_path / "report.json", {"IMPORTGUARD_INCLUDE": "json*,email*,nope"}),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    eager = json.loads((tmp_path / "eager.json").read_text())
    streamed = (tmp_path / "report.json").read_text()

    # The same records (swallowed, and the verdict from it, are settled at exit only).
    def unsettled(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [dict(r, swallowed=None, verdict=None) for r in records]

    assert unsettled(json.loads(streamed)["imports"])[: len(eager["imports"])] == unsettled(eager["imports"])
    assert streamed == json.dumps(json.loads(streamed), indent=1) + "\n"
