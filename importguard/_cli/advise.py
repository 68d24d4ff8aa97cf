"""``importguard advise``: which imports to defer, and what deferring them saves.

One diagnostic run of the program with the hook on and
``importguard._advise_child`` watching when each module is first used (see
that module for how, and its limits). From the run's report and what the child
saw, a *candidate* is an import made before the end of startup whose module
nobody used before that end. Its cost is the import's cumulative time minus
the modules under it that startup needs anyway (used, or imported by another
statement, outside the candidate's own import before the end): what deferring
it takes off startup. Only the outermost candidate of a subtree is listed
(deferring it defers the rest).

Startup ends at ``--until SECONDS`` after the program started importguard, or
where it called ``importguard.startup_done()``, or else when it exited.

``--memory`` runs the program a second time with ``tracemalloc`` (the first
run's times would be inflated by it) and adds the memory each import kept.

``--verify`` runs the program again many times, alternating, round by round,
runs with one candidate deferred (and one with all of them) with baseline runs
(``processes.schedule``), both booting importguard the same way with the recording
hook removed. The saving is the baseline's CPU time (user + system, from the
OS; wall time is kept beside it, but on a shared machine it swings by hundreds
of ms) minus the deferred run's, per round, to the program's exit or to its
``startup_done()``; reported as median and quartiles (``stats.summarize``). A candidate
whose deferral changes the exit status, stdout or stderr (those the baseline
runs agree on) is dropped, with the difference.

The JSON written by ``--format json`` (schema ``importguard.advise/1``)::

    {"schema": "importguard.advise/1", "python": "3.11.7", "exit_status": 0,
     "startup_end": {"seconds": 1.2, "by": "exit" | "until" | "marker"},
     "candidates": [{"module": "slowlib",
                     "importer": {"file": "/app/main.py", "line": 3},
                     "cumulative_ms": 412.3,      # what deferring it takes off startup
                     "memory_bytes": 1048576,     # --memory, else null
                     "first_use": 1.93,           # seconds after start, null: never used
                     "used_by": [{"file": "/app/cli.py", "line": 40, "function": "report"}],
                     "saving_ms": 401.2,          # measured by --verify, else null
                     "how": "move `import slowlib` from /app/main.py:3 into ..."}],
     "dropped": [{"module": "plugins", "reason": "deferring it changed stdout: ..."}],
     "total": {"cumulative_ms": 500.3, "memory_bytes": null, "saving_ms": 480.0,
               "saving_spread_ms": [470.1, 490.4]},  # p25, p75 of the measured saving
     "verify": null | {"runs": 10, "warmup": 1, "compared": ["exit status", "stdout", "stderr"],
                       "clock": "cpu", "timed_to": "exit" | "startup_done()",
                       "baseline_cpu_ms": STATS, "baseline_wall_ms": STATS,
                       "savings_ms": {"slowlib": STATS, "(all)": STATS},   # CPU time
                       "savings_wall_ms": {...},                           # the same, wall time
                       "not_verified": [{"module": ..., "reason": ...}]},
     "cycles": [{"modules": ["a", "b"], "importer": {"file": "/app/b.py", "line": 1}}]}

``STATS`` is bench's ``{"median", "p25", "p75", "min", "max"}`` in ms.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from typing import Any

from importguard._cli.processes import Target, child_env, program_argv, progress_bar, run_timed, schedule
from importguard._cli.stats import format_ms, spread, summarize
from importguard._cli.status import UsageError

HELP = "which imports to defer, and what deferring them saves"
DESCRIPTION = (
    "Run a program once with the hook on, watching when each module is first used, and list the imports "
    "made before startup ended whose modules were not used by then, ranked by cost, with how to defer "
    "each. --verify measures the saving. Forms as for run. The exit status is the program's."
)

SCHEMA = "importguard.advise/1"
CHILD_SCHEMA = "importguard.advise-child/1"
ALL = "(all)"
#: Python that has PEP 810's ``lazy import`` and ``__lazy_modules__``.
LAZY_IMPORTS = (3, 15)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``advise``'s options on *parser*."""
    parser.add_argument(
        "--until",
        type=float,
        metavar="SECONDS",
        help="startup ends this many seconds after the program started (default: when it calls "
        "importguard.startup_done(), or else when it exits)",
    )
    parser.add_argument(
        "--memory",
        action="store_true",
        help="also measure the memory each import kept (a second run, with tracemalloc)",
    )
    parser.add_argument(
        "--verify", action="store_true", help="re-run the program with the candidates deferred and measure the saving"
    )
    parser.add_argument("--runs", type=int, default=10, metavar="N", help="--verify: measured rounds (default 10)")
    parser.add_argument(
        "--warmup", type=int, default=1, metavar="K", help="--verify: rounds run first and discarded (default 1)"
    )
    parser.add_argument("--top", type=int, default=10, metavar="N", help="candidates shown and verified (default 10)")
    parser.add_argument(
        "--min-ms",
        type=float,
        default=1.0,
        metavar="MS",
        help="leave out candidates that cost less than this (default 1 ms)",
    )
    parser.add_argument(
        "--rank",
        choices=("time", "memory"),
        default="time",
        help="rank by cumulative time (default) or by memory (needs --memory)",
    )
    parser.add_argument(
        "--format",
        choices=("text", "json", "html"),
        default="text",
        help="text (default), json, or html (the run's report with the advice)",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write the advice here (- for stdout); text goes to stderr by default, json and html need a file",
    )
    parser.add_argument("-m", dest="module", metavar="MODULE", help="run a module, as python -m does")
    parser.add_argument("program", nargs=argparse.REMAINDER, help="the command, or script.py and its arguments")


