"""The short summary printed on stderr at exit (when stderr is a terminal, or IMPORTGUARD_SUMMARY=1)."""

import os
import sys

from importguard import _convert

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def _ms(ns: "int | None") -> str:
    return "     -   " if ns is None else f"{ns / 1e6:8.1f}"


def _colour() -> bool:
    try:
        return bool(sys.stderr.isatty()) and "NO_COLOR" not in os.environ
    except Exception:
        return False


def cascades(
    failures: "list[dict[str, Any]]", records: "list[dict[str, Any]]"
) -> "list[tuple[dict[str, Any], list[dict[str, Any]]]]":
    """One entry per failed import statement: the outermost failure of each
    cascade (a.b failed because a failed), and the chain down to its root cause."""
    by_id = {r["id"]: r for r in records}
    causes = {(r["error"] or {}).get("caused_by") for r in failures}
    out = []
    for r in failures:
        if r["id"] in causes:
            continue
        chain = [r]
        while (chain[-1]["error"] or {}).get("caused_by") in by_id and len(chain) < 1000:
            chain.append(by_id[chain[-1]["error"]["caused_by"]])
        out.append((r, chain))
    return out


def verdicts(records: "list[dict[str, Any]]") -> "dict[int, str]":
    """The verdict of every failed record, by id: ``probe``, ``swallowed``,
    ``escaped`` or ``unsettled`` (see :func:`importguard._convert.judge`).

    Every report format classifies failures through this one function: the
    ``verdict`` a report carries, or, for a report written without it, the
    same rule applied here to its records (the head of each cascade decides
    for all of its records).
    """
    failures = [r for r in records if r["status"] in ("error", "not_found")]
    out: dict[int, str] = {}
    missing = [r for r in failures if "verdict" not in r]
    for r in failures:
        if "verdict" in r and r["verdict"] is not None:
            out[r["id"]] = r["verdict"]
    if missing:
        for head, chain in cascades(failures, records):
            judged = _convert.judge(head["swallowed"], chain[-1]["status"], any(r["file"] is not None for r in chain))
            for r in chain:
                out.setdefault(r["id"], judged)
    for r in failures:
        out.setdefault(r["id"], _convert.UNSETTLED)
    return out


def failed_statements(
    records: "list[dict[str, Any]]",
) -> "tuple[list[tuple[dict[str, Any], dict[str, Any]]], list[tuple[dict[str, Any], dict[str, Any]]]]":
    """Failed import statements as (head, root cause) pairs: (those that matter, routine probes).

    A routine probe is an optional dependency that is not there: the importer
    caught the error, the root cause was not found, and no module in between
    ran any code (``try: import yaml``, or ``from org.python.core import X``
    when ``org`` does not exist). A module that was found, ran, and failed on a
    missing import (the restructured package whose helper module is gone) is a
    failure that matters, even when its importer swallowed it.
    """
    failures = [r for r in records if r["status"] in ("error", "not_found")]
    judged = verdicts(records)
    real: "list[tuple[dict[str, Any], dict[str, Any]]]" = []
    probes: "list[tuple[dict[str, Any], dict[str, Any]]]" = []
    for head, chain in cascades(failures, records):
        (probes if judged.get(head["id"]) == _convert.PROBE else real).append((head, chain[-1]))
    return real, probes


def describe_failure(r: "dict[str, Any]", root: "dict[str, Any]") -> str:
    """``name: because X failed: Type: message [fate] (from file:line)``."""
    err = root["error"] or {}
    where = r["importer"]
    at = f" (from {where['file']}:{where['line']})" if where else ""
    fate = "swallowed" if r["swallowed"] else ("raised" if r["swallowed"] is False else "unsettled")
    because = f" because {root['name']} failed:" if root is not r else ""
    return f"{r['name']}:{because} {err.get('type')}: {err.get('message')} [{fate}]{at}"


def _ranked(procs: "list[dict[str, Any]]") -> "list[tuple[dict[str, Any], dict[str, Any]]]":
    """(process, record) of every finished, successful real load: the outer
    record of a circular package import (``duplicate_of``) repeats the module
    whose real load is nested inside it, so it is not ranked a second time."""
    return [
        (p, r)
        for p in procs
        for r in p["imports"]
        if r["duration_ns"] is not None and r["status"] == "ok" and r.get("duplicate_of") is None
    ]


def _total_ns(data: "dict[str, Any]") -> int:
    return sum(r["duration_ns"] for r in data["imports"] if r["parent_id"] is None and r["duration_ns"] is not None)


def _gc_ns(data: "dict[str, Any]") -> "tuple[int, int]":
    """(collector time inside imports, collections) of one process's report."""
    events = [e for r in data["imports"] for e in r.get("gc") or ()]
    return sum(e[1] for e in events), len(events)


def _engine(data: "dict[str, Any]") -> str:
    """ ", finder engine": which engine recorded a process (reports before there were two have none)."""
    return f", {data['engine']} engine" if data.get("engine") else ""


