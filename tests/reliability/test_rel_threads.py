"""Threads importing at once: no deadlock, each module once, in the thread that ran it, right parent."""

from __future__ import annotations

import json
import random
from pathlib import Path

from conftest import by_name, write_tree
from rel_helpers import plain_and_hooked

N_MODULES = 30
N_THREADS = 16


def _module_tree() -> dict[str, str]:
    """m0..m29: each records who ran it (thread) and which module's body imported it, then
    imports a few higher-numbered modules (a DAG: no lock-order cycle, so no deadlock plain)."""
    rng = random.Random(1234)
    files = {
        "registry.py": """
        import sys, threading
        lock = threading.Lock()
        ran = {}  # module -> (thread ident, importing module or None)

        def note(name):
            importer = None
            frame = sys._getframe(2)
            while frame is not None:
                g = frame.f_globals.get('__name__')
                if frame.f_code.co_name == '<module>' and g in ran_names:
                    importer = g
                    break
                if frame.f_code.co_name == 'worker':
                    break
                frame = frame.f_back
            with lock:
                assert name not in ran, name
                ran[name] = (threading.get_ident(), importer)
    """
        + f"\n        ran_names = {{f'm{{i}}' for i in range({N_MODULES})}}\n"
    }
    for i in range(N_MODULES):
        deps = sorted(rng.sample(range(i + 1, N_MODULES), min(3, N_MODULES - i - 1)))
        body = "import registry\nregistry.note(__name__)\n"
        body += "".join(f"import m{d}\n" for d in deps)
        body += "X = sum(range(2000))\n"
        files[f"m{i}.py"] = body
    return files


CODE = f"""
    import importlib, json, random, sys, threading
    import registry
    barrier = threading.Barrier({N_THREADS})
    errors = []

    def worker(k):
        order = [(k * 5 + i) % {N_MODULES} for i in range(12)]
        random.Random(k).shuffle(order)
        barrier.wait()
        try:
            for i in order:
                importlib.import_module(f"m{{i}}")
        except BaseException as e:
            errors.append(repr(e))

    threads = [threading.Thread(target=worker, args=(k,), name=f"w{{k}}") for k in range({N_THREADS})]
    for t in threads: t.start()
    for t in threads: t.join(60)
    assert not any(t.is_alive() for t in threads), "deadlock"
    print(json.dumps({{"errors": errors, "loaded": sorted(m for m in sys.modules if m[:1] == "m" and m[1:].isdigit())}}))
    with open("ran.json", "w") as f:
        json.dump({{name: list(v) for name, v in registry.ran.items()}}, f)
"""


def test_sixteen_threads_importing_overlapping_modules(tmp_path: Path) -> None:
    write_tree(tmp_path, _module_tree())
    plain, hooked = plain_and_hooked(CODE, tmp_path)
    assert plain.returncode == 0, plain.stderr
    assert (hooked.returncode, hooked.stdout, hooked.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    assert json.loads(hooked.stdout)["errors"] == []
    ran = {
        name: (thread, importer) for name, (thread, importer) in json.loads((tmp_path / "ran.json").read_text()).items()
    }
    assert len(ran) == N_MODULES
    report = hooked.report
    assert report is not None and report["internal_errors"] == []
    idents = set()
    for name, (thread, importer) in ran.items():
        rec = by_name(report, name)  # exactly once
        assert rec["status"] == "ok"
        assert rec["thread"] == thread, f"{name} ran in {thread}, recorded in {rec['thread']}"
        assert rec["parent"] == importer, f"{name} imported by {importer}, recorded under {rec['parent']}"
        assert rec["thread_name"] is not None and rec["thread_name"].startswith("w")
        if rec["parent_id"] is not None:
            parent = report["imports"][rec["parent_id"]]
            assert parent["name"] == importer and parent["thread"] == rec["thread"]
        idents.add(thread)
    assert len(idents) > 1, "the threads did not overlap at all"


def test_module_body_starting_a_thread_that_imports_and_joining_it(tmp_path: Path) -> None:
    # A's body holds A's import lock while waiting for a thread that imports B (B does not
    # import A back: that would deadlock without the hook too).
    write_tree(
        tmp_path,
        {
            "mod_a.py": """
            import threading
            result = []
            def load():
                import mod_b
                result.append(mod_b.VALUE)
            t = threading.Thread(target=load, name="loader")
            t.start()
            t.join(30)
            assert not t.is_alive(), "deadlock"
            print('A got', result)
        """,
            "mod_b.py": "import mod_c\nVALUE = mod_c.C + 1\nprint('B ran')\n",
            "mod_c.py": "C = 41\n",
        },
    )
    plain, hooked = plain_and_hooked("import mod_a\nprint('done')\n", tmp_path)
    assert plain.returncode == 0 and plain.stdout == "B ran\nA got [42]\ndone\n"
    assert (hooked.returncode, hooked.stdout, hooked.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    report = hooked.report
    assert report is not None
    a, b, c = by_name(report, "mod_a"), by_name(report, "mod_b"), by_name(report, "mod_c")
    assert b["parent"] is None and b["thread"] != a["thread"] and b["thread_name"] == "loader"
    assert c["parent"] == "mod_b" and c["thread"] == b["thread"]
    assert a["status"] == b["status"] == c["status"] == "ok"


LIVE_SPANS = f"""
    import collections, importlib, json, sys, threading
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    import registry
    sys.setswitchinterval(1e-6)  # switch threads as often as CPython will: emissions overlap
    barrier = threading.Barrier({N_THREADS})

    def worker(k):
        barrier.wait()
        for i in range({N_MODULES}):
            importlib.import_module(f"m{{(i * 7 + k) % {N_MODULES}}}")

    threads = [threading.Thread(target=worker, args=(k,)) for k in range({N_THREADS})]
    for t in threads: t.start()
    for t in threads: t.join(60)
    sys.setswitchinterval(0.005)
    if "importguard" in sys.modules:
        import importguard
        importguard.flush()
        counts = collections.Counter(s.name for s in exporter.get_finished_spans())
        with open("spans.json", "w") as f:
            json.dump({{name: n for name, n in counts.items() if name[:8] == "import m" and name[8:].isdigit()}}, f)
    print("done")
"""


def test_threads_importing_at_once_with_live_spans_one_span_per_import(tmp_path: Path) -> None:
    # Each thread's outermost import emits spans; two emitting at once ended the same
    # span twice (KeyError, "OpenTelemetry export raised") and duplicated others.
    write_tree(tmp_path, _module_tree())
    plain, hooked = plain_and_hooked(LIVE_SPANS, tmp_path)
    assert plain.returncode == 0 and plain.stdout == "done\n", plain.stderr
    assert (hooked.returncode, hooked.stdout, hooked.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    spans = json.loads((tmp_path / "spans.json").read_text())
    assert spans == {f"import m{i}": 1 for i in range(N_MODULES)}
    assert hooked.report is not None and hooked.report["internal_errors"] == []
