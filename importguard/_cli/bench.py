"""``importguard bench``: import cost over repeated fresh processes.

How it measures
===============

Each TARGET is either a module name (the child runs ``python -c "import
TARGET"``, so the working directory is on ``sys.path`` exactly as with
``python -c``) or a shell command line given with ``--command``. Every round
runs each target once with the hook on (``IMPORTGUARD=1``) and once plainly,
in a fresh process each time; the order within a round alternates so that no
target and no variant always runs first (a cold cache, a CPU ramping up)::

    round 0: A hooked, A plain, B hooked, B plain
    round 1: B plain, B hooked, A plain, A hooked
    round 2: as round 0, ...

The first ``--warmup`` rounds are discarded. The hooked run's JSON report
gives each module's self and cumulative time; the plain run gives the wall
time importguard is measured against. Its overhead, hooked minus plain, is
mostly fixed: the hook's start (~3 ms) and the JSON report written at exit
(importing ``json`` if the program did not); what it adds inside the measured
import times is the hook's cost per import (~2 us, docs/performance.md), so
a module's cumulative time is inflated by about that much per module under it.

The children inherit the environment (virtualenv, ``PYTHONPATH``...) minus any
``IMPORTGUARD*`` variable, and get settings that make the measurement
reproducible whatever the project's ``[tool.importguard]`` says: every module
reported (no include/exclude), no export checks, no OpenTelemetry, no user
hooks, no folding of old records. ``--python`` is run as given: a venv's
``bin/python`` must not be resolved to its base interpreter, or the venv's
packages (and importguard's ``.pth``) would not be seen. The interpreter must
have importguard installed (the ``.pth`` is what switches the hook on); if it
has not, bench says so and exits 2 rather than guess at a fallback: injecting
this importguard into another interpreter could be a different version, or
change what is imported.

A module target is measured in the process that imports it (subprocesses it
starts are not counted). A command can start several Python processes (each
writes its own report, ``{pid}`` in the report path): a module's time in a
run is the sum over them, its count is counted once.

A module's time is taken from its one real load in the process: failed
imports and the outer record of a circular package import (``duplicate_of``)
are not counted as modules; ``total`` is the cumulative time of every
top-level import (parent null, in any thread), failures included.

Budgets
=======

``[tool.importguard.budgets]`` in the nearest ``pyproject.toml`` (or the file
``IMPORTGUARD_CONFIG`` names) maps a module to a time: ``"myapp" = "150ms"``
(units ms, s, us). bench compares the median cumulative time of the module,
in each target that imports it, against its budget and exits 1 if one is
exceeded; a bad value is an error (exit 2), never skipped.

The JSON written by ``--json`` (schema ``importguard.bench/1``)
===============================================================

::

    {
      "schema": "importguard.bench/1",
      "importguard": "0.1.0",            # version that ran the bench
      "python": "3.11.7",                # version(s) the reports name, ", "-joined if several
      "runs": 10, "warmup": 1, "isolated": false,
      "gc": "include",                   # or "exclude" (--gc): statistics with or without the
                                         # garbage collector's time inside imports
      "targets": [
        {
          "kind": "module" | "command",
          "target": "json",              # the module name or the command line, as given
          "python": "3.11.7",
          "samples": [                   # one per measured round, in order
            {"round": 1,                 # round number, warmup rounds included
             "wall_ns": 31000000,        # hooked process, start to exit, seen from bench
             "plain_wall_ns": 25000000,  # the same target without the hook, same round
             "total_ns": 5400000,        # sum of top-level imports' cumulative time
             "gc_total_ns": 0,           # collector time within total_ns
             "module_count": 12,
             "modules": {"json": {"self_ns": 400000, "cumulative_ns": 3100000,
                                  "gc_self_ns": 0, "gc_cumulative_ns": 0}, ...}}
          ],
          "statistics": {
            "modules": {
              "json": {"runs": 10,       # measured runs that loaded it
                       "parent": null,   # importer in the first measured run
                       "thread": "MainThread",
                       "self_ms": STATS, "cumulative_ms": STATS,
                       "gc_ms": STATS},  # collector time in its self time
                       ...},
            "total_ms": STATS,
            "gc_total_ms": STATS,
            "module_count": STATS        # (a count, not ms)
          },
          "overhead": {"hooked_wall_ms": STATS, "plain_wall_ms": STATS,
                       "difference_ms": 4.1,      # median of the rounds' hooked - plain
                       "difference_pct": 19.5,    # of median plain
                       "interval_ms": [3.2, 5.0], # where that median lies, with...
                       "confidence": 0.979,       # ...this probability (sign test)
                       "inside_noise": false}     # the interval contains 0
        }
      ],
      "budgets": [{"module": "json", "budget_ms": 150.0, "target": "json",
                   "median_cumulative_ms": 3.1, "exceeded": false}]
    }

``STATS`` is ``{"median", "p25", "p75", "min", "max"}`` (quartiles by linear
interpolation between order statistics). Raw samples are integer nanoseconds
as the hook measured them; statistics are milliseconds. Nothing else from the
command line or the environment is written: no paths, no variables.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from importguard import __version__
from importguard._cli.budgets import check_budgets, load_budgets
from importguard._cli.processes import Target, child_env, progress_bar, run_timed, schedule
from importguard._cli.stats import format_ms, quantile, spread, summarize
from importguard._cli.status import EXIT_FOUND, EXIT_OK, UsageError

HELP = "measure import cost over repeated fresh processes"
DESCRIPTION = (
    "Import each TARGET (a module name, or a shell command given with --command) in N fresh processes with "
    "the hook on, alternating targets, and report per module the median and spread of self and cumulative "
    "time."
)

SCHEMA = "importguard.bench/1"


_PROBE = (
    "import sys\n"
    "try:\n"
    "    import importguard\n"
    "    on = importguard.is_installed()\n"
    "except Exception:\n"
    "    on = False\n"
    "print(sys.version.split()[0], bool(on))\n"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``bench``'s options on *parser*."""
    parser.add_argument("targets", nargs="*", metavar="TARGET", help="module to import (python -c 'import TARGET')")
    parser.add_argument(
        "--command",
        dest="commands",
        action="append",
        default=[],
        metavar="CMD",
        help="a shell command line to measure instead of a module (repeatable)",
    )
    parser.add_argument("--runs", type=int, default=10, metavar="N", help="measured runs per target (default 10)")
    parser.add_argument("--warmup", type=int, default=1, metavar="K", help="rounds run first and discarded (default 1)")
    parser.add_argument(
        "--python",
        default=sys.executable,
        metavar="PATH",
        help="interpreter to run module targets with, used as given (default: this one)",
    )
    parser.add_argument(
        "--isolated",
        action="store_true",
        help="run module targets with python -I (no working directory or user site on the path)",
    )
    parser.add_argument("--json", dest="json_out", metavar="OUT", help="write every sample and the statistics here")
    parser.add_argument(
        "--top",
        type=int,
        default=20,
        metavar="N",
        help="modules shown per target, by median cumulative time (default 20)",
    )
    parser.add_argument(
        "--gc",
        choices=("include", "exclude"),
        default="include",
        help="count the garbage collector's time inside imports in each module's times "
        "(include, as -X importtime does; the default) or leave it out (exclude): a "
        "collection lands in whichever module is running when it triggers",
    )


