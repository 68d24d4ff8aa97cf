"""A real OTLP/HTTP receiver on 127.0.0.1, for the end-to-end tests.

Decodes ``ExportTraceServiceRequest`` (``/v1/traces``) and
``ExportMetricsServiceRequest`` (``/v1/metrics``) with ``opentelemetry-proto``,
as a collector would, and keeps the spans and metric points it received.
"""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)


def _value(v: Any) -> Any:
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [_value(x) for x in v.array_value.values]
    return getattr(v, kind) if kind else None


class Receiver:
    """Spans and metrics received so far, as dicts; ``url`` is the traces endpoint
    (the metrics one is the same with ``/v1/metrics``)."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        self.metrics: list[dict[str, Any]] = []
        self.requests = 0
        self.url = ""
        self._lock = threading.Lock()

    def add(self, body: bytes) -> None:
        request = ExportTraceServiceRequest.FromString(body)
        with self._lock:
            self.requests += 1
            for resource_spans in request.resource_spans:
                resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        self.spans.append(
                            {
                                "name": span.name,
                                "trace_id": span.trace_id.hex(),
                                "span_id": span.span_id.hex(),
                                "parent_span_id": span.parent_span_id.hex() or None,
                                "start": span.start_time_unix_nano,
                                "end": span.end_time_unix_nano,
                                "status": span.status.code,
                                "attributes": {a.key: _value(a.value) for a in span.attributes},
                                "events": [e.name for e in span.events],
                                "resource": resource,
                                "scope": scope_spans.scope.name,
                            }
                        )

    def add_metrics(self, body: bytes) -> None:
        """One entry per metric per export: name, unit, scope, resource, and its points
        (attributes with ``value`` for sums and gauges, ``count``/``sum`` for histograms)."""
        request = ExportMetricsServiceRequest.FromString(body)
        with self._lock:
            self.requests += 1
            for resource_metrics in request.resource_metrics:
                resource = {a.key: _value(a.value) for a in resource_metrics.resource.attributes}
                for scope_metrics in resource_metrics.scope_metrics:
                    for metric in scope_metrics.metrics:
                        kind = metric.WhichOneof("data")
                        points = []
                        for p in getattr(metric, kind).data_points:
                            point: dict[str, Any] = {"attributes": {a.key: _value(a.value) for a in p.attributes}}
                            if kind == "histogram":
                                point.update(count=p.count, sum=p.sum)
                            else:
                                point["value"] = p.as_int if p.WhichOneof("value") == "as_int" else p.as_double
                            points.append(point)
                        self.metrics.append(
                            {
                                "name": metric.name,
                                "unit": metric.unit,
                                "kind": kind,
                                "scope": scope_metrics.scope.name,
                                "resource": resource,
                                "points": points,
                            }
                        )


@contextmanager
def otlp_receiver() -> Iterator[Receiver]:
    """Run a receiver on 127.0.0.1 (a free port) for the duration of the block."""
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            if self.path.endswith("/v1/metrics"):
                receiver.add_metrics(body)
                reply = ExportMetricsServiceResponse().SerializeToString()
            else:
                receiver.add(body)
                reply = ExportTraceServiceResponse().SerializeToString()
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/v1/traces"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
