"""Signals arriving in the middle of importguard's own bookkeeping.

Python runs a signal handler wherever a call returns, a function starts or a
loop jumps back, in importguard's hook too. A handler that raises (a timeout,
SIGTERM made an exception, KeyboardInterrupt) must reach the program exactly
as without importguard, and importguard's state must stay whole: the thread's
import stack, the records, the recursion limit, the quiet flag.

Each import below is interrupted by a one-shot ITIMER_REAL at a random point,
so at most one exception per import, always inside the program's ``try``.
Before the fix: the program's exception was reported and swallowed as an
importguard bug ("import hook (start) raised Interrupt"), the stack kept
interrupted imports (every later import got one as its parent), records stayed
``incomplete`` or without a status, modules loaded with no record, the
recursion limit drifted, and a handler that imported 16 imports deep
deadlocked on importguard's recursion-limit lock.
"""

from __future__ import annotations

import collections
import json
import random
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT, by_name, hooked_env, run_python, write_tree
from rel_helpers import importguard_lines, plain_and_hooked

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs setitimer")

N_FLAT = 300
N_CHAINS, CHAIN = 10, 30  # 30 deep: past the 16 from which the hook raises the recursion limit
N_HANDLER_MODULES = 1500  # what the signal handler imports, one per signal, at most


def _tree() -> dict[str, str]:
    rng = random.Random(7)
    files = {"gen/__init__.py": "", "hpkg/__init__.py": ""}
    for i in range(N_FLAT):
        deps = sorted(j for j in rng.sample(range(N_FLAT), 3) if j > i)
        files[f"gen/g{i}.py"] = (
            "".join(f"import gen.g{j}\n" for j in deps) + f"X = sum(range({rng.randint(10, 3000)}))\n"
        )
    for c in range(N_CHAINS):
        for i in range(CHAIN):
            files[f"gen/d{c}_{i}.py"] = f"import gen.d{c}_{i + 1}\n" if i + 1 < CHAIN else "X = 1\n"
    files.update({f"after{i}.py": f"import after{i + 1}\n" if i < 2 else "" for i in range(3)})
    files.update({f"hpkg/h{k}.py": f"V = {k}\n" for k in range(N_HANDLER_MODULES)})
    return files


# The program's side of the check, written by the hooked run only: importguard's
# own state once the storm is over.
STATE = """
    rec = sys.modules.get("importguard._records")
    if rec is not None:
        state = rec.thread_state()
        with open("state.json", "w") as f:
            json.dump({"stack": [r[0] for r in state[0]], "quiet": state[2], "room": state[3] if len(state) > 3 else 0,
                       "limit_back": sys.getrecursionlimit() == BASE_LIMIT,
                       "loaded": sorted(m for m in sys.modules if m.startswith("gen.")),
                       "spans": SPANS}, f)
"""

STORM = """
    import importlib, json, random, signal, sys
    BASE_LIMIT = sys.getrecursionlimit()
    SPANS = None
    if {otel}:
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)

    class Interrupt(Exception):
        pass

    def handler(signum, frame):
        raise {exc}()

    signal.signal(signal.SIGALRM, handler)
    rng = random.Random({seed})
    for i in range({n_flat}):
        try:
            signal.setitimer(signal.ITIMER_REAL, rng.uniform(1e-6, 2e-4))
            importlib.import_module(f"gen.g{{i}}")
            signal.setitimer(signal.ITIMER_REAL, 0)
        except {exc}:
            pass
    for c in range({n_chains}):
        for attempt in range(60):  # longer and longer, until a whole chain gets through
            try:
                signal.setitimer(signal.ITIMER_REAL, rng.uniform(1e-6, 1.5e-3) * (1 + attempt))
                importlib.import_module(f"gen.d{{c}}_0")
                signal.setitimer(signal.ITIMER_REAL, 0)
                break
            except {exc}:
                pass
    signal.setitimer(signal.ITIMER_REAL, 0)
    import after0
    if {otel}:
        SPANS = sorted(s.name for s in exporter.get_finished_spans() if s.name.startswith("import after"))
    print("done")
"""


