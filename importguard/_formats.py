"""Report formats, chosen by file suffix: JSON, ``-X importtime`` text,
speedscope, Chrome trace events and HTML; and merging per-process reports.

Runs at exit or from the CLI, never on the import path.
"""

from __future__ import annotations

from importguard import _report

# This runs at exit, where importing `typing` would add ~3 ms to the program's
# shutdown; with postponed annotations it is needed only by the type checker.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

MERGED_SCHEMA = "importguard.merged/1"


def format_for(path: str) -> str:
    """The format a report path asks for, by suffix; ValueError if none."""
    found = _report.suffix_of(path)
    if found is None:
        raise ValueError(
            f"{path}: unknown report format; use a path ending in " + ", ".join(s for s, _ in _report.SUFFIXES)
        )
    return found[1]


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
    import json

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
        "importtime": to_importtime_exact,
        "speedscope": to_speedscope,
        "trace": to_trace,
        "html": _html_render,
    }
    if fmt == "json":
        return _report.dumps(data) + "\n"
    return renderers[fmt](processes(data))


def write_report(path: str, data: dict[str, Any], claim: Callable[[], str] | None = None) -> str:
    """Write a report to *path* in the format its suffix names, JSON for any
    other suffix (``/dev/stdout``, ``imports.log``); return the path written.

    JSON is streamed from *data*'s :class:`_report.Stream`; the session at exit
    writes it through ``_report.write_json`` without loading this module.
    *claim*: see ``_report.write_text``.
    """
    found = _report.suffix_of(path)
    if found is not None and found[1] != "json":
        if isinstance(data.get("imports"), _report.Stream):
            data = dict(data, imports=list(data["imports"]))
        return _report.write_text(path, render(data, found[1]), claim)
    return _report.write_json(path, data, claim)


def write(path: str, data: dict[str, Any], fmt: str | None = None) -> str:
    """Write *data* to *path* atomically in *fmt* (default: by suffix); return *path*."""
    return _report.write_text(path, render(data, fmt or format_for(path)))


def _html_render(procs: list[dict[str, Any]]) -> str:
    from importguard import _html

    return _html.render(procs)


