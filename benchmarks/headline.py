"""The headline: what a program pays for importguard, in instructions, whole process.

    .venv-bench/bin/python benchmarks/headline.py                 # the table, ~10 minutes
    .venv-bench/bin/python benchmarks/headline.py --only tree,startup --json out.json

Every number here is counted by ``valgrind --tool=callgrind`` on the plain
command a user runs: the cyclic garbage collector on, the interpreter's normal
exit (importguard's exit work and teardown included), ``PYTHONHASHSEED=0``,
``.pyc`` files written by a warm-up run. Workloads (issue #14):

* ``tree``: a synthetic tree (``synthetic.py``) whose every module declares a
  3-name ``__all__``; per module = the difference between the 1,001- and the
  101-module tree, divided by 900, so startup and exit cancel.
* ``botocore``: ``import botocore.session`` then
  ``get_session().get_service_model('s3')``; ``sympy``: ``import sympy``. Per
  module = (workload - ``-c pass``) of the variant minus the same for plain,
  over the modules the workload imports in plain.
* ``misses``: ``__import__`` of N distinct missing names in a loop at top level
  (outside any import), ``try``/``except ImportError``; per miss = (N misses -
  none) / N, as a ratio against plain.
* ``startup``: ``python -c pass``: modules added to ``sys.modules``,
  instructions, and CPU time (``wait4``; median of per-round differences over
  alternating rounds: the only timed number, and the noisiest).

Variants: ``plain`` (importguard installed, ``IMPORTGUARD`` unset: every delta
is against it), ``importguard`` (``IMPORTGUARD=1 IMPORTGUARD_SUMMARY=0``: the
defaults, export checks on), ``noexports`` (the same with
``IMPORTGUARD_EXPORTS=off``), ``importtime`` (``-X importtime``, stderr to
/dev/null); on request (``--variants``), ``function`` and ``finder``
(``IMPORTGUARD_ENGINE``, docs/engines.md's cost table). Nothing is asserted:
the targets are evaluated and printed.
"""

from __future__ import annotations

import argparse
import json
import os
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
from _lib import available, base_env, callgrind_ir, progress, quartiles, spawn  # noqa: E402

VARIANTS: dict[str, dict[str, Any]] = {
    "plain": {"label": "plain (installed, off)", "env": {}},
    "importguard": {"label": "importguard (defaults)", "env": {"IMPORTGUARD": "1", "IMPORTGUARD_SUMMARY": "0"}},
    "noexports": {
        "label": "importguard, IMPORTGUARD_EXPORTS=off",
        "env": {"IMPORTGUARD": "1", "IMPORTGUARD_SUMMARY": "0", "IMPORTGUARD_EXPORTS": "off"},
    },
    "importtime": {"label": "-X importtime", "env": {}, "args": ["-X", "importtime"]},
    # Not in the default table: the finder engine (docs/engines.md), beside the function engine.
    "finder": {
        "label": "importguard, IMPORTGUARD_ENGINE=finder",
        "env": {"IMPORTGUARD": "1", "IMPORTGUARD_SUMMARY": "0", "IMPORTGUARD_ENGINE": "finder"},
    },
    "function": {
        "label": "importguard, IMPORTGUARD_ENGINE=function",
        "env": {"IMPORTGUARD": "1", "IMPORTGUARD_SUMMARY": "0", "IMPORTGUARD_ENGINE": "function"},
    },
}

#: Issue #14's targets: instructions per module (over plain), per-miss ratio, startup.
TARGETS = {
    ("tree", "importguard"): 5_000,
    ("tree", "noexports"): 3_500,
    ("botocore", "importguard"): 6_000,
    ("sympy", "importguard"): 6_000,
}
STRETCH_PER_MODULE = 3_000
TARGET_MISS_RATIO = 1.05
TARGET_STARTUP_MODULES = 4
TARGET_STARTUP_MS = 1.0
TARGET_STARTUP_IR = 3_000_000

