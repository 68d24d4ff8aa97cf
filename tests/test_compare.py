"""`importguard compare`: real bench results of real packages, and the decision rule on made-up samples.

The only timing the real-process tests rely on is a 200 ms sleep injected into
one module: detecting it is the point, and it is far beyond the noise (30 ms
was not, on a 2-core machine loaded ten times over, where `import json` alone
took ~100 ms and swung by as much).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import clean_env, write_tree

PACKAGE = {
    "cmppkg/__init__.py": "import json\nfrom cmppkg import models, slow\n",
    "cmppkg/models.py": "import textwrap\nFIELDS = ('a', 'b')\n",
    "cmppkg/slow.py": "VALUE = 1\n",
}


def ig(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "importguard", *args],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )


def bench_side_by_side(base_dir: Path, new_dir: Path, out: Path, runs: int = 10) -> tuple[Path, Path]:
    """Bench the package in *base_dir* and in *new_dir* at the same time, 10 runs each.

    At the same time, because a shared machine's load changes from one minute
    to the next: two benches run one after the other on a loaded CI machine
    differ by more than 10 % in every module now and then, which no statistic
    over the runs of one bench can tell from a regression (compare's docstring
    says so, and tells users to bench both sides in one job). Side by side,
    both see the same load, and what is left is the run-to-run noise that
    compare has to see through.
    """
    procs = []
    for cwd, name in ((base_dir, "base.json"), (new_dir, "new.json")):
        procs.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "importguard",
                    "bench",
                    "cmppkg",
                    "--runs",
                    str(runs),
                    "--warmup",
                    "1",
                    "--json",
                    str(out / name),
                ],
                cwd=cwd,
                env=clean_env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    for proc in procs:
        _stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, stderr
    return out / "base.json", out / "new.json"


def section(stdout: str, title: str) -> list[str]:
    """The module names listed under ``slower (N):`` (or faster) in compare's output."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith(f"{title} ("))
    names = []
    for line in lines[start + 2 :]:
        if not line.startswith("    ") or line.strip().startswith("..."):
            break
        names.append(line.split()[-1])
    return names if not lines[start].strip().startswith(f"{title} (0)") else []


def test_flags_an_injected_regression(tmp_path: Path) -> None:
    base_dir, new_dir = tmp_path / "base", tmp_path / "new"
    write_tree(base_dir, PACKAGE)
    write_tree(new_dir, {**PACKAGE, "cmppkg/slow.py": "import time\ntime.sleep(0.2)\nVALUE = 1\n"})
    base, new = bench_side_by_side(base_dir, new_dir, tmp_path)
    proc = ig(tmp_path, "compare", str(base), str(new))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    slower = section(proc.stdout, "slower")
    # The module that changed, and its importer (whose cumulative time contains it); nothing else.
    assert set(slower) == {"cmppkg.slow", "cmppkg"}
    row = next(line for line in proc.stdout.splitlines() if line.endswith("  cmppkg.slow"))
    assert " ms  cmppkg.slow" in row and "+" in row
    assert "total import time:" in proc.stdout and ": SLOWER" in proc.stdout
    assert (
        proc.stdout.rstrip().splitlines()[-1]
        == "importguard compare: REGRESSION: cmppkg: 2 modules slower, total slower"
    )
    # Read the other way round, the change is an improvement: exit 0.
    back = ig(tmp_path, "compare", str(new), str(base))
    assert back.returncode == 0, back.stdout
    assert "cmppkg.slow" in section(back.stdout, "faster") and section(back.stdout, "slower") == []
    assert back.stdout.rstrip().endswith("importguard compare: no regression")


def test_unchanged_package_is_not_flagged(tmp_path: Path) -> None:
    write_tree(tmp_path, PACKAGE)
    first, second = bench_side_by_side(tmp_path, tmp_path, tmp_path)
    proc = ig(tmp_path, "compare", str(first), str(second))
    assert proc.returncode == 0, proc.stdout
    assert section(proc.stdout, "slower") == [] and section(proc.stdout, "faster") == []
    assert "  new (0)" in proc.stdout and "  gone (0)" in proc.stdout
    assert proc.stdout.rstrip().endswith("importguard compare: no regression")


# -- the decision rule, on made-up samples ---------------------------------------------


