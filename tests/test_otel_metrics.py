"""A fleet view: import durations and failures as OpenTelemetry metrics (IMPORTGUARD_METRICS=1),
read with the SDK's in-memory metric reader and over OTLP/HTTP by a real receiver."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from conftest import hooked_env, run_python, write_tree
from otlp_receiver import otlp_receiver

FILES = {
    "slowpkg/__init__.py": "import time\ntime.sleep(0.06)\nfrom . import fast\n",
    "slowpkg/fast.py": "X = 1\n",
    "lazy_mod.py": "Y = 2\n",
}

PROGRAM = """
import json, os
import slowpkg                                  # startup, before any provider
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
reader = InMemoryMetricReader()
metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
trace.set_tracer_provider(provider)
tracer = trace.get_tracer("app")
for i in range(5):
    with tracer.start_as_current_span("GET /"):
        try:
            import ujson_missing_xyz            # a probe per request
        except ImportError:
            pass
with tracer.start_as_current_span("GET /lazy"):
    import lazy_mod
import importguard
importguard.flush()
points = {}
for rm in getattr(reader.get_metrics_data(), "resource_metrics", ()):  # None: nothing recorded
    for sm in rm.scope_metrics:
        if sm.scope.name != "importguard":
            continue
        for m in sm.metrics:
            points[m.name] = {"unit": m.unit, "points": [
                {"attributes": dict(p.attributes), "count": getattr(p, "count", None),
                 "sum": getattr(p, "sum", None) if hasattr(p, "count") else p.value,
                 "max": getattr(p, "max", None)} for p in m.data.data_points]}
print(json.dumps(points))
"""


def _metrics(tmp_path: Path, **env: str) -> dict[str, Any]:
    write_tree(tmp_path, FILES)
    proc = run_python(PROGRAM, cwd=tmp_path, env=hooked_env(**env))
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    return json.loads(proc.stdout)  # type: ignore[no-any-return]


def test_durations_and_failures_with_bounded_attributes(tmp_path: Path) -> None:
    data = _metrics(tmp_path, IMPORTGUARD_METRICS="1")
    duration = data["importguard.import.duration"]
    assert duration["unit"] == "s"
    points = duration["points"]

    def count(package: str, status: str, phase: str) -> int:
        return sum(
            p["count"]
            for p in points
            if (
                p["attributes"]["importguard.package"],
                p["attributes"]["importguard.status"],
                p["attributes"]["importguard.phase"],
            )
            == (package, status, phase)
        )

    # the slow import (sleeps 60 ms) carries its module name; fast ones only their top-level package
    (slow,) = [p for p in points if p["attributes"].get("importguard.module.name") == "slowpkg"]
    assert slow["count"] == 1 and slow["sum"] >= 0.06
    assert slow["attributes"]["importguard.phase"] == "startup"
    assert count("slowpkg", "ok", "startup") == 2  # slowpkg and slowpkg.fast
    assert count("lazy_mod", "ok", "runtime") == 1  # inside a request
    assert count("ujson_missing_xyz", "not_found", "runtime") == 5
    # only bounded attributes: no thread, no file, no pid
    for p in points:
        assert set(p["attributes"]) <= {
            "importguard.package",
            "importguard.status",
            "importguard.phase",
            "importguard.module.name",
        }
    failures = data["importguard.import.failures"]
    assert failures["unit"] == "{failure}"
    counts = {
        (p["attributes"]["importguard.package"], p["attributes"]["importguard.status"]): p["sum"]
        for p in failures["points"]
    }
    assert counts[("ujson_missing_xyz", "not_found")] == 5  # every occurrence, repeats merged in the report


def test_off_by_default(tmp_path: Path) -> None:
    assert _metrics(tmp_path) == {}


def test_cardinality_is_capped(tmp_path: Path) -> None:
    files = {f"pkg{i}.py": "" for i in range(250)}
    write_tree(tmp_path, {**FILES, **files})
    program = PROGRAM.replace(
        "import slowpkg                                  # startup, before any provider",
        "import slowpkg\nfor i in range(250):\n    __import__(f'pkg{i}')",
    )
    proc = run_python(program, cwd=tmp_path, env=hooked_env(IMPORTGUARD_METRICS="1"))
    assert proc.returncode == 0, proc.stderr
    points = json.loads(proc.stdout)["importguard.import.duration"]["points"]
    packages = {p["attributes"]["importguard.package"] for p in points}
    assert len(packages) <= 201 and "_other" in packages  # 200 packages, then one bucket for the rest
    assert (
        sum(p["count"] for p in points if p["attributes"]["importguard.package"].startswith("pkg"))
        + sum(p["count"] for p in points if p["attributes"]["importguard.package"] == "_other")
        >= 250
    )


def test_metrics_reach_a_real_receiver(tmp_path: Path) -> None:
    write_tree(tmp_path, FILES)
    program = """
import os
import slowpkg
from opentelemetry import metrics, trace
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
resource = Resource.create({"service.name": "shop", "service.version": "1.2.3"})
metrics.set_meter_provider(MeterProvider(resource=resource, metric_readers=[
    PeriodicExportingMetricReader(OTLPMetricExporter(endpoint=os.environ["BASE"] + "/v1/metrics"))]))
provider = TracerProvider(resource=resource)
provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=os.environ["BASE"] + "/v1/traces")))
trace.set_tracer_provider(provider)
try:
    import ujson_missing_xyz
except ImportError:
    pass
print("served")
"""
    with otlp_receiver() as receiver:
        base = receiver.url.rsplit("/v1/", 1)[0]
        env = hooked_env(IMPORTGUARD_METRICS="1", BASE=base)
        proc = subprocess.run(
            [sys.executable, "-c", program], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )
    assert proc.returncode == 0 and proc.stdout == "served\n" and proc.stderr == "", proc.stderr
    by_name = {m["name"]: m for m in receiver.metrics if m["scope"] == "importguard"}
    duration = by_name["importguard.import.duration"]
    assert duration["unit"] == "s" and duration["resource"]["service.version"] == "1.2.3"
    assert any(p["attributes"].get("importguard.module.name") == "slowpkg" for p in duration["points"])
    failures = by_name["importguard.import.failures"]
    assert {tuple(sorted(p["attributes"].items())): p["value"] for p in failures["points"]}[
        (("importguard.package", "ujson_missing_xyz"), ("importguard.status", "not_found"))
    ] == 1
