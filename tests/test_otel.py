"""Import spans through the real OpenTelemetry SDK (in-memory exporter), in real hooked processes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import hooked_env, run_python, write_tree

APP = {
    "apppkg/__init__.py": "__all__ = ['present', 'vanished']\npresent = 1\nfrom . import helpers\n",
    "apppkg/helpers.py": "try:\n    import optional_accel_xyz\nexcept ImportError:\n    pass\n",
    "lazy_heavy.py": "import time\nimport lazy_dep\n",
    "lazy_dep.py": "X = 1\n",
    "broken_plugin.py": "raise RuntimeError('plugin config missing')\n",
}

SCRIPT = """
import json, sys
import apppkg                      # startup imports, before any TracerProvider
try:
    import broken_plugin
except RuntimeError:
    pass
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)          # the backlog becomes spans here
with trace.get_tracer("app").start_as_current_span("GET /report") as request:
    import lazy_heavy                        # a lazy import inside a request
import importguard
importguard.flush()
records = [{"name": r.name, "start_ns": r.start_ns, "duration_ns": r.duration_ns, "parent_id": r.parent_id,
            "id": r.id, "status": r.status} for r in importguard.records()]
spans = [{"name": s.name, "id": s.context.span_id, "trace": s.context.trace_id,
          "parent": s.parent.span_id if s.parent else None, "start": s.start_time, "end": s.end_time,
          "status": s.status.status_code.name, "description": s.status.description,
          "attributes": dict(s.attributes), "events": [(e.name, dict(e.attributes)) for e in s.events],
          "kind": s.kind.name} for s in exporter.get_finished_spans()]