BOTOCORE = "import botocore.session\nbotocore.session.get_session().get_service_model('s3')\n"
SYMPY = "import sympy\n"
MISSES = (
    "for _i in range({n}):\n"
    "    try:\n"
    "        __import__('nonexistent_mod_%d' % _i)\n"
    "    except ImportError:\n"
    "        pass\n"
)
COUNT = "import sys\n_before = set(sys.modules)\n{code}print(len(set(sys.modules) - _before))\n"


class Runner:
    def __init__(self, python: str, workdir: str) -> None:
        self.python = python
        self.workdir = workdir
        self.env = base_env()
        self.raw: list[dict[str, Any]] = []

    def argv(self, variant: str, code: str) -> tuple[list[str], dict[str, str]]:
        v = VARIANTS[variant]
        env = dict(self.env)
        env.update(v["env"])
        return [self.python, *v.get("args", []), "-c", code], env

    def output(self, variant: str, code: str, cwd: str) -> str:
        argv, env = self.argv(variant, code)
        proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"{variant}: exited {proc.returncode}: {code!r}\n{proc.stderr[-2000:]}")
        return proc.stdout

    def ir(self, variant: str, code: str, cwd: str, what: str) -> int:
        """Instructions (Ir) of one whole run under callgrind."""
        argv, env = self.argv(variant, code)
        n = callgrind_ir(argv, env, cwd, self.workdir, variant)
        self.raw.append({"variant": variant, "what": what, "ir": n})
        return n

    def cpu_ns(self, variant: str, code: str, cwd: str) -> int:
        argv, env = self.argv(variant, code)
        _out, _wall, cpu, _rss, returncode = spawn(argv, env, cwd)
        if returncode != 0:
            raise RuntimeError(f"{variant}: {code!r} failed")
        return cpu


