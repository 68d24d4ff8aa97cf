"""importguard overhead benchmarks: ratios against a plain run, instruction counts.

Run it with the Python of a virtualenv that has importguard installed (the
``.pth`` file is what switches the hook on from ``IMPORTGUARD=1``)::

    .venv/bin/python benchmarks/run.py --quick
    .venv/bin/python benchmarks/run.py --json out.json --markdown out.md
    .venv/bin/python benchmarks/run.py --big              # adds a 10,000-module tree
    .venv-bench/bin/python benchmarks/run.py --suite full # the comparison suite (suite.py)

Every measurement runs in a fresh subprocess of that Python, and every round
runs every variant once, in a new random order each round, so drift on a shared
machine hits all variants alike. Results are medians of per-round differences
and ratios against the ``plain`` run of the same round, with the interquartile
range as the spread. Instruction counts come from ``valgrind --tool=callgrind``
and repeat to within a few thousand instructions out of millions, which wall
and CPU time on a busy 2-core machine do not.

Variants (see README.md for what each number means):

* ``baseline``   a venv of the same Python *without* importguard (``--baseline-python``,
  created under the temp dir if not given): the "disabled" cost is plain - baseline.
* ``plain``      the importguard venv, ``IMPORTGUARD`` unset: installed but off.
* ``importguard``  ``IMPORTGUARD=1 IMPORTGUARD_SUMMARY=0`` (no report file).
* ``importtime``   ``-X importtime`` (stderr to /dev/null), CPython's own per-import timer.
* ``report``     ``IMPORTGUARD=1`` plus ``IMPORTGUARD_REPORT`` (JSON written at exit); full mode only.
* ``wrapper``    reference: the smallest possible wrapper of ``_find_and_load_unlocked``
  (``def w(name, imp): return real(name, imp)``), installed by the command itself.
* ``finder``     reference: a pass-through ``sys.meta_path`` finder whose ``find_spec`` returns None.

No timing here is asserted anywhere; the targets are checked and printed, and
the exit status is 0 unless a child process failed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import synthetic  # noqa: E402
from _lib import (  # noqa: E402
    LABELS,
    MISS_CODE,
    MISS_KINDS,
    TARGET_CPU_US_PER_MODULE,
    TARGET_FIXED_MS,
    TARGET_IR_PER_MODULE,
    TARGET_MISS_RATIO,
    TREE_CODE,
    Runner,
    bench_callgrind,
    make_baseline,
    probe,
    progress,
    rounds,
    summary,
)
from machine import cpu_model  # noqa: E402

# ---------------------------------------------------------------- benchmarks


def bench_startup(r: Runner, variants: list[str], n: int, cwd: str) -> dict[str, Any]:
    samples: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    for v in variants:  # warm-up
        r.run(v, "pass", cwd)
    for i, order in enumerate(rounds([(v,) for v in variants], n, seed=1)):
        progress(f"\r  startup: round {i + 1}/{n}")
        for (v,) in order:
            samples[v].append(r.run(v, "pass", cwd))
    progress("\n")
    out: dict[str, Any] = {"rounds": n, "samples": samples, "variants": {}}
    for v in variants:
        wall = [s["wall_ns"] / 1e6 for s in samples[v]]
        cpu = [s["cpu_ns"] / 1e6 for s in samples[v]]
        pw = [s["wall_ns"] / 1e6 for s in samples["plain"]]
        pc = [s["cpu_ns"] / 1e6 for s in samples["plain"]]
        out["variants"][v] = {
            "wall_ms": summary(wall),
            "cpu_ms": summary(cpu),
            "d_wall_ms": summary([a - b for a, b in zip(wall, pw)]),
            "d_cpu_ms": summary([a - b for a, b in zip(cpu, pc)]),
            "ratio_wall": summary([a / b for a, b in zip(wall, pw)]),
            "ratio_cpu": summary([a / b for a, b in zip(cpu, pc)]),
        }
    return out


def bench_trees(r: Runner, variants: list[str], trees: dict[int, str], n: int) -> dict[str, Any]:
    sizes = sorted(trees)
    code = TREE_CODE
    for v in variants:  # warm-up: compiles the .pyc files, fills the page cache
        for size in sizes:
            r.run(v, code, trees[size])
    samples: dict[str, dict[int, list[dict[str, Any]]]] = {v: {s: [] for s in sizes} for v in variants}
    for i, order in enumerate(rounds([(v, str(s)) for v in variants for s in sizes], n, seed=2)):
        progress(f"\r  trees: round {i + 1}/{n}")
        for v, s in order:
            samples[v][int(s)].append(r.run(v, code, trees[int(s)]))
    progress("\n")
    small = sizes[0]
    metrics: dict[str, Callable[[dict[str, Any]], int]] = {
        "cpu": lambda s: s["cpu_ns"],  # whole process, from wait4
        "wall": lambda s: s["wall_ns"],
        "inproc_cpu": lambda s: s["inner"][1],  # around `import synth_entry` only
        "inproc_wall": lambda s: s["inner"][0],
    }
    result: dict[str, Any] = {"rounds": n, "sizes": sizes, "samples": samples, "slopes": {}, "totals": {}}
    for big in sizes[1:]:
        span = big - small
        key = f"{small}-{big}"
        per: dict[str, Any] = {}
        for v in variants:
            entry: dict[str, Any] = {}
            for m, get in metrics.items():
                # per-round microseconds per module: (T(big) - T(small)) / (big - small)
                slope = [(get(b) - get(a)) / span / 1e3 for a, b in zip(samples[v][small], samples[v][big])]
                plain = [(get(b) - get(a)) / span / 1e3 for a, b in zip(samples["plain"][small], samples["plain"][big])]
                entry[m] = {
                    "us_per_module": summary(slope),
                    "overhead_us_per_module": summary([x - p for x, p in zip(slope, plain)]),
                    "ratio": summary([x / p for x, p in zip(slope, plain)]),
                }
            per[v] = entry
        result["slopes"][key] = per
    for size in sizes:
        tot: dict[str, Any] = {}
        for v in variants:
            wall = [s["wall_ns"] / 1e6 for s in samples[v][size]]
            cpu = [s["cpu_ns"] / 1e6 for s in samples[v][size]]
            pw = [s["wall_ns"] / 1e6 for s in samples["plain"][size]]
            pc = [s["cpu_ns"] / 1e6 for s in samples["plain"][size]]
            tot[v] = {
                "wall_ms": summary(wall),
                "cpu_ms": summary(cpu),
                "ratio_wall": summary([a / b for a, b in zip(wall, pw)]),
                "ratio_cpu": summary([a / b for a, b in zip(cpu, pc)]),
            }
        result["totals"][str(size)] = tot
    return result


def bench_misses(r: Runner, variants: list[str], cwd: str, m: int, n: int) -> dict[str, Any]:
    code = MISS_CODE
    for v in variants:
        r.run(v, code, cwd)
    samples: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    for i, order in enumerate(rounds([(v,) for v in variants], n, seed=3)):
        progress(f"\r  misses: round {i + 1}/{n}")
        for (v,) in order:
            samples[v].append(r.run(v, code, cwd))
    progress("\n")

    def per_miss(s: dict[str, Any], kind: str) -> float:
        ctrl, top, frm, big = s["inner"]
        # in-process CPU of the misses alone: the control modules (same shape, no miss) subtracted
        return float({"top": top - ctrl, "from": frm - ctrl, "big": big}[kind] / m / 1e3)

    out: dict[str, Any] = {"rounds": n, "misses": m, "samples": samples, "variants": {}}
    for v in variants:
        entry = {}
        for kind in MISS_KINDS:
            us = [per_miss(s, kind) for s in samples[v]]
            pl = [per_miss(s, kind) for s in samples["plain"]]
            entry[kind] = {
                "cpu_us_per_miss": summary(us),
                "overhead_us_per_miss": summary([a - b for a, b in zip(us, pl)]),
                "ratio": summary([a / b for a, b in zip(us, pl)]),
            }
        out["variants"][v] = entry
    return out


# ---------------------------------------------------------------- environment


PTH_PROBE = (
    "import site, glob, os; print(' '.join(sorted(os.path.basename(p) "
    "for d in site.getsitepackages() for p in glob.glob(os.path.join(d, '*.pth')))))"
)


def describe(r: Runner) -> dict[str, Any]:
    info: dict[str, Any] = {
        "python": r.python,
        "python_version": probe(r.python, "import sys; print(sys.version.split()[0])"),
        "implementation": probe(r.python, "import platform; print(platform.python_implementation())"),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "cpu_model": cpu_model(),
        "loadavg_start": os.getloadavg(),
        "pth_files": probe(r.python, PTH_PROBE),
    }
    where = probe(
        r.python, "import importguard, os; print(importguard.__version__, os.path.dirname(importguard.__file__))"
    )
    version, path = where.split(" ", 1)
    info["importguard_version"] = version
    info["importguard_path"] = path
    try:
        rev = subprocess.run(
            ["git", "-C", path, "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", path, "status", "--porcelain", "--", "."], capture_output=True, text=True, check=True
        ).stdout.strip()
        info["importguard_git"] = rev + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        info["importguard_git"] = None
    hooked = probe(
        r.python,
        "import sys; print(sys.modules['_frozen_importlib']._find_and_load_unlocked.__module__)",
        env={**r.env, "IMPORTGUARD": "1", "IMPORTGUARD_SUMMARY": "0"},
    )
    if hooked != "importguard._hook":
        raise SystemExit(
            f"IMPORTGUARD=1 did not install the hook in {r.python} (got {hooked!r}); "
            "run this with the Python of a venv where importguard is installed (pip install -e .)"
        )
    if r.baseline:
        found = probe(r.baseline, "import importlib.util as u; print(u.find_spec('importguard') is not None)")
        if found != "False":
            raise SystemExit(f"--baseline-python {r.baseline} can import importguard; it must be a venv without it")
        info["baseline_python"] = r.baseline
        info["baseline_version"] = probe(r.baseline, "import sys; print(sys.version.split()[0])")
        info["baseline_pth_files"] = probe(r.baseline, PTH_PROBE)
    return info


# ---------------------------------------------------------------- output


def fmt_s(s: dict[str, float], digits: int = 2, scale: float = 1.0) -> str:
    """'median [p25, p75]'."""
    return f"{s['median'] * scale:.{digits}f} [{s['p25'] * scale:.{digits}f}, {s['p75'] * scale:.{digits}f}]"


def table(headers: list[str], rows: list[list[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in rows]
        return "\n".join(lines)
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in rows]
    return "\n".join(lines)


def _ir_as_time(res: dict[str, Any], key: str) -> str:
    """The hook's ΔIr per module priced at plain's own µs per instruction: a load-independent estimate."""
    cg = res.get("callgrind")
    if not cg or key not in cg["slopes"].get("import", {}):
        return ""
    plain_us = res["trees"]["slopes"][key]["plain"]["inproc_cpu"]["us_per_module"]["median"]
    plain_ir = cg["slopes"]["import"][key]["plain"]["ir_per_module"]
    d_ir = cg["slopes"]["import"][key]["importguard"]["overhead_ir_per_module"]
    return f"; ΔIr at plain's µs/Ir: {d_ir * plain_us / plain_ir:.2f} us"


def evaluate(res: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets, each with the measured value, the limit and a note."""
    out: list[dict[str, Any]] = []
    cg = res.get("callgrind")
    trees = res.get("trees")
    startup = res.get("startup")
    misses = res.get("misses")

    def add(name: str, value: float, limit: float, unit: str, note: str = "", met: bool | None = None) -> None:
        out.append(
            {
                "target": name,
                "value": value,
                "limit": limit,
                "unit": unit,
                "note": note,
                "met": value <= limit if met is None else met,
            }
        )

    if cg and cg["slopes"]:
        key = next(iter(cg["slopes"]["import"]))
        off = cg["slopes"]["import"][key]["importguard"]["overhead_ir_per_module"]
        note = f"tree {key}"
        if "process" in cg["slopes"]:
            note += f"; whole process: {cg['slopes']['process'][key]['importguard']['overhead_ir_per_module']:+,.0f}"
        add("instructions per module, hook on, over plain (import path)", off, TARGET_IR_PER_MODULE, "Ir", note)
    if trees:
        key = next(iter(trees["slopes"]))
        e = trees["slopes"][key]["importguard"]
        add(
            "CPU per module, hook on, over plain (whole process)",
            e["cpu"]["overhead_us_per_module"]["median"],
            TARGET_CPU_US_PER_MODULE,
            "us",
            f"IQR {fmt_s(e['cpu']['overhead_us_per_module'])}; in-process: "
            f"{e['inproc_cpu']['overhead_us_per_module']['median']:.2f} us" + _ir_as_time(res, key),
        )
    if startup:
        e = startup["variants"]["importguard"]
        note = f"IQR {fmt_s(e['d_wall_ms'])}; CPU {e['d_cpu_ms']['median']:.2f} ms"
        if cg and "importguard" in cg["startup"]:
            note += f"; {cg['startup']['importguard'] - cg['startup']['plain']:+,.0f} Ir"
        add(
            "startup fixed cost, IMPORTGUARD=1 (python -c pass, wall)",
            e["d_wall_ms"]["median"],
            TARGET_FIXED_MS,
            "ms",
            note,
        )
        if "baseline" in startup["variants"]:
            b = startup["variants"]["baseline"]
            d = -b["d_wall_ms"]["median"]  # plain - baseline
            half = (b["d_wall_ms"]["p75"] - b["d_wall_ms"]["p25"]) / 2
            note = f"IQR half-width {half:.2f} ms"
            if cg and "baseline" in cg["startup"]:
                note += f"; {cg['startup']['plain'] - cg['startup']['baseline']:+,.0f} Ir"
            add("disabled: installed-but-off vs not installed (wall)", d, half, "ms", note, met=abs(d) <= half)
    for kind, what in (
        ("top", "import nonexistent_i"),
        ("from", "from pkg import missing_i"),
        ("big", "misses deep in one long module"),
    ):
        cgm = cg["misses"].get("import", {}).get("importguard") if cg else None
        if misses:
            e = misses["variants"]["importguard"][kind]
            note = f"IQR {fmt_s(e['ratio'], 3)}"
            if cgm:
                note += f"; callgrind {cgm[kind + '_ratio']:.3f}"
            add(f"failing imports ({what}): CPU ratio vs plain", e["ratio"]["median"], TARGET_MISS_RATIO, "x", note)
        elif cgm:
            add(f"failing imports ({what}): Ir ratio vs plain", cgm[kind + "_ratio"], TARGET_MISS_RATIO, "x")
    return out


