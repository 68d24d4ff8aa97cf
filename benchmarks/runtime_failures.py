"""A server that probes an optional module per request: cost of N run-time failures (issue #11).

Each run is a fresh process that calls a request handler N times; the handler
tries ``import ujson_not_installed_xyz`` (and a ``from json import`` miss every
tenth time) inside ``try/except ImportError``. Plain vs ``IMPORTGUARD=1`` with
a JSON report, alternating, for N from 1,000 to 100,000. Reported per N:

* loop time (the N requests), exit time (from the end of the loop, by the
  wall clock the child prints, to the parent reaping it: report written),
  peak RSS of that child (wait4), the report's size and its number of
  records. Medians of --rounds.

Usage: python benchmarks/runtime_failures.py [--rounds 3] [--sizes 1000,10000,100000] [--json out.json]
Nothing is asserted: tests/reliability/test_rel_runtime_failures.py checks the bound.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import sys, time
N = int(sys.argv[1])
def handler(i):
    try:
        import ujson_not_installed_xyz
    except ImportError:
        pass
    if i % 10 == 0:
        try:
            from json import no_such_name_xyz
        except ImportError:
            pass
import json
t0 = time.perf_counter()
for i in range(N):
    handler(i)
t1 = time.perf_counter()
sys.stdout.write(f"{t1 - t0} {time.time()}\n")
sys.stdout.flush()
"""


def one(n: int, hooked: bool, report: Path, path: str | None) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMPORTGUARD", "_IMPORTGUARD", "PYTHON"))}
    if hooked:
        env.update(IMPORTGUARD="1", IMPORTGUARD_SUMMARY="0", IMPORTGUARD_REPORT=str(report))
        if path:
            env["PYTHONPATH"] = path
    # posix_spawn, not fork+exec: Linux keeps a forked child's peak RSS (this
    # process's, copied) across exec, which would hide the child's own.
    read_end, write_end = os.pipe()
    pid = os.posix_spawn(
        sys.executable,
        [sys.executable, "-c", CHILD, str(n)],
        env,
        file_actions=[(os.POSIX_SPAWN_DUP2, write_end, 1), (os.POSIX_SPAWN_CLOSE, read_end)],
    )
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        out = pipe.read()
    # wait4: this child's own peak RSS and CPU
    _pid, status, usage = os.wait4(pid, 0)
    ended = time.time()
    assert os.waitstatus_to_exitcode(status) == 0, out
    loop, loop_end = (float(x) for x in out.split())
    row = {
        "loop_s": loop,
        "exit_s": ended - loop_end,
        "maxrss_mb": usage.ru_maxrss / 1024,
        "cpu_s": usage.ru_utime + usage.ru_stime,
    }
    if hooked:
        data = json.loads(report.read_text())
        row["records"] = len(data["imports"])
        row["report_kb"] = report.stat().st_size / 1024
        probe = [r for r in data["imports"] if r["name"] == "ujson_not_installed_xyz"]
        row["counted"] = sum((r.get("repeats") or {"count": 1})["count"] for r in probe)
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--json", help="write every sample here")
    parser.add_argument("--importguard-path", help="a checkout whose importguard the hooked runs use (PYTHONPATH)")
    args = parser.parse_args()
    sizes = [int(x) for x in args.sizes.split(",")]
    samples: dict[str, list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "r.json"
        for _round in range(args.rounds):
            for n in sizes:
                for hooked in (False, True) if _round % 2 == 0 else (True, False):
                    samples.setdefault(f"{n} {'hooked' if hooked else 'plain'}", []).append(
                        one(n, hooked, report, args.importguard_path)
                    )
    print(f"Python {sys.version.split()[0]}, {args.rounds} rounds, medians")
    print(f"{'failures':>9} {'':7} {'loop s':>8} {'exit s':>8} {'peak RSS MB':>12} {'records':>8} {'report KB':>10}")
    for n in sizes:
        for which in ("plain", "hooked"):
            rows = samples[f"{n} {which}"]
            med = {k: statistics.median(r[k] for r in rows) for k in rows[0]}
            extra = f"{med['records']:>8.0f} {med['report_kb']:>10.1f}" if which == "hooked" else ""
            print(f"{n:>9,} {which:7} {med['loop_s']:>8.3f} {med['exit_s']:>8.3f} {med['maxrss_mb']:>12.1f} {extra}")
    if args.json:
        Path(args.json).write_text(json.dumps(samples, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
