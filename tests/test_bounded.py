"""A long-running process: memory stays bounded, nothing that matters is lost."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from conftest import ROOT, clean_env, hooked_env, run_python, write_tree

SCHEMA = json.loads((ROOT / "importguard" / "report.schema.json").read_text())


def test_folding_keeps_failures_violations_and_totals(tmp_path: Path) -> None:
    files = {f"lazy{i}.py": "X = 1\n" for i in range(600)}
    files["violator.py"] = "__all__ = ['gone']\n"
    write_tree(tmp_path, files)
    code = """
        import importlib, sys, json
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        import violator
        # Days of lazy imports: each one at run time, as its own outermost import,
        # some repeatedly (a plugin reloaded), some failing (an optional dependency).
        for round in range(2):
            for i in range(600):
                sys.modules.pop(f"lazy{i}", None)
                importlib.import_module(f"lazy{i}")
                if i % 100 == 0:
                    try:
                        importlib.import_module(f"optional_missing_{round}_{i}")
                    except ImportError:
                        pass
        from importguard import _records
        print(len(_records.buffer))
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        spans = exporter.get_finished_spans()
        folded = [s for s in spans if s.name == "importguard folded imports"]
        counted = sum(e.attributes["importguard.count"] for s in folded for e in s.events
                      if e.attributes["importguard.module.name"].startswith("lazy"))
        lazy_spans = len([s for s in spans if s.name.startswith("import lazy")])
        print(json.dumps({"folded_in_spans": counted, "lazy_spans": lazy_spans}))
    """
    env = hooked_env(
        IMPORTGUARD_MAX_RECORDS="200", IMPORTGUARD_REPORT=str(tmp_path / "r.json"), IMPORTGUARD_EXPORTS="record"
    )
    proc = run_python(code, cwd=tmp_path, env=env)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    in_memory, spans_line = proc.stdout.splitlines()
    assert int(in_memory) <= 200 + 12  # the bound, plus what a fold never drops
    report = json.loads((tmp_path / "r.json").read_text())
    jsonschema.validate(report, SCHEMA)
    lazy_records = [r for r in report["imports"] if r["name"].startswith("lazy")]
    lazy_folded = sum(f["count"] for f in report["folded"] if f["name"].startswith("lazy"))
    assert len(lazy_records) + lazy_folded == 1200  # every import accounted for
    assert report["folded_records"] >= lazy_folded > 0
    # failures and violations are never folded
    assert len([r for r in report["imports"] if r["name"].startswith("optional_missing_")]) == 12
    assert [v["module"] for v in report["violations"] if v["source"] == "__all__"] == ["violator"]
    assert any(r["name"] == "violator" for r in report["imports"])
    # and the folded totals still reach OpenTelemetry
    sent = json.loads(spans_line)
    assert sent["folded_in_spans"] + sent["lazy_spans"] == 1200


def test_records_are_let_go_after_the_final_report(tmp_path: Path) -> None:
    # The interpreter's exit-time collection walks every object still alive;
    # once the final report is written the records are of no more use, and
    # holding them made that walk cost ~1,100 instructions per import.
    write_tree(tmp_path, {f"mod{i}.py": "X = 1\n" for i in range(50)})
    code = """
        import atexit, importlib

        def after_importguard():  # registered first: runs after importguard's own handler
            from importguard import _records
            print(len(_records.buffer), len(_records.loaded))

        atexit.register(after_importguard)
        import importguard
        importguard.install(report="r.json", summary=False)
        for i in range(50):
            importlib.import_module(f"mod{i}")
        from importguard import _records
        print(len(_records.buffer) >= 50)
    """
    proc = run_python(code, cwd=tmp_path, env=clean_env())
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    assert proc.stdout.split() == ["True", "0", "0"]
    report = json.loads((tmp_path / "r.json").read_text())
    assert sorted(r["name"] for r in report["imports"] if r["name"].startswith("mod")) == sorted(
        f"mod{i}" for i in range(50)
    )
