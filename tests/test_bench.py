"""`importguard bench` and budgets: generated packages, real child processes.

No assertion here is about how long anything took, except where the injected
difference (a 50 ms sleep against a 5 ms budget, or a 10 s budget) is orders
of magnitude beyond any noise and the assertion is that it was detected.
"""

from __future__ import annotations

import json
import os
import pty
import shlex
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT, clean_env, hooked_env, run_python, write_tree

# Each module says in a shared log that it ran, in which kind of process: the
# order of the lines is the order bench ran its children.
LOG_LINE = (
    "import os\n"
    "with open(os.environ['BENCH_LOG'], 'a') as _fh:\n"
    "    _fh.write(__name__ + (' hooked' if os.environ.get('IMPORTGUARD') == '1' else ' plain') + '\\n')\n"
)

TREE = {
    "benchpkg/__init__.py": "from benchpkg import a, b\n",
    "benchpkg/a.py": "from benchpkg import leaf\n",
    "benchpkg/b.py": "import benchpkg.sub\nfrom benchpkg import leaf\n",
    "benchpkg/leaf.py": "VALUE = 1\n",
    "benchpkg/sub/__init__.py": "from . import x\n",
    "benchpkg/sub/x.py": "try:\n    import not_installed_xyz\nexcept ImportError:\n    pass\n",
}
TREE_MODULES = {"benchpkg", "benchpkg.a", "benchpkg.b", "benchpkg.leaf", "benchpkg.sub", "benchpkg.sub.x"}
STATS_KEYS = {"median", "p25", "p75", "min", "max"}


def bench(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "importguard", "bench", *args],
        cwd=cwd,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=300,
    )


def check_stats(stats: dict[str, Any]) -> None:
    assert set(stats) == STATS_KEYS
    assert stats["min"] <= stats["p25"] <= stats["median"] <= stats["p75"] <= stats["max"]


def check_bench_json(data: dict[str, Any], runs: int) -> None:
    """The structure the docstring of importguard._cli.bench promises."""
    assert data["schema"] == "importguard.bench/1"
    assert set(data) == {"schema", "importguard", "python", "runs", "warmup", "isolated", "gc", "targets", "budgets"}
    assert data["gc"] in ("include", "exclude")
    assert data["runs"] == runs and isinstance(data["warmup"], int) and data["isolated"] is False
    for target in data["targets"]:
        assert set(target) == {"kind", "target", "python", "samples", "statistics", "overhead"}
        assert target["kind"] in ("module", "command")
        assert len(target["samples"]) == runs
        for sample in target["samples"]:
            assert set(sample) == {
                "round",
                "wall_ns",
                "plain_wall_ns",
                "total_ns",
                "gc_total_ns",
                "module_count",
                "modules",
            }
            assert sample["module_count"] == len(sample["modules"])
            assert 0 <= sample["gc_total_ns"] <= sample["total_ns"]
            for times in sample["modules"].values():
                assert set(times) == {"self_ns", "cumulative_ns", "gc_self_ns", "gc_cumulative_ns"}
                assert 0 <= times["self_ns"] <= times["cumulative_ns"] <= sample["total_ns"]
                assert 0 <= times["gc_self_ns"] <= times["self_ns"]
                assert times["gc_self_ns"] <= times["gc_cumulative_ns"] <= times["cumulative_ns"]
        stats = target["statistics"]
        check_stats(stats["total_ms"])
        check_stats(stats["gc_total_ms"])
        check_stats(stats["module_count"])
        for name, mod in stats["modules"].items():
            assert mod["runs"] == sum(name in s["modules"] for s in target["samples"])
            check_stats(mod["self_ms"])
            check_stats(mod["cumulative_ms"])
            check_stats(mod["gc_ms"])
            assert mod["parent"] is None or mod["parent"] in stats["modules"]
            assert isinstance(mod["thread"], str)
        over = target["overhead"]
        check_stats(over["hooked_wall_ms"])
        check_stats(over["plain_wall_ms"])
        # The overhead is the median of the paired (same round) differences, with its interval.
        diffs = sorted(round((s["wall_ns"] - s["plain_wall_ns"]) / 1e6, 4) for s in target["samples"])
        assert diffs[0] <= over["interval_ms"][0] <= over["difference_ms"] <= over["interval_ms"][1] <= diffs[-1]
        assert over["interval_ms"][0] in diffs and over["interval_ms"][1] in diffs  # order statistics
        assert 0 < over["confidence"] < 1
        assert over["inside_noise"] == (over["interval_ms"][0] <= 0 <= over["interval_ms"][1])


