"""Garbage collection inside imports: recorded apart, shown by every format, left out on request."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from conftest import clean_env, run_hooked, write_tree
from importguard import _formats

# Creating cyclic garbage makes the collector run while this module's own code runs.
CHURN = """
class Node:
    pass

def churn(n):
    for _ in range(n):
        a, b = Node(), Node()
        a.other, b.other = b, a

churn(40_000)
"""
TREE = {
    "gcapp/__init__.py": "from gcapp import quiet, churner\n",
    "gcapp/quiet.py": "VALUE = 1\n",
    "gcapp/churner.py": CHURN + "import gc\ngc.collect()\n",
}


def test_collections_are_charged_to_the_import_they_ran_in(tmp_path: Path) -> None:
    write_tree(tmp_path, TREE)
    proc, data = run_hooked("import gcapp", cwd=tmp_path, IMPORTGUARD_SUMMARY="1")
    assert data is not None
    by = {r["name"]: r for r in data["imports"]}
    churner, top = by["gcapp.churner"], by["gcapp"]
    # 80,000 cyclic objects: dozens of automatic collections, and the explicit full one.
    assert len(churner["gc"]) >= 10 and any(gen == 2 for _start, _dur, gen in churner["gc"])
    assert churner["gc_ns"] == sum(dur for _start, dur, _gen in churner["gc"]) > 0
    assert churner["gc_ns"] <= churner["self_ns"]  # counted in the self time, as -X importtime does
    # Each collection inside the module's own time span.
    for start, duration, _gen in churner["gc"]:
        assert churner["start_ns"] <= start and start + duration <= churner["start_ns"] + churner["duration_ns"]
    # Cumulative: the importer's includes its children's collections.
    assert top["gc_cumulative_ns"] == top["gc_ns"] + churner["gc_cumulative_ns"] + by["gcapp.quiet"]["gc_cumulative_ns"]
    assert by["gcapp.quiet"]["gc"] == [] or by["gcapp.quiet"]["gc_ns"] < churner["gc_ns"]
    assert "garbage collection inside imports:" in proc.stderr
    # Every timeline format shows the collections where they happened.
    report = tmp_path / "report.json"
    trace = json.loads(_formats.render(data, "trace"))
    gc_events = [e for e in trace["traceEvents"] if e.get("cat") == "gc"]
    assert len(gc_events) == sum(len(r["gc"]) for r in data["imports"])
    assert {e["args"]["in"] for e in gc_events} >= {"gcapp.churner"}
    speedscope = json.loads(_formats.render(data, "speedscope"))
    names = [f["name"] for f in speedscope["shared"]["frames"]]
    gc_frame = names.index("[garbage collection]")
    churner_frame = names.index("gcapp.churner")
    (profile,) = speedscope["profiles"]
    stack: list[int] = []
    inside = 0
    for event in profile["events"]:
        if event["type"] == "O":
            if event["frame"] == gc_frame and stack and stack[-1] == churner_frame:
                inside += 1
            stack.append(event["frame"])
        else:
            assert stack.pop() == event["frame"]
    assert inside == len(churner["gc"])
    assert report.exists()


def test_the_collector_is_not_loaded_for_the_program(tmp_path: Path) -> None:
    # gc.callbacks is reached through a private instance of the builtin module:
    # a program that never imports gc finds it unloaded, and importing it later is recorded.
    write_tree(tmp_path, {"late.py": "import gc\n"})
    proc, data = run_hooked("import sys\nprint('gc' in sys.modules)\nimport late\n", cwd=tmp_path)
    assert proc.stdout == "False\n" and data is not None
    assert "gc" in {r["name"] for r in data["imports"]}


def test_callback_only_while_an_import_runs(tmp_path: Path) -> None:
    # In gc.callbacks only while an import is in progress (either engine): a
    # collection between imports costs the program nothing, and the callback's
    # frame never meets the recursion limit in the program's own code.
    write_tree(
        tmp_path,
        {
            "gcprobe.py": "import gc\nfrom importguard import _gc\n"
            "print('during', gc.callbacks.count(_gc._on_collect))\n"
        },
    )
    code = """
        import gc, importguard, sys
        from importguard import _gc
        print('between', gc.callbacks.count(_gc._on_collect))
        import gcprobe
        print('after', gc.callbacks.count(_gc._on_collect))
        importguard.uninstall()
        sys.modules.pop('gcprobe')
        import gcprobe
        importguard.install()
        sys.modules.pop('gcprobe')
        import gcprobe
        print('between', gc.callbacks.count(_gc._on_collect))
    """
    proc, _data = run_hooked(code, cwd=tmp_path)
    assert proc.stdout.split("\n")[:-1] == ["between 0", "during 1", "after 0", "during 0", "during 1", "between 0"]


def bench_json(tmp_path: Path, *args: str) -> dict[str, Any]:
    out = tmp_path / "b.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "importguard",
            "bench",
            "gcapp",
            "--runs",
            "3",
            "--warmup",
            "0",
            "--json",
            str(out),
            *args,
        ],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    data: dict[str, Any] = json.loads(out.read_text())
    return data | {"_stdout": proc.stdout}


def test_bench_and_compare_leave_collections_out_on_request(tmp_path: Path) -> None:
    write_tree(tmp_path, TREE)
    (tmp_path / "pyproject.toml").write_text('[tool.importguard.budgets]\n"gcapp.churner" = "100s"\n')
    data = bench_json(tmp_path, "--gc", "exclude")
    assert data["gc"] == "exclude"
    (target,) = data["targets"]
    samples = target["samples"]
    assert all(s["modules"]["gcapp.churner"]["gc_self_ns"] > 0 for s in samples)
    stats = target["statistics"]["modules"]["gcapp.churner"]

    def median_ms(values: list[int]) -> float:
        return round(statistics.median(values) / 1e6, 4)

    assert stats["self_ms"]["median"] == median_ms(
        [s["modules"]["gcapp.churner"]["self_ns"] - s["modules"]["gcapp.churner"]["gc_self_ns"] for s in samples]
    )
    assert stats["cumulative_ms"]["median"] == median_ms(
        [
            s["modules"]["gcapp.churner"]["cumulative_ns"] - s["modules"]["gcapp.churner"]["gc_cumulative_ns"]
            for s in samples
        ]
    )
    assert target["statistics"]["total_ms"]["median"] == median_ms([s["total_ns"] - s["gc_total_ns"] for s in samples])
    # The budget is checked against the same numbers, and says so.
    (budget,) = data["budgets"]
    assert budget["median_cumulative_ms"] == stats["cumulative_ms"]["median"]
    assert "garbage collection left out" in data["_stdout"]
    included = bench_json(tmp_path)
    inc = included["targets"][0]
    assert inc["statistics"]["modules"]["gcapp.churner"]["self_ms"]["median"] == median_ms(
        [s["modules"]["gcapp.churner"]["self_ns"] for s in inc["samples"]]
    )
    assert "garbage collection included" in included["_stdout"]

    # compare judges the same way.
    from importguard._cli import compare as _compare

    result = _compare.compare_target(target, target, 10, 1, 0.01, "exclude")
    assert round(result["modules"]["gcapp.churner"]["base_ms"], 4) == stats["cumulative_ms"]["median"]
