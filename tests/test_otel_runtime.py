"""OpenTelemetry in a long-running process (issue #17), through the SDK's in-memory exporter.

Each test runs a real hooked interpreter: the backlog reaching a provider that
gets its span processor late, run-time failures sent while the request is
still going on and settled as escaped or swallowed, self times equal to the
report's, routine probes that are not errors, and folding that keeps the
slowest imports and every failure as real spans.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conftest import hooked_env, run_python, write_tree

SPANS = """
def spans_of(exporter):
    return [{"name": s.name, "id": s.context.span_id, "trace": s.context.trace_id,
             "parent": s.parent.span_id if s.parent else None, "start": s.start_time, "end": s.end_time,
             "status": s.status.status_code.name, "attributes": dict(s.attributes),
             "events": [(e.name, dict(e.attributes)) for e in s.events]}
            for s in exporter.get_finished_spans()]
"""


def _run(tmp_path: Path, code: str, **env: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    report = tmp_path / "report.json"
    proc = run_python(SPANS + code, cwd=tmp_path, env=hooked_env(report, **{"IMPORTGUARD_EXPORTS": "record", **env}))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "", proc.stderr
    data = json.loads(proc.stdout.splitlines()[-1])
    return data, json.loads(report.read_text()) if report.is_file() else None


# --- 1. the backlog reaches a provider whose span processor comes after set_tracer_provider


def test_backlog_waits_for_the_first_span_processor(tmp_path: Path) -> None:
    write_tree(tmp_path, {"startup_mod.py": "import json\n", "later_mod.py": "X = 1\n"})
    code = """
import json, sys
import startup_mod                                   # before any SDK
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
provider = TracerProvider()
trace.set_tracer_provider(provider)                  # no processor yet: opentelemetry-instrument's order
exporter = InMemorySpanExporter()
provider.add_span_processor(SimpleSpanProcessor(exporter))
sent_at_add = [s["name"] for s in spans_of(exporter)]
import later_mod                                     # live from here
import importguard
importguard.flush()
print(json.dumps({"at_add": sent_at_add, "spans": spans_of(exporter)}))
"""
    data, report = _run(tmp_path, code)
    assert report is not None
    names = [s["name"] for s in data["spans"]]
    # The backlog arrived when the processor was added, not at flush or exit
    assert "import startup_mod" in data["at_add"] and "python startup" in data["at_add"]
    # every record is one span, exactly once, and none points to a missing parent
    recorded = sorted(f"import {r['name']}" for r in report["imports"] if r["status"] != "incomplete")
    assert sorted(n for n in names if n.startswith("import ")) == recorded
    ids = {s["id"] for s in data["spans"]}
    assert all(s["parent"] is None or s["parent"] in ids for s in data["spans"])
    assert names.count("python startup") == 1 and "import later_mod" in names


# --- 2 and 4. run-time failures: sent when the request ends, escaped or swallowed

REQUESTS = """
import json, sys
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
tracer = trace.get_tracer("app")

def probe():                        # an optional accelerator, tried per request
    try:
        import ujson_missing_xyz
    except ImportError:
        pass

def broken_view():                  # a bug: the request fails with it
    import broken_plugin

def framework(view, name):
    # What Flask's instrumentation does: the view's exception is recorded on the
    # request span, the response is a 500, and the span ends after that.
    with tracer.start_as_current_span(name) as span:
        try:
            view()
        except Exception as exc:
            span.record_exception(exc)
            span.set_status(trace.Status(trace.StatusCode.ERROR))
            return 500
    return 200

seen = {}
for i in range(3):
    framework(probe, f"GET /probe {i}")
    seen[f"probe {i}"] = [s["name"] for s in spans_of(exporter)]
framework(broken_view, "GET /broken")
seen["broken"] = [s["name"] for s in spans_of(exporter)]
try:
    with tracer.start_as_current_span("job"):     # escapes the span itself, caught outside
        import broken_plugin
except RuntimeError:
    pass
