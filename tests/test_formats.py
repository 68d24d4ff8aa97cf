"""Report formats by suffix (-X importtime text, speedscope, Chrome trace), merging and converting."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import clean_env, hooked_env, run_python, write_tree

# A main thread that imports a small tree (one module fails and is swallowed)
# while a second thread imports its own module.
APP = {
    "app/__init__.py": """
        from app import a
        import app.b
        try:
            import app.broken
        except ImportError:
            pass
    """,
    "app/a.py": "import app.a_child\n",
    "app/a_child.py": "x = 1\n",
    "app/b.py": "import json\n",
    "app/broken.py": "raise ImportError('broken on purpose')\n",
    "app/threaded.py": "import app.threaded_child\n",
    "app/threaded_child.py": "y = 2\n",
}

LINE = re.compile(r"^import time: +(\d+) \| +(\d+) \| ( *)(\S.*)$")


# Started from the top level: a thread started inside app/__init__ that imports
# from `app` would wait forever for app's module lock, with or without importguard.
MAIN = """
    import threading
    import app
    t = threading.Thread(target=lambda: __import__("app.threaded"), name="worker")
    t.start()
    t.join()
"""


def report_of(tmp_path: Path, name: str = "r.json", code: str = MAIN) -> dict[str, Any]:
    write_tree(tmp_path, APP)
    path = tmp_path / name
    proc = run_python(code, cwd=tmp_path, env=hooked_env(path))
    assert proc.returncode == 0, proc.stderr
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def ig(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "importguard", *args],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def parse_importtime(text: str) -> list[tuple[str, int, int, int]]:
    """(name, depth, self us, cumulative us) for each `import time:` line, as tuna reads them."""
    out = []
    for line in text.splitlines()[1:]:
        m = LINE.match(line)
        if m:
            self_us, cum_us, indent, name = m.groups()
            assert len(indent) % 2 == 0
            out.append((name, len(indent) // 2, int(self_us), int(cum_us)))
    return out


def test_txt_is_the_importtime_format_with_the_same_tree(tmp_path: Path) -> None:
    report = report_of(tmp_path)
    proc = ig(tmp_path, "report", "convert", "r.json", "-o", "r.txt")
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "r.txt").read_text()
    lines = text.splitlines()
    assert lines[0] == "import time: self [us] | cumulative | imported package"
    # Every other line is an importtime line or an importguard: line, which those tools skip.
    assert all(LINE.match(x) or x.startswith("importguard: ") for x in lines[1:])
    entries = parse_importtime(text)
    assert sorted(e[0] for e in entries) == sorted(r["name"] for r in report["imports"])
    by_name = {r["name"]: r for r in report["imports"]}
    for name, _depth, self_us, cum_us in entries:
        rec = by_name[name]
        assert cum_us == -(-rec["duration_ns"] // 1000) and self_us == -(-rec["self_ns"] // 1000)
    # Children come before their parent, one level deeper (post-order, as CPython prints).
    pos = {e[0]: i for i, e in enumerate(entries)}
    depth = {e[0]: e[1] for e in entries}
    assert pos["app.a_child"] < pos["app.a"] < pos["app"] and depth["app.a_child"] == depth["app.a"] + 1
    assert depth["app.a"] == depth["app"] + 1
    # The worker thread's imports form their own block at top level.
    assert depth["app.threaded"] == 0 and depth["app.threaded_child"] == 1
    assert "importguard: thread worker" in text
    failure = [x for x in lines if x.startswith("importguard: failed: app.broken")]
    assert failure == ["importguard: failed: app.broken: ImportError: broken on purpose [swallowed]"]


def test_tuna_reads_the_txt_report(tmp_path: Path) -> None:
    tuna = pytest.importorskip("tuna._import_profile")
    report_of(tmp_path)
    assert ig(tmp_path, "report", "convert", "r.json", "-o", "r.txt").returncode == 0
    tree = tuna.read_import_profile(str(tmp_path / "r.txt"))

    def names(node: dict[str, Any]) -> dict[str, list[str]]:
        out = {node["text"][0]: [c["text"][0] for c in node.get("children", [])]}
        for child in node.get("children", []):
            out.update(names(child))
        return out

    seen = names(tree)
    assert set(seen["app"]) >= {"app.a", "app.b", "app.broken"}
    assert seen["app.a"] == ["app.a_child"]
    assert "app.threaded" in seen["main"]  # its own root, as importguard records it


def test_importtime_txt_is_the_bare_stream_tuna_reads_without_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tuna = pytest.importorskip("tuna._import_profile")
    report = report_of(tmp_path)
    assert ig(tmp_path, "report", "convert", "r.json", "-o", "r.importtime.txt").returncode == 0
    text = (tmp_path / "r.importtime.txt").read_text()
    lines = text.splitlines()
    # Nothing but what -X importtime prints: its header, then one line per import, failures included.
    assert lines[0] == "import time: self [us] | cumulative | imported package"
    assert all(LINE.match(line) for line in lines[1:])
    assert sorted(e[0] for e in parse_importtime(text)) == sorted(r["name"] for r in report["imports"])
    # The same lines as the .txt report, without its importguard: lines.
    assert ig(tmp_path, "report", "convert", "r.json", "-o", "r.txt").returncode == 0
    full = (tmp_path / "r.txt").read_text().splitlines()
    assert [line for line in full if not line.startswith("importguard: ")] == lines
    with caplog.at_level("WARNING", logger="tuna"):
        tuna.read_import_profile(str(tmp_path / "r.importtime.txt"))
    assert caplog.records == []
    with caplog.at_level("WARNING", logger="tuna"):
        tuna.read_import_profile(str(tmp_path / "r.txt"))
    assert caplog.records  # the .txt report's extra lines: what .importtime.txt is for


def check_nesting(profile: dict[str, Any]) -> list[int]:
    """Replay speedscope's evented stack discipline; return the opened frames."""
    stack: list[int] = []
    opened = []
    at = profile["startValue"]
    for ev in profile["events"]:
        assert ev["at"] >= at
        at = ev["at"]
        if ev["type"] == "O":
            stack.append(ev["frame"])
            opened.append(ev["frame"])
        else:
            assert stack and stack.pop() == ev["frame"]
    assert not stack and at == profile["endValue"]
    return opened