print(json.dumps({"records": records, "spans": spans, "request": request.get_span_context().span_id}, default=list))
"""


def run(tmp_path: Path, **env: str) -> dict[str, Any]:
    write_tree(tmp_path, APP)
    proc = run_python(SCRIPT, cwd=tmp_path, env=hooked_env(**{"IMPORTGUARD_EXPORTS": "record", **env}))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def test_every_import_is_one_span_with_true_times(tmp_path: Path) -> None:
    data = run(tmp_path)
    records, spans = data["records"], data["spans"]
    by_name = {s["name"]: s for s in spans}
    import_spans = [s for s in spans if s["name"].startswith("import ")]
    # span count = import count, one each, named after spec.name
    assert sorted(s["name"] for s in import_spans) == sorted(f"import {r['name']}" for r in records)
    span_of = {}
    for r in records:
        s = by_name[f"import {r['name']}"]
        span_of[r["id"]] = s
        assert s["kind"] == "INTERNAL"
        assert s["start"] == r["start_ns"] and s["end"] == r["start_ns"] + r["duration_ns"]
        assert s["attributes"]["importguard.module.name"] == r["name"]
    # nested exactly as the imports nested
    for r in records:
        if r["parent_id"] is not None:
            assert span_of[r["id"]]["parent"] == span_of[r["parent_id"]]["id"], r["name"]
    # startup imports hang under one root span per process
    root = by_name["python startup"]
    assert root["parent"] is None and root["attributes"]["process.pid"] > 0
    assert by_name["import apppkg"]["parent"] == root["id"]
    assert by_name["import apppkg.helpers"]["attributes"]["code.file.path"].endswith("helpers.py")
    # the lazy import inside the request belongs to the request's trace
    lazy = by_name["import lazy_heavy"]
    assert lazy["parent"] == data["request"]
    assert lazy["trace"] == by_name["GET /report"]["trace"] != root["trace"]
    assert by_name["import lazy_dep"]["parent"] == lazy["id"]


def test_failures_violations_and_probes(tmp_path: Path) -> None:
    data = run(tmp_path)
    by_name = {s["name"]: s for s in data["spans"]}
    broken = by_name["import broken_plugin"]
    assert broken["status"] == "ERROR" and broken["description"] == "RuntimeError: plugin config missing"
    assert broken["attributes"]["error.type"] == "RuntimeError"
    assert broken["attributes"]["importguard.swallowed"] is True
    assert broken["attributes"]["importguard.routine_probe"] is False
    (event,) = broken["events"]
    assert event[0] == "exception" and event[1]["exception.type"] == "RuntimeError"
    assert 'broken_plugin.py", line 1, in <module>' in event[1]["exception.stacktrace"]
    # As the semantic conventions mean it: the exception left the import span
    # (the statement raised it); what the importer did next is importguard.swallowed.
    assert event[1]["exception.escaped"] is True
    probe = by_name["import optional_accel_xyz"]
    # A routine probe is no error (every startup trace would be red); what it was stays said.
    assert probe["status"] == "UNSET" and probe["attributes"]["importguard.routine_probe"] is True
    assert probe["attributes"]["importguard.status"] == "not_found"
    assert probe["attributes"]["error.type"] == "ModuleNotFoundError"
    assert probe["attributes"]["importguard.swallowed"] is True
    assert [e[0] for e in probe["events"]] == ["exception"]
    pkg = by_name["import apppkg"]
    assert pkg["status"] == "UNSET"
    (violation,) = [e for e in pkg["events"] if e[0] == "importguard.export_violation"]
    assert violation[1]["importguard.missing"] == ["vanished"] and violation[1]["importguard.source"] == "__all__"
    assert by_name["import lazy_dep"]["status"] == "UNSET"


@pytest.mark.parametrize(
    "env",
    [
        {"OTEL_SDK_DISABLED": "true"},
        {"OTEL_PYTHON_DISABLED_INSTRUMENTATIONS": "flask,importguard"},
        {"IMPORTGUARD_OTEL": "0"},
    ],
)
def test_switched_off(tmp_path: Path, env: dict[str, str]) -> None:
    data = run(tmp_path, **env)
    names = [s["name"] for s in data["spans"]]
    if env.get("OTEL_SDK_DISABLED"):
        assert names == []  # the SDK itself records nothing
    else:
        assert names == ["GET /report"]


def test_no_provider_means_no_spans_and_no_opentelemetry(tmp_path: Path) -> None:
    write_tree(tmp_path, APP)
    code = "import apppkg, importguard, sys\nprint(importguard.flush(), 'opentelemetry.sdk' in sys.modules)\n"
    proc = run_python(code, cwd=tmp_path, env=hooked_env(IMPORTGUARD_EXPORTS="record"))
    assert proc.stdout == "0 False\n" and proc.stderr == ""


def test_min_ms_keeps_slow_imports_and_every_failure(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "slowpkg/__init__.py": "import time\ntime.sleep(0.06)\nfrom . import fastmid\n",
            "slowpkg/fastmid.py": "from . import fastleaf\ntry:\n    import slowpkg.broken\nexcept ValueError:\n    pass\n",
            "slowpkg/fastleaf.py": "X = 1\n",
            "slowpkg/broken.py": "raise ValueError('bad')\n",
        },
    )
    code = """
        import json
        import slowpkg
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        spans = {s.name: (s.context.span_id, s.parent.span_id if s.parent else None,
                          s.end_time - s.start_time, s.attributes.get("importguard.status", "?"))
                 for s in exporter.get_finished_spans()}
        print(json.dumps(spans))
    """
    env = hooked_env(IMPORTGUARD_MIN_MS="30")
    proc = run_python(code, cwd=tmp_path, env=env)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    spans = json.loads(proc.stdout)
    assert "import slowpkg" in spans and "import slowpkg.broken" in spans
    assert "import slowpkg.fastmid" not in spans and "import slowpkg.fastleaf" not in spans
    # the failure hangs under its nearest ancestor that was sent
    assert spans["import slowpkg.broken"][1] == spans["import slowpkg"][0]
    for name, (_id, _parent, duration, status) in spans.items():
        if name.startswith("import "):
            assert status != "ok" or duration >= 30_000_000, (name, duration)


def test_include_exclude_select_spans_too(tmp_path: Path) -> None:
    data = run(tmp_path, IMPORTGUARD_EXCLUDE="apppkg.helpers,opentelemetry*")
    names = {s["name"] for s in data["spans"]}
    assert "import apppkg.helpers" not in names and not any(n.startswith("import opentelemetry") for n in names)
    by_name = {s["name"]: s for s in data["spans"]}
    # the probe inside the excluded module hangs under its nearest kept ancestor
    assert by_name["import optional_accel_xyz"]["parent"] == by_name["import apppkg"]["id"]
