"""The comparison suite: importguard beside plain Python, ``-X importtime`` and its peers.

    .venv-bench/bin/python benchmarks/run.py --suite full     # everything, ~10-15 minutes
    .venv-bench/bin/python benchmarks/run.py --suite quick    # about a minute: 5 rounds, no sympy, no
                                                              # 10,000-module tree, no callgrind

Run it with the Python of the benchmark venv (``benchmarks/requirements.txt``):
importguard installed there (its ``.pth`` is what ``IMPORTGUARD=1`` needs),
plus botocore, sympy, the OpenTelemetry SDK, wrapt, ddtrace and matplotlib.

Every measurement is a fresh process. Every round runs every (workload,
variant) pair once, all pairs in a new random order (seeded), so load on a
shared machine hits every variant alike; results are medians of per-round
ratios and differences against ``plain`` in the same round, with the
interquartile range and min-max. CPU is the child's user+sys from ``wait4``
(the whole process, exit included); the child also reports the CPU and wall
time of the workload's import statement alone, and its module counts.

``plain`` is a Python *without* importguard: a venv of the same interpreter
whose site-packages is the benchmark venv's (through a path ``.pth``), with
every ``.pth`` of the benchmark venv except importguard's: so plain and
"installed, off" differ by importguard's ``.pth`` files only.

Written to ``--out`` (default ``benchmarks/results``; quick mode:
``benchmarks/results/tmp-quick``, git-ignored): ``suite-<mode>.json`` (every
raw sample), ``suite-<mode>.md`` (the tables) and ``overhead.svg``/``.png``.
No assertions on numbers anywhere: the targets are evaluated and printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import synthetic  # noqa: E402
from _lib import (  # noqa: E402
    LABELS,
    TARGET_CPU_US_PER_MODULE,
    TARGET_FIXED_MS,
    TARGET_IR_PER_MODULE,
    TARGET_MISS_RATIO,
    Runner,
    available,
    base_env,
    bench_callgrind,
    make_plain,
    progress,
    spawn,
    summary,
)
from machine import cpu_model  # noqa: E402

# ---------------------------------------------------------------- targets (issue #6)

# (and _lib's: instructions and CPU per module, fixed cost, failing imports)
TARGET_DISABLED_MS = 0.3  # installed but off, `python -c pass`: no difference beyond noise
TARGET_SELF_TIME = 0.05  # importguard's summed self time within 5% of -X importtime's
TARGET_RSS_MB_PER_1000 = 2.0
TARGET_SPAN_RATIO = 1.15

# ---------------------------------------------------------------- workloads

STDLIB = (
    "json",
    "email.mime.multipart",
    "asyncio",
    "http.client",
    "logging.handlers",
    "xml.etree.ElementTree",
    "decimal",
    "argparse",
)


#: name -> (import statement, needs a synthetic tree of this size as cwd or None)
def workloads(sizes: list[int], real: list[str]) -> dict[str, tuple[str, int | None]]:
    out: dict[str, tuple[str, int | None]] = {"startup": ("pass", None)}
    if "stdlib" in real:
        out["stdlib"] = ("import " + ", ".join(STDLIB), None)
    if "botocore" in real:
        out["botocore"] = ("import botocore.session", None)
    if "sympy" in real:
        out["sympy"] = ("import sympy", None)
    for s in sizes:
        out[f"tree{s}"] = ("import synth_entry", s)
    return out


# ---------------------------------------------------------------- variants

SDK_PROLOGUE = """\
from opentelemetry import trace as _b_trace
from opentelemetry.sdk.trace import TracerProvider as _b_TP
from opentelemetry.sdk.trace.export import BatchSpanProcessor as _b_BSP
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter as _b_IME
_b_exporter = _b_IME()
_b_provider = _b_TP()
_b_provider.add_span_processor(_b_BSP(_b_exporter, max_queue_size=100_000))
_b_trace.set_tracer_provider(_b_provider)
"""
SDK_EPILOGUE = "_b_provider.force_flush(); _b_out['spans'] = len(_b_exporter.get_finished_spans())\n"

#: wrapt's post-import hooks on every module: wrapt calls a hook only for names
#: registered in advance, so a finder ahead of wrapt's registers each name the
#: first time the import system asks for it (public API only).
WRAPT_PROLOGUE = """\
import sys as _b_sys, wrapt as _b_wrapt
_b_seen = []
_b_registered = set()
def _b_hook(module):
    _b_seen.append(module)
class _b_RegisterEvery:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name not in _b_registered:
            _b_registered.add(name)
            _b_wrapt.register_post_import_hook(_b_hook, name)
        return None
_b_wrapt.register_post_import_hook(_b_hook, "wrapt")  # puts wrapt's ImportHookFinder in sys.meta_path
_b_sys.meta_path.insert(0, _b_RegisterEvery)
"""

#: ddtrace's ModuleWatchdog with a hook on every module (its documented way:
#: a subclass overriding after_import, called for every module imported).
DDTRACE_PROLOGUE = """\
from ddtrace.internal.module import ModuleWatchdog as _b_MW
_b_seen = []
class _b_Every(_b_MW):
    def after_import(self, module):
        super().after_import(module)
        _b_seen.append(module)
