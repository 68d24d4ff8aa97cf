"""``importguard run``: run a program with the hook on; one summary and report for all its processes.

Every process of the program (children, forks, multiprocessing workers)
writes its own JSON report into a private directory; once the program has
exited they are merged, written in each format asked for, and summarized.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from typing import Any

from importguard._cli.processes import program_argv
from importguard._cli.status import UsageError

HELP = "run a program with the hook on"
DESCRIPTION = (
    "Run a program with the hook on (IMPORTGUARD=1) and print the summary at exit. The exit status is the "
    "program's. Forms: importguard run -- python app.py ARGS; importguard run script.py ARGS; importguard "
    "run -m package.module ARGS."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``run``'s options on *parser*."""
    parser.add_argument(
        "--report",
        action="append",
        default=[],
        metavar="PATH",
        help="write a report to PATH; its suffix picks the format (.json, .txt, .speedscope.json, "
        ".trace.json, .html); repeat for several",
    )
    parser.add_argument(
        "--otlp",
        metavar="URL",
        help="send the import spans to this OTLP/HTTP endpoint at exit (e.g. http://127.0.0.1:4318), "
        "unless the program sets up its own",
    )
    parser.add_argument("--no-summary", dest="summary", action="store_false", help="do not print the summary")
    parser.add_argument("-m", dest="module", metavar="MODULE", help="run a module, as python -m does")
    parser.add_argument("program", nargs=argparse.REMAINDER, help="the command, or script.py and its arguments")


def main(args: argparse.Namespace) -> int:
    """Run ``importguard run``; return the program's exit status."""
    argv = program_argv(args.module, args.program)
    from importguard import _formats

    reports = list(args.report)
    if not reports and os.environ.get("IMPORTGUARD_REPORT"):
        reports.append(os.environ["IMPORTGUARD_REPORT"])
    outputs = []
    for report in reports:
        try:
            outputs.append((os.path.abspath(report), _formats.format_for(report)))
        except ValueError as exc:
            raise UsageError(f"--report {exc}") from None
    env = dict(os.environ)
    env["IMPORTGUARD"] = "1"
    # The program's processes print no summary of their own: run prints one for
    # them all, from their reports, after the program has exited.
    env["IMPORTGUARD_SUMMARY"] = "0"
    if args.otlp:
        env["IMPORTGUARD_OTLP"] = args.otlp
    # Every process of the program (children, forks, multiprocessing workers)
    # writes its own JSON into a private directory; afterwards they are merged
    # and written in each format asked for, so one --report shows them all.
    with tempfile.TemporaryDirectory(prefix="importguard-run-") as tmp:
        env["IMPORTGUARD_REPORT"] = os.path.join(tmp, "report.json")
        try:
            code = subprocess.call(argv, env=env)
        except OSError as exc:
            raise UsageError(f"cannot run {argv[0]}: {exc.strerror or exc}") from None
        procs = _collect_reports(tmp)
    if not procs:
        sys.stderr.write(
            "importguard run: the program wrote no report (is importguard installed for the Python it runs?)\n"
        )
        return code
    data = _formats.merge(procs) if len(procs) > 1 else procs[0]
    written = []
    for (path, fmt), shown in zip(outputs, reports):
        try:
            _formats.write(path, data, fmt)
            written.append(shown)
        except OSError as exc:
            sys.stderr.write(f"importguard run: cannot write {path}: {exc.strerror or exc}\n")
    if args.summary:
        from importguard import _summary

        sys.stderr.write(_summary.render_processes(_formats.processes(data)))
        if written:
            sys.stderr.write(f"  reports: {', '.join(written)}\n")
    return code


def _collect_reports(tmp: str) -> list[dict[str, Any]]:
    """The JSON reports the program's processes left in *tmp*, the first process first."""
    from importguard import _formats

    procs = []
    for name in os.listdir(tmp):
        if name.startswith("report") and name.endswith(".json"):
            try:
                procs.extend(_formats.processes(_formats.load(os.path.join(tmp, name))))
            except RuntimeError as exc:
                sys.stderr.write(f"importguard run: {exc}\n")
    return _formats.processes(_formats.merge(procs)) if procs else []
