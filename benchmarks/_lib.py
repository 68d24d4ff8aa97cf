"""What the benchmark scripts share: run.py, suite.py and headline.py import it; none imports another.

* the targets the results are checked against (issue #6; headline.py's issue #14 table has its own);
* statistics: medians with the interquartile range, the shuffled round schedule;
* progress on stderr;
* the environment and the interpreters: a clean environment, a probe, the venvs of the
  same Python without importguard (``make_baseline``: nothing installed; ``make_plain``: the
  benchmark venv's packages but importguard's ``.pth``), whether a module is importable;
* running one child: its own rusage (``wait4``), or its instructions under callgrind;
* run.py's variants and instruction-count benchmark (``Runner``, ``bench_callgrind``), which
  suite.py runs too.
"""

from __future__ import annotations

import glob
import hashlib
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import IO, Any

# ---------------------------------------------------------------- targets (issue #6)

TARGET_IR_PER_MODULE = 10_000  # instructions per module, hook on, over plain
TARGET_CPU_US_PER_MODULE = 5.0  # us of CPU per module, hook on, over plain
TARGET_FIXED_MS = 3.0  # fixed startup cost of IMPORTGUARD=1 on `python -c pass`
TARGET_MISS_RATIO = 1.10  # failing imports: within 10% of plain


# ---------------------------------------------------------------- statistics and progress


def progress(msg: str) -> None:
    sys.stderr.write(msg)
    sys.stderr.flush()


def med(xs: list[float] | list[int]) -> float:
    return statistics.median(xs)


def quartiles(xs: list[float] | list[int]) -> tuple[float, float]:
    """(p25, p75), inclusive method; one sample is its own spread; none is NaN."""
    if not xs:
        return (float("nan"), float("nan"))
    if len(xs) == 1:
        return (float(xs[0]), float(xs[0]))
    q = statistics.quantiles(xs, n=4, method="inclusive")
    return (q[0], q[2])


def summary(xs: list[float]) -> dict[str, float]:
    """median, p25, p75, min, max and n of *xs* (NaN and 0 for no sample)."""
    if not xs:
        return {
            "median": float("nan"),
            "p25": float("nan"),
            "p75": float("nan"),
            "min": float("nan"),
            "max": float("nan"),
            "n": 0,
        }
    lo, hi = quartiles(xs)
    return {"median": statistics.median(xs), "p25": lo, "p75": hi, "min": min(xs), "max": max(xs), "n": len(xs)}


def rounds(jobs: list[tuple[str, ...]], n: int, seed: int) -> list[list[tuple[str, ...]]]:
    """*n* rounds of every job, each round in a fresh random order (seeded: the schedule repeats)."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        order = list(jobs)
        rng.shuffle(order)
        out.append(order)
    return out


# ---------------------------------------------------------------- environment and interpreters


def base_env() -> dict[str, str]:
    """This environment without importguard's, OpenTelemetry's and ddtrace's settings or PYTHON*
    variables that change what a child imports; hash seed fixed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("IMPORTGUARD", "_IMPORTGUARD", "OTEL_", "DD_"))}
    for k in ("PYTHONPATH", "PYTHONSTARTUP", "PYTHONPROFILEIMPORTTIME", "PYTHONDONTWRITEBYTECODE"):
        env.pop(k, None)
    env["PYTHONHASHSEED"] = "0"
    # ddtrace (a peer in suite.py): no telemetry or remote configuration threads talking to an agent that is not there
    env.update(
        DD_INSTRUMENTATION_TELEMETRY_ENABLED="false", DD_REMOTE_CONFIGURATION_ENABLED="false", DD_TRACE_ENABLED="false"
    )
    return env


def probe(python: str, code: str, env: dict[str, str] | None = None) -> str:
    """What ``python -c code`` prints, stripped (run in the temp dir: nothing local on sys.path)."""
    return subprocess.run(
        [python, "-c", code], capture_output=True, text=True, check=True, env=env, cwd=tempfile.gettempdir()
    ).stdout.strip()


