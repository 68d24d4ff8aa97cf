"""The short summary printed on stderr at exit (when stderr is a terminal, or IMPORTGUARD_SUMMARY=1)."""

import os
import sys


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
    real: "list[tuple[dict[str, Any], dict[str, Any]]]" = []
    probes: "list[tuple[dict[str, Any], dict[str, Any]]]" = []
    for head, chain in cascades(failures, records):
        root = chain[-1]
        routine = head["swallowed"] and root["status"] == "not_found" and all(r["file"] is None for r in chain)
        (probes if routine else real).append((head, root))
    return real, probes


def describe_failure(r: "dict[str, Any]", root: "dict[str, Any]") -> str:
    """``name: because X failed: Type: message [fate] (from file:line)``."""
    err = root["error"] or {}
    where = r["importer"]
    at = f" (from {where['file']}:{where['line']})" if where else ""
    fate = "swallowed" if r["swallowed"] else ("raised" if r["swallowed"] is False else "unsettled")
    because = f" because {root['name']} failed:" if root is not r else ""
    return f"{r['name']}:{because} {err.get('type')}: {err.get('message')} [{fate}]{at}"


def render_report(data: "dict[str, Any]", report_path: "str | None" = None, top: int = 10) -> str:
    """The summary text of one process's report: totals, the slowest imports,
    and every failure and export violation that matters."""
    records = data["imports"]
    colour = _colour()
    red, dim, bold, off = ("\x1b[31m", "\x1b[2m", "\x1b[1m", "\x1b[0m") if colour else ("", "", "", "")
    roots = [r for r in records if r["parent_id"] is None and r["duration_ns"] is not None]
    total = sum(r["duration_ns"] for r in roots)
    lines = [f"{bold}importguard{off}: {len(records)} imports, {total / 1e6:.1f} ms (pid {data.get('pid')})"]
    if report_path:
        lines[0] += f"; report: {report_path}"
    done = [r for r in records if r["duration_ns"] is not None and r["status"] == "ok"]
    if done:
        lines.append(f"  {dim}cumulative ms     self ms  module{off}")
        for r in sorted(done, key=lambda r: -r["duration_ns"])[:top]:
            lines.append(f"  {_ms(r['duration_ns'])}    {_ms(r['self_ns'])}  {r['name']}")
        # The cumulative list is led by the entry points; the self list names the
        # modules whose own code is slow, which is where the time can be won.
        lines.append(f"  {dim}    self ms  module (by self time){off}")
        for r in sorted(done, key=lambda r: -(r["self_ns"] or 0))[:top]:
            lines.append(f"  {_ms(r['self_ns'])}    {r['name']}")
    heads, probe_pairs = failed_statements(records)
    probes = [head for head, _root in probe_pairs]
    if heads:
        lines.append(f"  {red}failed imports:{off}")
        for r, root in heads:
            lines.append(f"    {describe_failure(r, root)}")
    if probes:
        names = ", ".join(sorted({r["name"] for r in probes})[:top])
        more = f" and {len(probes) - top} more" if len(probes) > top else ""
        lines.append(f"  {dim}optional imports not found (caught by the importer): {names}{more}{off}")
    # A fromlist miss (`from pkg import Name` that failed) is the importer's
    # own ImportError, already visible to it; the report keeps it, the summary does not.
    violations = [v for v in data["violations"] if v["missing"] and v["source"] != "fromlist"]
    if violations:
        lines.append(f"  {red}export violations:{off}")
        for v in violations:
            where = v["importer"]
            at = f" (imported at {where['file']}:{where['line']})" if where else ""
            note = f" [accepted: {v['accepted']}]" if v["accepted"] else f" [{v['mode']}]"
            lines.append(f"    {v['module']} lacks {', '.join(v['missing'])} (declared by {v['source']}){note}{at}")
    folded = data.get("folded_records") or 0
    if folded:
        lines.append(f"  {dim}{folded} earlier successful imports folded into per-module totals "
                     f"(IMPORTGUARD_MAX_RECORDS); they are in the report's 'folded' list{off}")
    errors = data.get("internal_errors") or ()
    if errors:
        lines.append(f"  {red}importguard internal errors: {len(errors)}{off} (see the report)")
    return "\n".join(lines) + "\n"


def render_processes(procs: "list[dict[str, Any]]", top: int = 10) -> str:
    """The summary of a program's processes: the first in full, one line for each other."""
    if not procs:
        return ""
    text = render_report(procs[0], None, top)
    for data in procs[1:]:
        records = data["imports"]
        heads, _ = failed_statements(records)
        total = sum(r["duration_ns"] for r in records if r["parent_id"] is None and r["duration_ns"] is not None)
        bad = sum(1 for v in data["violations"] if v["missing"] and v["source"] != "fromlist")
        text += (f"  also pid {data.get('pid')}: {len(records)} imports, {total / 1e6:.1f} ms, "
                 f"{len(heads)} failed imports, {bad} export violations\n")
    return text
