"""End to end: spans over real OTLP/HTTP to a real receiver on 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from conftest import hooked_env, write_tree
from otlp_receiver import otlp_receiver

APP = {
    "app/__init__.py": "import json\nfrom . import models\n",
    "app/models.py": "try:\n    import fast_orm_xyz\nexcept ImportError:\n    pass\nclass User: ...\n",
    "lazyreq.py": "import fractions\n",
    "app/__main__.py": """
        import app                  # startup: before any SDK exists
        import os
        if os.environ.get("CONFIGURE_SDK"):
            from opentelemetry import trace
            from opentelemetry.sdk.resources import Resource
            from opentelemetry.sdk.trace import TracerProvider
            from opentelemetry.sdk.trace.export import BatchSpanProcessor
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            provider = TracerProvider(resource=Resource.create({"service.name": "shop"}))
            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=os.environ["ENDPOINT"])))
            trace.set_tracer_provider(provider)
        from opentelemetry import trace
        with trace.get_tracer("app").start_as_current_span("handle request"):
            import lazyreq          # a lazy import inside the request (nothing else imports it)
        print("served")
    """,
}


def _names(spans: list[dict[str, Any]]) -> set[str]:
    return {s["name"] for s in spans}


def test_spans_from_before_the_sdk_reach_a_real_receiver(tmp_path: Path) -> None:
    write_tree(tmp_path, APP)
    with otlp_receiver() as receiver:
        env = hooked_env(CONFIGURE_SDK="1", ENDPOINT=receiver.url)
        proc = subprocess.run(
            [sys.executable, "-m", "app"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
        )
    assert proc.returncode == 0 and proc.stdout == "served\n", proc.stderr
    assert proc.stderr == ""
    spans = receiver.spans
    by_name = {s["name"]: s for s in spans}
    # imports made before the SDK was configured arrived, with the service's resource
    assert {"import app", "import app.models", "import json", "import fast_orm_xyz", "python startup"} <= _names(spans)
    assert by_name["import app"]["resource"]["service.name"] == "shop"
    assert by_name["import app"]["scope"] == "importguard"
    assert by_name["import app.models"]["parent_span_id"] == by_name["import app"]["span_id"]
    assert by_name["import app"]["parent_span_id"] == by_name["python startup"]["span_id"]
    probe = by_name["import fast_orm_xyz"]
    assert probe["status"] == 0 and probe["attributes"]["importguard.routine_probe"] is True  # UNSET: routine
    assert "exception" in probe["events"]
    assert by_name["import lazyreq"]["parent_span_id"] == by_name["handle request"]["span_id"]
    # every span exactly once
    assert len([s for s in spans if s["name"] == "import app"]) == 1


def test_under_opentelemetry_instrument(tmp_path: Path) -> None:
    write_tree(tmp_path, APP)
    bindir = Path(sys.executable).parent
    instrument = bindir / "opentelemetry-instrument"
    report = tmp_path / "report.json"
    with otlp_receiver() as receiver:
        env = hooked_env(
            report,
            OTEL_SERVICE_NAME="shop-auto",
            OTEL_TRACES_EXPORTER="otlp",
            OTEL_METRICS_EXPORTER="none",
            OTEL_LOGS_EXPORTER="none",
            OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=receiver.url,
            OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
            PATH=f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
        )
        proc = subprocess.run(
            [str(instrument), sys.executable, "-m", "app"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=90,
        )
    assert proc.returncode == 0 and proc.stdout == "served\n", proc.stderr
    spans = receiver.spans
    by_name = {s["name"]: s for s in spans}
    # The auto-instrumentation runs inside `import sitecustomize`: everything the
    # interpreter imported before the SDK existed is there, and sitecustomize's
    # own span, still in progress when the backlog was sent, ended correctly.
    assert {"import sitecustomize", "import app", "import app.models", "import lazyreq"} <= _names(spans)
    site = by_name["import sitecustomize"]
    assert site["end"] > site["start"] and site["status"] == 0
    assert by_name["import app"]["resource"]["service.name"] == "shop-auto"
    assert by_name["import lazyreq"]["parent_span_id"] == by_name["handle request"]["span_id"]
    assert len([s for s in spans if s["name"] == "import sitecustomize"]) == 1
    # opentelemetry-instrument sets the provider, then adds its span processor: the
    # backlog must wait for it (it used to be replayed into no processor and lost).
    # The process root and every import made before the SDK existed arrive, once.
    assert [s["name"] for s in spans].count("python startup") == 1
    assert site["parent_span_id"] == by_name["python startup"]["span_id"]
    assert "import opentelemetry.sdk.trace" in _names(spans)  # imported by the distro, before any provider
    ids = {s["span_id"] for s in spans}
    assert [s["name"] for s in spans if s["parent_span_id"] and s["parent_span_id"] not in ids] == []
    # Every record is a span, but those the exporter's own thread made while sending
    # at shutdown (after the last emission: the SDK accepts no span then).
    # opentelemetry-instrument execs the program: the launcher's image wrote
    # report.json (and handed what spans it had to its exporter before the exec);
    # the program's image (same pid) wrote report.<pid>.json. Every record of the
    # program is a span, but those the exporter's own thread made while sending at
    # shutdown (after the last emission: the SDK accepts no span then); any other
    # span is one of those, or the launcher's.
    from collections import Counter

    reports = [json.loads(p.read_text())["imports"] for p in tmp_path.glob("report*.json")]
    (program,) = [recs for recs in reports if any(r["name"] == "app" for r in recs)]
    launcher = [r for recs in reports if recs is not program for r in recs]
    late = [r for r in program if r["thread_name"] == "OtelBatchSpanRecordProcessor"]
    got = Counter(s["name"] for s in spans if s["name"].startswith("import "))
    expected = Counter(f"import {r['name']}" for r in program if r["status"] != "incomplete" and r not in late)
    assert expected - got == Counter()
    assert set(got - expected) <= {f"import {r['name']}" for r in late + launcher}


def test_finish_sends_everything_before_an_exit_that_skips_atexit(tmp_path: Path) -> None:
    # What a SIGTERM handler or an exec wrapper calls (issue #11's lifecycle work): every
    # open import span ended and exported within the bound, here just before SIGKILL.
    write_tree(tmp_path, {"lazyreq.py": "import fractions\n"})
    program = """
import os, signal
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
provider = TracerProvider()
# a batch processor that would not export by itself for a minute
provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=os.environ["ENDPOINT"]),
                                               schedule_delay_millis=60_000))
trace.set_tracer_provider(provider)
with trace.get_tracer("app").start_as_current_span("handle request"):
    import lazyreq
try:
    import optional_missing_xyz          # outside any span: still open until the next emission
except ImportError:
    pass
from importguard import _otel
print(_otel.finish(10) > 0, flush=True)
os.kill(os.getpid(), signal.SIGKILL)     # no atexit, no SDK shutdown
"""
    with otlp_receiver() as receiver:
        env = hooked_env(ENDPOINT=receiver.url)
        proc = subprocess.run(
            [sys.executable, "-c", program], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )
    assert proc.stdout == "True\n" and proc.returncode == -9, proc.stderr
    names = _names(receiver.spans)
    assert {
        "import lazyreq",
        "import fractions",
        "import optional_missing_xyz",
        "python startup",
        "handle request",
    } <= names
    probe = [s for s in receiver.spans if s["name"] == "import optional_missing_xyz"][0]
    assert probe["attributes"]["importguard.swallowed"] is True and probe["status"] == 0
