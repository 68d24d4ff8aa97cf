"""The Python API: install and uninstall the hook, read records, capture a block's imports."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from time import perf_counter_ns
from typing import Any

from importguard import _config, _hook, _records, _session
from importguard._types import Config, ImportRecord


def install(**settings: Any) -> Config:
    """Start recording imports in this process, as ``IMPORTGUARD=1`` does at startup.

    Settings come from ``[tool.importguard]`` and the environment, overridden
    by keyword arguments named like :class:`Config` fields (``report="x.json"``,
    ``include=["myapp.*"]``...). Problems in the environment or the file are
    printed on stderr; a bad keyword argument raises ``TypeError`` or
    ``ValueError``. Idempotent: if the hook is on already, only the overrides
    are applied. Returns the effective :class:`Config`.
    """
    base = dict(_session.settings) if _session.settings is not None else None
    problems: list[_config.ConfigProblem] = []
    if base is None:
        base, problems = _config.load()
        for problem in problems:
            import sys

            sys.stderr.write(f"{problem}\n")
    for key, value in settings.items():
        if key not in _config.SETTINGS or key in _config.ENV_ONLY:
            raise TypeError(f"install() got an unexpected setting {key!r}")
        bad: list[_config.ConfigProblem] = []
        base[key] = _config._coerce(key, value, f"install({key}=...)", bad)
        if bad:
            raise ValueError(bad[0].message)
    base["enabled"] = True
    if base.get("report"):
        import os

        base["report"] = os.path.abspath(base["report"])
    _session.start(base)
    return Config.from_settings(base)


def uninstall() -> None:
    """Stop recording. Records made so far stay readable, and the exit report is still written."""
    _hook.uninstall()


def is_installed() -> bool:
    """Whether imports are being recorded right now."""
    return _hook.installed()


def config() -> Config:
    """The configuration of the running session, or what it would be if installed now."""
    if _session.settings is not None:
        return Config.from_settings(_session.settings)
    return Config.load()[0]


def records() -> list[ImportRecord]:
    """Every import recorded in this process so far, in start order (parents first)."""
    with _records.quiet():
        from importguard import _convert

        return [ImportRecord.from_dict(d) for d in _convert.to_dicts()]


@contextlib.contextmanager
def capture() -> Iterator[list[ImportRecord]]:
    """Record the imports made (in any thread) while the block runs.

    Yields a list that is filled when the block exits, so read it afterwards::

        with importguard.capture() as imported:
            import json
        assert imported[0].name == "json"

    Installs the hook for the block if it is not on (no exit report then).
    Failures made directly in the block are settled when it ends: swallowed
    if the block went on past them.
    """
    out: list[ImportRecord] = []
    started_here = not _hook.installed()
    if started_here:
        _session.install_engine(_session.settings or _config.load()[0])
    start = perf_counter_ns()
    first = len(_records.buffer)
    ended_with: BaseException | None = None
    try:
        yield out
    except BaseException as exc:
        ended_with = exc
        raise
    finally:
        if started_here:
            _hook.uninstall()
        with _records.quiet():
            mine = _since(first, start)
            _records.settle_toplevel(ended_with, only=mine)
            from importguard import _convert

            out.extend(ImportRecord.from_dict(d) for d in _convert.to_dicts(mine))


def _since(first: int, start: int) -> list[list[Any]]:
    """Records started at or after *start* (perf_counter_ns); *first* is where to look from."""
    buffer = _records.buffer
    candidates = buffer[first:] if first <= len(buffer) else buffer[:]
    return [r for r in candidates if r[_records.T0] >= start]


def recorder() -> Callable[[], list[ImportRecord]]:
    """A function returning the imports recorded since this call, each time it is called."""
    start = perf_counter_ns()
    first = len(_records.buffer)

    def so_far() -> list[ImportRecord]:
        with _records.quiet():
            from importguard import _convert

            return [ImportRecord.from_dict(d) for d in _convert.to_dicts(_since(first, start))]

    return so_far


def write_report(path: str) -> str:
    """Write the report of this process so far to *path* (atomically); return the path.

    The suffix picks the format: ``.json``, ``.txt`` (``-X importtime`` lines),
    ``.speedscope.json``, ``.trace.json`` or ``.html``; any other suffix gets JSON.
    """
    with _records.quiet():
        from importguard import _formats, _report

        return _formats.write_report(path, _report.build(_session.settings or {}))


def flush(timeout_ms: int = 5000) -> int:
    """Send every import recorded so far to OpenTelemetry as spans, now.

    Does nothing until the application has set a real TracerProvider (spans
    started earlier would be dropped by the API's proxy tracer); imports made
    before that are kept and sent then, with their true timestamps. Returns
    the number of spans ended; never raises.
    """
    try:
        with _records.quiet():
            from importguard import _otel
    except Exception as exc:  # opentelemetry-api missing or broken
        _records.internal_error("loading the OpenTelemetry bridge", exc, "no spans are sent.", once="otel")
        return 0
    return _otel.flush(timeout_ms)