seen["job"] = [s["name"] for s in spans_of(exporter)]
import importguard
importguard.flush()
print(json.dumps({"seen": seen, "spans": spans_of(exporter)}))
"""


def test_runtime_failures_are_sent_when_their_request_ends(tmp_path: Path) -> None:
    write_tree(tmp_path, {"broken_plugin.py": "raise RuntimeError('plugin config missing')\n"})
    data, report = _run(tmp_path, "try:\n    import org_xyz.python.core\nexcept ImportError:\n    pass\n" + REQUESTS)
    seen, spans = data["seen"], data["spans"]
    # each probe's span is out as soon as its request ended, not at flush or exit
    for i in range(3):
        assert seen[f"probe {i}"].count("import ujson_missing_xyz") == i + 1
    assert seen["broken"].count("import broken_plugin") == 1
    assert seen["job"].count("import broken_plugin") == 2
    by_id = {s["id"]: s for s in spans}
    probes = [s for s in spans if s["name"] == "import ujson_missing_xyz"]
    # one span per occurrence, each in its own request's trace
    assert sorted(by_id[s["parent"]]["name"] for s in probes) == ["GET /probe 0", "GET /probe 1", "GET /probe 2"]
    for s in probes:
        assert s["trace"] == by_id[s["parent"]]["trace"]
        assert s["attributes"]["importguard.swallowed"] is True
        assert s["attributes"]["importguard.routine_probe"] is True and s["status"] == "UNSET"
    # escaped: the request failed with it (recorded on the request span), or it left the span
    fails = {by_id[s["parent"]]["name"]: s for s in spans if s["name"] == "import broken_plugin"}
    for name in ("GET /broken", "job"):
        assert fails[name]["attributes"]["importguard.swallowed"] is False, name
        assert fails[name]["status"] == "ERROR"
        (event,) = fails[name]["events"]
        assert event[1]["exception.escaped"] is True  # it left the import span: semantic conventions
    # a dotted probe whose top-level package is missing: every part of it is the routine probe
    dotted = {s["name"]: s for s in spans if s["name"].startswith("import org_xyz")}
    assert set(dotted) == {"import org_xyz", "import org_xyz.python", "import org_xyz.python.core"}
    for s in dotted.values():
        assert s["status"] == "UNSET" and s["attributes"]["importguard.routine_probe"] is True, s
    # the report: the repeated probe is one record with a count
    assert report is not None
    records = [r for r in report["imports"] if r["name"] == "ujson_missing_xyz"]
    assert len(records) == 1 and records[0]["repeats"]["count"] == 3 and records[0]["repeats"]["escaped"] == 0
    broken = [r for r in report["imports"] if r["name"] == "broken_plugin"]
    # two different import statements: two records, both escaped
    assert len(broken) == 2 and all(r["swallowed"] is False for r in broken)


def test_caught_on_purpose_is_swallowed_and_a_500_is_not(tmp_path: Path) -> None:
    # The same failing import, caught by the view (it serves without the plugin) or not (a 500).
    write_tree(tmp_path, {"broken_plugin.py": "raise RuntimeError('plugin config missing')\n"})
    code = REQUESTS.replace(
        "def broken_view():                  # a bug: the request fails with it\n    import broken_plugin\n",
        "def broken_view():\n    try:\n        import broken_plugin\n    except RuntimeError:\n"
        "        return 'served without the plugin'\n",
    )
    data, _report = _run(tmp_path, code)
    by_id = {s["id"]: s for s in data["spans"]}
    fails = {by_id[s["parent"]]["name"]: s for s in data["spans"] if s["name"] == "import broken_plugin"}
    assert fails["GET /broken"]["attributes"]["importguard.swallowed"] is True
    assert by_id[fails["GET /broken"]["parent"]]["status"] == "UNSET"
    assert fails["job"]["attributes"]["importguard.swallowed"] is False


# --- 3. self_ms is the report's self time, replayed or live


def test_self_ms_equals_the_report(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "pkg/__init__.py": "import time\ntime.sleep(0.01)\nfrom . import a, b\n",
            "pkg/a.py": "import time\ntime.sleep(0.02)\nfrom . import c\n",
            "pkg/b.py": "try:\n    import pkg.missing\nexcept ImportError:\n    pass\n",
            "pkg/c.py": "import time\ntime.sleep(0.005)\n",
            "lazy/__init__.py": "from . import x\n",
            "lazy/x.py": "import time\ntime.sleep(0.01)\n",
        },
    )
    code = """