def test_bench_reports_every_module(tmp_path: Path) -> None:
    write_tree(tmp_path, TREE)
    out = tmp_path / "bench.json"
    proc = bench(
        tmp_path, "benchpkg", "--runs", "3", "--warmup", "0", "--json", str(out), SECRET_TOKEN="hunter2-not-in-the-json"
    )
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    data = json.loads(text)
    check_bench_json(data, runs=3)
    (target,) = data["targets"]
    assert (target["kind"], target["target"]) == ("module", "benchpkg")
    assert data["python"] == target["python"] == "%d.%d.%d" % sys.version_info[:3]
    # Every module of the tree, in every run, loaded once; the probe that failed is not a module.
    stats = target["statistics"]
    assert set(stats["modules"]) >= TREE_MODULES
    assert "not_installed_xyz" not in stats["modules"]
    assert all(stats["modules"][m]["runs"] == 3 for m in TREE_MODULES)
    assert [s["round"] for s in target["samples"]] == [0, 1, 2]
    for sample in target["samples"]:
        assert set(sample["modules"]) >= TREE_MODULES
        top = sample["modules"]["benchpkg"]
        assert all(sample["modules"][m]["cumulative_ns"] <= top["cumulative_ns"] for m in TREE_MODULES)
    assert stats["modules"]["benchpkg.sub.x"]["parent"] == "benchpkg.sub"
    assert stats["modules"]["benchpkg.leaf"]["parent"] == "benchpkg.a"  # loaded there first
    # Nothing from the environment or the machine beyond the targets.
    assert "hunter2" not in text and str(tmp_path) not in text and sys.executable not in text
    # The table: every module of the tree shown, with a spread, and the totals.
    assert proc.stdout.startswith("importguard bench: 3 runs per target after 0 warmup")
    for module in TREE_MODULES:
        assert any(line.endswith(f"  {module}") and "±" in line for line in proc.stdout.splitlines()), module
    assert "benchpkg: " in proc.stdout and "total import time" in proc.stdout
    assert "ms hooked" in proc.stdout and "ms plain" in proc.stdout and "overhead" in proc.stdout


def test_runs_warmup_and_alternation(tmp_path: Path) -> None:
    write_tree(tmp_path, {"ta.py": LOG_LINE, "tb.py": LOG_LINE})
    log = tmp_path / "order.log"
    out = tmp_path / "b.json"
    proc = bench(tmp_path, "ta", "tb", "--runs", "3", "--warmup", "2", "--json", str(out), BENCH_LOG=str(log))
    assert proc.returncode == 0, proc.stderr
    forward = ["ta hooked", "ta plain", "tb hooked", "tb plain"]
    backward = forward[::-1]
    # 2 warmup + 3 measured rounds, alternating direction, every one of them run.
    assert log.read_text().splitlines() == forward + backward + forward + backward + forward
    data = json.loads(out.read_text())
    check_bench_json(data, runs=3)
    assert data["warmup"] == 2
    assert [t["target"] for t in data["targets"]] == ["ta", "tb"]
    for target in data["targets"]:
        assert [s["round"] for s in target["samples"]] == [2, 3, 4]  # the warmup rounds are discarded


def _other_venv_python() -> Path | None:
    for name in (".venv-3.10", ".venv-3.13", ".venv-3.12", ".venv"):
        python = ROOT / name / "bin" / "python"
        if python.exists():
            version = subprocess.run(
                [str(python), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], capture_output=True, text=True
            ).stdout.strip()
            if version != "%d.%d" % sys.version_info[:2]:
                return python
    return None


