"""The OpenTelemetry side failing: exporters that raise or are slow, a provider that raises; redaction."""

from __future__ import annotations

import json
from pathlib import Path
from subprocess import CompletedProcess

from conftest import clean_env, hooked_env, run_python, write_tree

SETUP = """
import sys
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import {processor}, SpanExporter, SpanExportResult
import time
class Exporter(SpanExporter):
    def export(self, spans):
        {export_body}
    def shutdown(self):
        pass
provider = TracerProvider()
provider.add_span_processor({processor}(Exporter()))
trace.set_tracer_provider(provider)
import json, lazymod
print("app done", lazymod.V)
sys.exit(5)
"""


def _both(tmp_path: Path, code: str, **env: str) -> tuple[CompletedProcess[str], CompletedProcess[str]]:
    write_tree(tmp_path, {"lazymod.py": "V = 7\n"})
    plain = run_python(code, cwd=tmp_path, env=clean_env(**env))
    hooked = run_python(code, cwd=tmp_path, env=hooked_env(**env))
    return plain, hooked


def test_exporter_that_raises(tmp_path: Path) -> None:
    code = SETUP.format(processor="SimpleSpanProcessor", export_body="raise RuntimeError('collector down')")
    plain, hooked = _both(tmp_path, code)
    assert (hooked.returncode, hooked.stdout) == (plain.returncode, plain.stdout) == (5, "app done 7\n")
    # The SDK logs exporter failures itself; importguard adds nothing and raises nothing.
    assert "importguard" not in hooked.stderr and "Traceback (most recent call last)" not in plain.stdout


def test_slow_exporter_does_not_hang_exit(tmp_path: Path) -> None:
    code = SETUP.format(
        processor="BatchSpanProcessor", export_body="time.sleep(0.3)\n        return SpanExportResult.SUCCESS"
    )
    plain, hooked = _both(tmp_path, code)
    assert (hooked.returncode, hooked.stdout, hooked.stderr) == (plain.returncode, plain.stdout, plain.stderr)


def test_provider_that_raises(tmp_path: Path) -> None:
    code = """
        import sys
        from opentelemetry import trace
        class Broken(trace.TracerProvider):
            def get_tracer(self, *args, **kwargs):
                raise RuntimeError("provider bug")
        trace.set_tracer_provider(Broken())
        import json
        print("still running")
    """
    plain, hooked = _both(tmp_path, code)
    assert (hooked.returncode, hooked.stdout) == (plain.returncode, plain.stdout) == (0, "still running\n")
    lines = hooked.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        "importguard: OpenTelemetry export raised RuntimeError: provider bug"
    )


def test_redaction_keeps_secrets_out_of_reports_and_spans(tmp_path: Path) -> None:
    write_tree(tmp_path, {"leaky.py": "raise ValueError('password=hunter2')\n"})
    code = """
        import json
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        try:
            import leaky
        except ValueError:
            pass
        import importguard
        importguard.flush()
        print(json.dumps([{"status": s.status.description, "events": [dict(e.attributes) for e in s.events]}
                          for s in exporter.get_finished_spans() if s.name == "import leaky"]))
    """
    report = tmp_path / "r.json"
    proc = run_python(code, cwd=tmp_path, env=hooked_env(IMPORTGUARD_REDACT="1", IMPORTGUARD_REPORT=str(report)))
    assert proc.returncode == 0, proc.stderr
    assert "hunter2" not in proc.stdout and "hunter2" not in report.read_text()
    (span,) = json.loads(proc.stdout)
    assert span["status"] == "ValueError: <redacted>"
    (leaky,) = [r for r in json.loads(report.read_text())["imports"] if r["name"] == "leaky"]
    assert leaky["error"]["message"] == "<redacted>" and 'leaky.py", line 1' in leaky["error"]["traceback"]


def test_reports_never_carry_environment_or_arguments(tmp_path: Path) -> None:
    report = tmp_path / "r.json"
    proc = run_python(
        "import sys, json, csv\n",
        cwd=tmp_path,
        args=[],
        env=hooked_env(IMPORTGUARD_REPORT=str(report), API_TOKEN="s3cr3t-env-value"),
    )
    assert proc.returncode == 0
    import subprocess
    import sys as _sys

    subprocess.run(
        [_sys.executable, "-c", "import csv", "--token=s3cr3t-arg-value"],
        cwd=tmp_path,
        check=True,
        env=hooked_env(IMPORTGUARD_REPORT=str(tmp_path / "a.json")),
    )
    for path in (report, tmp_path / "a.json"):
        text = path.read_text()
        assert "s3cr3t" not in text and "API_TOKEN" not in text