import json
import pkg                                      # replayed: parents end with their children
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
import lazy                                     # live
print(json.dumps({"spans": spans_of(exporter)}))
"""
    data, report = _run(tmp_path, code)
    assert report is not None
    self_ms = {
        s["name"][len("import ") :]: s["attributes"]["importguard.self_ms"]
        for s in data["spans"]
        if s["name"].startswith("import ")
    }
    checked = 0
    for rec in report["imports"]:
        if rec["name"] in self_ms and rec["self_ns"] is not None:
            assert abs(self_ms[rec["name"]] - rec["self_ns"] / 1e6) < 1e-6, rec["name"]
            checked += 1
    assert checked == len(self_ms)
    # not the cumulative time: an importer's self time leaves its children out
    total_ms = {s["name"][len("import ") :]: (s["end"] - s["start"]) / 1e6 for s in data["spans"]}
    for name in ("pkg", "pkg.a", "lazy"):
        assert self_ms[name] < total_ms[name], name


# --- 6. folding keeps the slowest imports and every failure as real spans


def test_folding_keeps_slow_imports_and_failures_as_spans(tmp_path: Path) -> None:
    files = {
        "big/__init__.py": "".join(f"from . import m{i}\n" for i in range(300)) + "from . import slow, bad\n",
        "big/slow.py": "import time\ntime.sleep(0.05)\n",
        "big/bad.py": "try:\n    import big_missing_dep\nexcept ImportError:\n    pass\n",
    }
    files.update({f"big/m{i}.py": "X = 1\n" for i in range(300)})
    write_tree(tmp_path, files)
    code = """
import json
import big                                      # 300+ records before any SDK, limit 100
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)
import importlib, sys
for i in range(300):                            # live, and folded as it goes
    sys.modules.pop(f"big.m{i}")
    importlib.import_module(f"big.m{i}")
print(json.dumps({"spans": spans_of(exporter)}))
"""
    data, report = _run(tmp_path, code, IMPORTGUARD_MAX_RECORDS="100")
    spans = data["spans"]
    names = [s["name"] for s in spans]
    assert report is not None
    truth = {r["name"]: r for r in report["imports"]}
    # the slowest imports and the failure are real spans, with their true times
    for name in ("big", "big.slow", "big_missing_dep"):
        (span,) = [s for s in spans if s["name"] == f"import {name}"]
        assert span["start"] == truth[name]["start_ns"] and span["end"] - span["start"] == truth[name]["duration_ns"]
    # the fast ones are folded: every import is a span or a count, once
    folded = [s for s in spans if s["name"] == "importguard folded imports"]
    counted = sum(
        e[1]["importguard.count"]
        for s in folded
        for e in s["events"]
        if e[1]["importguard.module.name"].startswith("big.m")
    )
    assert counted + len([n for n in names if n.startswith("import big.m")]) == 600
    # folded spans carry the true time range of what they fold, not the time they were sent
    first_start = min(s["start"] for s in spans if s["name"].startswith("import "))
    for s in folded:
        assert s["start"] >= first_start - 1 and s["end"] <= max(x["end"] for x in spans)
    # nothing sent twice
    assert len(names) == len(set(zip(names, [s["id"] for s in spans])))
    import_spans = [n for n in names if n.startswith("import ")]
    assert len(import_spans) == len(set(import_spans)) or all(
        n.startswith("import big.m") for n in import_spans if import_spans.count(n) > 1
    )