def test_python_option_uses_that_interpreter_as_given(tmp_path: Path) -> None:
    python = _other_venv_python()
    if python is None:
        pytest.skip("no venv of another Python version next to the repository")
    write_tree(
        tmp_path,
        {
            "whoami.py": "import os, sys\nwith open(os.environ['WHO'], 'a') as fh:\n"
            "    fh.write(sys.version.split()[0] + ' ' + sys.executable + ' ' + sys.prefix + '\\n')\n"
        },
    )
    who = tmp_path / "who.log"
    out = tmp_path / "b.json"
    proc = bench(
        tmp_path, "whoami", "--runs", "2", "--warmup", "0", "--python", str(python), "--json", str(out), WHO=str(who)
    )
    assert proc.returncode == 0, proc.stderr
    lines = {tuple(line.split(" ")) for line in who.read_text().splitlines()}
    ((version, executable, prefix),) = lines
    # The venv's own python (not its base interpreter): the venv is its prefix.
    assert executable == str(python) and prefix == str(python.parent.parent)
    data = json.loads(out.read_text())
    assert data["python"] == data["targets"][0]["python"] == version
    assert version.rsplit(".", 1)[0] != "%d.%d" % sys.version_info[:2]


def test_python_without_importguard_is_refused(tmp_path: Path) -> None:
    venv = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, capture_output=True)
    proc = bench(tmp_path, "json", "--runs", "1", "--python", str(venv / "bin" / "python"))
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "importguard is not installed for" in proc.stderr
    assert str(venv / "bin" / "python") in proc.stderr and proc.stdout == ""


def test_command_targets_sum_every_python_process(tmp_path: Path) -> None:
    write_tree(tmp_path, {"one.py": "import shared\n", "two.py": "import shared\n", "shared.py": "import json\n"})
    py = shlex.quote(sys.executable)
    # Two sibling processes: neither is the other's child, and each report is kept.
    command = f"{py} -c 'import one' && {py} -c 'import two'"
    out = tmp_path / "b.json"
    proc = bench(tmp_path, "--command", command, "--runs", "2", "--warmup", "0", "--json", str(out))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    check_bench_json(data, runs=2)
    (target,) = data["targets"]
    assert (target["kind"], target["target"]) == ("command", command)
    modules = target["statistics"]["modules"]
    assert {"one", "two", "shared", "json"} <= set(modules)
    for sample in target["samples"]:
        # shared was loaded by both processes: one module, the time of both loads.
        assert {"one", "two", "shared"} <= set(sample["modules"])
        assert sample["modules"]["shared"]["cumulative_ns"] >= sample["modules"]["json"]["cumulative_ns"]
    assert f"command: {command}: " in proc.stdout


def test_failing_target_and_usage_errors(tmp_path: Path) -> None:
    write_tree(tmp_path, {"broken.py": "raise RuntimeError('boom at import')\n"})
    proc = bench(tmp_path, "broken", "--runs", "1")
    assert proc.returncode == 2 and "broken failed with the hook on (exit 1)" in proc.stderr
    assert "boom at import" in proc.stderr
    for args, message in [
        ((), "nothing to measure"),
        (("not a module",), "is not a module name"),
        (("json", "--runs", "0"), "--runs must be 1 or more"),
    ]:
        proc = bench(tmp_path, *args)
        assert proc.returncode == 2 and message in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr


def test_piped_output_has_no_progress_bar(tmp_path: Path) -> None:
    write_tree(tmp_path, TREE)
    proc = bench(tmp_path, "benchpkg", "--runs", "2", "--warmup", "0")
    assert proc.returncode == 0
    assert proc.stderr == ""
    assert "\x1b" not in proc.stdout and "\r" not in proc.stdout and "it/s" not in proc.stdout


def test_terminal_gets_a_progress_bar_on_stderr(tmp_path: Path) -> None:
    write_tree(tmp_path, TREE)
    master, slave = pty.openpty()
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain)
    reader.start()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "importguard", "bench", "benchpkg", "--runs", "2", "--warmup", "0"],
            cwd=tmp_path,
            env=clean_env(),
            stdout=subprocess.PIPE,
            stderr=slave,
            text=True,
            timeout=300,
        )
    finally:
        os.close(slave)
        reader.join(timeout=10)
        os.close(master)
    assert proc.returncode == 0
    terminal = b"".join(chunks).decode("utf-8", "replace")
    # 2 rounds x 1 target x (hooked + plain) = 4 children
    assert "importguard bench:" in terminal and "/4 [" in terminal
    assert "\x1b" not in proc.stdout and "/4 [" not in proc.stdout