def measure(
    python: str,
    workdir: str,
    only: list[str],
    variants: list[str],
    misses: int,
    rounds: int,
    small: int = 101,
    big: int = 1001,
) -> dict[str, Any]:
    r = Runner(python, workdir)
    res: dict[str, Any] = {"python": python, "variants": variants, "workloads": {}}
    empty = os.path.join(workdir, "empty")
    os.makedirs(empty, exist_ok=True)
    passes: dict[str, int] = {}

    def startup_ir(v: str) -> int:
        if v not in passes:
            progress(f"\r  callgrind: -c pass, {v}" + " " * 30)
            passes[v] = r.ir(v, "pass", empty, "pass")
        return passes[v]

    if "tree" in only:
        trees = {}
        for n in (small, big):
            d = os.path.join(workdir, f"tree{n}")
            if not os.path.isdir(d):
                synthetic.write_tree(d, n - 1, exports=True)  # n - 1 modules + synth_entry
            trees[n] = d
            for v in variants:  # writes the .pyc files: the tree's, and importguard's own on its first run
                r.output(v, "import synth_entry", d)
        per: dict[str, Any] = {}
        for v in variants:
            counts = {}
            for n, d in trees.items():
                progress(f"\r  callgrind: {n}-module tree, {v}" + " " * 30)
                counts[n] = r.ir(v, "import synth_entry", d, f"tree{n}")
            per[v] = {"ir": counts, "per_module": (counts[big] - counts[small]) / (big - small)}
        for v in variants:
            per[v]["over_plain"] = per[v]["per_module"] - per["plain"]["per_module"]
        res["workloads"]["tree"] = {"modules": big - small, "variants": per}
    for name, code, module in (("botocore", BOTOCORE, "botocore"), ("sympy", SYMPY, "sympy")):
        if name not in only:
            continue
        if not available(python, module):
            progress(f"\r  {name}: not installed in {python}: skipped\n")
            continue
        modules = int(r.output("plain", COUNT.format(code=code), empty).split()[-1])
        for v in variants:  # .pyc files, and the same modules in every variant
            got = int(r.output(v, COUNT.format(code=code), empty).split()[-1])
            if got != modules:
                raise RuntimeError(f"{name}: {v} imported {got} modules, plain {modules}")
        per = {}
        for v in variants:
            progress(f"\r  callgrind: {name}, {v}" + " " * 30)
            total = r.ir(v, code, empty, name)
            per[v] = {"ir": total, "pass": startup_ir(v), "workload": total - startup_ir(v)}
        for v in variants:
            per[v]["over_plain"] = (per[v]["workload"] - per["plain"]["workload"]) / modules
        res["workloads"][name] = {"modules": modules, "variants": per}
    if "misses" in only:
        per = {}
        for v in variants:
            progress(f"\r  callgrind: {misses} misses, {v}" + " " * 30)
            none = r.ir(v, MISSES.format(n=0), empty, "misses0")
            some = r.ir(v, MISSES.format(n=misses), empty, f"misses{misses}")
            per[v] = {"ir": {"0": none, str(misses): some}, "per_miss": (some - none) / misses}
        for v in variants:
            per[v]["ratio"] = per[v]["per_miss"] / per["plain"]["per_miss"]
            per[v]["over_plain"] = per[v]["per_miss"] - per["plain"]["per_miss"]
        res["workloads"]["misses"] = {"misses": misses, "variants": per}
    if "startup" in only:
        per = {}
        for v in variants:
            count = int(
                r.output(
                    v, COUNT.format(code="").replace("_before = set(sys.modules)\n", "_before = set()\n"), empty
                ).split()[-1]
            )
            per[v] = {"ir": startup_ir(v), "modules": count}
        cpu: dict[str, list[int]] = {v: [] for v in variants}
        progress("\r  CPU time: -c pass" + " " * 40)
        for i in range(rounds):
            order = variants if i % 2 == 0 else variants[::-1]
            for v in order:
                cpu[v].append(r.cpu_ns(v, "pass", empty))
        for v in variants:
            diffs = [a - b for a, b in zip(cpu[v], cpu["plain"])]
            per[v].update(
                ir_over_plain=per[v]["ir"] - per["plain"]["ir"],
                modules_over_plain=per[v]["modules"] - per["plain"]["modules"],
                cpu_ms_over_plain=statistics.median(diffs) / 1e6,
                cpu_ms_iqr=[q / 1e6 for q in quartiles(diffs)],
                cpu_ns=cpu[v],
            )
        res["workloads"]["startup"] = {"rounds": rounds, "variants": per}
    progress("\r  done" + " " * 60 + "\n")
    res["raw"] = r.raw
    return res