def made_up(modules: dict[str, list[float]], target: str = "app", python: str = "3.11.7") -> dict[str, Any]:
    """A bench result whose runs have exactly these cumulative times (ms) per module."""
    runs = len(next(iter(modules.values())))
    samples = []
    for i in range(runs):
        mods = {
            name: {"self_ns": int(times[i] * 1e6 / 2), "cumulative_ns": int(times[i] * 1e6)}
            for name, times in modules.items()
        }
        samples.append(
            {
                "round": i + 1,
                "wall_ns": 1,
                "plain_wall_ns": 1,
                "module_count": len(mods),
                "total_ns": sum(m["cumulative_ns"] for m in mods.values()),
                "modules": mods,
            }
        )
    return {
        "schema": "importguard.bench/1",
        "importguard": "0.1.0",
        "python": python,
        "runs": runs,
        "warmup": 1,
        "isolated": False,
        "targets": [
            {"kind": "module", "target": target, "python": python, "samples": samples, "statistics": {}, "overhead": {}}
        ],
        "budgets": [],
    }


def decision_files(tmp_path: Path) -> tuple[Path, Path]:
    rng = random.Random(7)
    jitter = [rng.uniform(-0.05, 0.05) for _ in range(10)]
    noisy_base = [rng.uniform(10, 50) for _ in range(10)]
    # A table: its comments line up.
    # fmt: off
    base = {
        "shifted": [10 + j for j in jitter],            # +5 ms, +50 %, runs apart: slower
        "tiny": [0.2 + j / 10 for j in jitter],         # +0.6 ms: +300 %, but under 1 ms
        "big": [100 + j for j in jitter],               # +5 ms, but 5 % of 100 ms
        "noisy": noisy_base,                            # medians apart, runs overlap: noise
        "improved": [20 + j for j in jitter],           # -10 ms: faster
        "gone": [3.0] * 10,
    }
    # fmt: on
    new = {
        "shifted": [15 + j for j in jitter],
        "tiny": [0.8 + j / 10 for j in jitter],
        "big": [105 + j for j in jitter],
        "noisy": [v + 6 for v in reversed(noisy_base)],
        "improved": [10 + j for j in jitter],
        "added": [4.0] * 10,
    }
    bp, np_ = tmp_path / "base.json", tmp_path / "new.json"
    bp.write_text(json.dumps(made_up(base)))
    np_.write_text(json.dumps(made_up(new)))
    return bp, np_


def test_decision_rule_needs_all_three_allowances(tmp_path: Path) -> None:
    base, new = decision_files(tmp_path)
    proc = ig(tmp_path, "compare", str(base), str(new))
    assert proc.returncode == 1, proc.stderr
    assert section(proc.stdout, "slower") == ["shifted"]
    assert section(proc.stdout, "faster") == ["improved"]
    assert "  new (1): added 4.00 ms" in proc.stdout and "  gone (1): gone 3.00 ms" in proc.stdout
    # The allowances are options: 60 % of 10 ms is more than the 5 ms change.
    relaxed = ig(tmp_path, "compare", str(base), str(new), "--threshold", "60")
    assert relaxed.returncode == 0 and section(relaxed.stdout, "slower") == []
    # ... and with no absolute allowance, the tiny module's 0.6 ms counts.
    strict = ig(tmp_path, "compare", str(base), str(new), "--min-ms", "0")
    assert section(strict.stdout, "slower") == ["shifted", "tiny"]


def test_a_targets_modules_are_one_family(tmp_path: Path) -> None:
    # 24 unchanged modules, one that drifted a little beyond its allowance (p 0.0025:
    # flagged at 0.01 were it tested alone), and one that regressed for sure.
    from importguard._cli.compare import holm, mann_whitney_p

    runs = [i / 10 for i in range(10)]
    base = {f"u{i:02}": [5.0] * 10 for i in range(24)}
    new = dict(base)
    base["drift"], new["drift"] = [20 + r for r in runs], [22.5 + r for r in runs]  # allowance 2 ms
    base["regressed"], new["regressed"] = [10 + r for r in runs], [20 + r for r in runs]
    assert mann_whitney_p(base["drift"], [x - 2 for x in new["drift"]]) < 0.01
    bp, np_ = tmp_path / "base.json", tmp_path / "new.json"
    bp.write_text(json.dumps(made_up(base)))
    np_.write_text(json.dumps(made_up(new)))
    proc = ig(tmp_path, "compare", str(bp), str(np_))
    assert proc.returncode == 1, proc.stderr
    assert section(proc.stdout, "slower") == ["regressed"]
    assert "Holm-corrected over each target's modules" in proc.stdout
    # Holm itself: each p against alpha / (what is left), stopping at the first that fails.
    assert holm({"a": 0.001, "b": 0.006, "c": 0.007}, 0.01) == {"a"}  # 0.006 >= 0.01 / 2
    assert holm({"a": 0.001, "b": 0.004, "c": 0.009}, 0.01) == {"a", "b", "c"}
    assert holm({"a": 0.004, "b": 0.001}, 0.01) == {"a", "b"}
    assert holm({"a": 0.012, "b": 0.001}, 0.01) == {"b"}
    assert holm({}, 0.01) == set()


