"""How to see a module's first use, cheaply: advise's class swap against the alternatives.

    python benchmarks/advise_first_use.py [--rounds 11] [--python PATH]
    python benchmarks/advise_first_use.py --callgrind [--python PATH]   # instructions, one run each

Runs one workload (imports a web of standard-library modules, then does run-time
work: 300,000 calls and attribute reads) as fresh processes, round by round in
a rotating order, under:

* plain: no importguard;
* hooked: IMPORTGUARD=1 (what advise's run adds to anyway);
* swap: advise's diagnostic child (importguard._advise_child:diagnose);
* setprofile: a sys.setprofile function noting each module's first call;
* monitoring: sys.monitoring PY_START, DISABLE after each code object's first call (3.12+).

Prints, per variant, the median CPU time (user + system) of the process and the
median of its per-round difference to `hooked`, with quartiles. CPU time, not
wall time: on a shared machine wall time moves by tens of ms with the load of
other work, CPU time far less. Nothing is asserted.

What each can see differs, which matters more than cost: the swap sees every
read of a module attribute (``from m import CONST`` included); setprofile and
sys.monitoring see only calls into Python code of the module, so a module used
for its constants, classes checked with isinstance or C functions looks unused.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
WORKLOAD = r"""
import json, email.mime.multipart, http.client, decimal, argparse, logging, fractions, ipaddress, csv
import textwrap, difflib, string
def work():
    total = 0
    for i in range(100_000):
        total += len(json.dumps(i)) + len(textwrap.indent("x", " ")) if i % 50 == 0 else i % 7
        total += decimal.Decimal is not None
        total += string.digits is not None
    return total
print(work() > 0)
"""


def variants(python: str) -> dict[str, dict[str, str]]:
    # PYTHONDONTWRITEBYTECODE would make every run compile importguard's modules from source.
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("IMPORTGUARD", "_IMPORTGUARD")) and k != "PYTHONDONTWRITEBYTECODE"
    }
    hooked = {
        **base,
        "IMPORTGUARD": "1",
        "IMPORTGUARD_SUMMARY": "0",
        "IMPORTGUARD_EXPORTS": "off",
        "IMPORTGUARD_OTEL": "0",
    }
    out = {
        "plain": base,
        "hooked": hooked,
        "swap": {**hooked, "IMPORTGUARD_HOOKS": "importguard._advise_child:diagnose"},
        "setprofile": {
            **hooked,
            "IMPORTGUARD_HOOKS": "firstuse_alternatives:profile",
            "PYTHONPATH": os.path.join(HERE, "advise"),
        },
    }
    version = subprocess.run(
        [python, "-c", "import sys; print(sys.version_info >= (3, 12))"], capture_output=True, text=True
    ).stdout.strip()
    if version == "True":
        out["monitoring"] = {
            **hooked,
            "IMPORTGUARD_HOOKS": "firstuse_alternatives:monitoring",
            "PYTHONPATH": os.path.join(HERE, "advise"),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=11)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument(
        "--callgrind",
        action="store_true",
        help="count instructions (valgrind --tool=callgrind), which repeat on a busy machine",
    )
    args = parser.parse_args()
    runs = variants(args.python)
    names = list(runs)
    if args.callgrind:
        import re

        counts = {}
        for name in names:
            # once plainly first: the variant's own .pyc files are written then, not counted
            subprocess.run(
                [args.python, "-c", WORKLOAD],
                env={**runs[name], "_IMPORTGUARD_ADVISE": "/dev/null"},
                check=True,
                stdout=subprocess.DEVNULL,
            )
            proc = subprocess.run(
                ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", args.python, "-c", WORKLOAD],
                env={**runs[name], "_IMPORTGUARD_ADVISE": "/dev/null"},
                capture_output=True,
                text=True,
                check=True,
            )
            found = re.search(r"Collected : (\d+)", proc.stderr)
            assert found is not None, proc.stderr[-2000:]
            counts[name] = int(found.group(1))
        print(f"{'variant':>11}  {'instructions':>14}  {'vs hooked':>14}")
        for name in names:
            print(f"{name:>11}  {counts[name]:>14,}  {counts[name] - counts['hooked']:>+14,}")
        return
    walls: dict[str, list[float]] = {n: [] for n in names}
    with tempfile.TemporaryDirectory() as tmp:
        for rnd in range(args.rounds + 1):
            order = names[rnd % len(names) :] + names[: rnd % len(names)]
            for name in order:
                env = dict(runs[name])
                out = os.path.join(tmp, f"{name}.txt")
                env["FIRSTUSE_OUT"] = out
                env["_IMPORTGUARD_ADVISE"] = os.path.join(tmp, "advise-{pid}.json")
                before = resource.getrusage(resource.RUSAGE_CHILDREN)
                subprocess.run([args.python, "-c", WORKLOAD], env=env, check=True, stdout=subprocess.DEVNULL)
                after = resource.getrusage(resource.RUSAGE_CHILDREN)
                cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
                if rnd:  # round 0 warms the caches
                    walls[name].append(cpu * 1e3)
    print(
        f"Python {subprocess.run([args.python, '-V'], capture_output=True, text=True).stdout.split()[1]}, "
        f"{args.rounds} rounds"
    )
    print(f"{'variant':>11}  {'CPU ms':>9}  {'vs hooked, median [q1, q3] ms':>30}")
    for name in names:
        diffs = sorted(a - b for a, b in zip(walls[name], walls["hooked"]))
        q = statistics.quantiles(diffs, n=4) if len(diffs) > 1 else [diffs[0]] * 3
        print(f"{name:>11}  {statistics.median(walls[name]):9.1f}  {q[1]:+10.1f} [{q[0]:+.1f}, {q[2]:+.1f}]")


if __name__ == "__main__":
    main()