# -- budgets -------------------------------------------------------------------

SLOW = {
    "slowmod.py": "import time\ntime.sleep(0.05)\n",
    "fastmod.py": "X = 1\n",
}


def test_budget_exceeded_exits_one_and_names_it(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            **SLOW,
            "pyproject.toml": '[tool.importguard.budgets]\n"slowmod" = "5ms"\n"fastmod" = "10s"\n"elsewhere" = "1ms"\n',
        },
    )
    out = tmp_path / "b.json"
    proc = bench(tmp_path, "slowmod", "fastmod", "--runs", "3", "--warmup", "0", "--json", str(out))
    assert proc.returncode == 1, proc.stderr
    assert "budget 5 ms (target slowmod): EXCEEDED" in proc.stdout
    assert "budget 10000 ms (target fastmod): ok" in proc.stdout
    last = proc.stdout.splitlines()[-1]
    assert last.startswith("importguard bench: 1 budget exceeded: slowmod (") and last.endswith(" ms > 5 ms)")
    assert "budgets not checked (no target imports them): elsewhere" in proc.stdout
    budgets = {b["module"]: b for b in json.loads(out.read_text())["budgets"]}
    assert budgets["slowmod"]["exceeded"] is True and budgets["slowmod"]["budget_ms"] == 5
    assert budgets["fastmod"]["exceeded"] is False and "elsewhere" not in budgets


def test_budget_not_exceeded_exits_zero(tmp_path: Path) -> None:
    write_tree(tmp_path, {**SLOW, "pyproject.toml": '[tool.importguard.budgets]\n"slowmod" = "10s"\n'})
    proc = bench(tmp_path, "slowmod", "--runs", "2", "--warmup", "0")
    assert proc.returncode == 0, proc.stderr
    assert "budget 10000 ms (target slowmod): ok" in proc.stdout and "exceeded" not in proc.stdout


@pytest.mark.parametrize(
    "value, why",
    [
        ('"fast"', "no unit"),
        ("150", "a number without a unit"),
        ('"-3ms"', "not a positive time"),
        ('"3 parsecs"', "not a number followed by a unit"),
    ],
)
def test_bad_budget_value_is_one_clear_message(tmp_path: Path, value: str, why: str) -> None:
    write_tree(tmp_path, {**SLOW, "pyproject.toml": f'[tool.importguard.budgets]\n"slowmod" = {value}\n'})
    proc = bench(tmp_path, "slowmod", "--runs", "1")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("importguard bench: ")
    assert "[tool.importguard.budgets] 'slowmod'" in proc.stderr and f"({why})" in proc.stderr
    assert "time with a unit (ms, s or us)" in proc.stderr
    # At interpreter startup the same table gives the same kind of line, and the program runs.
    started = run_python("import slowmod", cwd=tmp_path, env=hooked_env())
    assert started.returncode == 0
    assert started.stderr.startswith("importguard: [tool.importguard] budgets: 'slowmod'")
    assert "that entry is ignored" in started.stderr and started.stderr.count("\n") == 1


def test_budget_units(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {**SLOW, "pyproject.toml": '[tool.importguard.budgets]\n"slowmod" = "0.001 s"\n"fastmod" = "20000us"\n'},
    )
    proc = bench(tmp_path, "slowmod", "fastmod", "--runs", "1", "--warmup", "0")
    assert "slowmod: " in proc.stdout and "budget 1 ms (target slowmod): EXCEEDED" in proc.stdout
    assert "budget 20 ms (target fastmod)" in proc.stdout


