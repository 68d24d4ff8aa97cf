"""An OpenTelemetry exporter that hangs for ever: importguard never makes the program wait for it.

Where importguard calls into the SDK synchronously: ``span.end()`` when it
emits (in ``set_tracer_provider`` for the backlog, in the importing thread when
its outermost import finishes, at exit), and ``run --otlp``'s own exporter at
exit. It no longer calls ``force_flush`` at exit: the SDK's
``BatchSpanProcessor.force_flush`` ignores its timeout (1.45) and waits for the
export in progress, so a hung exporter hung the exit of a program that exits
fine without importguard.

With a SimpleSpanProcessor, ``span.end()`` *is* the export, in the calling
thread: a hung exporter hangs whatever thread ends a span next, the program's
spans and importguard's alike (documented in docs/opentelemetry.md). What importguard
guarantees and is tested here: a thread stuck in an export inside importguard's
emission holds up neither the other threads' imports nor the exit.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

from conftest import clean_env, hooked_env, with_override, write_tree
from rel_helpers import importguard_lines, plain_and_hooked_at_once

HANGING_BATCH = """
    import sys, threading
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

    entered = threading.Event()

    class Hanging(SpanExporter):
        # A collector that accepted the connection and went silent, and no timeout.
        def export(self, spans):
            entered.set()
            threading.Event().wait()

        def shutdown(self):
            pass

    provider = TracerProvider(shutdown_on_exit={shutdown})
    provider.add_span_processor(BatchSpanProcessor(Hanging(), schedule_delay_millis=10))
    trace.set_tracer_provider(provider)
    with trace.get_tracer("app").start_as_current_span("app work"):
        import lazymod
    print("exporter stuck:", entered.wait(60), flush=True)
    import json, csv  # imported while the exporter hangs: live emission must not wait for it
    print("app done", lazymod.V)
    sys.exit(5)
"""


def test_batch_exporter_hanging_for_ever_program_opted_out_of_the_exit_flush(tmp_path: Path) -> None:
    # shutdown_on_exit=False: plain exits at once (the worker thread is a daemon).
    # importguard's flush at exit used to wait for the hung export for ever.
    write_tree(tmp_path, {"lazymod.py": "V = 7\n"})
    plain, hooked = plain_and_hooked_at_once(HANGING_BATCH.format(shutdown=False), tmp_path, timeout=90)
    assert (plain.returncode, plain.stdout) == (5, "exporter stuck: True\napp done 7\n"), plain.stderr
    assert (hooked.returncode, hooked.stdout, hooked.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    assert hooked.report is not None and hooked.report["internal_errors"] == []


def test_batch_exporter_hanging_for_ever_default_exit_flush(tmp_path: Path) -> None:
    # The default: the SDK's own exit handler gives up on the worker after 30 s, and
    # the program exits then. Hooked, it must exit then too (it used to hang for ever).
    write_tree(tmp_path, {"lazymod.py": "V = 7\n"})
    plain, hooked = plain_and_hooked_at_once(HANGING_BATCH.format(shutdown=True), tmp_path, timeout=110)
    assert (plain.returncode, plain.stdout) == (5, "exporter stuck: True\napp done 7\n"), plain.stderr
    assert (hooked.returncode, hooked.stdout, hooked.stderr) == (plain.returncode, plain.stdout, plain.stderr)


STUCK_SIMPLE = """
    import sys, threading
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

    dead = threading.Event()

    class DiesOnce(SpanExporter):
        # Fine until the worker thread exports (its connection is dead); from then on
        # every export, from any thread, hangs for ever.
        def export(self, spans):
            if threading.current_thread().name == "worker":
                dead.set()
            if dead.is_set():
                threading.Event().wait()
            return SpanExportResult.SUCCESS

        def shutdown(self):
            pass

    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(DiesOnce()))
    trace.set_tracer_provider(provider)

    def work():
        import worker_mod  # hooked: its span ends here, and the export hangs
        with trace.get_tracer("app").start_as_current_span("work"):
            pass  # plain: the program's own span ends here, and the export hangs

    threading.Thread(target=work, name="worker", daemon=True).start()
    print("worker stuck:", dead.wait(60), flush=True)
    import json, csv  # the main thread's imports end spans too: they must not wait for the worker
    print("main done")
    sys.exit(4)