def test_speedscope_one_profile_per_thread_with_proper_nesting(tmp_path: Path) -> None:
    report = report_of(tmp_path, "r.speedscope.json")  # written at exit, by suffix
    # The file on disk is speedscope, not our JSON: rebuild our view from a second run.
    doc = json.loads((tmp_path / "r.speedscope.json").read_text())
    assert doc["$schema"] == "https://www.speedscope.app/file-format-schema.json"
    frames = doc["shared"]["frames"]
    assert len(doc["profiles"]) == 2
    names = []
    for profile in doc["profiles"]:
        assert profile["type"] == "evented" and profile["unit"] == "nanoseconds"
        names.append(sorted(frames[f]["name"] for f in check_nesting(profile)))
    main, worker = names
    assert "app.threaded" in worker and "app.threaded" not in main and {"app", "app.a"} <= set(main)
    assert "worker" in doc["profiles"][1]["name"]
    del report


def test_trace_events_one_track_per_thread(tmp_path: Path) -> None:
    report = report_of(tmp_path)
    assert ig(tmp_path, "report", "convert", "r.json", "-o", "r.trace.json").returncode == 0
    doc = json.loads((tmp_path / "r.trace.json").read_text())
    events = [e for e in doc["traceEvents"] if e["ph"] == "X" and e["cat"] == "import"]  # (cat "gc": collections)
    assert sorted(e["name"] for e in events) == sorted(r["name"] for r in report["imports"])
    threads = {e["args"]["name"].split(" (")[0]: e["tid"] for e in doc["traceEvents"] if e["name"] == "thread_name"}
    assert set(threads) == {"MainThread", "worker"}
    tid_of = {e["name"]: e["tid"] for e in events}
    assert tid_of["app.threaded"] == threads["worker"] and tid_of["app.a"] == threads["MainThread"]
    by_name = {r["name"]: r for r in report["imports"]}
    for e in events:
        assert e["dur"] == by_name[e["name"]]["duration_ns"] / 1000
        assert e["pid"] == report["pid"]
    broken = next(e for e in events if e["name"] == "app.broken")
    assert broken["args"]["error"] == "ImportError: broken on purpose" and broken["args"]["swallowed"] is True
    # Children lie inside their parent on the same track.
    a, child = next(e for e in events if e["name"] == "app.a"), next(e for e in events if e["name"] == "app.a_child")
    assert a["ts"] <= child["ts"] and child["ts"] + child["dur"] <= a["ts"] + a["dur"]


MULTI = {
    "parent.py": """
        import json, subprocess, sys
        import helper_parent
        subprocess.run([sys.executable, "child.py"], check=True)
        print("parent done")
    """,
    "child.py": "import helper_child\nimport decimal\nprint('child done')\n",
    "helper_parent.py": "",
    # The slowest import of both processes by far, so that the merged ranking names it
    # however a busy machine stretches the others (decimal's ~8 ms did not always make it).
    "helper_child.py": "import time\ntime.sleep(0.2)\n",
}