def rows(res: dict[str, Any]) -> list[list[str]]:
    """The issue's table: workload, importguard, -X importtime, exports off, target, verdict."""
    w = res["workloads"]
    out = []

    def cell(workload: str, v: str) -> str:
        per = w[workload]["variants"].get(v)
        return f"{per['over_plain']:+,.0f}" if per else ""

    def verdict(value: float, limit: float) -> str:
        return "met" if value <= limit else f"missed ({value / limit:.2f}x the target)"

    if "tree" in w:
        t = w["tree"]["variants"]
        out.append(
            [
                f"synthetic tree, every module with a 3-name `__all__` ({w['tree']['modules'] + 101:,} vs 101 "
                "modules), instructions per module",
                cell("tree", "importguard"),
                cell("tree", "importtime"),
                cell("tree", "noexports"),
                f"≤ {TARGETS['tree', 'importguard']:,} (exports off ≤ {TARGETS['tree', 'noexports']:,})",
                "; ".join(
                    x
                    for x in (
                        verdict(t["importguard"]["over_plain"], TARGETS["tree", "importguard"])
                        if "importguard" in t
                        else "",
                        "exports off " + verdict(t["noexports"]["over_plain"], TARGETS["tree", "noexports"])
                        if "noexports" in t
                        else "",
                    )
                    if x
                ),
            ]
        )
    for name, label in (
        ("botocore", "`import botocore.session` + `get_service_model('s3')`"),
        ("sympy", "`import sympy`"),
    ):
        if name in w:
            ig = w[name]["variants"].get("importguard")
            out.append(
                [
                    f"{label}, {w[name]['modules']} modules, instructions per module",
                    cell(name, "importguard"),
                    cell(name, "importtime"),
                    cell(name, "noexports"),
                    f"≤ {TARGETS[name, 'importguard']:,}",
                    verdict(ig["over_plain"], TARGETS[name, "importguard"]) if ig else "",
                ]
            )
    if "misses" in w:
        m = w["misses"]["variants"]

        def ratio(v: str) -> str:
            return (
                f"×{m[v]['ratio']:.3f} ({m[v]['over_plain']:+,.0f} on {m['plain']['per_miss']:,.0f})" if v in m else ""
            )

        out.append(
            [
                "failed `__import__` in a loop at top level, per miss",
                ratio("importguard"),
                ratio("importtime"),
                ratio("noexports"),
                f"≤ ×{TARGET_MISS_RATIO}",
                verdict(m["importguard"]["ratio"], TARGET_MISS_RATIO) if "importguard" in m else "",
            ]
        )
    if "startup" in w:
        s = w["startup"]["variants"]

        def start(v: str) -> str:
            if v not in s:
                return ""
            x = s[v]
            return (
                f"{x['modules_over_plain']:+d} modules, {x['cpu_ms_over_plain']:+.2f} ms CPU "
                f"[{x['cpu_ms_iqr'][0]:+.2f}, {x['cpu_ms_iqr'][1]:+.2f}], {x['ir_over_plain'] / 1e6:+.2f}M instr"
            )

        ig = s.get("importguard")
        checks = []
        if ig:
            checks = [
                ig["modules_over_plain"] <= TARGET_STARTUP_MODULES,
                ig["cpu_ms_over_plain"] <= TARGET_STARTUP_MS,
                ig["ir_over_plain"] <= TARGET_STARTUP_IR,
            ]
        out.append(
            [
                "`python -c pass`",
                start("importguard"),
                start("importtime"),
                start("noexports"),
                f"≤ +{TARGET_STARTUP_MODULES} modules, ≤ +{TARGET_STARTUP_MS:g} ms, "
                f"≤ +{TARGET_STARTUP_IR / 1e6:g}M instr",
                (
                    "met"
                    if all(checks)
                    else "missed: "
                    + ", ".join(n for n, ok in zip(("modules", "CPU", "instructions"), checks) if not ok)
                )
                if checks
                else "",
            ]
        )
    return out


def markdown(res: dict[str, Any]) -> str:
    head = [
        "workload (whole process, GC on, normal exit)",
        "importguard",
        "`-X importtime`",
        "importguard, exports off",
        "target",
        "verdict",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in rows(res)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--python", default=sys.executable, help="a Python with importguard installed (default: this one)")
    ap.add_argument(
        "--only",
        default="tree,botocore,sympy,misses,startup",
        help="comma-separated workloads: tree, botocore, sympy, misses, startup",
    )
    ap.add_argument("--variants", default="plain,importguard,importtime,noexports")
    ap.add_argument("--misses", type=int, default=200, help="distinct failed imports in the miss loop")
    ap.add_argument("--rounds", type=int, default=21, help="alternating rounds for startup CPU time")
    ap.add_argument("--workdir", help="keep the generated trees here (default: a temporary directory)")
    ap.add_argument("--json", help="write every raw count here")
    args = ap.parse_args(argv)
    if shutil.which("valgrind") is None:
        progress("valgrind is not on PATH (apt-get install -y valgrind): nothing to count\n")
        return 1
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    if "plain" not in variants:
        variants.insert(0, "plain")
    only = [x.strip() for x in args.only.split(",") if x.strip()]
    workdir = args.workdir or tempfile.mkdtemp(prefix="importguard-headline-")
    os.makedirs(workdir, exist_ok=True)
    t0 = time.time()
    res = measure(args.python, workdir, only, variants, args.misses, args.rounds)
    res["seconds"] = round(time.time() - t0)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(res, fh, indent=1)
    print(markdown(res))
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