def render(res: dict[str, Any], markdown: bool) -> str:
    meta = res["meta"]
    parts = []
    h = "### " if markdown else "== "
    parts.append(
        f"importguard benchmarks: Python {meta['python_version']} ({meta['implementation']}), "
        f"{meta['platform']}, {meta['cpus']} CPUs ({meta['cpu_model']}), "
        f"load avg {meta['loadavg_start'][0]:.2f} at start, {meta['loadavg_end'][0]:.2f} at end; "
        f"mode {res['mode']}, {res['elapsed_s']:.0f} s"
    )
    parts.append(
        f"python: {meta['python']}; importguard {meta['importguard_version']} at {meta['importguard_path']} "
        f"(git {meta['importguard_git']}); .pth files: {meta['pth_files']}"
    )
    if meta.get("baseline_python"):
        parts.append(f"baseline: {meta['baseline_python']} (no importguard); .pth files: {meta['baseline_pth_files']}")
    parts.append(
        "Times: median [25th, 75th percentile] over rounds; Δ and ratios are taken per round against "
        "'installed, off' (plain). Ir: instructions counted by callgrind."
    )
    if markdown:
        parts = [p + "\n" for p in parts]
    cg = res.get("callgrind")

    startup = res.get("startup")
    if startup or cg:
        rows = []
        names = list(startup["variants"]) if startup else list(cg["startup"]) if cg else []
        for v in names:
            row = [LABELS[v]]
            if startup:
                e = startup["variants"][v]
                row += [
                    fmt_s(e["wall_ms"]),
                    fmt_s(e["d_wall_ms"]),
                    fmt_s(e["d_cpu_ms"]),
                    f"{e['ratio_wall']['median']:.3f}",
                ]
            if cg:
                ir = cg["startup"].get(v)
                row += [f"{ir:,.0f}", f"{ir - cg['startup']['plain']:+,.0f}"] if ir is not None else ["", ""]
            rows.append(row)
        head = ["variant"]
        if startup:
            head += ["wall ms", "Δwall ms", "ΔCPU ms", "wall ratio"]
        if cg:
            head += ["Ir", "ΔIr"]
        rounds_ = f", {startup['rounds']} rounds" if startup else ""
        parts.append(f"\n{h}Startup: python -c pass{rounds_}\n")
        parts.append(table(head, rows, markdown))

    trees = res.get("trees")
    slope_keys = list(trees["slopes"]) if trees else list(cg["slopes"].get("import", {})) if cg else []
    for key in slope_keys:
        small, big = (int(x) for x in key.split("-"))
        title = f"Per module: (T({big + 1} imports) - T({small + 1} imports)) / {big - small}"
        if trees:
            per = trees["slopes"][key]
            parts.append(f"\n{h}{title}, time ({trees['rounds']} rounds, µs per module)\n")
            rows = [
                [
                    LABELS[v],
                    fmt_s(e["cpu"]["us_per_module"]),
                    fmt_s(e["cpu"]["overhead_us_per_module"]),
                    f"{e['cpu']['ratio']['median']:.3f}",
                    fmt_s(e["inproc_cpu"]["overhead_us_per_module"]),
                    fmt_s(e["wall"]["overhead_us_per_module"]),
                ]
                for v, e in per.items()
            ]
            parts.append(
                table(
                    ["variant", "CPU µs/mod", "ΔCPU µs/mod", "CPU ratio", "Δ in-process CPU", "Δwall µs/mod"],
                    rows,
                    markdown,
                )
            )
        if cg and key in cg["slopes"].get("import", {}):
            parts.append(f"\n{h}{title}, instructions per module (callgrind)\n")
            off = cg["slopes"]["import"][key]
            on = cg["slopes"].get("process", {}).get(key, {})
            rows = []
            for v, e in off.items():
                row = [LABELS[v], f"{e['ir_per_module']:,.0f}", f"{e['overhead_ir_per_module']:+,.0f}"]
                o = on.get(v)
                row += [f"{o['ir_per_module']:,.0f}", f"{o['overhead_ir_per_module']:+,.0f}"] if o else ["", ""]
                rows.append(row)
            parts.append(
                table(
                    ["variant", "Ir/mod (import path)", "ΔIr/mod", "Ir/mod (whole process)", "ΔIr/mod"], rows, markdown
                )
            )
    if trees:
        parts.append(f"\n{h}Whole process, one tree (ms; ratio vs plain per round)\n")
        rows = []
        for size, per in trees["totals"].items():
            for v, e in per.items():
                rows.append(
                    [
                        f"{int(size) + 1} imports",
                        LABELS[v],
                        fmt_s(e["wall_ms"], 1),
                        f"{e['ratio_wall']['median']:.3f}",
                        fmt_s(e["cpu_ms"], 1),
                        f"{e['ratio_cpu']['median']:.3f}",
                    ]
                )
        parts.append(table(["tree", "variant", "wall ms", "wall ratio", "CPU ms", "CPU ratio"], rows, markdown))

    misses = res.get("misses")
    kinds = {"top": "import nonexistent_i", "from": "from synth import missing_i", "big": "same, one long module"}
    if misses:
        parts.append(
            f"\n{h}Failing imports, time ({misses['misses']} of each kind, in-process CPU, "
            f"{misses['rounds']} rounds; µs per miss and ratio vs plain)\n"
        )
        rows = []
        for v, e in misses["variants"].items():
            row = [LABELS[v]]
            for k in kinds:
                row += [fmt_s(e[k]["cpu_us_per_miss"]), f"{e[k]['ratio']['median']:.3f}"]
            rows.append(row)
        head = ["variant"]
        for t in kinds.values():
            head += [f"{t}: µs", "ratio"]
        parts.append(table(head, rows, markdown))
    if cg and cg["misses"]:
        parts.append(f"\n{h}Failing imports, instructions per miss (callgrind; ratio vs plain)\n")
        rows = []
        for mode, per in cg["misses"].items():
            for v, e in per.items():
                rows.append([LABELS[v], mode] + [f"{e[k]:,.0f} ({e[k + '_ratio']:.3f})" for k in kinds])
        parts.append(table(["variant", "counted"] + list(kinds.values()), rows, markdown))

    targets = res.get("targets") or []
    if targets:
        parts.append(f"\n{h}Targets\n")
        rows = [
            [
                "met" if t["met"] else "NOT MET",
                t["target"],
                f"{t['value']:,.2f} {t['unit']}",
                f"{t['limit']:,.2f} {t['unit']}",
                t["note"],
            ]
            for t in targets
        ]
        parts.append(table(["", "target", "measured", "limit", "note"], rows, markdown))
    return "\n".join(parts) + "\n"


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    if any(a == "--suite" or a.startswith("--suite=") for a in (sys.argv[1:] if argv is None else argv)):
        # the comparison suite (workloads x variants, peers, plot): benchmarks/suite.py
        import suite

        return suite.main(argv)
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--quick", action="store_true", help="fewer rounds, one callgrind run each (about two minutes)")
    ap.add_argument("--big", action="store_true", help="add a 10,000-module tree")
    ap.add_argument("--python", default=sys.executable, help="Python with importguard installed (default: this one)")
    ap.add_argument("--baseline-python", help="Python of a venv without importguard (default: create one)")
    ap.add_argument("--no-baseline", action="store_true", help="skip the not-installed comparison")
    ap.add_argument("--rounds", type=int, help="rounds for every timed benchmark (overrides the mode)")
    ap.add_argument(
        "--misses", type=int, help="failing imports of each kind (default 200 quick, 2000 full; a multiple of 10)"
    )
    ap.add_argument("--callgrind-repeat", type=int, help="callgrind runs per measurement (default 1 quick, 2 full)")
    ap.add_argument("--no-callgrind", action="store_true", help="skip valgrind")
    ap.add_argument("--callgrind-only", action="store_true", help="only the instruction counts")
    ap.add_argument("--json", metavar="PATH", help="write all samples and summaries as JSON")
    ap.add_argument("--markdown", metavar="PATH", help="write the tables as Markdown")
    ap.add_argument("--workdir", help="where to generate the trees (default: a new temp dir, removed after)")
    args = ap.parse_args(argv)

    started = time.perf_counter()
    full = not args.quick
    n_startup = args.rounds or (60 if full else 20)
    n_trees = args.rounds or (25 if full else 9)
    n_misses = args.rounds or (15 if full else 7)
    m = args.misses or (2000 if full else 200)
    repeat = args.callgrind_repeat or (2 if full else 1)
    sizes = [100, 1000] + ([10000] if args.big else [])

    baseline = None
    if not args.no_baseline:
        baseline = args.baseline_python or make_baseline(args.python)
    workdir = args.workdir or tempfile.mkdtemp(prefix="importguard-bench-")
    os.makedirs(workdir, exist_ok=True)
    r = Runner(os.path.abspath(args.python) if os.sep in args.python else args.python, baseline, workdir)
    meta = describe(r)
    use_cg = not args.no_callgrind
    if use_cg and shutil.which("valgrind") is None:
        progress("valgrind not found (apt-get install -y valgrind); skipping instruction counts\n")
        use_cg = False

    trees = {}
    for s in sizes:
        d = os.path.join(workdir, f"tree{s}")
        synthetic.write_tree(d, s)
        trees[s] = d
    miss_dir = trees[sizes[0]]
    synthetic.write_misses(miss_dir, m)

    res: dict[str, Any] = {"mode": "quick" if args.quick else "full", "meta": meta}
    startup_v = (
        (["baseline"] if baseline else [])
        + ["plain", "importguard", "engine_finder", "importtime"]
        + (["report"] if full else [])
    )
    tree_v = ["plain", "importguard", "engine_finder", "importtime", "wrapper", "finder"] + (["report"] if full else [])
    miss_v = ["plain", "importguard", "engine_finder", "importtime", "wrapper", "finder"]
    try:
        if not args.callgrind_only:
            res["startup"] = bench_startup(r, startup_v, n_startup, miss_dir)
            res["trees"] = bench_trees(r, tree_v, trees, n_trees)
            res["misses"] = bench_misses(r, miss_v, miss_dir, m, n_misses)
        if use_cg:
            res["callgrind"] = bench_callgrind(
                r,
                [v for v in startup_v if v != "report"],
                # import path: every variant; whole process: the main ones
                {"import": tree_v, "process": tree_v if full else ["plain", "importguard"]},
                {
                    "import": ["plain", "importguard", "engine_finder", "importtime"],
                    **({"process": ["plain", "importguard"]} if full else {}),
                },
                trees,
                miss_dir,
                m,
                repeat,
            )
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    meta["loadavg_end"] = os.getloadavg()
    res["elapsed_s"] = time.perf_counter() - started
    res["targets"] = evaluate(res)
    sys.stdout.write(render(res, markdown=False))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(res, fh, indent=1, default=list)
            fh.write("\n")
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as fh:
            fh.write(render(res, markdown=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
