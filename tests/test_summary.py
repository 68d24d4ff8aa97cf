"""The exit summary and the one printed by `importguard run`: what is ranked, and several processes as one picture."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from conftest import run_hooked, write_tree
from importguard import _summary

CIRCULAR = {
    # `import ctl.server` imports ctl first, whose __init__ imports ctl.server: the module
    # runs inside the package, and the outer statement finds it loaded (gunicorn.ctl.server).
    "ctl/__init__.py": "from ctl import server\n",
    "ctl/server.py": "import time\ntime.sleep(0.05)\n",
}


def test_circular_import_duplicate_is_ranked_once(tmp_path: Path) -> None:
    write_tree(tmp_path, CIRCULAR)
    proc, data = run_hooked("import ctl.server", cwd=tmp_path, IMPORTGUARD_SUMMARY="1")
    assert data is not None
    records = [r for r in data["imports"] if r["name"] == "ctl.server"]
    assert len(records) == 2 and sum(r["duplicate_of"] is not None for r in records) == 1
    summary = proc.stderr
    ranked = re.findall(r"^\s+[\d.]+\s+[\d.]+\s+(\S+)$", summary, re.M)  # the cumulative list
    by_self = re.findall(r"^\s+[\d.]+\s{4}(\S+)$", summary, re.M)
    assert ranked.count("ctl.server") == 1 and by_self.count("ctl.server") == 1
    assert ranked.index("ctl") < ranked.index("ctl.server")


def report(pid: int, names: list[str], failure: bool) -> dict[str, Any]:
    imports: list[dict[str, Any]] = [
        {
            "id": i,
            "name": n,
            "parent": None,
            "parent_id": None,
            "thread": 1,
            "thread_name": "MainThread",
            "start_ns": i,
            "duration_ns": 1_000_000 * (i + 1),
            "self_ns": 1_000_000 * (i + 1),
            "status": "ok",
            "error": None,
            "swallowed": None,
            "verdict": None,
            "file": f"/src/{n}.py",
            "loader": "source",
            "importer": None,
            "fromlist": False,
            "duplicate_of": None,
        }
        for i, n in enumerate(names)
    ]
    if failure:
        imports.append(
            {
                **imports[0],
                "id": len(imports),
                "name": "plugin",
                "status": "error",
                "swallowed": True,
                "verdict": "swallowed",
                "error": {"type": "KeyError", "message": "'X'", "traceback": "", "caused_by": None},
                "importer": {"file": "/src/app.py", "line": 3},
            }
        )
    return {
        "schema": "importguard.report/1",
        "pid": pid,
        "python": "3.11.7",
        "imports": imports,
        "violations": [],
        "internal_errors": [],
    }


def test_several_processes_are_one_picture() -> None:
    procs = [
        report(100, ["server"], failure=False),
        report(101, ["app", "app.views"], failure=True),
        report(102, ["app", "app.views"], failure=True),
    ]
    text = _summary.render_processes(procs)
    lines = text.splitlines()
    assert lines[0] == "importguard: 3 processes, 7 imports, 9.0 ms"
    assert lines[1:4] == [
        "  pid 100: 1 imports, 1.0 ms",
        "  pid 101: 3 imports, 4.0 ms, 1 failed imports",
        "  pid 102: 3 imports, 4.0 ms, 1 failed imports",
    ]
    # The workers' modules are ranked with the master's, each with its pid.
    assert any(line.strip().startswith("2.0") and "app.views" in line and "pid 101" in line for line in lines)
    # The same failure in two workers is one line, with where it happened.
    failed = [line for line in lines if "plugin: KeyError" in line]
    assert failed == ["    plugin: KeyError: 'X' [swallowed] (from /src/app.py:3) [in 2 processes: pid 101, 102]"]
    # One process: as before, no pid column.
    single = _summary.render_processes(procs[1:2])
    assert single.splitlines()[0] == "importguard: 3 imports, 4.0 ms (pid 101)"
    assert "pid 101\n" not in single and "[in " not in single