def _us(ns: int | None) -> int:
    # -X importtime rounds up (_PyTime_ROUND_CEILING); so do we, so equal times print equal.
    return -(-(ns or 0) // 1000)


def _threads(imports: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Records grouped by thread, the thread that imported first (the main one) first."""
    by_thread: dict[int, list[dict[str, Any]]] = {}
    for rec in imports:
        by_thread.setdefault(rec["thread"], []).append(rec)
    return list(by_thread.values())


def _children(imports: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[int, list[dict[str, Any]]]]:
    """(top-level records, parent id -> child records), each in start order."""
    ids = {rec["id"] for rec in imports}
    roots: list[dict[str, Any]] = []
    kids: dict[int, list[dict[str, Any]]] = {}
    for rec in imports:
        parent = rec.get("parent_id")
        if parent is None or parent not in ids:  # a parent left out by include/exclude
            roots.append(rec)
        else:
            kids.setdefault(parent, []).append(rec)
    return roots, kids


def _text_name(name: str) -> str:
    """*name* as one field of an ``import time:`` line.

    A real module name passes unchanged. One that a failed
    ``importlib.import_module`` recorded as given may hold a line break (which
    would split its line and could forge another), ``|`` (the field
    separator) or spaces (read as nesting): it is written as its repr.
    """
    if name.isprintable() and " " not in name and "|" not in name:
        return name
    return repr(name)


#: How each format words a failure's verdict (``_summary.verdicts``).
VERDICT_WORDS = {
    "probe": "optional, not found",
    "swallowed": "swallowed",
    "escaped": "escaped",
    "unsettled": "unsettled",
}


def _failure_line(rec: dict[str, Any], verdict: str | None) -> str:
    err = rec.get("error") or {}
    fate = f" [{VERDICT_WORDS[verdict]}]" if verdict in VERDICT_WORDS else ""
    message = " ".join(str(err.get("message", "")).split())  # one line, whatever the message holds
    return f"importguard: failed: {_text_name(rec['name'])}: {' '.join(str(err.get('type')).split())}: {message}{fate}"


def _verdicts(imports: list[dict[str, Any]]) -> dict[int, str]:
    from importguard import _summary  # by attribute: see importguard.__getattr__

    return _summary.verdicts(imports)


def to_importtime(procs: list[dict[str, Any]]) -> str:
    """The ``python -X importtime`` line format, which tuna and importtime tools read.

    ``import time: self [us] | cumulative | imported package``, children before
    their parent, two spaces of indentation per nesting level, microseconds
    rounded up as CPython does. Unlike ``-X importtime``, each thread's imports
    form their own block (CPython nests another thread's import under whatever
    the main thread is importing at that moment). Failures, thread and process
    boundaries are extra lines starting ``importguard:``, which those tools
    skip because they do not start with ``import time:`` (tuna warns about
    each; ``.importtime.txt`` is the same stream without them).
    """
    return _importtime(procs, extra=True)


def to_importtime_exact(procs: list[dict[str, Any]]) -> str:
    """The ``python -X importtime`` stream and nothing else (``.importtime.txt``):
    the header and one ``import time:`` line per finished import, failed ones
    included (CPython prints those too), each thread's imports a block of
    their own; no failure, thread, process or folded lines, so tools that
    read the stream (tuna) have nothing to skip or warn about."""
    return _importtime(procs, extra=False)


def _importtime(procs: list[dict[str, Any]], extra: bool) -> str:
    out = ["import time: self [us] | cumulative | imported package"]
    for proc in procs:
        if len(procs) > 1 and extra:
            out.append(
                f"importguard: process {proc.get('pid')} (Python {' '.join(str(proc.get('python', '?')).split())})"
            )
        threads = _threads(proc["imports"])
        judged = _verdicts(proc["imports"]) if extra else {}
        for recs in threads:
            if len(threads) > 1 and extra:
                first = recs[0]
                thread_name = " ".join(str(first.get("thread_name") or "").split())
                out.append(f"importguard: thread {thread_name} ({first['thread']})")
            roots, kids = _children(recs)

            def emit(rec: dict[str, Any], depth: int) -> None:
                for kid in kids.get(rec["id"], ()):
                    emit(kid, depth + 1)
                if rec["duration_ns"] is None:
                    if extra:
                        out.append(
                            f"importguard: incomplete: {_text_name(rec['name'])} "
                            "(still importing when the report was written)"
                        )
                    return
                out.append(
                    f"import time: {_us(rec['self_ns']):9d} | {_us(rec['duration_ns']):10d} | "
                    f"{'  ' * depth}{_text_name(rec['name'])}"
                )
                if rec["status"] in ("not_found", "error") and extra:
                    out.append(_failure_line(rec, judged.get(rec["id"])))

            for root in roots:
                emit(root, 0)
        if not extra:
            continue
        for fold in proc.get("folded") or ():
            out.append(
                f"importguard: folded: {_text_name(fold['name'])}: {fold['count']} imports, "
                f"{_us(fold['total_ns'])} us cumulative, {_us(fold['self_ns'])} us self"
            )
    return "\n".join(out) + "\n"


def _origin(procs: list[dict[str, Any]]) -> int:
    return min((rec["start_ns"] for proc in procs for rec in proc["imports"]), default=0)


def _end(rec: dict[str, Any], fallback: int) -> int:
    return fallback if rec["duration_ns"] is None else int(rec["start_ns"] + rec["duration_ns"])


def to_speedscope(procs: list[dict[str, Any]]) -> str:
    """speedscope's evented format: one profile per thread of each process.

    Times are nanoseconds from the first import of the first process, so
    profiles of several processes line up. An incomplete import (the report
    was written while it ran) is closed at the profile's end; a child that
    outlived its parent by clock skew is clamped, because speedscope rejects
    events that do not nest.
    """
    origin = _origin(procs)
    frames: list[dict[str, Any]] = []
    frame_ids: dict[tuple[str, str | None], int] = {}
    profiles = []
    for proc in procs:
        judged = _verdicts(proc["imports"])
        for recs in _threads(proc["imports"]):
            last = max((_end(r, r["start_ns"]) for r in recs), default=origin)
            roots, kids = _children(recs)
            events: list[dict[str, Any]] = []

            def walk(rec: dict[str, Any], floor: int, ceiling: int) -> None:
                # A failure is a frame of its own, named with its verdict, so it can
                # be searched for (speedscope has no colours of its own to give it).
                verdict = judged.get(rec["id"])
                name = f"{rec['name']} [failed: {VERDICT_WORDS[verdict]}]" if verdict in VERDICT_WORDS else rec["name"]
                key = (name, rec.get("file"))
                frame = frame_ids.get(key)
                if frame is None:
                    frame = frame_ids[key] = len(frames)
                    entry: dict[str, Any] = {"name": name}
                    if rec.get("file"):
                        entry["file"] = rec["file"]
                    frames.append(entry)
                start = min(max(rec["start_ns"] - origin, floor), ceiling)
                end = min(max(_end(rec, last) - origin, start), ceiling)
                events.append({"type": "O", "frame": frame, "at": start})
                # Nested imports and the collections that ran in this module's own
                # code, in time order: a collection is a frame of its own inside it.
                inner: list[tuple[int, int, Any]] = [(kid["start_ns"], 0, kid) for kid in kids.get(rec["id"], ())]
                inner += [(event[0], 1, event) for event in rec.get("gc") or ()]
                inner.sort(key=lambda item: (item[0], item[1]))
                for _at, is_gc, item in inner:
                    if is_gc:
                        gc_frame = frame_ids.get(("[garbage collection]", None))
                        if gc_frame is None:
                            gc_frame = frame_ids[("[garbage collection]", None)] = len(frames)
                            frames.append({"name": "[garbage collection]"})
                        at = min(max(item[0] - origin, start), end)
                        events.append({"type": "O", "frame": gc_frame, "at": at})
                        events.append({"type": "C", "frame": gc_frame, "at": min(at + item[1], end)})
                    else:
                        walk(item, start, end)
                    start = events[-1]["at"]  # siblings do not overlap either
                events.append({"type": "C", "frame": frame, "at": end})

            floor = 0
            for root in roots:
                walk(root, floor, 1 << 62)
                floor = events[-1]["at"]
            first = recs[0]
            name = f"pid {proc.get('pid')} {first.get('thread_name') or 'thread'} ({first['thread']})"
            profiles.append(
                {
                    "type": "evented",
                    "name": name,
                    "unit": "nanoseconds",
                    "startValue": events[0]["at"] if events else 0,
                    "endValue": events[-1]["at"] if events else 0,
                    "events": events,
                }
            )
    doc = {
        "$schema": "https://www.speedscope.app/file-format-schema.json",
        "shared": {"frames": frames},
        "profiles": profiles,
        "name": "importguard imports",
        "activeProfileIndex": 0,
        "exporter": "importguard",
    }
    import json

    return json.dumps(doc, ensure_ascii=True) + "\n"


#: Chrome's reserved colour names, by verdict.
_TRACE_COLOURS = {"probe": "grey", "swallowed": "yellow", "escaped": "terrible", "unsettled": "terrible"}


def to_trace(procs: list[dict[str, Any]]) -> str:
    """Chrome's trace event format (opens in Perfetto and chrome://tracing).

    One complete ("X") event per import, microseconds from the first import,
    one track per thread of each process. Thread ids are renumbered 1, 2, ...
    per process (the real ``threading.get_ident()`` values exceed what the
    viewers handle well) and named by metadata events that keep the real id.
    Failures carry the error and their verdict in ``args``, coloured by it:
    red escaped, yellow swallowed, grey an optional dependency not found.
    """
    origin = _origin(procs)
    events: list[dict[str, Any]] = []
    for n, proc in enumerate(procs):
        pid = proc.get("pid") or n + 1
        events.append(
            {
                "ph": "M",
                "name": "process_name",
                "pid": pid,
                "tid": 0,
                "args": {"name": f"python {proc.get('python', '')} (pid {proc.get('pid')})"},
            }
        )
        tids: dict[int, int] = {}
        judged = _verdicts(proc["imports"])
        for rec in proc["imports"]:
            tid = tids.get(rec["thread"])
            if tid is None:
                tid = tids[rec["thread"]] = len(tids) + 1
                events.append(
                    {
                        "ph": "M",
                        "name": "thread_name",
                        "pid": pid,
                        "tid": tid,
                        "args": {"name": f"{rec.get('thread_name') or 'thread'} ({rec['thread']})"},
                    }
                )
            args: dict[str, Any] = {"self_us": (rec["self_ns"] or 0) / 1000, "status": rec["status"]}
            for key in ("file", "loader", "parent"):
                if rec.get(key) is not None:
                    args[key] = rec[key]
            event: dict[str, Any] = {
                "name": rec["name"],
                "cat": "import",
                "ph": "X",
                "pid": pid,
                "tid": tid,
                "ts": (rec["start_ns"] - origin) / 1000,
            }
            if rec.get("gc_ns"):
                args["gc_us"] = rec["gc_ns"] / 1000
            if rec["duration_ns"] is None:
                args["incomplete"] = True
                event["ph"] = "B"  # begun, never ended: viewers draw it to the end of the trace
            else:
                event["dur"] = rec["duration_ns"] / 1000
            if rec["status"] in ("not_found", "error"):
                err = rec.get("error") or {}
                args["error"] = f"{err.get('type')}: {err.get('message')}"
                args["swallowed"] = rec.get("swallowed")
                verdict = judged.get(rec["id"])
                args["verdict"] = verdict
                event["cname"] = _TRACE_COLOURS.get(verdict or "", "terrible")
            event["args"] = args
            events.append(event)
            # Each collection in the module's own code, on the same track, inside its event.
            for start_ns, duration_ns, generation in rec.get("gc") or ():
                events.append(
                    {
                        "name": "garbage collection",
                        "cat": "gc",
                        "ph": "X",
                        "pid": pid,
                        "tid": tid,
                        "ts": (start_ns - origin) / 1000,
                        "dur": duration_ns / 1000,
                        "cname": "black",
                        "args": {"generation": generation, "in": rec["name"]},
                    }
                )
    import json

    return json.dumps({"traceEvents": events, "displayTimeUnit": "ms"}, ensure_ascii=True) + "\n"
