"""Report formats, chosen by file suffix: JSON, ``-X importtime`` text,
speedscope, Chrome trace events and HTML; and merging per-process reports.

Runs at exit or from the CLI, never on the import path.
"""

from __future__ import annotations

import json
from typing import Any, Callable

from importguard import _report

MERGED_SCHEMA = "importguard.merged/1"

# Longest suffix first: ".speedscope.json" and ".trace.json" before ".json".
SUFFIXES = (
    (".speedscope.json", "speedscope"),
    (".trace.json", "trace"),
    (".json", "json"),
    (".txt", "txt"),
    (".html", "html"),
    (".htm", "html"),
)


def format_for(path: str) -> str:
    """The format a report path asks for, by suffix; ValueError if none."""
    low = path.lower()
    for suffix, fmt in SUFFIXES:
        if low.endswith(suffix):
            return fmt
    raise ValueError(f"{path}: unknown report format; use a path ending in "
                     + ", ".join(s for s, _ in SUFFIXES))


def processes(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The per-process reports in *data* (a report or a merged report)."""
    if data.get("schema") == MERGED_SCHEMA:
        return list(data["processes"])
    return [data]


def merge(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """One merged report holding every process of *reports*, in pid order."""
    procs = [p for r in reports for p in processes(r)]
    procs.sort(key=lambda p: (min((i["start_ns"] for i in p["imports"]), default=0), p.get("pid", 0)))
    return {"schema": MERGED_SCHEMA, "processes": procs}


def load(path: str) -> dict[str, Any]:
    """Read a JSON report (single or merged); RuntimeError naming the file if it is not one."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError) as exc:
        raise RuntimeError(f"cannot read report {path}: {exc}") from None
    if not isinstance(data, dict) or data.get("schema") not in (_report.SCHEMA, MERGED_SCHEMA):
        raise RuntimeError(f"{path} is not an importguard report (schema {_report.SCHEMA} or {MERGED_SCHEMA})")
    return data


def render(data: dict[str, Any], fmt: str) -> str:
    """*data* (a report or a merged report) as text in format *fmt*."""
    renderers: dict[str, Callable[[list[dict[str, Any]]], str]] = {
        "txt": to_importtime,
        "speedscope": to_speedscope,
        "trace": to_trace,
        "html": _html_render,
    }
    if fmt == "json":
        return json.dumps(data, indent=1, ensure_ascii=True) + "\n"
    return renderers[fmt](processes(data))


def write(path: str, data: dict[str, Any], fmt: str | None = None) -> str:
    """Write *data* to *path* atomically in *fmt* (default: by suffix); return *path*."""
    return _report.write_text(path, render(data, fmt or format_for(path)))


def _html_render(procs: list[dict[str, Any]]) -> str:
    from importguard import _html

    return _html.render(procs)


def to_importtime(procs: list[dict[str, Any]]) -> str:
    raise NotImplementedError


def to_speedscope(procs: list[dict[str, Any]]) -> str:
    raise NotImplementedError


def to_trace(procs: list[dict[str, Any]]) -> str:
    raise NotImplementedError
