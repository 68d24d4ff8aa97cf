"""Per-module cumulative import times: importguard bench's data against ``python -X importtime``.

Run it with the Python of a virtualenv that has importguard installed::

    .venv/bin/python benchmarks/bench_vs_importtime.py
    .venv/bin/python benchmarks/bench_vs_importtime.py --runs 50 --imports asyncio,json,decimal

Every round runs the workload (``python -c "import asyncio, json, ..."``) once
the way ``importguard bench`` does (same child environment, same report
reading: ``importguard._cli.bench.measure_once``) and once under ``-X importtime``
with the hook off, in a fresh process each, the order swapping every round so
drift on a shared machine hits both alike. For every module whose median
cumulative time is over ``--min-ms`` in either, it prints both medians with
their interquartile ranges, the difference, and whether they agree within the
noise: the medians differ by no more than the larger of the two interquartile
ranges (the two-sided Mann-Whitney p is shown as well).

What to expect: both time the same call chain, so the trees and numbers should
match, except that importguard's cumulative time includes its own per-import
bookkeeping for every module nested under it (~2 us each, see README
"Performance"; the ``nested`` column), and ``-X importtime``'s includes its
own printing to stderr, per nested module too.

Nothing is asserted; the exit status is 0 unless a child process failed.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import tempfile
from typing import Any

from importguard._cli.bench import measure_once
from importguard._cli.compare import mann_whitney_p
from importguard._cli.processes import Target, child_env
from importguard._cli.stats import quantile

WORKLOAD = "asyncio,json,email.mime.multipart,http.client,decimal"


def importtime_run(python: str, code: str) -> dict[str, float]:
    """Cumulative ms per module from one ``-X importtime`` run (the first load of each name)."""
    proc = subprocess.run(
        [python, "-X", "importtime", "-c", code],
        env=child_env(False),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=True,
    )
    out: dict[str, float] = {}
    for line in proc.stderr.splitlines():
        parts = line.split("|", 2)
        if not line.startswith("import time:") or len(parts) != 3 or "imported package" in parts[2]:
            continue
        out.setdefault(parts[2].strip(), int(parts[1]) / 1000)
    return out


def nested_counts(structure: dict[str, Any]) -> dict[str, int]:
    """How many modules sit under each one, from the parent links of one run."""
    counts = dict.fromkeys(structure, 0)
    for name in structure:
        parent = structure[name][0]
        seen = set()
        while parent is not None and parent in counts and parent not in seen:
            seen.add(parent)
            counts[parent] += 1
            parent = structure[parent][0]
    return counts


def stats(values: list[float]) -> tuple[float, float, float]:
    """(median, p25, p75)."""
    ordered = sorted(values)
    return quantile(ordered, 0.5), quantile(ordered, 0.25), quantile(ordered, 0.75)


def main() -> int:
    """Alternate the two kinds of run, then print the side-by-side table; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="rounds (each: one hooked run, one -X importtime run)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--imports", default=WORKLOAD, help=f"comma-separated modules (default {WORKLOAD})")
    parser.add_argument("--min-ms", type=float, default=1.0, help="show modules over this median (default 1)")
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument(
        "--gc-off",
        action="store_true",
        help="disable the cyclic GC first: importguard's records shift where a collection lands",
    )
    args = parser.parse_args()

    code = "import " + ", ".join(m.strip() for m in args.imports.split(",") if m.strip())
    if args.gc_off:
        code = "import gc; gc.disable(); " + code
    target = Target("command", shlex.join([args.python, "-c", code]))
    guard: dict[str, list[float]] = {}
    timed: dict[str, list[float]] = {}
    structure: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="ig-vs-importtime-") as workdir:
        for rnd in range(args.warmup + args.runs):
            order = ("guard", "importtime") if rnd % 2 == 0 else ("importtime", "guard")
            for which in order:
                if which == "guard":
                    _wall, sample = measure_once(target, args.python, False, workdir, f"r{rnd}")
                    if rnd >= args.warmup:
                        structure = structure or sample["structure"]
                        for name, times in sample["modules"].items():
                            guard.setdefault(name, []).append(times["cumulative_ns"] / 1e6)
                else:
                    run = importtime_run(args.python, code)
                    if rnd >= args.warmup:
                        for name, ms in run.items():
                            timed.setdefault(name, []).append(ms)
            print(f"\rround {rnd + 1}/{args.warmup + args.runs}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)

    nested = nested_counts(structure)
    rows = []
    for name in guard:
        if name not in timed:
            continue
        g, t = stats(guard[name]), stats(timed[name])
        if max(g[0], t[0]) <= args.min_ms:
            continue
        diff = g[0] - t[0]
        noise = max(g[2] - g[1], t[2] - t[1])
        p = min(1.0, 2 * min(mann_whitney_p(timed[name], guard[name]), mann_whitney_p(guard[name], timed[name])))
        rows.append((name, g, t, diff, noise, p))
    rows.sort(key=lambda r: -r[2][0])
    print(
        f"workload: python -c {shlex.quote(code)}; Python {sys.version.split()[0]}; {args.runs} rounds after "
        f"{args.warmup} warmup, alternating; cumulative ms, median [p25-p75]"
    )
    print(
        f"{'module':<28} {'nested':>6} {'importguard':>22} {'-X importtime':>22} {'diff':>7} {'diff %':>7} "
        f"{'IQR':>6} {'p':>6}  agree"
    )
    agree = 0
    for name, g, t, diff, noise, p in rows:
        ok = abs(diff) <= noise
        agree += ok
        print(
            f"{name:<28} {nested.get(name, 0):>6} {g[0]:>7.2f} [{g[1]:>5.2f}-{g[2]:>5.2f}] "
            f"{t[0]:>7.2f} [{t[1]:>5.2f}-{t[2]:>5.2f}] {diff:>+7.2f} {100 * diff / t[0]:>+6.1f}% "
            f"{noise:>6.2f} {p:>6.3f}  {'yes' if ok else 'NO'}"
        )
    only = sorted(n for n in guard if n not in timed)
    print(
        f"\n{agree} of {len(rows)} modules over {args.min_ms:g} ms agree within the noise "
        f"(|difference of medians| <= the larger interquartile range)"
    )
    if only:
        print(f"recorded by importguard only: {', '.join(only)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