_b_Every.install()
"""

#: how many modules the peer's hook was called for (it must be every one)
PEER_EPILOGUE = "_b_out['hooked'] = len(_b_seen)\n"

ON = {"IMPORTGUARD": "1", "IMPORTGUARD_SUMMARY": "0"}

#: name -> label, which Python ("plain": without importguard; "bench": with it),
#: extra environment, extra interpreter options, prologue, epilogue, reference variant.
VARIANTS: dict[str, dict[str, Any]] = {
    "plain": {"label": "plain (not installed)", "python": "plain"},
    "importtime": {"label": "-X importtime", "python": "plain", "args": ["-X", "importtime"]},
    "off": {"label": "importguard installed, off", "python": "bench"},
    "on": {"label": "importguard on (defaults)", "python": "bench", "env": ON},
    "on_noexports": {
        "label": "importguard on, IMPORTGUARD_EXPORTS=off",
        "python": "bench",
        "env": {**ON, "IMPORTGUARD_EXPORTS": "off"},
    },
    "plain_sdk": {
        "label": "plain + OTel SDK",
        "python": "plain",
        "prologue": SDK_PROLOGUE,
        "epilogue": SDK_EPILOGUE,
        "needs": "opentelemetry.sdk",
    },
    "on_sdk": {
        "label": "importguard on + OTel SDK",
        "python": "bench",
        "env": ON,
        "prologue": SDK_PROLOGUE,
        "epilogue": SDK_EPILOGUE,
        "ref": "plain_sdk",
        "needs": "opentelemetry.sdk",
    },
    "on_sdk_min1": {
        "label": "importguard on + SDK, IMPORTGUARD_MIN_MS=1",
        "python": "bench",
        "env": {**ON, "IMPORTGUARD_MIN_MS": "1"},
        "prologue": SDK_PROLOGUE,
        "epilogue": SDK_EPILOGUE,
        "ref": "plain_sdk",
        "needs": "opentelemetry.sdk",
    },
    "wrapt": {
        "label": "peer: wrapt post-import hooks",
        "python": "plain",
        "prologue": WRAPT_PROLOGUE,
        "epilogue": PEER_EPILOGUE,
        "needs": "wrapt",
    },
    "ddtrace": {
        "label": "peer: ddtrace ModuleWatchdog",
        "python": "plain",
        "prologue": DDTRACE_PROLOGUE,
        "epilogue": PEER_EPILOGUE,
        "needs": "ddtrace",
    },
}
IMPORTGUARD_VARIANTS = ("on", "on_noexports", "on_sdk", "on_sdk_min1")
#: not timed: importguard and -X importtime in one process, for the self-time comparison
VARIANTS["on_importtime"] = {
    "label": "importguard on + -X importtime",
    "python": "bench",
    "env": ON,
    "args": ["-X", "importtime"],
    "untimed": True,
}

#: The workload runs *depth* Python frames down (rotated by round, the same for
#: every variant in a round). CPython (3.11+) keeps frames in 16 KiB chunks that
#: are mmap'd when the stack grows past one and munmap'd as soon as it shrinks
#: back, so an import tree whose stack oscillates across a chunk boundary pays
#: two syscalls and fresh pages each time: `import botocore.session` in plain
#: Python costs 118-158 ms CPU here depending only on the depth it starts at
#: (95 to 5,842 chunk mmaps). Any extra frame per import (importguard's, a
#: finder's) moves the boundaries, so one fixed depth would measure where they
#: happen to fall, not the hook.
DEPTHS = (0, 3, 6, 9)

CHILD = """\
{prologue}import sys as _b_s, time as _b_t
_b_before = set(_b_s.modules)
def _b_work(_b_d):
    if _b_d:
        return _b_work(_b_d - 1)
    _b_c0 = _b_t.process_time_ns(); _b_w0 = _b_t.perf_counter_ns()
    {workload}
    _b_w1 = _b_t.perf_counter_ns(); _b_c1 = _b_t.process_time_ns()
    return _b_w1 - _b_w0, _b_c1 - _b_c0
_b_wall, _b_cpu = _b_work({depth})
_b_out = {{"inner_wall": _b_wall, "inner_cpu": _b_cpu, "modules": len(_b_s.modules),
          "new": len(set(_b_s.modules) - _b_before), "depth": {depth}}}
{epilogue}{dump}_b_s.stdout.write("BENCH " + __import__("json").dumps(_b_out) + "\\n")
"""
#: Fidelity runs: every module name at the end, and the workload's own.
DUMP = """\
with open({path!r}, "w") as _b_f:
    __import__("json").dump({{"all": sorted(_b_s.modules), "new": sorted(set(_b_s.modules) - _b_before)}}, _b_f)
"""
#: The bounded-buffer check (IMPORTGUARD_MAX_RECORDS) on the largest tree.
BOUND = """\
from importguard import _records as _b_r
_b_out["buffer"] = len(_b_r.buffer)
_b_out["folded_records"] = _b_r.folded_records
_b_out["folded_counts"] = sum(v[0] for v in _b_r.folded.values())
_b_out["records_before"] = _b_rec0
import gc as _b_gc; _b_gc.collect()
with open("/proc/self/statm") as _b_f:
    _b_out["rss_now_kb"] = int(_b_f.read().split()[1]) * __import__("os").sysconf("SC_PAGE_SIZE") // 1024
