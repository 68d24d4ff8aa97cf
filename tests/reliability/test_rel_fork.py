"""fork and multiprocessing: each process reports its own imports, once, in its own report."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from conftest import write_tree
from rel_helpers import run

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


def _reports(tmp_path: Path) -> dict[int, dict[str, Any]]:
    """Every report in tmp_path by the pid it names (report.json and report.<pid>.json)."""
    out = {}
    for path in tmp_path.glob("report*.json"):
        data = json.loads(path.read_text())
        assert data["pid"] not in out
        out[data["pid"]] = data
        if path.name != "report.json":
            assert path.name == f"report.{data['pid']}.json"
    return out


def _names(report: dict[str, Any]) -> list[str]:
    return [r["name"] for r in report["imports"]]


def _fork_program(how_the_child_leaves: str) -> str:
    return f"""
        import os, sys
        import parent_mod
        pid = os.fork()
        if pid == 0:
            import child_mod
            print('child', os.getpid(), flush=True)
            {how_the_child_leaves}
        _, status = os.waitpid(pid, 0)
        import after_fork_mod
        print('parent', os.getpid(), os.waitstatus_to_exitcode(status))
    """


FILES = {"parent_mod.py": "P = 1\n", "child_mod.py": "import child_dep\n", "child_dep.py": "", "after_fork_mod.py": ""}


def _check_fork(tmp_path: Path, leave: str) -> None:
    write_tree(tmp_path, FILES)
    proc = run(_fork_program(leave), tmp_path, hooked=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    pids = dict(line.split()[:2] for line in proc.stdout.splitlines())
    parent_pid, child_pid = int(pids["parent"]), int(pids["child"])
    reports = _reports(tmp_path)
    assert set(reports) == {parent_pid, child_pid}, f"reports for {sorted(reports)}"
    parent, child = reports[parent_pid], reports[child_pid]
    assert json.loads((tmp_path / "report.json").read_text())["pid"] == parent_pid  # not overwritten
    # The child's own imports, once each, and none of the parent's records re-reported.
    assert _names(child) == ["child_mod", "child_dep"]
    assert [r["parent"] for r in child["imports"]] == [None, "child_mod"]
    assert "parent_mod" in _names(parent) and "after_fork_mod" in _names(parent)
    assert not {"child_mod", "child_dep"} & set(_names(parent))
    assert child["internal_errors"] == [] == parent["internal_errors"]


def test_forked_child_leaving_through_sys_exit(tmp_path: Path) -> None:
    _check_fork(tmp_path, "sys.exit(0)")


def test_forked_child_leaving_through_os_exit(tmp_path: Path) -> None:
    _check_fork(tmp_path, "os._exit(0)")


def test_fork_inside_an_import_child_reports_the_open_import_once(tmp_path: Path) -> None:
    # Forking while `forker` is being imported: the child carries the in-progress record
    # (its stack), finishes it, and reports it; the parent reports its own copy.
    write_tree(
        tmp_path,
        {
            "forker.py": """
        import os, sys
        pid = os.fork()
        if pid == 0:
            import child_mod
            CHILD = True
        else:
            os.waitpid(pid, 0)
            CHILD = False
    """,
            **FILES,
        },
    )
    code = """
        import os, sys
        import forker
        if forker.CHILD:
            print('child', os.getpid(), flush=True)
            sys.exit(0)
        print('parent', os.getpid())
    """
    proc = run(code, tmp_path, hooked=True)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    pids = dict(line.split()[:2] for line in proc.stdout.splitlines())
    reports = _reports(tmp_path)
    child, parent = reports[int(pids["child"])], reports[int(pids["parent"])]
    assert _names(child) == ["forker", "child_mod", "child_dep"]
    assert [r["status"] for r in child["imports"]] == ["ok", "ok", "ok"]
    assert [r["parent"] for r in child["imports"]] == [None, "forker", "child_mod"]
    assert _names(parent).count("forker") == 1 and "child_mod" not in _names(parent)


MP_FILES = {
    "mp_work.py": """
        import os
        def work(method, out):
            __import__("mp_target_" + method)
            with open(out, "w") as f:
                f.write(str(os.getpid()))
    """,
    **{f"mp_target_{m}.py": "import mp_target_dep\n" for m in ("fork", "forkserver", "spawn")},
    "mp_target_dep.py": "",
}


@pytest.mark.parametrize(
    "method",
    [
        "fork",
        "forkserver",
        "spawn",
    ],
)
def test_multiprocessing_child_imports_recorded_once_in_the_childs_report(tmp_path: Path, method: str) -> None:
    write_tree(tmp_path, MP_FILES)
    code = f"""
        import multiprocessing, os, sys
        sys.path.insert(0, {str(tmp_path)!r})
        import mp_work
        ctx = multiprocessing.get_context({method!r})
        p = ctx.Process(target=mp_work.work, args=({method!r}, {str(tmp_path / "child.pid")!r}))
        p.start()
        p.join(60)
        print('exitcode', p.exitcode, 'parent', os.getpid())
    """
    proc = run(code, tmp_path, hooked=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[:2] == ["exitcode", "0"], proc.stdout
    parent_pid = int(proc.stdout.split()[3])
    child_pid = int((tmp_path / "child.pid").read_text())
    reports = _reports(tmp_path)  # helper processes (forkserver, resource tracker) may add their own
    parent = reports[parent_pid]
    assert f"mp_target_{method}" not in _names(parent) and "mp_target_dep" not in _names(parent)
    # Every report that has the target import is the child's, and it has it once.
    holders = [pid for pid, rep in reports.items() if f"mp_target_{method}" in _names(rep)]
    assert holders == [child_pid], f"target recorded in {holders}, child is {child_pid}"
    child = reports[child_pid]
    assert _names(child).count(f"mp_target_{method}") == 1
    assert _names(child).count("mp_target_dep") == 1
    assert child["internal_errors"] == []
    if method == "fork":
        # The parent's records stay the parent's.
        assert "mp_work" not in _names(child)


SPANS_FORK = """
    import os, sys
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    class PerProcess(SpanExporter):
        # Each process appends the spans it exports to its own file.
        def export(self, spans):
            with open(f"spans.{os.getpid()}.txt", "a") as f:
                f.writelines(s.name + "\\n" for s in spans)
            return SpanExportResult.SUCCESS

        def shutdown(self):
            pass

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(PerProcess()))
    trace.set_tracer_provider(provider)
    import parent_mod
    pid = os.fork()
    if pid == 0:
        import bigpkg  # 301 modules in the child's first import: more than the parent had emitted
        import child_mod
        os._exit(0)
    os.waitpid(pid, 0)
    import after_fork_mod
    print(os.getpid(), pid)
