"""OpenTelemetry metrics: a fleet view of import cost and failures (``IMPORTGUARD_METRICS=1``).

Spans show one process; a fleet of workers needs aggregates ("p99 cold-start
cost of ``import pandas`` across the fleet, by release"). With the setting on
and a MeterProvider set by the app, every import the span bridge sends is also
recorded here, once, when the bridge emits (never on the import path):

``importguard.import.duration`` (histogram, ``s``)
    cumulative time of each import, nested imports included (what
    ``-X importtime`` calls cumulative), successes and failures alike.
``importguard.import.failures`` (counter, ``{failure}``)
    every failed import, repeats of a run-time failure included (they are
    counted where they happen, not from records, since a repeat is merged).

Attributes, bounded so the number of series stays small whatever the app
imports: ``importguard.package`` (the top-level package; past
:data:`MAX_PACKAGES` distinct ones, ``_other``), ``importguard.status``
(``ok``, ``not_found``, ``error``), and on the histogram only
``importguard.phase`` (``startup``: no span was current when the outermost
import began; ``runtime``: inside a span, a request) and
``importguard.module.name`` for imports
of at least :data:`MODULE_MIN_S` (past :data:`MAX_MODULES` distinct names,
``_other``). At most 200 packages x 3 statuses x 2 phases x 101 module values
per process: the series a backend keeps are bounded by that, not by the
number of imports. The resource (service name, ``service.version``) comes
from the app's MeterProvider.

Off by default: recording costs a few microseconds per import in the SDK
(~650 imports under ``opentelemetry-instrument`` with Flask).
"""

from __future__ import annotations

import os
from typing import Any

from opentelemetry import metrics

from importguard import __version__, _records

DURATION = "importguard.import.duration"
FAILURES = "importguard.import.failures"
ATTR_PACKAGE = "importguard.package"
ATTR_STATUS = "importguard.status"
ATTR_PHASE = "importguard.phase"
ATTR_MODULE = "importguard.module.name"
#: Imports at least this long (seconds, cumulative) carry their module name.
MODULE_MIN_S = 0.05
#: Distinct attribute values kept per process before the rest become ``_other``.
MAX_PACKAGES = 200
MAX_MODULES = 100
#: Histogram buckets (seconds): an import takes from 0.1 ms to seconds.
BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

_instruments: tuple[Any, Any, Any] | None = None  # (provider, histogram, counter)
_packages: set[str] = set()
_modules: set[str] = set()
_counted: dict[tuple[str, str], int] = {}  # failures already added to the counter, per (package, status)


def _forget() -> None:
    """A forked child counts its own failures from zero (its tally started over)."""
    _counted.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget)


def _meter_provider() -> Any:
    provider = metrics.get_meter_provider()
    proxy = getattr(getattr(metrics, "_internal", None), "_ProxyMeterProvider", None)
    if proxy is not None and isinstance(provider, proxy):
        return None  # instruments made now would drop what they record until a provider is set
    return provider


def _instruments_for(provider: Any) -> tuple[Any, Any, Any]:
    global _instruments
    if _instruments is None or _instruments[0] is not provider:
        meter = provider.get_meter("importguard", __version__)
        description = "Cumulative time of a module import, nested imports included"
        try:
            histogram = meter.create_histogram(
                DURATION, unit="s", description=description, explicit_bucket_boundaries_advisory=BUCKETS
            )
        except TypeError:  # an API from before bucket advice (1.23)
            histogram = meter.create_histogram(DURATION, unit="s", description=description)
        counter = meter.create_counter(FAILURES, unit="{failure}", description="Failed imports, repeats included")
        _instruments = (provider, histogram, counter)
    return _instruments


def _package(name: str) -> str:
    package = name.partition(".")[0]
    if package in _packages:
        return package
    if len(_packages) < MAX_PACKAGES:
        _packages.add(package)
        return package
    return "_other"


def _module(name: str) -> str:
    if name in _modules:
        return name
    if len(_modules) < MAX_MODULES:
        _modules.add(name)
        return name
    return "_other"


def ready() -> bool:
    """Whether the app has a MeterProvider and the setting is on."""
    return _records.count_failures and _meter_provider() is not None


def record(rec: list[Any], phase: str) -> None:
    """One import whose span the bridge just sent: its duration, into the histogram."""
    provider = _meter_provider()
    if provider is None or not rec[_records.T1]:
        return
    _provider, histogram, _counter = _instruments_for(provider)
    seconds = (rec[_records.T1] - rec[_records.T0]) / 1e9
    name = rec[_records.NAME]
    attrs = {ATTR_PACKAGE: _package(name), ATTR_STATUS: rec[_records.STATUS] or "incomplete", ATTR_PHASE: phase}
    if seconds >= MODULE_MIN_S:
        attrs[ATTR_MODULE] = _module(name)
    histogram.record(seconds, attributes=attrs)


def count_failures() -> None:
    """Add the failures tallied since the last call to the counter."""
    provider = _meter_provider()
    if provider is None or not _records.failure_tally:
        return
    _provider, _histogram, counter = _instruments_for(provider)
    for (package, status), total in list(_records.failure_tally.items()):
        done = _counted.get((package, status), 0)
        if total > done:
            _counted[(package, status)] = total
            counter.add(total - done, attributes={ATTR_PACKAGE: _package(package), ATTR_STATUS: status})