"""
BOUND_PRE = "from importguard import _records as _b_r0\n_b_rec0 = len(_b_r0.buffer) + _b_r0.folded_records\n"


# ---------------------------------------------------------------- pythons and environment


class Suite:
    def __init__(self, bench: str, plain: str, workdir: str) -> None:
        self.pythons = {"bench": bench, "plain": plain}
        self.workdir = workdir
        self.env = base_env()

    def argv(
        self,
        variant: str,
        workload: str,
        extra_env: dict[str, str] | None = None,
        dump: str | None = None,
        bound: bool = False,
        depth: int = 0,
    ) -> tuple[list[str], dict[str, str]]:
        v = VARIANTS[variant]
        env = dict(self.env)
        env.update(v.get("env", {}))
        env.update(extra_env or {})
        code = CHILD.format(
            prologue=v.get("prologue", "") + (BOUND_PRE if bound else ""),
            workload=workload,
            depth=depth,
            epilogue=v.get("epilogue", "") + (BOUND if bound else ""),
            dump=DUMP.format(path=dump) if dump else "",
        )
        return [self.pythons[v["python"]], *v.get("args", []), "-c", code], env

    def run(self, variant: str, workload: str, cwd: str, *, stderr: bool = False, **kw: Any) -> dict[str, Any]:
        argv, env = self.argv(variant, workload, **kw)
        errfile = os.path.join(self.workdir, "stderr.txt")
        with open(errfile, "wb") as errfh:
            out, wall, cpu, maxrss, returncode = spawn(argv, env, cwd, stderr=errfh)
        with open(errfile, "rb") as errfh:
            err = errfh.read()
        line = [x for x in out.decode("utf-8", "replace").splitlines() if x.startswith("BENCH ")]
        if returncode != 0 or not line:
            raise RuntimeError(
                f"{variant}: exited {returncode} in {cwd}: {workload!r}\n{err.decode('utf-8', 'replace')[-2000:]}"
            )
        res = {"wall_ns": wall, "cpu_ns": cpu, "maxrss_kb": maxrss, "inner": json.loads(line[0][6:])}
        if stderr:
            res["stderr"] = err.decode("utf-8", "replace")
        return res

    def available(self, variant: str) -> bool:
        need = VARIANTS[variant].get("needs")
        if not need:
            return True
        return available(self.pythons[VARIANTS[variant]["python"]], need, self.env)


# ---------------------------------------------------------------- statistics


def fmt(s: dict[str, float], d: int = 2, spread: str = "iqr") -> str:
    if spread == "iqr":
        return f"{s['median']:.{d}f} [{s['p25']:.{d}f}, {s['p75']:.{d}f}]"
    return f"{s['median']:.{d}f} ({s['min']:.{d}f}-{s['max']:.{d}f})"


# ---------------------------------------------------------------- the timed rounds


def timed(
    suite: Suite,
    loads: dict[str, tuple[str, int | None]],
    cwds: dict[str, str],
    variants: list[str],
    rounds: int,
    seed: int = 6,
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    samples: dict[str, dict[str, list[dict[str, Any]]]] = {w: {v: [] for v in variants} for w in loads}
    jobs = [(w, v) for w in loads for v in variants]
    rng = random.Random(seed)
    for i in range(rounds):
        order = list(jobs)
        rng.shuffle(order)
        for k, (w, v) in enumerate(order):
            progress(f"\r  timed: round {i + 1}/{rounds}, {k + 1}/{len(order)}   ")
            samples[w][v].append(suite.run(v, loads[w][0], cwds[w], depth=DEPTHS[i % len(DEPTHS)]))
    progress("\n")
    return samples


def analyse(
    samples: dict[str, dict[str, list[dict[str, Any]]]], loads: dict[str, tuple[str, int | None]], variants: list[str]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for w, per in samples.items():
        plain = per["plain"]
        n_plain = statistics.median(s["inner"]["new"] for s in plain)
        size = loads[w][1]
        denominator = size + 1 if size else max(1, n_plain)  # the tree's modules + synth_entry
        wl: dict[str, Any] = {}
        for v in variants:
            ss = per[v]
            ref = VARIANTS[v].get("ref", "plain")
            rs = per[ref]

            def col(key: str, xs: list[dict[str, Any]] = ss) -> list[float]:
                if key in ("cpu_ns", "wall_ns"):
                    return [s[key] / 1e6 for s in xs]
                return [s["inner"][key] / 1e6 for s in xs]

            cpu, wall, icpu, iwall = col("cpu_ns"), col("wall_ns"), col("inner_cpu"), col("inner_wall")
            pcpu, pwall, picpu = col("cpu_ns", plain), col("wall_ns", plain), col("inner_cpu", plain)
            rcpu, rwall, ricpu = col("cpu_ns", rs), col("wall_ns", rs), col("inner_cpu", rs)
            wl[v] = {
                "cpu_ms": summary(cpu),
                "wall_ms": summary(wall),
                "inner_cpu_ms": summary(icpu),
                "inner_wall_ms": summary(iwall),
                "ratio_cpu": summary([a / b for a, b in zip(cpu, pcpu)]),
                "ratio_wall": summary([a / b for a, b in zip(wall, pwall)]),
                "d_cpu_ms": summary([a - b for a, b in zip(cpu, pcpu)]),
                "d_wall_ms": summary([a - b for a, b in zip(wall, pwall)]),
                "ref": ref,
                "ratio_cpu_ref": summary([a / b for a, b in zip(cpu, rcpu)]),
                "ratio_wall_ref": summary([a / b for a, b in zip(wall, rwall)]),
                "d_cpu_ms_ref": summary([a - b for a, b in zip(cpu, rcpu)]),
                "d_inner_cpu_ms_ref": summary([a - b for a, b in zip(icpu, ricpu)]),
                # the workload's own import statement, per module it imports in plain
                "d_inner_cpu_us_per_module": summary([(a - b) * 1e3 / denominator for a, b in zip(icpu, ricpu)]),
                "d_inner_cpu_us_per_module_vs_plain": summary(
                    [(a - b) * 1e3 / denominator for a, b in zip(icpu, picpu)]
                ),
                "modules": statistics.median(s["inner"]["modules"] for s in ss),
                "new_modules": statistics.median(s["inner"]["new"] for s in ss),
                "maxrss_mb": summary([s["maxrss_kb"] / 1024 for s in ss]),
                "spans": statistics.median(s["inner"].get("spans", 0) for s in ss),
                "hooked": statistics.median(s["inner"].get("hooked", 0) for s in ss),
            }
        wl["_denominator"] = denominator
        out[w] = wl
    return out


def slopes(
    samples: dict[str, dict[str, list[dict[str, Any]]]], sizes: list[int], variants: list[str]
) -> dict[str, Any]:
    """Whole-process µs per module between two tree sizes: everything fixed cancels."""
    out: dict[str, Any] = {}
    for a, b in zip(sizes, sizes[1:]):
        key = f"{a}-{b}"
        span = b - a
        sa, sb = samples[f"tree{a}"], samples[f"tree{b}"]
        per: dict[str, Any] = {}
        plain = [(y["cpu_ns"] - x["cpu_ns"]) / span / 1e3 for x, y in zip(sa["plain"], sb["plain"])]
        for v in variants:
            ref = VARIANTS[v].get("ref", "plain")
            us = [(y["cpu_ns"] - x["cpu_ns"]) / span / 1e3 for x, y in zip(sa[v], sb[v])]
            rus = [(y["cpu_ns"] - x["cpu_ns"]) / span / 1e3 for x, y in zip(sa[ref], sb[ref])]
            rss = [(y["maxrss_kb"] - x["maxrss_kb"]) / span * 1000 / 1024 for x, y in zip(sa[v], sb[v])]
            prss = [(y["maxrss_kb"] - x["maxrss_kb"]) / span * 1000 / 1024 for x, y in zip(sa["plain"], sb["plain"])]
            per[v] = {
                "cpu_us_per_module": summary(us),
                "d_cpu_us_per_module": summary([x - p for x, p in zip(us, plain)]),
                "d_cpu_us_per_module_ref": summary([x - p for x, p in zip(us, rus)]),
                "rss_mb_per_1000": summary(rss),
                "d_rss_mb_per_1000": summary([x - p for x, p in zip(rss, prss)]),
            }
        out[key] = per
    return out


# ---------------------------------------------------------------- fidelity


OWN = re.compile(r"^importguard(\.|$)")


def module_sets(
    suite: Suite, loads: dict[str, tuple[str, int | None]], cwds: dict[str, str], variants: list[str]
) -> dict[str, Any]:
    """One run per (workload, variant) that dumps sys.modules: the module sets compared with the reference."""
    out: dict[str, Any] = {}
    for w in loads:
        sets: dict[str, dict[str, list[str]]] = {}
        for v in variants:
            progress(f"\r  module sets: {w}, {v}" + " " * 20)
            path = os.path.join(suite.workdir, f"mods-{w}-{v}.json")
            suite.run(v, loads[w][0], cwds[w], dump=path)
            with open(path, encoding="utf-8") as fh:
                sets[v] = json.load(fh)
        res: dict[str, Any] = {}
        for v in variants:
            ref = VARIANTS[v].get("ref", "plain")
            mine = {m for m in sets[v]["all"] if not OWN.match(m)}
            theirs = set(sets[ref]["all"])
            new_mine, new_ref = set(sets[v]["new"]), set(sets[ref]["new"])
            res[v] = {
                "ref": ref,
                "modules": len(sets[v]["all"]),
                "own_modules": len(sets[v]["all"]) - len(mine),
                "workload_modules": len(new_mine),
                "missing": sorted(theirs - mine),
                "extra": sorted(mine - theirs),
                "workload_missing": sorted(new_ref - new_mine),
                "equal": mine == theirs,
            }
        out[w] = res
    progress("\n")
    return out


IMPORTTIME_LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|(\s*)(\S+)\s*$")


def self_times(
    suite: Suite, loads: dict[str, tuple[str, int | None]], cwds: dict[str, str], rounds: int, which: list[str]
) -> dict[str, Any]:
    """Summed self time of the workload's imports: importguard's report vs -X importtime, alternated."""
    out: dict[str, Any] = {}
    rng = random.Random(7)
    for w in which:
        ig, it, ratios = [], [], []
        for i in range(rounds):
            progress(f"\r  self time: {w}, round {i + 1}/{rounds}" + " " * 10)
            pair = ["on", "importtime"]
            rng.shuffle(pair)
            got: dict[str, float] = {}
            for v in pair:
                dump = os.path.join(suite.workdir, f"self-{w}-{v}.json")
                report = os.path.join(suite.workdir, f"report-{w}.json")
                extra = {"IMPORTGUARD_REPORT": report} if v == "on" else {}
                r = suite.run(v, loads[w][0], cwds[w], stderr=(v == "importtime"), extra_env=extra, dump=dump)
                with open(dump, encoding="utf-8") as fh:
                    new = set(json.load(fh)["new"])
                if v == "on":
                    with open(report, encoding="utf-8") as fh:
                        rep = json.load(fh)
                    got[v] = (
                        sum(
                            x["self_ns"]
                            for x in rep["imports"]
                            if x["name"] in new and x["status"] == "ok" and x["self_ns"] is not None
                        )
                        / 1e6
                    )
                else:
                    total = 0
                    for line in r["stderr"].splitlines():
                        m = IMPORTTIME_LINE.match(line)
                        if m and m.group(4) in new:
                            total += int(m.group(1))
                    got[v] = total / 1e3
            ig.append(got["on"])
            it.append(got["importtime"])
            ratios.append(got["on"] / got["importtime"] if got["importtime"] else float("nan"))
        # Both in one process (IMPORTGUARD=1 and -X importtime): the same imports
        # timed by both, so no run-to-run noise; importtime's window is the
        # wider one (it includes the hook, and it prints each child's line
        # inside its parent's time).
        paired = []
        for i in range(rounds):
            progress(f"\r  self time: {w}, paired run {i + 1}/{rounds}" + " " * 10)
            dump = os.path.join(suite.workdir, f"self-{w}-both.json")
            report = os.path.join(suite.workdir, f"report-{w}-both.json")
            r = suite.run(
                "on_importtime", loads[w][0], cwds[w], stderr=True, extra_env={"IMPORTGUARD_REPORT": report}, dump=dump
            )
            with open(dump, encoding="utf-8") as fh:
                new = set(json.load(fh)["new"])
            with open(report, encoding="utf-8") as fh:
                a = (
                    sum(
                        x["self_ns"]
                        for x in json.load(fh)["imports"]
                        if x["name"] in new and x["status"] == "ok" and x["self_ns"] is not None
                    )
                    / 1e6
                )
            b = (
                sum(
                    int(m.group(1))
                    for m in map(IMPORTTIME_LINE.match, r["stderr"].splitlines())
                    if m and m.group(4) in new
                )
                / 1e3
            )
            paired.append(a / b if b else float("nan"))
        out[w] = {
            "importguard_self_ms": summary(ig),
            "importtime_self_ms": summary(it),
            "ratio": summary(ratios),
            "paired_ratio": summary(paired),
        }
    progress("\n")
    return out


def bound_check(suite: Suite, tree: str, size: int, bound: int) -> dict[str, Any]:
    """IMPORTGUARD_MAX_RECORDS on the largest tree: records kept <= bound, folded count right."""
    res: dict[str, Any] = {"bound": bound, "tree": size}
    for label, extra in (("bounded", {"IMPORTGUARD_MAX_RECORDS": str(bound)}), ("default", {})):
        r = suite.run("on", "import synth_entry", tree, extra_env=extra, bound=True)
        inner = r["inner"]
        made = inner["records_before"] + inner["new"]
        res[label] = {
            "buffer": inner["buffer"],
            "folded_records": inner["folded_records"],
            "folded_counts": inner["folded_counts"],
            "records_made": made,
            "maxrss_mb": r["maxrss_kb"] / 1024,
            "rss_after_mb": inner["rss_now_kb"] / 1024,
        }
    b = res["bounded"]
    res["holds"] = (
        b["buffer"] <= bound
        and b["folded_records"] == b["folded_counts"]
        and b["buffer"] + b["folded_records"] == b["records_made"]
    )
    return res


# ---------------------------------------------------------------- spans and callgrind (reused)


def spans(bench: str, modules: int, rounds: int) -> dict[str, Any] | None:
    env = {**base_env(), **ON}
    r = subprocess.run(
        [bench, os.path.join(HERE, "spans.py"), "--modules", str(modules), "--rounds", str(rounds), "--json", "-"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tempfile.gettempdir(),
    )
    if r.returncode != 0:
        progress(f"spans.py failed: {r.stderr[-1000:]}\n")
        return None
    return json.loads(r.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def callgrind(
    bench: str, plain: str, workdir: str, trees: dict[int, str], misses: int, real: dict[str, str] | None = None
) -> dict[str, Any] | None:
    if shutil.which("valgrind") is None:
        progress("valgrind not found (apt-get install -y valgrind): no instruction counts\n")
        return None
    r = Runner(bench, plain, workdir)
    miss_dir = trees[min(trees)]
    synthetic.write_misses(miss_dir, misses)
    out = bench_callgrind(
        r,
        ["baseline", "plain", "importguard", "importtime"],
        {
            "import": ["plain", "importguard", "noexports", "importtime", "wrapper", "finder"],
            "process": ["plain", "importguard"],
        },
        {"import": ["plain", "importguard", "importtime"], "process": ["plain", "importguard"]},
        trees,
        miss_dir,
        misses,
        1,
    )
    # Real trees: the synthetic modules have no __all__ and no optional
    # imports; real ones have both. Import path (GC off, os._exit after), the
    # same process with `0` in place of the import subtracted: startup cancels.
    out["real"] = {}
    for w, stmt in (real or {}).items():
        cwd = tempfile.mkdtemp(dir=workdir)  # an empty directory: nothing on sys.path[0]
        per: dict[str, Any] = {}
        for v in ("plain", "importguard", "noexports", "importtime"):
            progress(f"\r  callgrind: {w}, {v}" + " " * 30)
            per[v] = {
                "workload": r.callgrind(v, "{prelude}" + stmt, cwd, "import"),
                "base": r.callgrind(v, "{prelude}0", cwd, "import"),
            }
            per[v]["ir"] = per[v]["workload"] - per[v]["base"]
        for v in per:
            per[v]["overhead_ir"] = per[v]["ir"] - per["plain"]["ir"]
        out["real"][w] = per
    progress("\n")
    return out


# ---------------------------------------------------------------- output


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "loadavg": os.getloadavg(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "python": sys.version.split()[0],
        "cpu_model": cpu_model(),
    }
    try:
        rev = subprocess.run(
            ["git", "-C", HERE, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", HERE, "status", "--porcelain", "--", "../importguard"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        info["git"] = rev + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        info["git"] = None
    return info


def evaluate(res: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def add(name: str, value: Any, limit: Any, met: bool | None, how: str) -> None:
        out.append({"target": name, "value": value, "limit": limit, "met": met, "how": how})

    t = res["results"]
    st = t.get("startup", {})
    cg = res.get("callgrind")
    # A load-independent time estimate: instructions priced at what one
    # instruction of plain's import path costs on this machine (its µs per
    # module over its Ir per module).
    ns_per_ir = None
    if cg and res.get("slopes"):
        key = next(iter(cg["slopes"]["import"]))
        if key in res["slopes"]:
            ns_per_ir = (
                res["slopes"][key]["plain"]["cpu_us_per_module"]["median"]
                * 1e3
                / cg["slopes"]["import"][key]["plain"]["ir_per_module"]
            )
    res["ns_per_ir"] = ns_per_ir
    if "off" in st:
        e = st["off"]["d_wall_ms"]
        half = (e["p75"] - e["p25"]) / 2
        note = (
            f"timing: wall Δ {fmt(e)} ms (IQR half-width {half:.2f} ms: not resolvable), "
            f"CPU Δ {fmt(st['off']['d_cpu_ms'])} ms"
        )
        met = abs(e["median"]) < TARGET_DISABLED_MS
        if cg:
            d_ir = cg["startup"]["plain"] - cg["startup"]["baseline"]
            note += f"; callgrind {d_ir:+,.0f} Ir"
            if ns_per_ir:
                est = d_ir * ns_per_ir / 1e6
                note += f" ≈ {est:.2f} ms at {ns_per_ir:.3f} ns/Ir"
                met = met and est < TARGET_DISABLED_MS
        add(
            "disabled: installed-off vs not installed, `python -c pass`",
            f"{e['median']:+.2f} ms",
            f"< {TARGET_DISABLED_MS} ms",
            met,
            note,
        )
    if "on" in st:
        e = st["on"]["d_cpu_ms"]
        note = f"timing: CPU Δ {fmt(e)} ms, wall Δ {fmt(st['on']['d_wall_ms'])} ms"
        met = e["median"] <= TARGET_FIXED_MS
        if cg:
            d_ir = cg["startup"]["importguard"] - cg["startup"]["baseline"]
            note += f"; callgrind {d_ir:+,.0f} Ir over not installed"
            if ns_per_ir:
                est = d_ir * ns_per_ir / 1e6
                note += f" ≈ {est:.2f} ms"
                met = met and est <= TARGET_FIXED_MS
        add(
            "on, defaults: fixed cost (`python -c pass`, CPU)",
            f"{e['median']:+.2f} ms",
            f"≤ {TARGET_FIXED_MS} ms",
            met,
            note,
        )
    big = max((k for k in t if k.startswith("tree")), key=lambda k: int(k[4:]), default=None)
    if big and "on" in t[big]:
        e = t[big]["on"]["d_inner_cpu_us_per_module"]
        sl = res.get("slopes", {})
        last = list(sl)[-1] if sl else None
        note = f"{big}, in-process CPU, median [IQR] {fmt(e)}"
        if last:
            note += f"; whole process, slope {last}: {fmt(sl[last]['on']['d_cpu_us_per_module'])} µs"
        if cg and ns_per_ir:
            key = next(iter(cg["slopes"]["import"]))
            d_ir = cg["slopes"]["import"][key]["importguard"]["overhead_ir_per_module"]
            note += f"; callgrind {d_ir:+,.0f} Ir/module ≈ {d_ir * ns_per_ir / 1e3:.2f} µs"
        add(
            "on, defaults: CPU per module",
            f"{e['median']:+.2f} µs",
            f"≤ {TARGET_CPU_US_PER_MODULE} µs",
            e["median"] <= TARGET_CPU_US_PER_MODULE,
            note,
        )
    if cg:
        key = next(iter(cg["slopes"]["import"]))
        per = cg["slopes"]["import"][key]
        d = per["importguard"]["overhead_ir_per_module"]
        note = (
            f"trees {key}, import path; -X importtime {per['importtime']['overhead_ir_per_module']:+,.0f}, "
            f"exports off {per['noexports']['overhead_ir_per_module']:+,.0f}, "
            f"bare wrapper {per['wrapper']['overhead_ir_per_module']:+,.0f}, "
            f"no-op finder {per['finder']['overhead_ir_per_module']:+,.0f}"
        )
        if "process" in cg["slopes"]:
            note += f"; whole process {cg['slopes']['process'][key]['importguard']['overhead_ir_per_module']:+,.0f}"
        add(
            "on, defaults: instructions per module",
            f"{d:+,.0f} Ir",
            f"≤ {TARGET_IR_PER_MODULE:,} Ir",
            d <= TARGET_IR_PER_MODULE,
            note,
        )
        for w, per in (cg.get("real") or {}).items():
            n = t[w]["_denominator"]
            d = per["importguard"]["overhead_ir"] / n
            add(
                f"on, defaults: instructions per module, real tree ({w}, {n:.0f} modules)",
                f"{d:+,.0f} Ir",
                f"≤ {TARGET_IR_PER_MODULE:,} Ir",
                d <= TARGET_IR_PER_MODULE,
                f"exports off {per['noexports']['overhead_ir'] / n:+,.0f}, -X importtime "
                f"{per['importtime']['overhead_ir'] / n:+,.0f} (not the issue's method: real modules have __all__ "
                "to check and optional imports that fail)",
            )
        for kind, what in (
            ("top", "`import missing`"),
            ("from", "`from pkg import missing`"),
            ("big", "misses deep in one long module"),
        ):
            e = cg["misses"]["import"]["importguard"]
            note = f"Ir per miss {cg['misses']['import']['plain'][kind]:,.0f} plain, {e[kind]:,.0f} on (import path)"
            if "process" in cg["misses"]:
                note += f"; whole process ×{cg['misses']['process']['importguard'][kind + '_ratio']:.3f}"
            add(
                f"failed imports, {what}",
                f"×{e[kind + '_ratio']:.3f}",
                f"≤ ×{TARGET_MISS_RATIO}",
                e[kind + "_ratio"] <= TARGET_MISS_RATIO,
                note,
            )
    fid = res.get("module_sets")
    if fid:
        bad = [
            f"{w}/{v}"
            for w, per in fid.items()
            for v in IMPORTGUARD_VARIANTS + ("off",)
            if v in per and not per[v]["equal"]
        ]
        add(
            "fidelity: module sets equal with importguard on (per workload, own modules excluded)",
            "equal" if not bad else "differ: " + ", ".join(bad),
            "equal",
            not bad,
            f"{len(fid)} workloads × {sum(1 for v in IMPORTGUARD_VARIANTS + ('off',) if v in next(iter(fid.values())))} variants",
        )
    sf = res.get("self_time")
    if sf:
        worst = max(sf.items(), key=lambda kv: abs(kv[1]["ratio"]["median"] - 1))
        note = "separate runs: " + "; ".join(
            f"{w} ×{e['ratio']['median']:.3f} [{e['ratio']['p25']:.3f}, {e['ratio']['p75']:.3f}]" for w, e in sf.items()
        )
        if all("paired_ratio" in e for e in sf.values()):
            note += ". Both in one process: " + "; ".join(
                f"{w} ×{e['paired_ratio']['median']:.3f}" for w, e in sf.items()
            )
        ok = all(abs(e["ratio"]["median"] - 1) <= TARGET_SELF_TIME for e in sf.values())
        add(
            "fidelity: summed self time, importguard vs -X importtime",
            f"worst {worst[0]} ×{worst[1]['ratio']['median']:.3f}",
            f"within {TARGET_SELF_TIME:.0%}",
            ok,
            note,
        )
    sl = res.get("slopes")
    if sl:
        last = list(sl)[-1]
        e = sl[last]["on"]["d_rss_mb_per_1000"]
        add(
            "memory: peak RSS added per 1,000 imports recorded",
            f"{e['median']:+.2f} MB",
            f"< {TARGET_RSS_MB_PER_1000} MB",
            e["median"] < TARGET_RSS_MB_PER_1000,
            f"trees {last}, maxrss slope minus plain's, {fmt(e)}",
        )
    b = res.get("bound")
    if b:
        bb = b["bounded"]
        add(
            f"memory: IMPORTGUARD_MAX_RECORDS={b['bound']} holds on the {b['tree']:,}-module tree",
            f"{bb['buffer']} kept, {bb['folded_records']} folded of {bb['records_made']}",
            "kept ≤ bound, counts add up",
            b["holds"],
            f"RSS after import+gc: {bb['rss_after_mb']:.1f} MB bounded vs {b['default']['rss_after_mb']:.1f} MB "
            f"unbounded; peak {bb['maxrss_mb']:.1f} vs {b['default']['maxrss_mb']:.1f} MB (folding happens when the "
            "outermost import finishes; with every module name distinct a folded entry, kept in two tables, is not "
            "smaller than the record it replaces)",
        )
    sp = res.get("spans")
    if sp:
        add(
            "with the SDK: importguard's emission over the SDK's own per-span cost (spans.py)",
            f"×{sp['ratio']['median']:.3f}",
            f"≤ ×{TARGET_SPAN_RATIO}",
            sp["ratio"]["median"] <= TARGET_SPAN_RATIO,
            f"{sp['sdk_us']:.1f} vs {sp['importguard_us']:.1f} µs per span, IQR [{sp['ratio']['p25']:.3f}, {sp['ratio']['p75']:.3f}], "
            f"{sp['spans']} spans × {sp['rounds']} rounds",
        )
    return out


def table(head: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def summary_tables(res: dict[str, Any]) -> list[str]:
    """Variants x workloads: CPU ratio, in-process µs per module, modules imported by the workload."""
    t = res["results"]
    loads = list(t)
    out = ["Whole-process CPU, median ratio against plain (SDK variants: against plain + OTel SDK) [IQR]:", ""]
    rows = []
    for v in res["variants"]:
        if v == "plain":
            continue
        rows.append(
            [VARIANTS[v]["label"]]
            + [
                (lambda e: f"{e['median']:.2f} [{e['p25']:.2f}, {e['p75']:.2f}]")(
                    t[w][v]["ratio_cpu_ref"] if t[w][v]["ref"] != "plain" else t[w][v]["ratio_cpu"]
                )
                for w in loads
            ]
        )
    out.append(table(["variant"] + loads, rows))
    work = [w for w in loads if w != "startup"]
    out += [
        "",
        "The workload's import statement alone: CPU µs per module over plain (median of per-round "
        "differences / modules the workload imports in plain):",
        "",
    ]
    rows = []
    for v in res["variants"]:
        if v == "plain":
            continue
        rows.append(
            [VARIANTS[v]["label"]] + [f"{t[w][v]['d_inner_cpu_us_per_module_vs_plain']['median']:+.1f}" for w in work]
        )
    out.append(table(["variant"] + work, rows))
    out += ["", "Modules the workload imported (new in `sys.modules`) / all at exit:", ""]
    rows = [
        [VARIANTS[v]["label"]] + [f"{t[w][v]['new_modules']:.0f} / {t[w][v]['modules']:.0f}" for w in loads]
        for v in res["variants"]
    ]
    out.append(table(["variant"] + loads, rows))
    return out


def markdown(res: dict[str, Any]) -> str:
    m = res["machine"]
    parts = [
        f"Machine: {m['cpus']} CPUs ({m['cpu_model']}), {m['platform']}, load average {m['loadavg'][0]:.2f} at start; "
        f"Python {res['python_version']}; importguard {res.get('label') or 'git ' + str(m['git'])} "
        f"({res.get('importguard_file')}); {m['date']}; mode {res['mode']}, "
        f"{res['rounds']} rounds, {res['elapsed_s'] / 60:.1f} min.",
        "",
        "Medians over rounds; [IQR] of the per-round values; ratios and Δ are per round against `plain` "
        "(for the SDK variants against `plain + OTel SDK`). CPU is the whole child process (user+sys, `wait4`); "
        "\"in-process Δ/module\" is the CPU of the workload's import statement alone, minus the reference's, "
        "divided by the modules the workload imports in plain.",
        "",
    ]
    parts += summary_tables(res) + ["", "All results:", ""]
    rows = []
    for w, per in res["results"].items():
        for v, e in per.items():
            if v.startswith("_"):
                continue
            rows.append(
                [
                    w,
                    VARIANTS[v]["label"],
                    f"{e['new_modules']:.0f} / {e['modules']:.0f}"
                    + (f"; {e['spans']:.0f} spans" if VARIANTS[v].get("epilogue") == SDK_EPILOGUE else "")
                    + (f"; hook ran {e['hooked']:.0f}×" if VARIANTS[v].get("epilogue") == PEER_EPILOGUE else ""),
                    fmt(e["cpu_ms"], 1),
                    fmt(e["ratio_cpu_ref"], 3) if e["ref"] != "plain" else fmt(e["ratio_cpu"], 3),
                    fmt(e["ratio_wall_ref"], 3) if e["ref"] != "plain" else fmt(e["ratio_wall"], 3),
                    f"{e['d_cpu_ms_ref']['median']:+.1f}",
                    f"{e['d_inner_cpu_us_per_module']['median']:+.2f}" if w != "startup" else "",
                ]
            )
    parts.append(
        table(
            [
                "workload",
                "variant",
                "modules (workload / all)",
                "CPU ms",
                "CPU ratio",
                "wall ratio",
                "ΔCPU ms",
                "in-process Δ µs/module",
            ],
            rows,
        )
    )
    if res.get("slopes"):
        parts += [
            "",
            "Whole process, per module between tree sizes (fixed costs cancel): µs CPU and MB of peak RSS per 1,000",
            "",
        ]
        rows = []
        for key, per in res["slopes"].items():
            for v, e in per.items():
                rows.append(
                    [
                        key,
                        VARIANTS[v]["label"],
                        fmt(e["cpu_us_per_module"]),
                        fmt(e["d_cpu_us_per_module"]),
                        fmt(e["d_rss_mb_per_1000"]),
                    ]
                )
        parts.append(table(["trees", "variant", "CPU µs/module", "Δ µs/module vs plain", "Δ peak RSS MB/1000"], rows))
    cg = res.get("callgrind")
    if cg:
        parts += ["", "Instructions (callgrind), per module between trees, import path (GC off, `os._exit` after):", ""]
        key = next(iter(cg["slopes"]["import"]))
        rows = [
            [LABELS[v], f"{e['ir_per_module']:,.0f}", f"{e['overhead_ir_per_module']:+,.0f}"]
            for v, e in cg["slopes"]["import"][key].items()
        ]
        parts.append(table(["variant", f"Ir/module ({key})", "Δ vs installed-off"], rows))
        parts += ["", "Failed imports, instructions per miss (ratio vs installed-off):", ""]
        rows = []
        for mode, per in cg["misses"].items():
            for v, e in per.items():
                rows.append(
                    [LABELS[v], mode] + [f"{e[k]:,.0f} (×{e[k + '_ratio']:.3f})" for k in ("top", "from", "big")]
                )
        parts.append(
            table(["variant", "counted", "`import missing`", "`from pkg import missing`", "long module"], rows)
        )
        if cg.get("real"):
            parts += [
                "",
                "Instructions per module of real trees (import path; each variant's own startup "
                "subtracted; per module the workload imports in plain):",
                "",
            ]
            rows = []
            for w, per in cg["real"].items():
                n = res["results"][w]["_denominator"]
                for v, e in per.items():
                    rows.append(
                        [w, LABELS[v], f"{e['ir']:,.0f}", f"{e['overhead_ir']:+,.0f}", f"{e['overhead_ir'] / n:+,.0f}"]
                    )
            parts.append(table(["workload", "variant", "Ir", "Δ vs installed-off", "Δ per module"], rows))
        parts += ["", "`python -c pass`: " + ", ".join(f"{LABELS[v]} {ir:,.0f} Ir" for v, ir in cg["startup"].items())]
    fid = res.get("module_sets")
    if fid:
        parts += ["", "Module sets at exit against the reference (importguard's own modules excluded):", ""]
        rows = []
        for w, per in fid.items():
            for v, e in per.items():
                if v in ("plain", "plain_sdk"):
                    continue
                rows.append(
                    [
                        w,
                        VARIANTS[v]["label"],
                        str(e["modules"]),
                        str(e["workload_modules"]),
                        "equal" if e["equal"] else f"-{len(e['missing'])} +{len(e['extra'])}",
                        ", ".join(e["extra"][:4]) + (" ..." if len(e["extra"]) > 4 else ""),
                        ", ".join(e["missing"][:4]) + (" ..." if len(e["missing"]) > 4 else ""),
                    ]
                )
        parts.append(
            table(["workload", "variant", "modules", "by the workload", "vs reference", "extra", "missing"], rows)
        )
    sf = res.get("self_time")
    if sf:
        parts += [
            "",
            "Summed self time of the workload's imports: importguard's report vs `-X importtime` (separate runs, alternated):",
            "",
        ]
        rows = [
            [
                w,
                fmt(e["importguard_self_ms"], 1),
                fmt(e["importtime_self_ms"], 1),
                fmt(e["ratio"], 3),
                fmt(e["paired_ratio"], 3) if "paired_ratio" in e else "",
            ]
            for w, e in sf.items()
        ]
        parts.append(
            table(
                [
                    "workload",
                    "importguard ms",
                    "-X importtime ms",
                    "ratio (separate runs)",
                    "ratio (both in one process)",
                ],
                rows,
            )
        )
    parts += ["", "Targets:", ""]
    rows = [
        ["met" if t["met"] else "**missed**", t["target"], str(t["value"]), str(t["limit"]), t["how"]]
        for t in res["targets"]
    ]
    parts.append(table(["", "target", "measured", "limit", "how"], rows))
    return "\n".join(parts) + "\n"


def plot(res: dict[str, Any], out_dir: str) -> list[str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        progress("matplotlib not installed: no plot\n")
        return []
    t = res["results"]
    trees = sorted((int(k[4:]), k) for k in t if k.startswith("tree"))
    if not trees:
        return []
    xs = [n for n, _ in trees]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 5.6))
    style = {
        "on": "-",
        "on_noexports": "-",
        "on_sdk": "-",
        "on_sdk_min1": "-",
        "off": "-",
        "importtime": "--",
        "plain_sdk": "--",
        "wrapt": ":",
        "ddtrace": ":",
    }
    for v in res["variants"]:
        if v == "plain":
            continue
        per = [t[k][v]["d_inner_cpu_us_per_module_vs_plain"]["median"] for _, k in trees]
        lo = [t[k][v]["d_inner_cpu_us_per_module_vs_plain"]["p25"] for _, k in trees]
        hi = [t[k][v]["d_inner_cpu_us_per_module_vs_plain"]["p75"] for _, k in trees]
        line = a1.plot(xs, per, marker="o", ls=style.get(v, "-"), label=VARIANTS[v]["label"])[0]
        a1.fill_between(xs, lo, hi, alpha=0.10, color=line.get_color())
        tot = [t[k][v]["d_cpu_ms"]["median"] for _, k in trees]
        a2.plot(xs, tot, marker="o", ls=style.get(v, "-"), color=line.get_color(), label=VARIANTS[v]["label"])
    a1.axhline(TARGET_CPU_US_PER_MODULE, color="grey", ls="--", lw=0.8)
    a1.text(xs[0], TARGET_CPU_US_PER_MODULE * 1.1, " target 5 µs", va="bottom", fontsize=8, color="grey")
    for a in (a1, a2):
        a.set_xscale("log")
        a.set_yscale("symlog", linthresh=1.0)  # noise below zero stays visible; peers stay on the page
        a.axhline(0, color="black", lw=0.5)
        a.set_xlabel("modules imported (synthetic tree)")
        a.grid(True, which="major", alpha=0.3)
    a1.set_ylabel("µs CPU per module over plain (the import statement)")
    a1.set_title("cost per module (median, IQR band); symlog y")
    a2.set_ylabel("ms CPU over plain (whole process)")
    a2.set_title("total overhead (median); symlog y")
    handles, labels = a2.get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False)
    m = res["machine"]
    fig.suptitle(
        f"importguard overhead, Python {res['python_version']}, {m['cpus']} shared CPUs, "
        f"{res['rounds']} rounds, {m['date'][:10]}",
        fontsize=10,
    )
    fig.tight_layout(rect=(0, 0.14, 1, 1))
    paths = []
    for ext in ("svg", "png"):
        p = os.path.join(out_dir, f"overhead.{ext}")
        fig.savefig(p, dpi=110)
        paths.append(p)
    plt.close(fig)
    return paths


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="run.py --suite", description=__doc__.split("\n\n")[0])
    ap.add_argument("--suite", choices=("full", "quick"), required=True)
    ap.add_argument("--rounds", type=int, help="timed rounds (default 11 full, 3 quick)")
    ap.add_argument("--sizes", help="synthetic tree sizes, comma-separated (default 100,1000,10000; quick 100,1000)")
    ap.add_argument("--real", help="real workloads: stdlib,botocore,sympy (default all; quick stdlib,botocore)")
    ap.add_argument("--variants", help="comma-separated subset of: " + ", ".join(VARIANTS))
    ap.add_argument("--plain-python", help="a Python without importguard (default: made next to the temp dir)")
    ap.add_argument("--no-callgrind", action="store_true")
    ap.add_argument("--no-spans", action="store_true")
    ap.add_argument("--misses", type=int, default=400, help="failed imports of each kind under callgrind")
    ap.add_argument("--out", help="directory for the results (default benchmarks/results; quick: results/tmp-quick)")
    ap.add_argument("--seed", type=int, default=6)
    ap.add_argument("--label", help="what was measured, for the results (e.g. 'snapshot of abc1234')")
    ap.add_argument("--replot", metavar="JSON", help="only re-render the Markdown and the plot from a results JSON")
    args = ap.parse_args(argv)
    if args.replot:
        with open(args.replot, encoding="utf-8") as fh:
            res: dict[str, Any] = json.load(fh)
        res["targets"] = evaluate(res)
        out_dir = os.path.dirname(os.path.abspath(args.replot))
        with open(args.replot, "w", encoding="utf-8") as fh:
            json.dump(res, fh, indent=1, default=list)
            fh.write("\n")
        with open(args.replot[: -len(".json")] + ".md", "w", encoding="utf-8") as fh:
            fh.write(markdown(res))
        plot(res, out_dir)
        return 0

    started = time.perf_counter()
    full = args.suite == "full"
    rounds = args.rounds or (11 if full else 5)
    sizes = [int(x) for x in args.sizes.split(",")] if args.sizes else ([100, 1000, 10000] if full else [100, 1000])
    real = (
        args.real.split(",")
        if args.real is not None
        else (["stdlib", "botocore", "sympy"] if full else ["stdlib", "botocore"])
    )
    real = [x for x in real if x]
    out_dir = args.out or os.path.join(HERE, "results", "" if full else "tmp-quick")
    os.makedirs(out_dir, exist_ok=True)
    bench = sys.executable
    plain = args.plain_python or make_plain(bench)
    workdir = tempfile.mkdtemp(prefix="importguard-suite-")
    suite = Suite(bench, plain, workdir)
    hooked = subprocess.run(
        [bench, "-c", "import sys; print(sys.modules['_frozen_importlib']._find_and_load_unlocked.__module__)"],
        capture_output=True,
        text=True,
        env={**suite.env, **ON},
        cwd=workdir,
    ).stdout.strip()
    if hooked != "importguard._hook":
        raise SystemExit(f"IMPORTGUARD=1 does not install the hook in {bench}: run this with the bench venv's Python")
    if subprocess.run([plain, "-c", "import importguard"], capture_output=True, cwd=workdir).returncode == 0:
        raise SystemExit(f"{plain} can import importguard; it must be a Python without it")
    wanted = args.variants.split(",") if args.variants else [v for v in VARIANTS if not VARIANTS[v].get("untimed")]
    for v in ("plain",):
        if v not in wanted:
            wanted.insert(0, v)
    variants = []
    for v in wanted:
        if v not in VARIANTS:
            raise SystemExit(f"unknown variant {v!r}")
        ref = VARIANTS[v].get("ref")
        if ref and ref not in wanted:
            progress(f"skipping {v}: its reference {ref} is not selected\n")
        elif not suite.available(v):
            progress(f"skipping {v}: {VARIANTS[v]['needs']} is not installed\n")
        else:
            variants.append(v)
    for v in real:
        if (
            v != "stdlib"
            and subprocess.run(
                [plain, "-c", f"import importlib.util as u, sys; sys.exit(u.find_spec({v!r}) is None)"], cwd=workdir
            ).returncode
        ):
            raise SystemExit(f"{v} is not installed: pip install -r benchmarks/requirements.txt")

    loads = workloads(sizes, real)
    cwds: dict[str, str] = {}
    trees: dict[int, str] = {}
    for w, (_, size) in loads.items():
        if size:
            d = os.path.join(workdir, f"tree{size}")
            synthetic.write_tree(d, size)
            trees[size] = d
            cwds[w] = d
        else:
            cwds[w] = workdir
    res = {
        "mode": args.suite,
        "rounds": rounds,
        "sizes": sizes,
        "real": real,
        "variants": variants,
        "machine": machine(),
        "bench_python": bench,
        "plain_python": plain,
        "label": args.label,
        "importguard_file": subprocess.run(
            [bench, "-c", "import importguard; print(importguard.__file__)"],
            capture_output=True,
            text=True,
            cwd=workdir,
        ).stdout.strip(),
        "python_version": platform.python_version(),
        "workloads": {w: c for w, (c, _) in loads.items()},
    }
    try:
        # warm-up (writes the trees' .pyc files) doubling as the module-set fidelity runs
        res["module_sets"] = module_sets(suite, loads, cwds, variants)
        samples = timed(suite, loads, cwds, variants, rounds, args.seed)
        res["samples"] = samples
        res["results"] = analyse(samples, loads, variants)
        if len(sizes) > 1:
            res["slopes"] = slopes(samples, sizes, variants)
        self_which = [w for w in loads if w != "startup"]
        res["self_time"] = self_times(suite, loads, cwds, 15 if full else 3, self_which)
        biggest = max(sizes)
        res["bound"] = bound_check(suite, trees[biggest], biggest, max(100, biggest // 10))
        if not args.no_spans and "on_sdk" in variants:
            progress("  spans.py ...\n")
            res["spans"] = spans(bench, 300 if full else 100, 11 if full else 3)
        if full and not args.no_callgrind:
            small = {s: trees[s] for s in sizes if s <= 1000}
            if len(small) < 2:
                progress("callgrind needs two tree sizes up to 1,000: skipped\n")
            else:
                res["callgrind"] = callgrind(
                    bench,
                    plain,
                    workdir,
                    small,
                    args.misses,
                    {w: loads[w][0] for w in ("botocore", "sympy") if w in loads},
                )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    res["elapsed_s"] = time.perf_counter() - started
    res["targets"] = evaluate(res)
    md = markdown(res)
    name = f"suite-{args.suite}"
    with open(os.path.join(out_dir, name + ".json"), "w", encoding="utf-8") as fh:
        json.dump(res, fh, indent=1, default=list)
        fh.write("\n")
    with open(os.path.join(out_dir, name + ".md"), "w", encoding="utf-8") as fh:
        fh.write(md)
    plots = plot(res, out_dir)
    sys.stdout.write(md)
    progress(
        f"wrote {out_dir}/{name}.json, {name}.md"
        + (", overhead.svg/png" if plots else "")
        + f" in {res['elapsed_s']:.0f} s\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