# -- children ------------------------------------------------------------------


def run_child(target: Target, python: str, isolated: bool, env: dict[str, str]) -> tuple[int, int, str]:
    """Run *target* once; return (wall ns, exit status, stderr)."""
    argv: str | list[str]
    if target.kind == "module":
        argv = [python, *(["-I"] if isolated else []), "-c", f"import {target.text}"]
    else:
        argv = target.text
    wall, proc = run_timed(argv, env, shell=target.kind == "command")
    return wall, proc.returncode, proc.stderr


def probe(python: str, isolated: bool) -> str:
    """Check that *python* runs and that ``IMPORTGUARD=1`` switches the hook on in it; return its version."""
    try:
        proc = subprocess.run(
            [python, *(["-I"] if isolated else []), "-c", _PROBE],
            env=child_env(True),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
        )
    except OSError as exc:
        raise UsageError(f"cannot run {python}: {exc.strerror or exc}") from None
    words = proc.stdout.split()
    if proc.returncode != 0 or len(words) != 2:
        raise UsageError(f"{python} failed to start (exit {proc.returncode}): {proc.stderr.strip()[-500:]}")
    if words[1] != "True":
        said = proc.stderr.strip().splitlines()
        if said:  # installed, but its start failed: that message is the one to show
            raise UsageError(f"IMPORTGUARD=1 did not switch the hook on in {python} (Python {words[0]}): {said[0]}")
        raise UsageError(
            f"importguard is not installed for {python} (Python {words[0]}): IMPORTGUARD=1 did not switch the "
            f"hook on there, so there is nothing to measure with. Install it into that environment "
            f"({python} -m pip install importguard) or pass --python an interpreter that has it."
        )
    return words[0]