def render_processes(procs: "list[dict[str, Any]]", top: int = 10, report_path: "str | None" = None) -> str:
    """The summary of the reports of one program's processes, as one picture.

    One process: its totals, its slowest imports, and every failure and export
    violation that matters. Several (a pre-fork server, multiprocessing): a
    line per process, then the slowest imports of all of them (each with its
    pid) and every failure and violation once, with the processes it happened in.
    """
    if not procs:
        return ""
    colour = _colour()
    red, dim, bold, off = ("\x1b[31m", "\x1b[2m", "\x1b[1m", "\x1b[0m") if colour else ("", "", "", "")
    many = len(procs) > 1
    count = sum(len(p["imports"]) for p in procs)
    total = sum(_total_ns(p) for p in procs)
    gc_total, collections = 0, 0
    for p in procs:
        ns, n = _gc_ns(p)
        gc_total += ns
        collections += n
    if many:
        head = f"{bold}importguard{off}: {len(procs)} processes, {count} imports, {total / 1e6:.1f} ms"
    else:
        head = f"{bold}importguard{off}: {count} imports, {total / 1e6:.1f} ms (pid {procs[0].get('pid')}{_engine(procs[0])})"
    if report_path:
        head += f"; report: {report_path}"
    lines = [head]
    if many:
        for p in procs:
            heads, _ = failed_statements(p["imports"])
            lines.append(
                f"  pid {p.get('pid')}: {len(p['imports'])} imports, {_total_ns(p) / 1e6:.1f} ms"
                + (f", {len(heads)} failed imports" if heads else "")
                + _engine(p)
            )

    def pid(proc: "dict[str, Any]") -> str:
        return f"  {dim}pid {proc.get('pid')}{off}" if many else ""

    done = _ranked(procs)
    if done:
        lines.append(f"  {dim}cumulative ms     self ms  module{off}")
        for p, r in sorted(done, key=lambda pr: -pr[1]["duration_ns"])[:top]:
            lines.append(f"  {_ms(r['duration_ns'])}    {_ms(r['self_ns'])}  {r['name']}{pid(p)}")
        # The cumulative list is led by the entry points; the self list names the
        # modules whose own code is slow, which is where the time can be won.
        lines.append(f"  {dim}    self ms  module (by self time){off}")
        for p, r in sorted(done, key=lambda pr: -(pr[1]["self_ns"] or 0))[:top]:
            lines.append(f"  {_ms(r['self_ns'])}    {r['name']}{pid(p)}{_gc_note(r)}")
    if collections:
        lines.append(
            f"  {dim}garbage collection inside imports: {gc_total / 1e6:.1f} ms in {collections} collections "
            f"(included in the times above, as -X importtime counts; 'gc' in the report){off}"
        )
    failures: "dict[str, list[Any]]" = {}
    probes: "set[str]" = set()
    for p in procs:
        heads, probe_pairs = failed_statements(p["imports"])
        probes.update(head["name"] for head, _root in probe_pairs)
        for r, root in heads:
            text = describe_failure(r, root)
            failures.setdefault(text, []).append(p.get("pid"))
    if failures:
        lines.append(f"  {red}failed imports:{off}")
        for text, pids in failures.items():
            lines.append(f"    {text}{_in_processes(pids, len(procs))}")
    if probes:
        names = ", ".join(sorted(probes)[:top])
        more = f" and {len(probes) - top} more" if len(probes) > top else ""
        lines.append(f"  {dim}optional imports not found (caught by the importer): {names}{more}{off}")
    # A fromlist miss (`from pkg import Name` that failed) is the importer's
    # own ImportError, already visible to it; the report keeps it, the summary does not.
    violations: "dict[str, list[Any]]" = {}
    for p in procs:
        for v in p["violations"]:
            if v["missing"] and v["source"] != "fromlist":
                where = v["importer"]
                at = f" (imported at {where['file']}:{where['line']})" if where else ""
                note = f" [accepted: {v['accepted']}]" if v["accepted"] else f" [{v['mode']}]"
                text = f"{v['module']} lacks {', '.join(v['missing'])} (declared by {v['source']}){note}{at}"
                violations.setdefault(text, []).append(p.get("pid"))
    if violations:
        lines.append(f"  {red}export violations:{off}")
        for text, pids in violations.items():
            lines.append(f"    {text}{_in_processes(pids, len(procs))}")
    folded = sum(p.get("folded_records") or 0 for p in procs)
    if folded:
        lines.append(
            f"  {dim}{folded} earlier successful imports folded into per-module totals "
            f"(IMPORTGUARD_MAX_RECORDS); they are in the report's 'folded' list{off}"
        )
    errors = sum(len(p.get("internal_errors") or ()) for p in procs)
    if errors:
        lines.append(f"  {red}importguard internal errors: {errors}{off} (see the report)")
    return "\n".join(lines) + "\n"


def _gc_note(r: "dict[str, Any]") -> str:
    """`` (of which 16.2 ms garbage collection)`` when a collection took a tenth or more of the self time."""
    gc = r.get("gc_ns") or 0
    self_ns = r["self_ns"] or 0
    if gc >= 100_000 and gc * 10 >= self_ns:
        return f"  (of which {gc / 1e6:.1f} ms garbage collection)"
    return ""


def _in_processes(pids: "list[Any]", processes: int) -> str:
    if processes == 1:
        return ""
    if len(pids) == processes:
        return f" [in all {processes} processes]"
    shown = ", ".join(str(p) for p in pids[:5]) + (" ..." if len(pids) > 5 else "")
    return f" [pid {shown}]" if len(pids) == 1 else f" [in {len(pids)} processes: pid {shown}]"


def render_report(data: "dict[str, Any]", report_path: "str | None" = None, top: int = 10) -> str:
    """The summary text of one process's report: totals, the slowest imports,
    and every failure and export violation that matters."""
    return render_processes([data], top, report_path)
