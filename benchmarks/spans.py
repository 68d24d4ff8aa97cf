"""What importguard adds on top of the OpenTelemetry SDK's own cost per span.

    IMPORTGUARD=1 IMPORTGUARD_SUMMARY=0 .venv/bin/python benchmarks/spans.py [--modules 500] [--rounds 15]

Imports a synthetic tree of N modules with the hook on (so there are N real
records), sets up the SDK with a BatchSpanProcessor to an in-memory exporter,
and then, alternating in each round:

* **sdk**: the SDK alone: one ``start_span``/``end`` per record, with the
  record's start and end times, its parent's context, and as many attributes of
  the same types as importguard sets: the floor any bridge pays for the same
  spans;
* **importguard**: ``_otel.emit()`` replaying the same records as spans
  (parents, attributes, status, events): what the bridge really does.

Reported: the median per-span time of each, and the median of the per-round
ratios importguard / sdk. CPU time (``time.process_time_ns``), so the batch
processor's export thread counts too. No assertions: a measurement.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import synthetic  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modules", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--json", metavar="PATH", help="also write the numbers as JSON ('-': a last line on stdout)")
    args = parser.parse_args()

    from importguard import _hook, _otel, _records

    if not _hook.installed():
        sys.exit("run with IMPORTGUARD=1 (the hook must record the tree's imports)")
    work = tempfile.mkdtemp(prefix="ig-spans-")
    synthetic.write_tree(work, args.modules)
    sys.path.insert(0, work)
    __import__("synth_entry")
    records = [r for r in _records.buffer if r[_records.NAME].startswith("synth")]

    from opentelemetry import trace
    from opentelemetry.context import Context
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter, max_queue_size=100_000))
    trace.set_tracer_provider(provider)  # the bridge emits the backlog here: warm-up
    provider.force_flush()
    tracer = provider.get_tracer("bench")
    offset = _records.epoch_offset_ns

    def sdk_round() -> int:
        t0 = time.process_time_ns()
        contexts: dict[int, Context] = {}
        for rec in records:
            parent = contexts.get(id(rec[_records.PARENT]))
            span = tracer.start_span(
                f"import {rec[_records.NAME]}",
                context=parent,
                start_time=rec[_records.T0] + offset,
                attributes={"importguard.module.name": rec[_records.NAME], "thread.id": rec[_records.THREAD]},
            )
            contexts[id(rec)] = trace.set_span_in_context(span)
        for rec in records:
            span = trace.get_current_span(contexts[id(rec)])
            span.set_attributes(
                {
                    "importguard.status": "ok",
                    "importguard.self_ms": 0.1,
                    "thread.name": "MainThread",
                    "code.file.path": "/x/y.py",
                    "importguard.loader": "source",
                }
            )
            span.end(end_time=rec[_records.T1] + offset)
        provider.force_flush()
        return time.process_time_ns() - t0

    def importguard_round() -> int:
        saved = _records.buffer[:]
        _records.buffer[:] = records
        _otel._reset()
        t0 = time.process_time_ns()
        _otel.emit()
        provider.force_flush()
        elapsed = time.process_time_ns() - t0
        _records.buffer[:] = saved
        _otel._cursor[0] = len(saved)  # [buffer position, side table]: the position only
        return elapsed

    sdk, ours, ratios = [], [], []
    for i in range(args.rounds):
        pair = [("sdk", sdk_round), ("importguard", importguard_round)]
        if i % 2:
            pair.reverse()
        got = {name: fn() for name, fn in pair}
        sdk.append(got["sdk"] / len(records))
        ours.append(got["importguard"] / len(records))
        ratios.append(got["importguard"] / got["sdk"])
        exporter.clear()
    q = statistics.quantiles
    print(f"Python {sys.version.split()[0]}, {len(records)} spans a round, {args.rounds} rounds, CPU time")
    print(f"  SDK alone:        {statistics.median(sdk) / 1000:7.1f} us/span")
    print(f"  importguard emit: {statistics.median(ours) / 1000:7.1f} us/span")
    print(
        f"  ratio importguard / SDK: median {statistics.median(ratios):.3f} "
        f"[{q(ratios, n=4)[0]:.3f}, {q(ratios, n=4)[2]:.3f}]"
    )
    if args.json:
        import json

        data = json.dumps(
            {
                "python": sys.version.split()[0],
                "spans": len(records),
                "rounds": args.rounds,
                "sdk_us": statistics.median(sdk) / 1000,
                "importguard_us": statistics.median(ours) / 1000,
                "ratio": {
                    "median": statistics.median(ratios),
                    "p25": q(ratios, n=4)[0],
                    "p75": q(ratios, n=4)[2],
                    "min": min(ratios),
                    "max": max(ratios),
                    "samples": ratios,
                },
            }
        )
        if args.json == "-":
            print(data)
        else:
            with open(args.json, "w", encoding="utf-8") as fh:
                fh.write(data + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