"""


def test_forked_child_with_live_spans_exports_its_own_imports_once(tmp_path: Path) -> None:
    # The bridge used to tell a fork by the buffer's length: a child whose first import
    # loaded more modules than the parent had emitted skipped that many of its own,
    # and hung the rest under the parent's (ended) root span.
    files = dict(FILES, **{"bigpkg/__init__.py": "".join(f"from . import m{i}\n" for i in range(300))})
    files.update({f"bigpkg/m{i}.py": "" for i in range(300)})
    write_tree(tmp_path, files)
    proc = run(SPANS_FORK, tmp_path, hooked=True)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    parent_pid, child_pid = map(int, proc.stdout.split())

    def spans(pid: int) -> list[str]:
        return (tmp_path / f"spans.{pid}.txt").read_text().splitlines()

    child, parent = spans(child_pid), spans(parent_pid)
    big = [s for s in child if s == "import bigpkg" or s.startswith("import bigpkg.")]
    assert len(big) == len(set(big)) == 301, f"{len(big)} of 301 bigpkg spans exported by the child"
    assert child.count("import child_mod") == 1 and child.count("python startup") == 1
    assert "import parent_mod" not in child and "import after_fork_mod" not in child
    assert parent.count("import parent_mod") == 1 and parent.count("import after_fork_mod") == 1
    assert not [s for s in parent if "bigpkg" in s or s == "import child_mod"]