# -- reading a run ------------------------------------------------------------


def sample_from_reports(reports: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One run's numbers from the JSON reports of its processes (one for a module target).

    Only real loads count as modules: a failed import is not a module, and the
    outer record of a circular package import (``duplicate_of``) repeats one.
    """
    modules: dict[str, dict[str, int]] = {}
    structure: dict[str, tuple[str | None, str]] = {}
    total = 0
    for report in reports:
        for rec in report["imports"]:
            duration = rec["duration_ns"]
            if duration is None:
                continue
            if rec["parent_id"] is None:
                total += duration
            if rec["status"] != "ok" or rec["duplicate_of"] is not None:
                continue
            entry = modules.setdefault(
                rec["name"], {"self_ns": 0, "cumulative_ns": 0, "gc_self_ns": 0, "gc_cumulative_ns": 0}
            )
            entry["self_ns"] += rec["self_ns"]
            entry["cumulative_ns"] += duration
            entry["gc_self_ns"] += rec.get("gc_ns") or 0
            entry["gc_cumulative_ns"] += rec.get("gc_cumulative_ns") or 0
            structure.setdefault(rec["name"], (rec["parent"], rec["thread_name"]))
    gc_total = sum(
        rec.get("gc_cumulative_ns") or 0
        for report in reports
        for rec in report["imports"]
        if rec["parent_id"] is None and rec["duration_ns"] is not None
    )
    versions = sorted({str(r.get("python")) for r in reports})
    return {
        "total_ns": total,
        "gc_total_ns": gc_total,
        "module_count": len(modules),
        "modules": modules,
        "structure": structure,
        "python": ", ".join(versions),
    }


def _load_reports(paths: Iterable[str]) -> list[dict[str, Any]]:
    from importguard import _formats

    out = []
    for path in paths:
        try:
            out.extend(_formats.processes(_formats.load(path)))
        finally:
            os.unlink(path)
    return out


def measure_once(target: Target, python: str, isolated: bool, workdir: str, tag: str) -> tuple[int, dict[str, Any]]:
    """One hooked run of *target*: (wall ns, sample). Raises RuntimeError if it fails or writes no report."""
    if target.kind == "module":
        report = os.path.join(workdir, f"{tag}.json")
    else:
        # Every Python process of the command writes its own file, siblings included
        # (a child's .<pid> suffix only separates children from their parent).
        report = os.path.join(workdir, f"{tag}-{{pid}}.json")
    wall, status, stderr = run_child(target, python, isolated, child_env(True, report))
    if status != 0:
        raise RuntimeError(f"{target.text} failed with the hook on (exit {status}):\n{stderr.strip()[-2000:]}")
    if target.kind == "module":
        paths = [report] if os.path.exists(report) else []
    else:
        prefix = f"{tag}-"
        paths = sorted(os.path.join(workdir, f) for f in os.listdir(workdir) if f.startswith(prefix))
    if not paths:
        where = python if target.kind == "module" else "any Python the command ran"
        raise RuntimeError(f"{target.text} wrote no import report: is importguard installed for {where}?")
    return wall, sample_from_reports(_load_reports(paths))


def measure_plain(target: Target, python: str, isolated: bool) -> int:
    """One run of *target* without the hook: its wall time in ns."""
    wall, status, stderr = run_child(target, python, isolated, child_env(False))
    if status != 0:
        raise RuntimeError(f"{target.text} failed without the hook (exit {status}):\n{stderr.strip()[-2000:]}")
    return wall


# -- the whole bench ------------------------------------------------------------


def bench(
    targets: Sequence[Target],
    runs: int,
    warmup: int,
    python: str,
    isolated: bool,
    progress: Callable[[], None] = lambda: None,
    gc: str = "include",
) -> dict[str, Any]:
    """Run the bench and return its result, shaped as the ``importguard.bench/1`` JSON (budgets aside).

    *gc* ``"exclude"`` leaves the garbage collector's time inside imports out
    of the statistics (the raw samples keep both).
    """
    workdir = tempfile.mkdtemp(prefix="importguard-bench-")
    per_target: list[dict[int, dict[str, Any]]] = [{} for _ in targets]
    try:
        for rnd, index, hooked in schedule(targets, warmup + runs):
            target = targets[index]
            rounds = per_target[index]
            if hooked:
                wall, sample = measure_once(target, python, isolated, workdir, f"t{index}-r{rnd}")
                sample["wall_ns"] = wall
                rounds.setdefault(rnd, {}).update(sample)
            else:
                rounds.setdefault(rnd, {})["plain_wall_ns"] = measure_plain(target, python, isolated)
            progress()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    results = []
    versions: set[str] = set()
    for target, rounds in zip(targets, per_target):
        measured = [rounds[r] for r in range(warmup, warmup + runs)]
        versions.update(v for s in measured for v in s["python"].split(", "))
        results.append(_target_result(target, measured, warmup, gc))
    return {
        "schema": SCHEMA,
        "importguard": __version__,
        "python": ", ".join(sorted(versions)),
        "runs": runs,
        "warmup": warmup,
        "isolated": isolated,
        "gc": gc,
        "targets": results,
    }


def module_times(times: dict[str, int], gc: str) -> tuple[int, int]:
    """(self ns, cumulative ns) of one module in one run, with the collector's time
    left out when *gc* is ``"exclude"`` (a sample without GC fields has none to leave out)."""
    if gc == "exclude":
        return (
            times["self_ns"] - times.get("gc_self_ns", 0),
            times["cumulative_ns"] - times.get("gc_cumulative_ns", 0),
        )
    return times["self_ns"], times["cumulative_ns"]


def total_time(sample: dict[str, Any], gc: str) -> int:
    """The total import time of one run, without the collector's time when *gc* is ``"exclude"``."""
    return int(sample["total_ns"] - (sample.get("gc_total_ns", 0) if gc == "exclude" else 0))


#: The confidence the overhead's interval aims for (its exact coverage is stated with it).
CONFIDENCE = 0.95


def median_interval(n: int, confidence: float = CONFIDENCE) -> tuple[int, float]:
    """Order statistics bounding the median of *n* samples: ``(k, coverage)`` such
    that the k-th smallest and the k-th largest enclose the true median with
    probability *coverage* (the sign test: Binomial(n, 1/2)), the narrowest
    interval reaching *confidence*; with too few samples for that, ``k`` is 1
    (the range) and the coverage is what the range gives."""
    if n < 1:
        return 1, 0.0
    best = (1, 1 - 2 * 0.5**n)
    cumulative = 0.0
    for k in range(1, n // 2 + 1):
        # P(B <= k - 1)
        cumulative += math.comb(n, k - 1) / 2**n
        coverage = 1 - 2 * cumulative
        if coverage >= confidence:
            best = (k, coverage)
        else:
            break
    return best


def overhead(hooked: Sequence[int], plain: Sequence[int]) -> dict[str, Any]:
    """importguard's overhead on the wall time, from the runs paired round by round.

    The hooked and plain run of a round ran one after the other, so their
    difference cancels most of what the machine was doing then; the overhead
    is the median of those differences, with a distribution-free interval for
    it (the sign test's order statistics; see :func:`median_interval`). When
    the interval contains zero, the runs cannot tell importguard's cost from
    the noise, and the output says so.
    """
    diffs = sorted(h - p for h, p in zip(hooked, plain))
    k, coverage = median_interval(len(diffs))
    low, high = diffs[k - 1] / 1e6, diffs[len(diffs) - k] / 1e6
    median = quantile(diffs, 0.5) / 1e6
    plain_median = quantile(sorted(plain), 0.5) / 1e6
    return {
        "hooked_wall_ms": summarize(hooked),
        "plain_wall_ms": summarize(plain),
        "difference_ms": round(median, 4),
        "difference_pct": round(100 * median / plain_median, 1) if plain_median else None,
        "interval_ms": [round(low, 4), round(high, 4)],
        "confidence": round(coverage, 4),
        "inside_noise": low <= 0 <= high,
    }


def _target_result(target: Target, measured: list[dict[str, Any]], warmup: int, gc: str = "include") -> dict[str, Any]:
    structure: dict[str, tuple[str | None, str]] = {}
    for sample in measured:
        for name, where in sample["structure"].items():
            structure.setdefault(name, where)
    names = sorted(structure)
    modules = {}
    for name in names:
        present = [s["modules"][name] for s in measured if name in s["modules"]]
        parent, thread = structure[name]
        times = [module_times(p, gc) for p in present]
        modules[name] = {
            "runs": len(present),
            "parent": parent,
            "thread": thread,
            "self_ms": summarize(t[0] for t in times),
            "cumulative_ms": summarize(t[1] for t in times),
            "gc_ms": summarize(p.get("gc_self_ns", 0) for p in present),
        }
    count = summarize((s["module_count"] for s in measured), unit=1)
    return {
        **target.describe(),
        "python": ", ".join(sorted({s["python"] for s in measured})),
        "samples": [
            {
                "round": warmup + i,
                "wall_ns": s["wall_ns"],
                "plain_wall_ns": s["plain_wall_ns"],
                "total_ns": s["total_ns"],
                "gc_total_ns": s.get("gc_total_ns", 0),
                "module_count": s["module_count"],
                "modules": s["modules"],
            }
            for i, s in enumerate(measured)
        ],
        "statistics": {
            "modules": modules,
            "total_ms": summarize(total_time(s, gc) for s in measured),
            "gc_total_ms": summarize(s.get("gc_total_ns", 0) for s in measured),
            "module_count": count,
        },
        "overhead": overhead([s["wall_ns"] for s in measured], [s["plain_wall_ns"] for s in measured]),
    }


# -- output -----------------------------------------------------------------------


def render(data: dict[str, Any], top: int) -> str:
    """The table bench prints: per target, the slowest modules and the totals."""
    gc = data.get("gc", "include")
    gc_words = (
        "garbage collection included in the times, as -X importtime counts it (--gc exclude leaves it out)"
        if gc == "include"
        else "garbage collection left out of the times (--gc exclude)"
    )
    lines = [
        f"importguard bench: {data['runs']} runs per target after {data['warmup']} warmup, "
        f"Python {data['python']}; times are medians ± half the interquartile range, in ms; {gc_words}"
    ]
    for result in data["targets"]:
        stats = result["statistics"]
        count = stats["module_count"]
        counted = (
            f"{count['median']:g}"
            if count["min"] == count["max"]
            else f"{count['median']:g} (from {count['min']:g} to {count['max']:g})"
        )
        label = result["target"] if result["kind"] == "module" else f"command: {result['target']}"
        lines.append("")
        lines.append(f"{label}: {counted} modules, total import time {spread(stats['total_ms'])} ms")
        lines.append(f"  {'cumulative':>16}  {'self':>14}  {'gc in self':>10}  {'runs':>4}  module")
        ranked = sorted(stats["modules"].items(), key=lambda kv: (-kv[1]["cumulative_ms"]["median"], kv[0]))
        for name, mod in ranked[:top]:
            gc_ms = mod.get("gc_ms", {}).get("max", 0)
            # The median collector time of a module is usually 0: a collection lands in it in some runs only.
            gc_text = f"{format_ms(mod['gc_ms']['median'])} (≤{format_ms(gc_ms)})" if gc_ms else "-"
            lines.append(
                f"  {spread(mod['cumulative_ms']):>16}  {spread(mod['self_ms']):>14}  {gc_text:>10}  "
                f"{mod['runs']:>4}  {name}"
            )
        if len(ranked) > top:
            lines.append(f"  ... {len(ranked) - top} more (--top N to show them, --json for everything)")
        if "gc_total_ms" in stats and stats["gc_total_ms"]["max"]:
            lines.append(
                f"  garbage collection inside imports: {spread(stats['gc_total_ms'])} ms per run "
                f"({'included above' if gc == 'include' else 'left out above'})"
            )
        lines.append("  " + overhead_line(result["overhead"]))
    return "\n".join(lines) + "\n"


def overhead_line(over: dict[str, Any]) -> str:
    """What importguard costs the measured program, and how sure the runs are of it."""
    walls = f"wall time: {spread(over['hooked_wall_ms'])} ms hooked, {spread(over['plain_wall_ms'])} ms plain"
    if "interval_ms" not in over:
        return f"{walls}: importguard's overhead {over['difference_ms']:+.1f} ms"
    low, high = over["interval_ms"]
    sure = f"{100 * over['confidence']:.1f}% confidence"
    if over["inside_noise"]:
        return (
            f"{walls}: importguard's overhead is inside the noise (the runs put it between {low:+.1f} and "
            f"{high:+.1f} ms, {sure}; more --runs narrow that)"
        )
    pct = f" ({over['difference_pct']:+.0f}%)" if over["difference_pct"] is not None else ""
    return (
        f"{walls}: importguard's overhead {over['difference_ms']:+.1f} ms{pct}, between {low:+.1f} and "
        f"{high:+.1f} ms ({sure}, median of the paired runs' differences), most of it the hook's start "
        f"and the report written at exit"
    )


def render_budgets(checked: Sequence[dict[str, Any]], runs: int, gc: str = "include") -> str:
    """The budget table: every checked budget, exceeded ones marked."""
    if not checked:
        return ""
    without = ", garbage collection left out" if gc == "exclude" else ""
    lines = ["", f"budgets (median cumulative time over {runs} runs{without}):"]
    for b in checked:
        verdict = "EXCEEDED" if b["exceeded"] else "ok"
        lines.append(
            f"  {b['module']}: {format_ms(b['median_cumulative_ms'])} ms, budget {b['budget_ms']:g} ms "
            f"(target {b['target']}): {verdict}"
        )
    return "\n".join(lines) + "\n"


def main(args: argparse.Namespace) -> int:
    """Run ``importguard bench``; return the exit status."""
    targets = [Target("module", t) for t in args.targets] + [Target("command", c) for c in args.commands]
    if not targets:
        raise UsageError("nothing to measure: give a module name, or --command 'a shell command'")
    for t in targets:
        if t.kind == "module" and not all(part.isidentifier() for part in t.text.split(".")):
            raise UsageError(f"{t.text!r} is not a module name (use --command for a command line)")
        if t.kind == "command" and not t.text.strip():
            raise UsageError("--command needs a command line")
    if args.runs < 1 or args.warmup < 0:
        raise UsageError("--runs must be 1 or more and --warmup 0 or more")
    budgets, _file = load_budgets(os.getcwd())
    if any(t.kind == "module" for t in targets):
        probe(args.python, args.isolated)

    bar = progress_bar((args.runs + args.warmup) * len(targets) * 2, "importguard bench")
    try:
        data = bench(
            targets,
            args.runs,
            args.warmup,
            args.python,
            args.isolated,
            progress=bar.update if bar is not None else (lambda: None),
            gc=args.gc,
        )
    finally:
        if bar is not None:
            bar.close()
    checked = check_budgets(budgets, data["targets"])
    data["budgets"] = checked
    if args.json_out:
        from importguard._report import write_text

        write_text(args.json_out, json.dumps(data, indent=1, sort_keys=False) + "\n")
    sys.stdout.write(render(data, args.top))
    sys.stdout.write(render_budgets(checked, args.runs, args.gc))
    unchecked = sorted(set(budgets) - {b["module"] for b in checked})
    if unchecked:
        sys.stdout.write(f"budgets not checked (no target imports them): {', '.join(unchecked)}\n")
    exceeded = [b for b in checked if b["exceeded"]]
    if exceeded:
        sys.stdout.write(
            f"importguard bench: {len(exceeded)} budget{'s' if len(exceeded) > 1 else ''} exceeded: "
            + ", ".join(
                f"{b['module']} ({format_ms(b['median_cumulative_ms'])} ms > {b['budget_ms']:g} ms)" for b in exceeded
            )
            + "\n"
        )
        return EXIT_FOUND
    return EXIT_OK