def _records_by_name(report: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for r in report["imports"]:
        out[r["name"]].append(r)
    return out


def _check_consistent(tmp_path: Path, report: dict[str, Any], interrupt: str) -> None:
    state = json.loads((tmp_path / "state.json").read_text())
    assert state["stack"] == [], "interrupted imports left on the thread's import stack"
    assert state["quiet"] == 0, "the thread is stuck in importguard's quiet mode: its imports go unrecorded"
    assert state["room"] == 0 and state["limit_back"], "the recursion limit was not given back"
    assert report["internal_errors"] == []
    import jsonschema

    jsonschema.validate(report, json.loads((ROOT / "importguard" / "report.schema.json").read_text()))
    recs = _records_by_name(report)
    loaded = set(state["loaded"])
    for name, rs in recs.items():
        statuses = [r["status"] for r in rs]
        assert all(s in ("ok", "error", "not_found") for s in statuses), (name, statuses)
        assert statuses.count("ok") <= 1, (name, statuses)
        if "ok" in statuses and name.startswith("gen."):
            assert name in loaded, f"{name} has an ok record but is not in sys.modules"
    for name in loaded:
        rs = recs.get(name) or []
        assert rs, f"{name} was loaded and has no record"
        last = rs[-1]
        # The record that loaded it; or, if the handler fired after the module ran but before
        # the import statement returned (plain Python leaves it in sys.modules then too), a
        # failure with the program's exception.
        assert last["status"] == "ok" or last["error"]["type"].endswith(interrupt), (name, last)
    # After the storm: a fresh chain, parented as it nests, in the main thread.
    chain = [by_name(report, f"after{i}") for i in range(3)]
    assert [r["parent"] for r in chain] == [None, "after0", "after1"]
    assert all(r["status"] == "ok" and r["thread_name"] == "MainThread" for r in chain)


@pytest.mark.parametrize("otel", [False, True], ids=["records", "live-spans"])
@pytest.mark.parametrize("exc", ["Interrupt", "KeyboardInterrupt"])
def test_handler_raising_at_random_points_of_hundreds_of_imports(tmp_path: Path, exc: str, otel: bool) -> None:
    write_tree(tmp_path, _tree())
    code = STORM.format(exc=exc, seed=11, n_flat=N_FLAT, n_chains=N_CHAINS, otel=otel) + STATE
    plain, hooked = plain_and_hooked(code, tmp_path)
    assert (plain.returncode, plain.stdout) == (0, "done\n"), plain.stderr[-2000:]
    assert (hooked.returncode, hooked.stdout) == (plain.returncode, plain.stdout), hooked.stderr[-2000:]
    # stderr is not compared: the handler also fires inside importlib's own weakref
    # callbacks, which CPython reports as "Exception ignored", at random in both runs.
    assert importguard_lines(hooked.stderr) == []
    assert hooked.report is not None
    _check_consistent(tmp_path, hooked.report, exc)
    if otel:
        state = json.loads((tmp_path / "state.json").read_text())
        assert state["spans"] == ["import after0", "import after1", "import after2"]


HANDLER_IMPORTS = """
    import importlib, json, random, signal, sys
    BASE_LIMIT = sys.getrecursionlimit()
    SPANS = None
    rng = random.Random({seed})
    count = 0
    seen = []

    def handler(signum, frame):
        global count
        k = count
        if k >= {n_handler_modules}:
            return  # a slow (loaded) machine gets more timer signals than there are modules to import
        count += 1
        # The imports in progress in this thread when the handler ran (importlib's frames).
        live, f = [], frame
        while f is not None:
            if f.f_code.co_name == "_find_and_load" and f.f_code.co_filename == "<frozen importlib._bootstrap>":
                live.append(f.f_locals.get("name"))
            f = f.f_back
        importlib.import_module(f"hpkg.h{{k}}")
        seen.append([f"hpkg.h{{k}}", live])
        signal.setitimer(signal.ITIMER_REAL, rng.uniform(1e-5, 3e-4))  # the next one; never nested

    import hpkg
    signal.signal(signal.SIGALRM, handler)
    for c in range({n_chains}):
        signal.setitimer(signal.ITIMER_REAL, rng.uniform(1e-5, 3e-4))
        importlib.import_module(f"gen.d{{c}}_0")
        signal.setitimer(signal.ITIMER_REAL, 0)
    for i in range(60):
        signal.setitimer(signal.ITIMER_REAL, rng.uniform(1e-5, 3e-4))
        importlib.import_module(f"gen.g{{i}}")
        signal.setitimer(signal.ITIMER_REAL, 0)
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, signal.SIG_IGN)  # one may still be on its way
    import after0
    with open("seen.json", "w") as f:
        json.dump(seen, f)
    print("done")
"""


@pytest.mark.skipif(
    sys.version_info < (3, 12),
    reason=(
        "plain CPython 3.10/3.11 cannot import from a signal handler that interrupted importlib's own "
        "module-lock code (KeyError in _ModuleLock.acquire; made re-entrant in 3.12)"
    ),
)
def test_handler_importing_at_random_points_of_imports(tmp_path: Path) -> None:
    write_tree(tmp_path, _tree())
    code = HANDLER_IMPORTS.format(seed=5, n_chains=N_CHAINS, n_handler_modules=N_HANDLER_MODULES) + STATE
    plain, hooked = plain_and_hooked(code, tmp_path)
    assert (plain.returncode, plain.stdout) == (0, "done\n"), plain.stderr[-2000:]
    assert (hooked.returncode, hooked.stdout, hooked.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    report = hooked.report
    assert report is not None
    _check_consistent(tmp_path, report, "-")
    seen = json.loads((tmp_path / "seen.json").read_text())
    assert len(seen) > 20, "the handler hardly ran"
    deep = 0
    for name, live in seen:
        rec = by_name(report, name)  # exactly once
        assert rec["status"] == "ok" and rec["thread_name"] == "MainThread"
        # Nested under an import that was in progress in this thread when the
        # handler ran (importguard's stack can lag importlib's by the one import
        # whose start it was recording), or at top level if none was.
        assert rec["parent"] in live or (rec["parent"] is None and len(live) <= 1), (name, rec["parent"], live)
        deep += len(live) >= 16
    assert deep, "no handler ran 16 imports deep, where the recursion limit is raised"


def test_handler_importing_inside_a_module_body(tmp_path: Path) -> None:
    # Deterministic, every Python: the module raises the signal itself, so the handler
    # runs in its body (the main thread is inside that import), imports, and raises.
    write_tree(
        tmp_path,
        {
            "signaller.py": """
            import signal
            BEFORE = 1
            signal.raise_signal(signal.SIGUSR1)
            AFTER = 2
        """,
            "outer_mod.py": "import signaller\n",
            "from_handler.py": "import from_handler_dep\nH = 3\n",
            "from_handler_dep.py": "",
            "raising_signaller.py": "import signal\nsignal.raise_signal(signal.SIGUSR2)\nNEVER = 1\n",
        },
    )
    code = """
        import signal, sys

        def importing(signum, frame):
            import from_handler
            print('handler imported', from_handler.H, 'in', frame.f_globals['__name__'])

        class Timeout(Exception):
            pass

        def raising(signum, frame):
            raise Timeout('from the handler')

        signal.signal(signal.SIGUSR1, importing)
        signal.signal(signal.SIGUSR2, raising)
        import outer_mod
        print('signaller complete', outer_mod.signaller.AFTER)
        try:
            import raising_signaller
        except Timeout as e:
            print('caught', e, 'raising_signaller' in sys.modules)
        import json
    """
    plain, hooked = plain_and_hooked(code, tmp_path)
    assert plain.returncode == 0 and plain.stdout == (
        "handler imported 3 in signaller\nsignaller complete 2\ncaught from the handler False\n"
    ), plain.stderr
    assert (hooked.returncode, hooked.stdout, hooked.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    report = hooked.report
    assert report is not None and report["internal_errors"] == []
    assert by_name(report, "from_handler")["parent"] == "signaller"
    assert by_name(report, "from_handler_dep")["parent"] == "from_handler"
    assert by_name(report, "signaller")["parent"] == "outer_mod"
    assert all(by_name(report, n)["status"] == "ok" for n in ("outer_mod", "signaller", "from_handler"))
    failed = by_name(report, "raising_signaller")
    assert failed["status"] == "error" and failed["error"]["type"] == "__main__.Timeout"
    assert failed["swallowed"] is True
    assert by_name(report, "json")["parent"] is None


def test_handler_raising_inside_a_callback_reaches_the_program(tmp_path: Path) -> None:
    # A callback is importguard's to guard: its own exceptions are reported and
    # the import goes on. A signal handler's exception raised while it runs is
    # the program's, and must reach the program's try as it would anywhere else.
    write_tree(tmp_path, {"target_mod.py": "x = 1\n"})
    code = """
        import os, signal
        import importguard

        class Timeout(Exception):
            pass

        def handler(signum, frame):
            raise Timeout("deadline")

        signal.signal(signal.SIGUSR1, handler)

        @importguard.on_import("target_mod", when="before")
        def slow_callback(event):
            os.kill(os.getpid(), signal.SIGUSR1)  # the handler runs here, inside the callback

        try:
            import target_mod
        except Timeout as exc:
            print("program got", exc)
        else:
            print("import went on")
    """
    proc = run_python(code, cwd=tmp_path, env=hooked_env())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "program got deadline\n", proc.stdout + proc.stderr
    assert proc.stderr == ""


# An exception landing in importlib's own code after a package's body ran, while
# _load_unlocked has it out of sys.modules (between its pop and re-insert): the
# package's import fails there, plain Python runs the package again at the next
# import. A trace function raises at exactly that point, so the timer storms'
# one-in-three case above happens every time. The finder engine is not on the
# stack then; it recorded the package `ok` (two `ok` records once the package
# ran again) and the submodules waiting for it as lost (importguard.LostImport).
AFTER_BODY = """
    import sys

    class Interrupt(Exception):
        pass

    fired = []

    def at_line(frame, event, arg):
        if event == "line" and not fired:
            module = frame.f_locals.get("module")
            if getattr(module, "RAN", False) and "pkg" not in sys.modules:
                fired.append(frame.f_lineno)
                raise Interrupt()
        return at_line

    def tracer(frame, event, arg):
        code = frame.f_code
        if code.co_name == "_load_unlocked" and code.co_filename == "<frozen importlib._bootstrap>":
            if getattr(frame.f_locals.get("spec"), "name", None) == "pkg":
                return at_line
        return None

    sys.settrace(tracer)
    try:
        import {target}
    except Interrupt:
        print("interrupted", sorted(m for m in sys.modules if m.startswith("pkg")))
    sys.settrace(None)
    import {target}
    print("again", bool(fired), sorted(m for m in sys.modules if m.startswith("pkg")))
"""


@pytest.mark.parametrize("engine", ["function", "finder"])
@pytest.mark.parametrize("target", ["pkg", "pkg.mid.sub"], ids=["outermost", "waiting-submodules"])
def test_exception_after_a_package_ran_fails_its_record_once(tmp_path: Path, engine: str, target: str) -> None:
    write_tree(tmp_path, {"pkg/__init__.py": "RAN = True\n", "pkg/mid/__init__.py": "", "pkg/mid/sub.py": "X = 1\n"})
    plain, hooked = plain_and_hooked(AFTER_BODY.format(target=target), tmp_path, IMPORTGUARD_ENGINE=engine)
    chain = [n for n in ("pkg", "pkg.mid", "pkg.mid.sub") if len(n) <= len(target)]
    assert plain.returncode == 0 and plain.stdout == f"interrupted []\nagain True {chain}\n", plain.stderr
    assert (hooked.returncode, hooked.stdout, hooked.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    report = hooked.report
    assert report is not None and report["internal_errors"] == [] and report["engine"] == engine
    recs = _records_by_name(report)
    for name in chain:
        # The first import failed with the program's exception (the package's
        # body ran, its submodules' never did); the second loaded it.
        assert [(r["status"], (r.get("error") or {}).get("type")) for r in recs[name]] == [
            ("error", "__main__.Interrupt"),
            ("ok", None),
        ], name
    assert [r["parent"] for r in recs["pkg"]] == [
        chain[1] if len(chain) > 1 else None
    ] * 2  # `import a.b` nests a in a.b