def test_too_few_runs_for_any_module_says_so(tmp_path: Path) -> None:
    runs = [i / 10 for i in range(5)]
    modules = {f"u{i:02}": [5.0 + r for r in runs] for i in range(5)}
    bp, np_ = tmp_path / "base.json", tmp_path / "new.json"
    bp.write_text(json.dumps(made_up(modules)))
    np_.write_text(json.dumps(made_up({name: [x + 10 for x in times] for name, times in modules.items()})))
    proc = ig(tmp_path, "compare", str(bp), str(np_))
    # 5 against 5 runs: the smallest p, 0.004, is not below 0.01 / 5 = 0.002.
    assert "cannot flag any single one of 5 modules" in proc.stdout
    assert section(proc.stdout, "slower") == [] and ": SLOWER" in proc.stdout and proc.returncode == 1


def test_mann_whitney_p_values() -> None:
    from importguard._cli.compare import mann_whitney_p, runs_needed, smallest_p

    # One-sided: small when the second sample is the larger.
    assert mann_whitney_p([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]) == pytest.approx(1 / 252)
    assert mann_whitney_p([6, 7, 8, 9, 10], [1, 2, 3, 4, 5]) == pytest.approx(1.0)
    assert mann_whitney_p([1, 3, 5, 7, 9], [2, 4, 6, 8, 10]) == pytest.approx(0.3452, abs=1e-4)  # R: wilcox.test
    assert mann_whitney_p([5] * 10, [5] * 10) == 1.0
    assert 0 < mann_whitney_p([1, 1, 2, 2, 3], [3, 4, 4, 5, 5]) < 0.05  # ties: normal approximation
    assert smallest_p(4, 4) > 0.01 > smallest_p(5, 5)
    assert runs_needed(0.01) == 5


# -- exit codes and bad input ---------------------------------------------------------------


def test_bad_input_exits_two_with_one_clear_line(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(made_up({"m": [1.0] * 10})))
    (tmp_path / "text.json").write_text("this is not json\n")
    (tmp_path / "report.json").write_text(json.dumps({"schema": "importguard.report/1", "imports": []}))
    (tmp_path / "future.json").write_text(json.dumps({**made_up({"m": [1.0] * 10}), "schema": "importguard.bench/2"}))
    (tmp_path / "other.json").write_text(json.dumps({"hello": "world"}))
    (tmp_path / "broken.json").write_text(json.dumps({"schema": "importguard.bench/1", "targets": [{"kind": 1}]}))
    (tmp_path / "few.json").write_text(json.dumps(made_up({"m": [1.0] * 3})))
    (tmp_path / "elsewhere.json").write_text(json.dumps(made_up({"m": [1.0] * 10}, target="other")))
    cases = {
        "missing.json": "cannot read",
        "text.json": "is not JSON",
        "report.json": "is an import report (importguard.report/1), not a bench result",
        "future.json": "has schema importguard.bench/2; importguard 0.1.0 compares importguard.bench/1 only",
        "other.json": "is not an importguard bench result",
        "broken.json": "is not shaped like one",
        "few.json": "3 against 3 runs cannot show any difference at p < 0.01; bench with --runs 5 or more",
        "elsewhere.json": "measured no target in common (app vs other)",
    }
    for name, message in cases.items():
        base = tmp_path / name if name == "few.json" else good
        proc = ig(tmp_path, "compare", str(base), str(tmp_path / name))
        assert proc.returncode == 2, (name, proc.stdout, proc.stderr)
        assert proc.stdout == "" and proc.stderr.count("\n") == 1, (name, proc.stderr)
        assert proc.stderr.startswith("importguard compare: ") and message in proc.stderr, (name, proc.stderr)
    proc = ig(tmp_path, "compare", str(good), str(good), "--alpha", "2")
    assert proc.returncode == 2 and "--alpha between 0 and 1" in proc.stderr


def test_identical_files_exit_zero(tmp_path: Path) -> None:
    good = tmp_path / "good.json"
    good.write_text(json.dumps(made_up({"m": [float(i) for i in range(1, 11)]})))
    proc = ig(tmp_path, "compare", str(good), str(good))
    assert proc.returncode == 0
    assert "total import time: 5.50 -> 5.50 ms (+0.0 ms, +0%, p " in proc.stdout
    assert proc.stdout.count(": no change beyond the noise") == 1
