"""``importguard report merge`` and ``convert``: per-process reports into one, or into another format."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from importguard._cli.status import EXIT_OK, UsageError

HELP = "merge or convert reports"
DESCRIPTION = (
    "Merge per-process JSON reports of one program, or convert a report to another format (chosen by the "
    "output's suffix: .json, .txt, .speedscope.json, .trace.json, .html)."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``report``'s actions, ``merge`` and ``convert``, and their options on *parser*."""
    actions = parser.add_subparsers(dest="report_command", required=True, metavar="ACTION")
    merge = actions.add_parser(
        "merge",
        help="merge per-process reports into one",
        description="Merge the per-process JSON reports of one program (a pre-fork server, "
        "multiprocessing) into one file; every format shows the processes side by "
        "side.",
    )
    merge.add_argument("inputs", nargs="+", metavar="REPORT.json")
    merge.add_argument(
        "-o", "--output", required=True, metavar="OUT", help="file to write; its suffix picks the format"
    )
    convert = actions.add_parser(
        "convert",
        help="convert a report to another format",
        description="Convert a JSON report to the format named by OUT's suffix.",
    )
    convert.add_argument("inputs", nargs=1, metavar="REPORT.json")
    convert.add_argument(
        "-o", "--output", required=True, metavar="OUT", help="file to write; its suffix picks the format"
    )


def main(args: argparse.Namespace) -> int:
    """Run ``importguard report merge`` or ``convert`` (the same for both); return the exit status."""
    from importguard import _formats

    try:
        fmt = _formats.format_for(args.output)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    reports = []
    seen: dict[tuple[Any, ...], str] = {}
    for path in args.inputs:
        procs = []
        for proc in _formats.processes(_formats.load(path)):
            # The same process twice (a file named twice, or a shell glob that also
            # matched the merged output of an earlier run) would double every number.
            first = min((r["start_ns"] for r in proc["imports"]), default=None)
            key = (proc.get("pid"), proc.get("python"), first, len(proc["imports"]))
            if key in seen:
                again = "is named twice" if seen[key] == path else f"holds the same process as {seen[key]}"
                sys.stderr.write(
                    f"importguard report: {path} {again} (pid {proc.get('pid')}); "
                    "that process is merged once. Name each per-process report once.\n"
                )
                continue
            seen[key] = path
            procs.append(proc)
        if procs:
            reports.append({"schema": _formats.MERGED_SCHEMA, "processes": procs} if len(procs) > 1 else procs[0])
    data = _formats.merge(reports) if len(reports) > 1 else reports[0]
    _formats.write(args.output, data, fmt)
    procs = _formats.processes(data)
    imports = sum(len(p["imports"]) for p in procs)
    sys.stderr.write(
        f"importguard report: wrote {args.output} ({fmt}): {len(procs)} process"
        f"{'es' if len(procs) != 1 else ''}, {imports:,} imports, from {len(args.inputs)} file"
        f"{'s' if len(args.inputs) != 1 else ''}\n"
    )
    return EXIT_OK
