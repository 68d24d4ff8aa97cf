"""The benchmark suite runs and writes what its README says (tiny sizes, one round).

Not a benchmark: no number is compared with anything. It checks that
``benchmarks/run.py --suite quick`` still works end to end and that its JSON
has the structure the README and the plot rely on.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_suite_quick_runs_and_writes_its_results(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "run.py"),
            "--suite",
            "quick",
            "--sizes",
            "10,30",
            "--real",
            "",
            "--variants",
            "plain,off,on,on_noexports,importtime",
            "--rounds",
            "1",
            "--no-spans",
            "--no-callgrind",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    res = json.loads((tmp_path / "suite-quick.json").read_text())
    assert (tmp_path / "suite-quick.md").read_text().startswith("Machine:")
    assert res["variants"] == ["plain", "off", "on", "on_noexports", "importtime"]
    assert set(res["results"]) == {"startup", "tree10", "tree30"}
    for workload, per in res["results"].items():
        for variant in res["variants"]:
            e = per[variant]
            for key in ("cpu_ms", "wall_ms", "ratio_cpu", "ratio_wall", "d_inner_cpu_us_per_module"):
                assert set(e[key]) >= {"median", "p25", "p75", "min", "max", "n"}, (workload, variant, key)
            assert e["ratio_cpu"]["n"] == 1
        # every variant imports the same modules for the workload (+ synth_entry for trees)
        assert len({per[v]["new_modules"] for v in res["variants"]}) == 1, workload
    assert per["on"]["new_modules"] == 31  # tree30: 30 modules + synth_entry
    assert all(res["module_sets"][w]["on"]["equal"] for w in res["results"])
    assert set(res["slopes"]) == {"10-30"}
    assert res["bound"]["holds"] is True
    assert set(res["self_time"]) == {"tree10", "tree30"}
    names = {t["target"] for t in res["targets"]}
    assert any(n.startswith("disabled") for n in names) and any("fixed cost" in n for n in names)
    assert all(isinstance(t["met"], bool) for t in res["targets"])
