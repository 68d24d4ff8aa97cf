"""The production walk-through (docs/production.md) as a test: real Flask under real gunicorn,
started by ``opentelemetry-instrument``, sending to a real OTLP/HTTP receiver.

Checked while the server is still running (nothing waits for exit): a failed
import inside a request arrives during that request, in its trace; one that
turns the request into a 500 is escaped, one the view catches is swallowed; a
routine probe is no error; every request's probe is its own span. Needs the
``prod-test`` extra (Flask, gunicorn, the Flask instrumentation); skipped
without it (CI installs it on one Python).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from conftest import hooked_env, write_tree
from otlp_receiver import Receiver, otlp_receiver

pytest.importorskip("flask")
pytest.importorskip("gunicorn")
pytest.importorskip("opentelemetry.instrumentation.flask")

APP = {
    "shop/__init__.py": """
        from flask import Flask
        app = Flask(__name__)

        @app.get("/probe")
        def probe():
            try:
                import ujson_missing_xyz as fast_json   # an optional accelerator, tried per request
            except ImportError:
                fast_json = None
            return {"fast": fast_json is not None}

        @app.get("/broken")
        def broken():
            import shop_plugins.loyalty                 # raises: Flask turns it into a 500
            return "unreachable"

        @app.get("/caught")
        def caught():
            try:
                import shop_plugins.loyalty
            except KeyError:
                return "served without loyalty points"
            return "with loyalty points"

        @app.get("/report")
        def report():
            import shop_report                          # a lazy import, in the request's trace
            return shop_report.render()
    """,
    "shop_plugins/__init__.py": "",
    "shop_plugins/loyalty.py": "import os\nPOINTS = int(os.environ['SHOP_LOYALTY_POINTS'])\n",
    "shop_report.py": "import fractions\ndef render():\n    return str(fractions.Fraction(1, 3))\n",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def _wait_for(receiver: Receiver, predicate: Any, what: str, timeout: float = 60) -> None:
    """Poll the receiver until *predicate(spans)* holds: a hang guard, not a timing assertion."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with receiver._lock:
            spans = list(receiver.spans)
        if predicate(spans):
            return
        time.sleep(0.1)
    raise AssertionError(f"{what}: not received within {timeout} s")


def test_flask_under_gunicorn_and_opentelemetry_instrument(tmp_path: Path) -> None:
    write_tree(tmp_path, APP)
    bindir = Path(sys.executable).parent
    port = _free_port()
    report = tmp_path / "imports.json"
    with otlp_receiver() as receiver:
        env = hooked_env(
            report,
            OTEL_SERVICE_NAME="shop",
            OTEL_TRACES_EXPORTER="otlp",
            OTEL_METRICS_EXPORTER="none",
            OTEL_LOGS_EXPORTER="none",
            OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=receiver.url,
            OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
            OTEL_BSP_SCHEDULE_DELAY="100",
            PATH=f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}",
        )
        server = subprocess.Popen(
            [
                str(bindir / "opentelemetry-instrument"),
                str(bindir / "gunicorn"),
                "--workers",
                "1",
                "--bind",
                f"127.0.0.1:{port}",
                "shop:app",
            ],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise AssertionError("gunicorn did not start") from None
                    time.sleep(0.1)
            base = f"http://127.0.0.1:{port}"
            statuses = [_get(f"{base}/probe") for _ in range(3)]
            statuses += [_get(f"{base}/broken"), _get(f"{base}/caught"), _get(f"{base}/report")]
            assert statuses == [200, 200, 200, 500, 200, 200]

            def arrived(spans: list[dict[str, Any]]) -> bool:
                names = [s["name"] for s in spans]
                return (
                    names.count("import ujson_missing_xyz") == 3
                    and names.count("import shop_plugins.loyalty") == 2
                    and "import shop_report" in names
                    and names.count("GET /probe") == 3
                )

            # While the server runs: no exit, no flush.
            _wait_for(receiver, arrived, "the request-time import spans")
            with receiver._lock:
                spans = list(receiver.spans)
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.communicate(timeout=60)
            except subprocess.TimeoutExpired:
                server.kill()
                server.communicate()
    by_id = {s["span_id"]: s for s in spans}

    def parent_name(span: dict[str, Any]) -> str:
        return str(by_id[span["parent_span_id"]]["name"]) if span["parent_span_id"] in by_id else "?"

    probes = [s for s in spans if s["name"] == "import ujson_missing_xyz"]
    assert [parent_name(s) for s in probes] == ["GET /probe"] * 3
    assert len({s["trace_id"] for s in probes}) == 3  # each in its own request's trace
    for s in probes:
        assert s["status"] == 0 and s["attributes"]["importguard.routine_probe"] is True  # UNSET: routine
        assert s["attributes"]["importguard.swallowed"] is True
    loyalty = {parent_name(s): s for s in spans if s["name"] == "import shop_plugins.loyalty"}
    assert set(loyalty) == {"GET /broken", "GET /caught"}
    assert loyalty["GET /broken"]["attributes"]["importguard.swallowed"] is False  # the request failed with it
    assert loyalty["GET /caught"]["attributes"]["importguard.swallowed"] is True  # the view went on
    for s in loyalty.values():
        assert s["status"] == 2 and s["attributes"]["error.type"] == "KeyError"  # ERROR: a failure that matters
    assert by_id[loyalty["GET /broken"]["parent_span_id"]]["status"] == 2
    lazy = [s for s in spans if s["name"] == "import shop_report"][0]
    assert parent_name(lazy) == "GET /report" and lazy["resource"]["service.name"] == "shop"
    assert any(s["name"] == "import fractions" and s["parent_span_id"] == lazy["span_id"] for s in spans)
    # The worker's report: the probe made per request is one record with a count.
    workers = [json.loads(p.read_text()) for p in tmp_path.glob("imports.*.json")]
    probe_records = [r for w in workers for r in w["imports"] if r["name"] == "ujson_missing_xyz"]
    assert len(probe_records) == 1 and probe_records[0]["repeats"]["count"] == 3, probe_records