def available(python: str, module: str, env: dict[str, str] | None = None) -> bool:
    """Whether *module* can be found by *python* (without importing it)."""
    r = subprocess.run(
        [python, "-c", f"import importlib.util as u; print(u.find_spec({module!r}) is not None)"],
        capture_output=True,
        text=True,
        env=env if env is not None else base_env(),
        cwd=tempfile.gettempdir(),
    )
    return r.stdout.strip() == "True"


def make_baseline(python: str) -> str:
    """A venv of the same base interpreter without importguard (created once, then reused)."""
    base = probe(python, "import sys; print(getattr(sys, '_base_executable', sys.executable))")
    ver = probe(python, "import sys; print('%d.%d' % sys.version_info[:2])")
    where = os.path.join(tempfile.gettempdir(), f"importguard-bench-baseline-{ver}")
    exe = os.path.join(where, "bin", "python")
    if not os.path.exists(exe):
        progress(f"creating baseline venv {where} (no importguard) ...\n")
        subprocess.run([base, "-m", "venv", where], check=True, stdout=subprocess.DEVNULL)
    return exe


def site_packages(python: str) -> str:
    return subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def make_plain(bench: str, where: str | None = None) -> str:
    """A venv of the same interpreter without importguard, seeing the bench venv's packages.

    Its site-packages holds a path ``.pth`` to the bench venv's site-packages
    (whose own ``.pth`` files are then not run) and copies of every bench
    ``.pth`` except importguard's, so the two differ by importguard's alone.
    """
    base = subprocess.run(
        [bench, "-c", "import sys; print(getattr(sys, '_base_executable', sys.executable))"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ver = subprocess.run(
        [bench, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], capture_output=True, text=True, check=True
    ).stdout.strip()
    bench_site = site_packages(bench)
    # one per bench venv: two suites on two venvs must not repoint each other's
    tag = hashlib.sha256(bench_site.encode()).hexdigest()[:8]
    where = where or os.path.join(tempfile.gettempdir(), f"importguard-bench-plain-{ver}-{tag}")
    exe = os.path.join(where, "bin", "python")
    if not os.path.exists(exe):
        progress(f"creating {where} (the same Python without importguard) ...\n")
        subprocess.run([base, "-m", "venv", "--without-pip", where], check=True)
    own = site_packages(exe)
    for p in glob.glob(os.path.join(own, "*.pth")):
        os.unlink(p)
    mine = "00-importguard-bench-plain-site.pth"
    with open(os.path.join(own, mine), "w", encoding="utf-8") as fh:
        fh.write(bench_site + "\n")
    for p in glob.glob(os.path.join(bench_site, "*.pth")):
        name = os.path.basename(p)
        if "importguard" in name:
            continue
        shutil.copy(p, os.path.join(own, name))
    return exe


# ---------------------------------------------------------------- one child


def spawn(
    argv: list[str], env: dict[str, str], cwd: str, stderr: int | IO[Any] = subprocess.DEVNULL
) -> tuple[bytes, int, int, int, int]:
    """Run one child to its end: (stdout, wall ns, CPU ns, peak RSS KiB, exit code).

    CPU is the child's user+sys from ``wait4``, not ``Popen.wait``: the rusage of
    exactly this child, its whole process (exit included)."""
    t0 = time.perf_counter_ns()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=stderr)
    assert proc.stdout is not None
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter_ns() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stdout.close()
    return out, wall, round((usage.ru_utime + usage.ru_stime) * 1e9), usage.ru_maxrss, proc.returncode


def callgrind_ir(argv: list[str], env: dict[str, str], cwd: str, workdir: str, what: str) -> int:
    """Instructions executed (Ir) by one run of *argv* under ``valgrind --tool=callgrind``."""
    log = os.path.join(workdir, f"callgrind-{os.getpid()}.log")
    vg = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", f"--log-file={log}"]
    subprocess.run(vg + argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    with open(log, encoding="utf-8", errors="replace") as fh:
        text = fh.read()
    os.unlink(log)
    m = re.search(r"Collected\s*:\s*(\d+)", text)
    if not m:
        raise RuntimeError(f"no 'Collected :' line in callgrind's log for {what}:\n{text[-2000:]}")
    return int(m.group(1))


# ---------------------------------------------------------------- run.py's variants and instruction counts

LABELS = {
    "baseline": "not installed",
    "plain": "installed, off",
    "importguard": "IMPORTGUARD=1",
    "engine_finder": "IMPORTGUARD=1, ENGINE=finder",
    "noexports": "IMPORTGUARD=1, EXPORTS=off",
    "importtime": "-X importtime",
    "report": "IMPORTGUARD=1 +report",
    "wrapper": "ref: bare wrapper",
    "finder": "ref: no-op finder",
}

PRELUDE = {
    "wrapper": (
        "import _frozen_importlib as _ig_b\n"
        "_ig_real = _ig_b._find_and_load_unlocked\n"
        "def _ig_w(name, import_):\n"
        "    return _ig_real(name, import_)\n"
        "_ig_b._find_and_load_unlocked = _ig_w\n"
    ),
    "finder": (
        "import sys as _ig_s\n"
        "class _IgFinder:\n"
        "    @staticmethod\n"
        "    def find_spec(name, path=None, target=None):\n"
        "        return None\n"
        "_ig_s.meta_path.insert(0, _IgFinder)\n"
    ),
}

TREE_CODE = """{prelude}import time as _t
_c0 = _t.process_time_ns(); _w0 = _t.perf_counter_ns()
import synth_entry
_w1 = _t.perf_counter_ns(); _c1 = _t.process_time_ns()
print(_w1 - _w0, _c1 - _c0)
"""

MISS_CODE = """{prelude}import time as _t
import synth
_r = []
for _m in ("miss_ctrl", "miss_top", "miss_from", "miss_big"):
    _c0 = _t.process_time_ns()
    __import__(_m)
    _r.append(_t.process_time_ns() - _c0)
print(*_r)
"""

#: Callgrind's "import path" mode: the cyclic GC off before the workload, and
#: os._exit right after it, so the count is startup + the imports, without the
#: full collections (which land wherever earlier allocations put them) and
#: without interpreter teardown. "process" mode is the plain command.
GC_OFF = "import gc as _ig_gc\n_ig_gc.disable()\n"
EXIT_NOW = "\nimport sys as _ig_sys, os as _ig_os\n_ig_sys.stdout.flush()\n_ig_os._exit(0)\n"


class Runner:
    """Builds the command line and environment of each variant and runs it."""

    def __init__(self, python: str, baseline: str | None, workdir: str) -> None:
        self.python = python
        self.baseline = baseline
        self.workdir = workdir
        self.env = base_env()

    def command(self, variant: str, code: str, mode: str = "process") -> tuple[list[str], dict[str, str]]:
        env = dict(self.env)
        python = self.python
        args: list[str] = []
        if variant == "baseline":
            if self.baseline is None:
                raise RuntimeError("no baseline python")
            python = self.baseline
        elif variant == "importguard":
            env.update(IMPORTGUARD="1", IMPORTGUARD_SUMMARY="0")
        elif variant == "engine_finder":
            env.update(IMPORTGUARD="1", IMPORTGUARD_SUMMARY="0", IMPORTGUARD_ENGINE="finder")
        elif variant == "report":
            env.update(
                IMPORTGUARD="1",
                IMPORTGUARD_SUMMARY="0",
                IMPORTGUARD_REPORT=os.path.join(self.workdir, "report.json"),
            )
        elif variant == "noexports":
            env.update(IMPORTGUARD="1", IMPORTGUARD_SUMMARY="0", IMPORTGUARD_EXPORTS="off")
        elif variant == "importtime":
            args = ["-X", "importtime"]
        if code != "pass":
            code = code.replace("{prelude}", (GC_OFF if mode == "import" else "") + PRELUDE.get(variant, ""))
            if mode == "import":
                code += EXIT_NOW
        return [python, *args, "-c", code], env

    def run(self, variant: str, code: str, cwd: str) -> dict[str, Any]:
        """One fresh process: wall and CPU (from wait4) of the whole process, plus its stdout numbers."""
        argv, env = self.command(variant, code)
        out, wall, cpu, _rss, returncode = spawn(argv, env, cwd)
        if returncode != 0:
            raise RuntimeError(f"{variant}: {argv!r} exited {returncode} in {cwd}")
        inner = [int(x) for x in out.split()]
        return {"wall_ns": wall, "cpu_ns": cpu, "inner": inner}

    def callgrind(self, variant: str, code: str, cwd: str, mode: str = "process") -> int:
        """Instructions executed (Ir) by one run under callgrind."""
        argv, env = self.command(variant, code, mode)
        return callgrind_ir(argv, env, cwd, self.workdir, variant)


# ---------------------------------------------------------------- instruction counts (run.py, suite.py)


MISS_KINDS = ("top", "from", "big")


def bench_callgrind(
    r: Runner,
    startup_variants: list[str],
    tree_variants: dict[str, list[str]],
    miss_variants: dict[str, list[str]],
    trees: dict[int, str],
    miss_dir: str,
    m: int,
    repeat: int,
) -> dict[str, Any]:
    """Instruction counts. *tree_variants* / *miss_variants* map a mode to the variants run in it.

    "import": GC off and ``os._exit`` right after the workload, so a difference
    between two trees is the import path alone. "process": the whole process,
    GC and interpreter teardown included, which is what a program pays; but
    when a full collection happens depends on every allocation made so far, so
    one variant can get one full collection more or less than another over the
    same tree (millions of instructions either way).
    """
    sizes = sorted(trees)
    small = sizes[0]
    out: dict[str, Any] = {"repeat": repeat, "startup": {}, "trees": {}, "slopes": {}, "misses": {}}

    raw: list[dict[str, Any]] = []
    out["raw"] = raw

    def ir(v: str, code: str, cwd: str, mode: str, times: int = repeat) -> float:
        runs = [r.callgrind(v, code, cwd, mode) for _ in range(times)]
        raw.append({"variant": v, "mode": mode, "cwd": os.path.basename(cwd), "code": code, "ir": runs})
        return med(runs)

    # Warm-up outside valgrind: the first run of a tree compiles its .pyc files.
    for s in sizes:
        r.run("plain", TREE_CODE, trees[s])
    r.run("plain", MISS_CODE, miss_dir)
    for v in startup_variants:
        progress(f"\r  callgrind: -c pass, {v}" + " " * 30)
        out["startup"][v] = ir(v, "pass", trees[small], "process")
    for mode, variants in tree_variants.items():
        trees_ir: dict[str, dict[str, float]] = {}
        for v in variants:
            trees_ir[v] = {}
            for s in sizes:
                progress(f"\r  callgrind: {s}-module tree, {v}, {mode}" + " " * 30)
                trees_ir[v][str(s)] = ir(v, TREE_CODE, trees[s], mode)
        out["trees"][mode] = trees_ir
        slopes: dict[str, dict[str, dict[str, float]]] = {}
        for big in sizes[1:]:
            key = f"{small}-{big}"
            slopes[key] = {}
            span = big - small
            plain = (trees_ir["plain"][str(big)] - trees_ir["plain"][str(small)]) / span
            for v in variants:
                per = (trees_ir[v][str(big)] - trees_ir[v][str(small)]) / span
                slopes[key][v] = {"ir_per_module": per, "overhead_ir_per_module": per - plain}
        out["slopes"][mode] = slopes
    windows = {
        "none": "import synth",
        "ctrl": "import synth, miss_ctrl",
        "top": "import synth, miss_top",
        "from": "import synth, miss_from",
        "big": "import synth, miss_big",
    }
    for mode, variants in miss_variants.items():
        res: dict[str, dict[str, Any]] = {}
        for v in variants:
            counts = {}
            for k, c in windows.items():
                progress(f"\r  callgrind: misses ({k}), {v}, {mode}" + " " * 30)
                counts[k] = ir(v, "{prelude}" + c, miss_dir, mode, 1)  # long runs: once
            res[v] = {
                "ir": counts,
                "top": (counts["top"] - counts["ctrl"]) / m,
                "from": (counts["from"] - counts["ctrl"]) / m,
                "big": (counts["big"] - counts["none"]) / m,
            }
        for v in variants:
            for k in MISS_KINDS:
                res[v][f"{k}_ratio"] = res[v][k] / res["plain"][k]
        out["misses"][mode] = res
    progress("\r  callgrind: done" + " " * 60 + "\n")
    return out