"""


def test_simple_processor_a_thread_stuck_in_a_hung_export_holds_up_nobody_else(tmp_path: Path) -> None:
    write_tree(tmp_path, {"worker_mod.py": "W = 1\n"})
    plain, hooked = plain_and_hooked_at_once(STUCK_SIMPLE, tmp_path, timeout=90)
    assert (plain.returncode, plain.stdout) == (4, "worker stuck: True\nmain done\n"), plain.stderr
    assert (hooked.returncode, hooked.stdout, hooked.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    # The report is written (at exit, by the main thread) and has the main thread's imports.
    assert hooked.report is not None
    assert {"json", "csv", "worker_mod"} <= {r["name"] for r in hooked.report["imports"]}


class _BlackHole:
    """A TCP server that accepts connections and never answers (an OTLP collector gone silent)."""

    def __init__(self) -> None:
        self.server = socket.socket()
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(64)
        self.port = self.server.getsockname()[1]
        self.accepted: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        self.server.close()
        for conn in self.accepted:
            conn.close()


def _run_app_with_otlp(tmp_path: Path, port: int) -> subprocess.CompletedProcess[str]:
    """``importguard run --otlp`` on ``app.py`` in *tmp_path*, exporting to 127.0.0.1:*port*."""
    command = [sys.executable, "-m", "importguard", "run", "--no-summary", "--otlp", f"http://127.0.0.1:{port}"]
    return subprocess.run(
        [*command, "--", sys.executable, "app.py"],
        cwd=tmp_path,
        env=with_override(clean_env()),
        capture_output=True,
        text=True,
        timeout=100,
    )


def test_run_otlp_to_a_collector_that_never_answers(tmp_path: Path) -> None:
    # 600 imports: two batches of spans. Each export waits the exporter's 5 s
    # timeout; after the first fails, importguard stops (it used to try every batch).
    files = {"many/__init__.py": ""}
    files.update({f"many/m{i}.py": "" for i in range(600)})
    write_tree(tmp_path, files)
    (tmp_path / "app.py").write_text(
        "import importlib\nfor i in range(600):\n    importlib.import_module(f'many.m{i}')\n"
        "print('app done')\nraise SystemExit(3)\n"
    )
    hole = _BlackHole()
    try:
        plain = subprocess.run(
            [sys.executable, "app.py"], cwd=tmp_path, env=clean_env(), capture_output=True, text=True, timeout=60
        )
        hooked = _run_app_with_otlp(tmp_path, hole.port)
        connections = len(hole.accepted)
    finally:
        hole.close()
    assert (plain.returncode, plain.stdout) == (3, "app done\n")
    assert (hooked.returncode, hooked.stdout) == (plain.returncode, plain.stdout)
    # One connection to see the collector is there (a refused one fails at once), one export.
    assert connections == 2, f"{connections} connections to a collector that never answers"
    lines = importguard_lines(hooked.stderr)
    assert len(lines) == 1 and "spans were not sent" in lines[0], hooked.stderr
    # importguard's line is all that is said: the exporter's own log lines are silenced.
    assert hooked.stderr.splitlines() == lines


def test_run_otlp_to_nothing_listening(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    (tmp_path / "app.py").write_text("import json\nprint('app done')\n")
    hooked = _run_app_with_otlp(tmp_path, port)
    assert (hooked.returncode, hooked.stdout) == (0, "app done\n")
    lines = importguard_lines(hooked.stderr)
    assert len(lines) == 1 and "spans were not sent" in lines[0], hooked.stderr
    # Not the exporter's retry lines ("Transient error ... retrying in 1.00s"): one line, ours.
    assert hooked.stderr.splitlines() == lines
    assert "(Connection refused)" in lines[0]


def test_instrument_with_a_silent_collector_waits_one_timeout_per_batch(tmp_path: Path) -> None:
    # A program with no spans of its own exits at once, plain, whatever the collector does;
    # hooked it has import spans queued, and the SDK's exit waits for them. The documented
    # bound: one export timeout per batch of 512 spans (here 1 s each), no retry loop, no
    # flush of importguard's own. Counted in export attempts, not timed.
    import json
    import math

    (tmp_path / "app.py").write_text("import json, email.mime.text\nprint('app done')\n")
    bindir = Path(sys.executable).parent
    hole = _BlackHole()
    try:

        def run_one(hooked: bool) -> tuple[subprocess.CompletedProcess[str], int]:
            before = len(hole.accepted)
            otel = dict(
                OTEL_TRACES_EXPORTER="otlp",
                OTEL_METRICS_EXPORTER="none",
                OTEL_LOGS_EXPORTER="none",
                OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=f"http://127.0.0.1:{hole.port}/v1/traces",
                OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
                OTEL_EXPORTER_OTLP_TIMEOUT="1",
                PATH=f"{bindir}:{os.environ.get('PATH', '')}",
            )
            env = hooked_env(tmp_path / "r.json", **otel) if hooked else with_override(clean_env(**otel))
            proc = subprocess.run(
                [str(bindir / "opentelemetry-instrument"), sys.executable, "app.py"],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=100,
            )
            return proc, len(hole.accepted) - before

        plain, plain_attempts = run_one(False)
        hooked, hooked_attempts = run_one(True)
    finally:
        hole.close()
    assert (plain.returncode, plain.stdout) == (hooked.returncode, hooked.stdout) == (0, "app done\n")
    assert plain_attempts == 0
    # opentelemetry-instrument execs the program: its own image writes r.json first,
    # the program's (same pid) r.<pid>.json. The program's spans are the ones exported.
    reports = [json.loads(p.read_text()) for p in tmp_path.glob("r*.json")]
    (app,) = [r for r in reports if any(i["name"] == "email.mime.text" for i in r["imports"])]
    spans = len(app["imports"]) + 1  # and the process root
    assert 1 <= hooked_attempts <= math.ceil(spans / 512), (hooked_attempts, spans)