def check_cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "importguard", "check", *args],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_counts_an_exceeded_budget_in_every_format(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "pyproject.toml": '[tool.importguard.budgets]\n"slowpkg.slow" = "5ms"\n"slowpkg" = "10s"\n',
            "slowpkg/__init__.py": "",
            "slowpkg/slow.py": "import time\ntime.sleep(0.05)\n",
        },
    )
    text = check_cli(tmp_path, "slowpkg")
    assert text.returncode == 1, text.stderr
    assert "budget exceeded: slowpkg.slow took " in text.stdout and "budget 5 ms" in text.stdout
    assert text.stdout.rstrip().endswith(
        "0 failed imports, 0 export violations, 1 of 2 budgets exceeded (one run; importguard bench measures medians)"
    )
    js = check_cli(tmp_path, "slowpkg", "--format", "json")
    assert js.returncode == 1
    budgets = {b["module"]: b for b in json.loads(js.stdout)["budgets"]}
    assert budgets["slowpkg.slow"]["exceeded"] is True and budgets["slowpkg.slow"]["runs"] == 1
    assert budgets["slowpkg"]["exceeded"] is False and budgets["slowpkg"]["budget_ms"] == 10000
    gh = check_cli(tmp_path, "slowpkg", "--format", "github")
    assert gh.returncode == 1
    # (":" in a workflow command's property is escaped as %3A, as GitHub's toolkit does)
    assert gh.stdout.startswith("::error title=import budget exceeded%3A slowpkg.slow::slowpkg.slow took ")
    assert "(one run), budget 5 ms" in gh.stdout
    junit = check_cli(tmp_path, "slowpkg", "--format", "junit")
    assert junit.returncode == 1 and 'failures="1"' in junit.stdout and "over its import budget" in junit.stdout


def test_check_with_budgets_met_and_a_bad_budget(tmp_path: Path) -> None:
    write_tree(tmp_path, {"pyproject.toml": '[tool.importguard.budgets]\n"okpkg" = "10s"\n', "okpkg/__init__.py": ""})
    proc = check_cli(tmp_path, "okpkg")
    assert proc.returncode == 0, proc.stdout
    assert "0 of 1 budgets exceeded (one run" in proc.stdout
    (tmp_path / "pyproject.toml").write_text('[tool.importguard.budgets]\n"okpkg" = "soon"\n')
    proc = check_cli(tmp_path, "okpkg")
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert (
        proc.stderr.startswith("importguard check: ") and "[tool.importguard.budgets] 'okpkg' = 'soon'" in proc.stderr
    )


# -- structure: importguard against -X importtime -----------------------------------


def importtime_parents(stderr: str) -> dict[str, str | None]:
    """Parent of each module in ``-X importtime`` output (children are printed before their parent)."""
    entries: list[tuple[int, str]] = []
    for line in stderr.splitlines():
        parts = line.split("|", 2)
        if not line.startswith("import time:") or len(parts) != 3 or "imported package" in parts[2]:
            continue
        field = parts[2][1:]  # "| " then two spaces per nesting level, then the name
        entries.append(((len(field) - len(field.lstrip(" "))) // 2, field.strip()))
    parents: dict[str, str | None] = {}
    for i, (level, name) in enumerate(entries):
        parent = None
        for other_level, other in entries[i + 1 :]:
            if other_level < level:
                parent = other
                break
        parents.setdefault(name, parent)
    return parents


def descendants(parents: dict[str, str | None], root: str) -> dict[str, str | None]:
    """*root* and every module nested under it, with their parents."""
    out = {root: parents[root]}
    grew = True
    while grew:
        grew = False
        for name, parent in parents.items():
            if parent in out and name not in out:
                out[name] = parent
                grew = True
    return out


def bench_structure(cwd: Path, target: str, **env: str) -> dict[str, Any]:
    out = cwd / "structure.json"
    proc = bench(cwd, target, "--runs", "1", "--warmup", "0", "--json", str(out), **env)
    assert proc.returncode == 0, proc.stderr
    modules: dict[str, Any] = json.loads(out.read_text())["targets"][0]["statistics"]["modules"]
    return modules


def test_same_structure_as_importtime_single_threaded(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "shape/__init__.py": "import shape.models\nfrom shape import views\n",
            "shape/models.py": "import json\nimport shape.util\n",
            "shape/views.py": "import decimal\nfrom shape import util\nimport shape.deep.a\n",
            "shape/util.py": "import textwrap\n",
            "shape/deep/__init__.py": "",
            "shape/deep/a.py": "from . import b\n",
            "shape/deep/b.py": "import fractions\n",
        },
    )
    plain = run_python("import shape", cwd=tmp_path, args=["-X", "importtime"], check=True)
    expected = descendants(importtime_parents(plain.stderr), "shape")
    assert {"shape.deep.b", "json.decoder", "decimal", "textwrap", "fractions"} <= set(expected)
    modules = bench_structure(tmp_path, "shape")
    got = {name: mod["parent"] for name, mod in modules.items() if name in expected}
    assert got == expected
    # Nothing under shape that importtime did not see either (site's own imports aside).
    under = descendants({n: m["parent"] for n, m in modules.items()}, "shape")
    assert set(under) == set(expected)


def test_threaded_import_is_its_own_top_level_not_nested(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "tpkg/__init__.py": "",
            "tpkg/main.py": """
            import threading
            def _load():
                import tpkg.worker
            t = threading.Thread(target=_load, name="loader")
            t.start()
            t.join()  # the main thread is inside `import tpkg.main` all along
            import tpkg.after
        """,
            "tpkg/worker.py": "import tpkg.worker_dep\n",
            "tpkg/worker_dep.py": "",
            "tpkg/after.py": "",
        },
    )
    plain = run_python("import tpkg.main", cwd=tmp_path, args=["-X", "importtime"], check=True)
    parents = importtime_parents(plain.stderr)
    # -X importtime counts nesting per interpreter: the worker's import shows inside tpkg.main.
    assert parents["tpkg.worker"] == "tpkg.main" and parents["tpkg.after"] == "tpkg.main"
    modules = bench_structure(tmp_path, "tpkg.main")
    assert (modules["tpkg.worker"]["parent"], modules["tpkg.worker"]["thread"]) == (None, "loader")
    assert (modules["tpkg.worker_dep"]["parent"], modules["tpkg.worker_dep"]["thread"]) == ("tpkg.worker", "loader")
    assert (modules["tpkg.after"]["parent"], modules["tpkg.after"]["thread"]) == ("tpkg.main", "MainThread")