def test_run_merges_every_process_into_each_report(tmp_path: Path) -> None:
    write_tree(tmp_path, MULTI)
    proc = ig(
        tmp_path,
        "run",
        "--report",
        "all.json",
        "--report",
        "all.txt",
        "--report",
        "all.trace.json",
        "--report",
        "all.speedscope.json",
        "parent.py",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "child done\nparent done\n"
    merged = json.loads((tmp_path / "all.json").read_text())
    assert merged["schema"] == "importguard.merged/1"
    procs = merged["processes"]
    assert len(procs) == 2
    first, second = ({r["name"] for r in p["imports"]} for p in procs)
    assert "helper_parent" in first and "helper_child" not in first  # the parent started first
    assert {"helper_child", "decimal"} <= second
    assert "importguard: 2 processes" in proc.stderr and "reports: all.json, all.txt" in proc.stderr
    # One picture of both: the child's modules are ranked beside the parent's, with their pid.
    child_pid = procs[1]["pid"]
    assert f"pid {child_pid}: " in proc.stderr
    assert any("helper_child" in line and f"pid {child_pid}" in line for line in proc.stderr.splitlines())
    text = (tmp_path / "all.txt").read_text()
    assert text.count("importguard: process ") == 2
    trace = json.loads((tmp_path / "all.trace.json").read_text())
    assert len({e["pid"] for e in trace["traceEvents"]}) == 2
    speedscope = json.loads((tmp_path / "all.speedscope.json").read_text())
    assert len(speedscope["profiles"]) == 2
    for profile in speedscope["profiles"]:
        check_nesting(profile)
    # Nothing is left behind next to the reports.
    assert sorted(p.name for p in tmp_path.iterdir() if "all" in p.name) == [
        "all.json",
        "all.speedscope.json",
        "all.trace.json",
        "all.txt",
    ]


def test_report_merge_and_convert(tmp_path: Path) -> None:
    one = report_of(tmp_path, "one.json")
    two = report_of(tmp_path, "two.json", code="import app.b")
    proc = ig(tmp_path, "report", "merge", "one.json", "two.json", "-o", "both.json")
    assert proc.returncode == 0, proc.stderr
    both = json.loads((tmp_path / "both.json").read_text())
    assert [p["pid"] for p in both["processes"]] == [one["pid"], two["pid"]]
    # Merging a merged report with another report keeps every process once.
    three = report_of(tmp_path, "three.json", code="import app.a")
    assert ig(tmp_path, "report", "merge", "both.json", "three.json", "-o", "all.json").returncode == 0
    assert [p["pid"] for p in json.loads((tmp_path / "all.json").read_text())["processes"]] == [
        one["pid"],
        two["pid"],
        three["pid"],
    ]
    assert ig(tmp_path, "report", "convert", "both.json", "-o", "both.txt").returncode == 0
    assert (tmp_path / "both.txt").read_text().count("importguard: process ") == 2


def test_report_merge_says_what_it_did_and_takes_each_process_once(tmp_path: Path) -> None:
    one = report_of(tmp_path, "one.json")
    two = report_of(tmp_path, "two.json", code="import app.b")
    proc = ig(tmp_path, "report", "merge", "one.json", "two.json", "-o", "both.html")
    assert proc.returncode == 0
    count = len(one["imports"]) + len(two["imports"])
    assert proc.stderr == f"importguard report: wrote both.html (html): 2 processes, {count:,} imports, from 2 files\n"
    # The same file twice, or a merged file beside one of its parts: each process once, one line each.
    proc = ig(tmp_path, "report", "merge", "one.json", "one.json", "two.json", "-o", "again.json")
    assert proc.returncode == 0
    assert [p["pid"] for p in json.loads((tmp_path / "again.json").read_text())["processes"]] == [
        one["pid"],
        two["pid"],
    ]
    lines = proc.stderr.splitlines()
    assert lines[0] == (
        f"importguard report: one.json is named twice (pid {one['pid']}); that process is merged once. "
        "Name each per-process report once."
    )
    assert lines[1].startswith("importguard report: wrote again.json (json): 2 processes")
    assert ig(tmp_path, "report", "merge", "both.json", "one.json", "-o", "x.json").returncode == 2  # no both.json
    assert ig(tmp_path, "report", "merge", "one.json", "two.json", "-o", "both.json").returncode == 0
    proc = ig(tmp_path, "report", "merge", "both.json", "one.json", "-o", "three.json")
    assert f"one.json holds the same process as both.json (pid {one['pid']})" in proc.stderr
    assert len(json.loads((tmp_path / "three.json").read_text())["processes"]) == 2


def test_report_bad_input_is_one_clear_message(tmp_path: Path) -> None:
    (tmp_path / "not.json").write_text("{nope")
    (tmp_path / "other.json").write_text('{"schema": "something/9"}')
    for args, expected in [
        (("convert", "not.json", "-o", "x.txt"), "cannot read report not.json"),
        (("convert", "other.json", "-o", "x.txt"), "other.json is not an importguard report"),
        (("convert", "missing.json", "-o", "x.txt"), "cannot read report missing.json"),
        (("convert", "other.json", "-o", "x.pdf"), "x.pdf: unknown report format"),
    ]:
        proc = ig(tmp_path, "report", *args)
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.count("\n") == 1 and expected in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr


def test_a_child_process_writes_its_own_file_before_the_format_suffix(tmp_path: Path) -> None:
    write_tree(tmp_path, MULTI)
    proc = run_python(
        "import runpy; runpy.run_path('parent.py')",
        cwd=tmp_path,
        env=hooked_env(IMPORTGUARD_REPORT=str(tmp_path / "r.speedscope.json")),
    )
    assert proc.returncode == 0, proc.stderr
    written = sorted(p.name for p in tmp_path.glob("r.*"))
    assert len(written) == 2 and "r.speedscope.json" in written
    child = next(n for n in written if n != "r.speedscope.json")
    assert re.fullmatch(r"r\.\d+\.speedscope\.json", child)
    for name in written:
        for profile in json.loads((tmp_path / name).read_text())["profiles"]:
            check_nesting(profile)