# -- running the program --------------------------------------------------------------


def _diagnostic_env(report: str, out: str, memory: bool) -> dict[str, str]:
    env = child_env(True, report)
    env["IMPORTGUARD_HOOKS"] = "importguard._advise_child:diagnose"
    env["_IMPORTGUARD_ADVISE"] = out + (";memory" if memory else "")
    return env


def _verify_env(deferred: list[str], marker: str = "", scans: str = "") -> dict[str, str]:
    env = child_env(True)
    env["_IMPORTGUARD_SCANS"] = scans
    env["IMPORTGUARD_REPORT"] = ""  # whatever [tool.importguard] says: no report, no work at exit
    env["IMPORTGUARD_HOOKS"] = "importguard._advise_child:defer"
    env["_IMPORTGUARD_DEFER"] = ",".join(deferred)
    env["_IMPORTGUARD_MARKER"] = marker
    return env


class _Runner:
    """Runs of the program for --verify, timed to its exit or, with *marker*, to its ``startup_done()`` call."""

    def __init__(self, argv: list[str], marker: bool, workdir: str, scans: str = "") -> None:
        self.argv = argv
        self.scans = scans
        self.marker = marker
        self.workdir = workdir
        self.count = 0

    def __call__(self, deferred: list[str]) -> tuple[tuple[int, int] | None, subprocess.CompletedProcess[str]]:
        """((CPU ns, wall ns) to the exit or to the marker, None if the marker was never reached; the process).

        CPU time is user + system time of the program's processes, from the
        OS: on a shared machine the wall time of one run moves by hundreds of
        ms with other work's load, its CPU time far less.
        """
        import resource
        import time

        self.count += 1
        path = os.path.join(self.workdir, f"marker-{self.count}") if self.marker else ""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter_ns()
        wall, proc = run_timed(self.argv, _verify_env(deferred, path, self.scans), stdout=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = round(((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)) * 1e9)
        if not self.marker:
            return (cpu, wall), proc
        try:
            with open(path, encoding="ascii") as fh:
                marker_wall, marker_cpu = (int(x) for x in fh.read().split())
            return (marker_cpu, marker_wall - start), proc
        except (OSError, ValueError):
            return None, proc
        finally:
            if os.path.exists(path):
                os.unlink(path)


def _run_streamed(argv: list[str], env: dict[str, str]) -> int:
    """Run the program with the terminal as it is: its output is the user's to see.

    Ctrl-C goes to the program (the whole foreground group gets it); advise
    waits for it to finish and then reads what it left.
    """
    try:
        proc = subprocess.Popen(argv, env=env)
    except OSError as exc:
        raise UsageError(f"cannot run {argv[0]}: {exc.strerror or exc}") from None
    # Ignored only once the program runs: a child inherits an ignored SIGINT,
    # and Python then leaves it ignored.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        return proc.wait()
    finally:
        signal.signal(signal.SIGINT, previous)


def _read_run(tmp: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the report, what the child saw) of the program's first Python process."""
    import json

    from importguard import _formats

    child = None
    for name in sorted(os.listdir(tmp)):
        if name.startswith("advise-"):
            with open(os.path.join(tmp, name), encoding="utf-8") as fh:
                data = json.load(fh)
            if data.get("schema") == CHILD_SCHEMA:
                child = data
    if child is None:
        raise RuntimeError(
            "the program left nothing to read: is importguard installed for the Python it runs "
            "(the .pth switches it on), and did it run Python at all?"
        )
    path = os.path.join(tmp, f"report-{child['pid']}.json")
    if not os.path.exists(path):
        raise RuntimeError("the program's first Python process wrote no import report")
    return _formats.load(path), child


def diagnose(argv: list[str], memory: bool, streamed: bool = True) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """One run of the program with first uses watched: (exit status, report, child data)."""
    with tempfile.TemporaryDirectory(prefix="importguard-advise-") as tmp:
        env = _diagnostic_env(os.path.join(tmp, "report-{pid}.json"), os.path.join(tmp, "advise-{pid}.json"), memory)
        if streamed:
            status = _run_streamed(argv, env)
        else:
            _wall, proc = run_timed(argv, env, stdout=True)
            status = proc.returncode
        report, child = _read_run(tmp)
    return status, report, child


# -- from one run to candidates ---------------------------------------------------------


class _Node:
    __slots__ = ("rec", "entry", "children", "parent")

    def __init__(self, rec: dict[str, Any], entry: dict[str, Any] | None) -> None:
        self.rec = rec
        self.entry = entry
        self.children: list[_Node] = []
        self.parent: _Node | None = None

    @property
    def name(self) -> str:
        return str(self.rec["name"])

    @property
    def duration(self) -> int:
        return int(self.rec["duration_ns"] or 0)

    def inside(self, t: int, thread: int) -> bool:
        """Whether time *t* in *thread* falls inside this import (the module's own import)."""
        start = self.rec["start_ns"]
        return bool(thread == self.rec["thread"] and start <= t <= start + self.duration)


def _tree(report: dict[str, Any], child: dict[str, Any]) -> list[_Node]:
    entries = {(m["name"], m["start_ns"]): m for m in child["modules"]}
    nodes: dict[int, _Node] = {}
    ordered = []
    for rec in report["imports"]:
        node = _Node(rec, entries.get((rec["name"], rec["start_ns"])))
        nodes[rec["id"]] = node
        ordered.append(node)
        parent = nodes.get(rec["parent_id"]) if rec["parent_id"] is not None else None
        if parent is not None:
            node.parent = parent
            parent.children.append(node)
    return ordered


def _loaded(node: _Node) -> bool:
    """A real, finished load of a module (not a failure, not the outer record of a circular package import)."""
    rec = node.rec
    return bool(rec["status"] == "ok" and rec["duplicate_of"] is None and rec["duration_ns"] is not None)


def _needed(node: _Node, end: int, within: _Node) -> bool:
    """Whether startup needs *node*'s module whatever *within* (an import above it) does:
    used or imported again before *end*, outside *within*'s own import. A module whose
    uses could not be watched counts as needed."""
    if not _loaded(node):
        return False  # a failed import is part of its importer's cost
    entry = node.entry
    if entry is None or not entry["watched"]:
        return True
    events = list(entry["references"])
    if entry["first_use"] is not None:
        events.append(entry["first_use"])
    return any(t < end and not within.inside(t, thread) for t, thread, *_ in events)


def _needed_inside(node: _Node, end: int, within: _Node, weight: Callable[[_Node], int]) -> int:
    """The *weight* (time, memory) of the parts of *node*'s subtree that startup needs anyway."""
    total = 0
    for kid in node.children:
        if _needed(kid, end, within):
            total += weight(kid)
        else:
            total += _needed_inside(kid, end, within, weight)
    return total


def startup_end(child: dict[str, Any], until: float | None) -> tuple[int, str]:
    """(end of startup in epoch ns, what set it: until, marker or exit)."""
    if until is not None:
        return child["start_ns"] + int(until * 1e9), "until"
    if child.get("marker_ns"):
        return int(child["marker_ns"]), "marker"
    return int(child["exit_ns"]), "exit"


def _cycles(child: dict[str, Any]) -> list[dict[str, Any]]:
    seen: set[tuple[str, ...]] = set()
    out = []
    for cycle in child["cycles"]:
        names = tuple(cycle["modules"])
        turn = names.index(min(names))
        key = names[turn:] + names[:turn]
        if key in seen:
            continue
        seen.add(key)
        file, line = cycle["importer"]
        out.append({"modules": list(names), "importer": {"file": file, "line": line}})
    return out


def _chain(node: _Node) -> list[_Node]:
    chain = []
    at: _Node | None = node
    while at is not None:
        chain.append(at)
        at = at.parent
    return chain[::-1]


def _site(node: _Node) -> tuple[str | None, int | None, bool]:
    importer = node.entry["importer"] if node.entry else None
    if not importer:
        return None, None, False
    return importer[0], importer[1], bool(importer[2])


def analyse(
    report: dict[str, Any], child: dict[str, Any], until: float | None, min_ms: float, memory: dict[str, int] | None
) -> dict[str, Any]:
    """The candidates of one diagnostic run (unranked), the cycles, and where startup ended."""
    nodes = _tree(report, child)
    end, end_by = startup_end(child, until)
    start = child["start_ns"]
    cycles = _cycles(child)
    in_cycle = {name: c for c in cycles for name in c["modules"]}
    chosen: set[int] = set()
    candidates = []
    for node in nodes:  # parents before children: an outer candidate is chosen first
        if not _loaded(node) or node.rec["start_ns"] >= end or node.rec["start_ns"] < start:
            continue
        if node.entry is None or not node.entry["watched"]:
            continue
        first = node.entry["first_use"]
        if first is not None and first[0] < end:
            continue
        if any(id(a) in chosen for a in _chain(node)[:-1]):
            continue
        # A package cannot be deferred while startup needs one of its submodules:
        # importing the submodule imports the package.
        prefix = node.name + "."
        if any(n.name.startswith(prefix) and _needed(n, end, node) for n in nodes):
            continue

        def mem(n: _Node) -> int:
            return int((memory or {}).get(n.name, 0))

        saved_ns = node.duration - _needed_inside(node, end, node, lambda n: n.duration)
        if saved_ns / 1e6 < min_ms:
            continue
        chosen.add(id(node))
        file, line, via_fromlist = _site(node)
        others = []
        for t, _thread, ref_file, ref_line, _func in node.entry["references"]:
            if t < end and (ref_file, ref_line) != (file, line):
                others.append({"file": ref_file, "line": ref_line})
        candidates.append(
            {
                "module": node.name,
                "importer": {"file": file, "line": line},
                "cumulative_ms": round(saved_ns / 1e6, 3),
                "memory_bytes": None if memory is None else mem(node) - _needed_inside(node, end, node, mem),
                "first_use": None if first is None else round((first[0] - start) / 1e9, 4),
                "used_by": [] if first is None else [{"file": first[2], "line": first[3], "function": first[4]}],
                "saving_ms": None,
                "how": "",
                # for the text and the how; removed from the JSON
                "_chain": [(n.name, *_site(n)[:2]) for n in _chain(node)],
                "_others": others,
                "_fromlist": via_fromlist,
                "_dependency": in_dependency(file, child.get("stdlib")),
                "_loader": node.rec["loader"],
                "_cycle": in_cycle.get(node.name),
                "_import_ms": round(node.duration / 1e6, 3),
            }
        )
    return {
        "startup_end": {"seconds": round((end - start) / 1e9, 4), "by": end_by},
        "candidates": candidates,
        "cycles": cycles,
    }


# -- how to defer ----------------------------------------------------------------------------


def _statement(file: str | None, line: int | None) -> str | None:
    if not file or not line:
        return None
    from importguard._convert import source_line

    try:
        text = source_line(file, line)
    except Exception:
        return None
    return text if text.startswith(("import ", "from ")) else None


def requires_older(file: str | None) -> bool | None:
    """Whether the project of *file* (its nearest ``pyproject.toml``) says it supports
    Pythons before 3.15 (``requires-python``); None when it does not say."""
    if not file or file.startswith("<"):
        return None
    from importguard import _config

    directory = os.path.dirname(os.path.abspath(file))
    path = _config.find_pyproject(directory)
    if path is None:
        return None
    import importlib

    toml: Any = importlib.import_module("tomllib" if sys.version_info >= (3, 11) else "tomli")
    try:
        with open(path, "rb") as fh:
            spec = toml.load(fh).get("project", {}).get("requires-python")
    except (OSError, ValueError):
        return None
    if not isinstance(spec, str):
        return None
    lowest = None
    for clause in spec.split(","):
        clause = clause.strip()
        for op in (">=", "~=", "==", ">"):
            if clause.startswith(op):
                parts = clause[len(op) :].strip().split(".")
                try:
                    lowest = (int(parts[0]), int(parts[1]) if len(parts) > 1 else 0)
                except ValueError:
                    return None
                break
    if lowest is None:
        return True  # no lower bound: every Python
    return lowest < LAZY_IMPORTS


def how(candidate: dict[str, Any], python: str, older: bool | None) -> str:
    """What to change to defer *candidate*, for the Python *python* the program ran on."""
    module = candidate["module"]
    file, line = candidate["importer"]["file"], candidate["importer"]["line"]
    where = f"{file}:{line}" if file else "(no Python import statement: imported by the interpreter or C code)"
    found = _statement(file, line)
    if found and found.startswith("import ") and "," in found:
        text = f"import {module}"  # one name of `import a, b, c`
        where += f" (in `{found}`)"
    elif found:
        text = found + ("...)" if found.endswith("(") else "")
    else:
        text = f"from ... import {module.rpartition('.')[2]}" if candidate["_fromlist"] else f"import {module}"
    version = tuple(int(p) for p in python.split(".")[:2])
    parts = []
    lazy_list = (
        f"add {module!r} to a module-level `__lazy_modules__ = [...]` list in {file or 'the importer'} "
        f"(Python 3.15+ then imports it on first use; older Pythons ignore the list)"
    )
    if version >= LAZY_IMPORTS:
        parts.append(f"write `lazy {text}` at {where} (PEP 810)")
        if older is not False:
            parts.append(f"if that file must also run on Pythons before 3.15, {lazy_list} instead")
    else:
        if candidate["used_by"]:
            use = candidate["used_by"][0]
            parts.append(
                f"move `{text}` from {where} into the code that first uses it "
                f"({use['file']}:{use['line']}, in {use['function']})"
            )
        else:
            parts.append(
                f"nothing used it in this run: remove `{text}` at {where}, or move it into the code that needs it"
            )
        parts.append(f"on Python 3.15+, {lazy_list}")
    chain = candidate["_chain"]
    if len(chain) > 1:
        shown = chain if len(chain) <= 4 else [chain[0], None, *chain[-3:]]
        parts.append(
            "import chain: "
            + " -> ".join(
                "..." if link is None else link[0] + (f" ({link[1]}:{link[2]})" if link[1] else "") for link in shown
            )
        )
    if candidate.get("_dependency"):
        parts.append(
            "that statement is in a dependency (an installed package or the standard library): deferring "
            "it there is that project's change, unless your code can stop importing the chain above it"
        )
    if candidate["_others"]:
        parts.append(
            "also imported before startup ended at "
            + ", ".join(f"{o['file']}:{o['line']}" for o in candidate["_others"][:5])
            + ": change those too"
        )
    cycle = candidate["_cycle"]
    if cycle:
        parts.append(
            f"it is in an import cycle ({' -> '.join(cycle['modules'])} -> {cycle['modules'][0]}): "
            f"deferring it changes which module sees the other half-initialized"
        )
    return "; ".join(parts)


def in_dependency(file: str | None, stdlib: str | None) -> bool:
    """Whether *file* belongs to an installed package or the standard library (not the program's own code)."""
    if not file:
        return False
    parts = file.replace("\\", "/").split("/")
    if "site-packages" in parts or "dist-packages" in parts:
        return True
    return bool(stdlib) and os.path.abspath(file).startswith(os.path.join(str(stdlib), ""))


# -- --verify ----------------------------------------------------------------------------------

VERIFIABLE_LOADERS = ("source", "bytecode")


def _difference(name: str, base: str, other: str) -> str:
    a, b = base.splitlines(), other.splitlines()
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"{name} line {i + 1} was {x[:120]!r}, is {y[:120]!r}"
    if len(a) != len(b):
        i = min(len(a), len(b))
        line = (a + b)[i] if i < len(a + b) else ""
        return f"{name} has {len(b)} lines instead of {len(a)} (from line {i + 1}: {line[:120]!r})"
    return f"{name} differs"


def _changed(
    base: subprocess.CompletedProcess[str],
    run: subprocess.CompletedProcess[str],
    compared: list[str],
    no_marker: bool = False,
) -> str | None:
    if no_marker:
        return "with it deferred the program never called importguard.startup_done()"
    if "exit status" in compared and run.returncode != base.returncode:
        tail = run.stderr.strip().splitlines()[-1:] if run.stderr else []
        return f"deferring it changed the exit status from {base.returncode} to {run.returncode}" + (
            f" ({tail[0][:200]})" if tail else ""
        )
    for stream in ("stdout", "stderr"):
        if stream in compared and getattr(run, stream) != getattr(base, stream):
            return "deferring it changed " + _difference(stream, getattr(base, stream), getattr(run, stream))
    return None


def verify(
    argv: list[str],
    candidates: list[dict[str, Any]],
    runs: int,
    warmup: int,
    marker: bool = False,
    progress: Callable[[], None] = lambda: None,
    scans: list[list[Any]] | None = None,
) -> dict[str, Any]:
    """Measure what deferring each candidate (and all of them) saves; drop those that change the program.

    Times are to the program's exit, or with *marker* to its ``startup_done()`` call.
    """
    with tempfile.TemporaryDirectory(prefix="importguard-verify-") as tmp:
        sites = "\0".join(f"{line}:{file}" for file, line, _func in scans or () if file and line)
        return _verify(_Runner(argv, marker, tmp, sites), candidates, runs, warmup, progress)


def _verify(
    run: _Runner, candidates: list[dict[str, Any]], runs: int, warmup: int, progress: Callable[[], None]
) -> dict[str, Any]:
    names = [c["module"] for c in candidates]
    not_verified = []
    testable = []
    for c in candidates:
        if c["_loader"] in VERIFIABLE_LOADERS:
            testable.append(c["module"])
        else:
            not_verified.append(
                {
                    "module": c["module"],
                    "reason": f"{_article(c['_loader'])} module: the verifier defers "
                    f"only modules loaded from Python source or bytecode",
                }
            )
    # Check: two baseline runs (does the program repeat its output?), then each candidate deferred once.
    baselines = [run([])[1] for _ in range(2)]
    for _ in baselines:
        progress()
    first = baselines[0]
    compared = ["exit status"] + [s for s in ("stdout", "stderr") if getattr(baselines[1], s) == getattr(first, s)]
    if baselines[1].returncode != first.returncode:
        compared = []
    dropped = []
    kept = []
    for name in testable:
        took, proc = run([name])
        progress()
        reason = _changed(first, proc, compared, took is None)
        if reason is None:
            kept.append(name)
        else:
            dropped.append({"module": name, "reason": reason})
    variants = [[name] for name in kept] + ([kept] if len(kept) > 1 else [])
    labels = kept + ([ALL] if len(kept) > 1 else [])
    targets = [Target("command", label) for label in labels]
    times: dict[tuple[int, int, bool], tuple[int, int]] = {}
    gone: set[int] = set()
    for rnd, index, deferred in schedule(targets, warmup + runs):
        if index in gone:
            continue
        took, proc = run(variants[index] if deferred else [])
        progress()
        if deferred:
            reason = _changed(first, proc, compared, took is None)
            if reason is not None:
                gone.add(index)
                dropped.append({"module": labels[index], "reason": reason + f" (in round {rnd + 1})"})
                continue
        if took is not None:
            times[(rnd, index, deferred)] = took
    # Each round pairs a deferred run with a baseline run next to it: the saving is their difference.
    savings: dict[str, list[int]] = {label: [] for label in labels}
    savings_wall: dict[str, list[int]] = {label: [] for label in labels}
    baseline: list[tuple[int, int]] = []
    for rnd in range(warmup, warmup + runs):
        for index, label in enumerate(labels):
            plain = times.get((rnd, index, False))
            if plain is not None:
                baseline.append(plain)
            lazy = times.get((rnd, index, True))
            if plain is not None and lazy is not None and index not in gone:
                savings[label].append(plain[0] - lazy[0])
                savings_wall[label].append(plain[1] - lazy[1])
    return {
        "runs": runs,
        "warmup": warmup,
        "compared": compared,
        "clock": "cpu",
        "timed_to": "startup_done()" if run.marker else "exit",
        "baseline_cpu_ms": summarize(t[0] for t in baseline) if baseline else None,
        "baseline_wall_ms": summarize(t[1] for t in baseline) if baseline else None,
        "savings_ms": {label: summarize(v) for label, v in savings.items() if v},
        "savings_wall_ms": {label: summarize(v) for label, v in savings_wall.items() if v},
        "dropped": dropped,
        "not_verified": not_verified,
        "candidates": names,
    }


def _article(word: str) -> str:
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"


def runs_needed(candidates: list[dict[str, Any]], runs: int, warmup: int) -> int:
    """How many program runs :func:`verify` makes at most (for the progress bar)."""
    k = sum(1 for c in candidates if c["_loader"] in VERIFIABLE_LOADERS)
    variants = k + (1 if k > 1 else 0)
    return 2 + k + 2 * variants * (runs + warmup)


# -- output -----------------------------------------------------------------------------------


def _mb(n: int | None) -> str:
    if n is None:
        return "-"
    return f"{n / 1e6:.1f} MB" if abs(n) >= 100_000 else f"{n / 1e3:.0f} kB"


def result(
    report: dict[str, Any],
    child: dict[str, Any],
    status: int,
    analysis: dict[str, Any],
    rank: str,
    top: int,
    verified: dict[str, Any] | None,
    has_memory: bool,
) -> dict[str, Any]:
    """The advice, shaped as the ``importguard.advise/1`` JSON (plus private keys starting with _)."""
    python = child["python"]
    candidates = sorted(
        analysis["candidates"],
        key=lambda c: (
            -(c["memory_bytes"] or 0) if rank == "memory" else -c["cumulative_ms"],
            -c["cumulative_ms"],
            c["module"],
        ),
    )[:top]
    older_cache: dict[str | None, bool | None] = {}
    dropped: list[dict[str, Any]] = []
    if verified is not None:
        dropped = verified["dropped"]
        gone = {d["module"] for d in dropped}
        for c in candidates:
            stats = verified["savings_ms"].get(c["module"])
            c["saving_ms"] = stats["median"] if stats else None
        candidates = [c for c in candidates if c["module"] not in gone]
    for c in candidates:
        file = c["importer"]["file"]
        if file not in older_cache:
            older_cache[file] = requires_older(file)
        c["how"] = how(c, python, older_cache[file])
    total_stats = None
    if verified is not None:
        total_stats = verified["savings_ms"].get(ALL)
        if total_stats is None and len(verified["savings_ms"]) == 1:
            total_stats = next(iter(verified["savings_ms"].values()))
    return {
        "schema": SCHEMA,
        "python": python,
        "exit_status": status,
        "startup_end": analysis["startup_end"],
        "candidates": candidates,
        "dropped": dropped,
        "total": {
            "cumulative_ms": round(sum(c["cumulative_ms"] for c in candidates), 3),
            "memory_bytes": sum(c["memory_bytes"] or 0 for c in candidates) if has_memory else None,
            "saving_ms": total_stats["median"] if total_stats else None,
            "saving_spread_ms": [total_stats["p25"], total_stats["p75"]] if total_stats else None,
        },
        "verify": None if verified is None else {k: v for k, v in verified.items() if k != "dropped"},
        "cycles": analysis["cycles"],
    }


def public(data: dict[str, Any]) -> dict[str, Any]:
    """*data* without the private keys (what the JSON holds)."""
    return {**data, "candidates": [{k: v for k, v in c.items() if not k.startswith("_")} for c in data["candidates"]]}


def render_text(data: dict[str, Any]) -> str:
    """The advice for people: the ranked table, the total, how to defer each, cycles."""
    end = data["startup_end"]
    said = {"exit": "when the program exited", "until": "at --until", "marker": "at importguard.startup_done()"}[
        end["by"]
    ]
    cands = data["candidates"]
    lines = [
        f"importguard advise: {len(cands)} import{'s' if len(cands) != 1 else ''} to defer "
        f"(startup ended {said}, {end['seconds']:.2f} s after the start; Python {data['python']})"
    ]
    verified = data["verify"] is not None
    if cands:
        head = f"  {'#':>2}  {'cost ms':>9}"
        if data["total"]["memory_bytes"] is not None:
            head += f"  {'memory':>9}"
        if verified:
            head += f"  {'saving ms':>14}"
        head += f"  {'first use':>9}  module  (import statement)"
        lines.append(head)
        for i, c in enumerate(cands, 1):
            row = f"  {i:>2}  {c['cumulative_ms']:>9.1f}"
            if data["total"]["memory_bytes"] is not None:
                row += f"  {_mb(c['memory_bytes']):>9}"
            if verified:
                stats = data["verify"]["savings_ms"].get(c["module"])
                row += f"  {spread(stats) if stats else 'not measured':>14}"
            first = "never" if c["first_use"] is None else f"{c['first_use']:.2f} s"
            where = f"{c['importer']['file']}:{c['importer']['line']}" if c["importer"]["file"] else "?"
            row += f"  {first:>9}  {c['module']}  ({where})"
            lines.append(row)
        total = data["total"]
        line = f"  total: {total['cumulative_ms']:.1f} ms of startup"
        if total["memory_bytes"] is not None:
            line += f", {_mb(total['memory_bytes'])}"
        if total["saving_ms"] is not None:
            low, high = total["saving_spread_ms"]
            line += (
                f"; measured saving with {'all' if len(cands) > 1 else 'it'} deferred: "
                f"{format_ms(total['saving_ms'])} ms (quartiles {format_ms(low)} to "
                f"{format_ms(high)}) over {data['verify']['runs']} rounds"
            )
            base = data["verify"]["baseline_cpu_ms"]
            if base:
                to = " up to startup_done()" if data["verify"]["timed_to"] != "exit" else ""
                line += f", of {format_ms(base['median'])} ms of CPU time{to}"
        elif not verified:
            line += " (estimated from one run: --verify measures it)"
        lines.append(line)
        lines.append("how:")
        for i, c in enumerate(cands, 1):
            lines.append(f"  {i}. {c['module']}: {c['how']}")
    else:
        lines.append(
            "  nothing to defer: every import made before startup ended was used by then, or cost less than --min-ms"
        )
    if verified:
        v = data["verify"]
        if v["compared"]:
            lines.append(
                f"verified over {v['runs']} rounds after {v['warmup']} warmup, comparing "
                f"{', '.join(v['compared'])} with baseline runs; savings are in CPU time (user + "
                f"system), medians ± half the interquartile range"
            )
        else:
            lines.append("verified, but the program's exit status varies from run to run: nothing compared")
        wall = v["savings_wall_ms"].get(ALL) or (
            next(iter(v["savings_wall_ms"].values())) if len(v["savings_wall_ms"]) == 1 else None
        )
        if wall and v["baseline_wall_ms"]:
            lines.append(
                f"wall time (moves with the machine's load): {spread(v['baseline_wall_ms'])} ms, "
                f"saving {spread(wall)} ms"
            )
        for d in v.get("not_verified", []):
            lines.append(f"  not verified: {d['module']}: {d['reason']}")
    for d in data["dropped"]:
        lines.append(f"  dropped: {d['module']}: {d['reason']}")
    if data["cycles"]:
        lines.append("import cycles (deferring a module in one changes the order the others see):")
        for cyc in data["cycles"]:
            imp = cyc["importer"]
            at = f" ({imp['file']}:{imp['line']})" if imp["file"] else ""
            lines.append(f"  {' -> '.join(cyc['modules'])} -> {cyc['modules'][0]}{at}")
    return "\n".join(lines) + "\n"


def main(args: argparse.Namespace) -> int:
    """Run ``importguard advise``; return the exit status of the program it ran."""
    return advise_program(args, program_argv(args.module, args.program))


def advise_program(args: argparse.Namespace, argv: list[str]) -> int:
    """Run ``importguard advise`` on the program *argv*; return its exit status."""
    if args.until is not None and not args.until > 0:
        raise UsageError("--until must be a number of seconds above 0")
    if args.runs < 1 or args.warmup < 0 or args.top < 1:
        raise UsageError("--runs and --top must be 1 or more, --warmup 0 or more")
    if args.rank == "memory" and not args.memory:
        raise UsageError("--rank memory needs --memory")
    if args.format != "text" and not args.output:
        raise UsageError(f"--format {args.format} needs -o FILE")
    status, report, child = diagnose(argv, memory=False)
    memory = None
    if args.memory:
        mem_status, _mem_report, mem_child = diagnose(argv, memory=True, streamed=False)
        if mem_status != status:
            sys.stderr.write(
                f"importguard advise: the run with tracemalloc exited {mem_status}, the first "
                f"{status}; memory is left out\n"
            )
        else:
            memory = mem_child["memory"] or {}
    analysis = analyse(report, child, args.until, args.min_ms, memory)
    data = result(report, child, status, analysis, args.rank, args.top, None, memory is not None)
    if args.verify and data["candidates"]:
        bar = progress_bar(runs_needed(data["candidates"], args.runs, args.warmup), "importguard advise")
        try:
            verified = verify(
                argv,
                data["candidates"],
                args.runs,
                args.warmup,
                marker=data["startup_end"]["by"] == "marker",
                scans=child.get("scans"),
                progress=bar.update if bar is not None else (lambda: None),
            )
        finally:
            if bar is not None:
                bar.close()
        data = result(report, child, status, analysis, args.rank, args.top, verified, memory is not None)
    _output(args, data, report)
    return status


def _output(args: argparse.Namespace, data: dict[str, Any], report: dict[str, Any]) -> None:
    from importguard._report import dumps, write_text

    if args.format == "json":
        text = dumps(public(data)) + "\n"
    elif args.format == "html":
        from importguard import _html

        text = _html.render([report], advice=public(data))
    else:
        text = render_text(data)
    if args.output in (None, ""):
        sys.stderr.write(text)
    elif args.output == "-":
        sys.stdout.write(text)
    else:
        try:
            write_text(args.output, text)
        except OSError as exc:
            raise UsageError(f"cannot write {args.output}: {exc.strerror or exc}") from None
        sys.stderr.write(f"importguard advise: wrote {args.output}\n")