def test_overhead_has_a_spread_and_says_when_it_is_inside_the_noise() -> None:
    from importguard._cli import bench as _bench

    # Two back-to-back benches of pandas said +77.4 ms and +1.1 ms: runs this noisy must say so.
    ms = 1_000_000
    plain = [450 * ms, 520 * ms, 470 * ms, 610 * ms, 455 * ms, 500 * ms, 480 * ms, 530 * ms, 470 * ms, 505 * ms]
    noise = [-60, 85, -20, -120, 40, 5, 70, -35, 15, 90]
    noisy = _bench.overhead([p + d * ms for p, d in zip(plain, noise)], plain)
    assert noisy["inside_noise"] is True
    assert noisy["interval_ms"][0] < 0 < noisy["interval_ms"][1]
    line = _bench.overhead_line(noisy)
    assert "inside the noise" in line and "97.9% confidence" in line  # 10 runs: the 2nd and 9th of 10
    # A clear, steady cost is stated with its interval.
    steady = _bench.overhead([p + (4 * ms + (i % 3) * 100_000) for i, p in enumerate(plain)], plain)
    assert steady["inside_noise"] is False and 4.0 <= steady["interval_ms"][0] <= steady["difference_ms"] <= 4.2
    assert "overhead +4.1 ms" in _bench.overhead_line(steady) and "between +4.0 and +4.2 ms" in _bench.overhead_line(
        steady
    )
    # The interval's coverage is exact (sign test), and with too few runs it says how little it covers.
    k, coverage = _bench.median_interval(10)
    assert k == 2 and coverage == pytest.approx(1 - 2 * 11 / 1024)
    k, coverage = _bench.median_interval(4)
    assert k == 1 and coverage == pytest.approx(0.875)


def test_statistics_round_as_the_report_converts_ns_to_ms() -> None:
    """A median on a half-way boundary rounds as ``round(ns / 1e6, 4)`` does everywhere else.

    CI once failed test_gc on exactly this sample set: multiplying by 1e-6 gave 28.7075 where the
    report's and the budgets' division gives 28.7076.
    """
    from importguard._cli.stats import summarize

    samples = [29301725, 28303403, 28707550]
    stats = summarize(samples)
    assert stats["median"] == round(28707550 / 1e6, 4) == 28.7076
    assert stats["min"] == round(28303403 / 1e6, 4)
    assert stats["max"] == round(29301725 / 1e6, 4)
