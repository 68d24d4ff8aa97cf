"""The ``importguard`` command line (also ``python -m importguard``).

``check`` and ``snapshot`` import packages in a fresh child interpreter with
the hook on (see ``_walk.py``) and read back what it recorded.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from importguard import __version__, _snapshot

EXIT_OK, EXIT_FOUND, EXIT_USAGE = 0, 1, 2


def _run_walker(packages: list[str], mode: str, python: str) -> dict[str, Any]:
    """Run ``_walk`` in a child interpreter; return what it wrote."""
    fd, out = tempfile.mkstemp(prefix="importguard-", suffix=".json")
    os.close(fd)
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMPORTGUARD")}
    env.update(
        IMPORTGUARD="1",
        IMPORTGUARD_SUMMARY="0",
        IMPORTGUARD_EXPORTS="record",  # report everything, raise nothing
        IMPORTGUARD_STUBS="1",
        IMPORTGUARD_PACKAGES=",".join(packages),
    )
    # The checked packages must be importable from here, as `python -c "import pkg"` would.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (os.getcwd(), env.get("PYTHONPATH", "")) if p)
    try:
        try:
            proc = subprocess.run([python, "-m", "importguard._walk", out, mode, *packages], env=env,
                                  capture_output=True, text=True)
        except OSError as exc:
            raise RuntimeError(f"cannot run {python}: {exc.strerror or exc}") from None
        if proc.returncode != 0 or os.path.getsize(out) == 0:
            raise RuntimeError(f"the child interpreter failed (exit {proc.returncode}):\n{proc.stderr.strip()}")
        with open(out, encoding="utf-8") as fh:
            data: dict[str, Any] = json.load(fh)
        return data
    finally:
        os.unlink(out)


def _problems(data: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(failed import statements that matter, violations that are not accepted).

    A cascade (a.b failed because a did) counts once, at its outermost record,
    which carries ``root_cause``; an optional dependency probe (not found, and
    caught by the importer) does not count.
    """
    from importguard._summary import failed_statements

    real, _probes = failed_statements(data["imports"])
    failures = [{**head, "root_cause": root["name"] if root is not head else None} for head, root in real]
    violations = [v for v in data["violations"] if v["missing"] and not v["accepted"] and v["source"] != "fromlist"]
    return failures, violations


def _text(failures: list[dict[str, Any]], violations: list[dict[str, Any]], packages: list[str],
          data: dict[str, Any], budgets: list[dict[str, Any]] | None = None) -> str:
    from importguard._summary import describe_failure

    by_name = {r["name"]: r for r in data["imports"]}
    lines = []
    for r in failures:
        root = by_name.get(r["root_cause"], r) if r["root_cause"] else r
        lines.append(f"import failed: {describe_failure(r, root)}")
    for v in violations:
        lines.append(f"export violation: {v['module']} lacks {', '.join(v['missing'])} "
                     f"(declared by {v['source']} in {v['declared_in']})")
        for rel in v.get("related_failures", []):
            lines.append(f"    related: {rel['name']}: {rel['error']}")
    for b in budgets or []:
        if b["exceeded"]:
            lines.append(f"budget exceeded: {b['module']} took {b['cumulative_ms']:.1f} ms cumulative, budget "
                         f"{b['budget_ms']:g} ms")
        elif b["cumulative_ms"] is None:
            lines.append(f"budget not checked: {b['module']} was not imported")
    summary = f"importguard check {' '.join(packages)}: {len(failures)} failed imports, {len(violations)} export violations"
    if budgets:
        # One import of each module, in the walk's order: a module another one
        # imported first costs nothing here. bench gives medians of fresh processes.
        summary += (f", {sum(b['exceeded'] for b in budgets)} of {len(budgets)} budgets exceeded (one run; "
                    f"importguard bench measures medians)")
    lines.append(summary)
    return "\n".join(lines) + "\n"


def _github(failures: list[dict[str, Any]], violations: list[dict[str, Any]],
            budgets: list[dict[str, Any]] | None = None) -> str:
    def esc(s: str) -> str:
        return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")

    out = []
    for r in failures:
        err = r["error"] or {}
        loc = r["importer"] or {}
        place = f"file={loc['file']},line={loc['line']}," if loc else ""
        out.append(f"::error {place}title=import failed: {r['name']}::{esc(str(err.get('type')) + ': ' + str(err.get('message')))}")
    for v in violations:
        loc = v["importer"] or {}
        place = f"file={loc['file']},line={loc['line']}," if loc else ""
        out.append(f"::error {place}title=export violation: {v['module']}::"
                   f"{esc(v['module'] + ' lacks ' + ', '.join(v['missing']) + ' (declared by ' + v['source'] + ')')}")
    for b in budgets or []:
        if b["exceeded"]:
            out.append(f"::error title=import budget exceeded: {b['module']}::{b['module']} took "
                       f"{b['cumulative_ms']:.1f} ms cumulative (one run), budget {b['budget_ms']:g} ms")
    return "\n".join(out) + ("\n" if out else "")


def _junit(failures: list[dict[str, Any]], violations: list[dict[str, Any]], data: dict[str, Any],
           budgets: list[dict[str, Any]] | None = None) -> str:
    modules = sorted({r["name"] for r in data["imports"]} | {v["module"] for v in violations})
    bad: dict[str, list[str]] = {}
    for r in failures:
        err = r["error"] or {}
        bad.setdefault(r["name"], []).append(f"{err.get('type')}: {err.get('message')}\n{err.get('traceback', '')}")
    for v in violations:
        bad.setdefault(v["module"], []).append(f"lacks {', '.join(v['missing'])} (declared by {v['source']})")
    for b in budgets or []:
        if b["exceeded"]:
            bad.setdefault(b["module"], []).append(f"over its import budget: {b['cumulative_ms']:.1f} ms "
                                                   f"cumulative (one run), budget {b['budget_ms']:g} ms")
    cases = []
    for name in modules:
        if name in bad:
            body = "\n".join(bad[name])
            cases.append(f'  <testcase classname="importguard" name={quoteattr(name)}>'
                         f'<failure message={quoteattr(body.splitlines()[0])}>{escape(body)}</failure></testcase>')
        else:
            cases.append(f'  <testcase classname="importguard" name={quoteattr(name)}/>')
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<testsuite name="importguard check" '
            f'tests="{len(modules)}" failures="{len(bad)}">\n' + "\n".join(cases) + "\n</testsuite>\n")


def cmd_check(args: argparse.Namespace) -> int:
    from importguard import _bench

    # Read before the walk: a bad budget is a usage error, reported before any work.
    budget_table, _file = _bench.load_budgets(os.getcwd())
    data = _run_walker(args.packages, "check", args.python)
    failures, violations = _problems(data)
    budgets = _bench.budgets_in_one_run(budget_table, data["imports"])
    if args.format == "json":
        checked = [{**b, "runs": 1} for b in budgets]
        sys.stdout.write(json.dumps({"failures": failures, "violations": violations, "budgets": checked},
                                    indent=1) + "\n")
    elif args.format == "github":
        sys.stdout.write(_github(failures, violations, budgets))
    elif args.format == "junit":
        sys.stdout.write(_junit(failures, violations, data, budgets))
    else:
        sys.stdout.write(_text(failures, violations, args.packages, data, budgets))
    return EXIT_FOUND if failures or violations or any(b["exceeded"] for b in budgets) else EXIT_OK


def cmd_snapshot(args: argparse.Namespace) -> int:
    data = _run_walker(args.packages, "snapshot", args.python)
    text = _snapshot.dumps(data["api"])
    if args.output == "-":
        sys.stdout.write(text)
    else:
        from importguard._report import write_text

        write_text(args.output, text)
        sys.stderr.write(f"importguard: wrote the public names of {len(data['api'])} modules to {args.output}\n")
    failures, _ = _problems(data)
    for r in failures:
        sys.stderr.write(f"importguard: warning: {r['name']} failed to import; its names are not in the snapshot\n")
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    argv = list(args.program)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if args.module:
        argv = [sys.executable, "-m", args.module, *argv]
    elif argv and argv[0].endswith(".py"):
        argv = [sys.executable, *argv]
    if not argv:
        raise UsageError("nothing to run: give a command after --, a script.py, or -m module")
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
        sys.stderr.write("importguard run: the program wrote no report (is importguard installed for the "
                         "Python it runs?)\n")
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


def cmd_report(args: argparse.Namespace) -> int:
    from importguard import _formats

    try:
        fmt = _formats.format_for(args.output)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    reports = [_formats.load(path) for path in args.inputs]
    _formats.write(args.output, _formats.merge(reports) if len(reports) > 1 else reports[0], fmt)
    return EXIT_OK


class UsageError(RuntimeError):
    """A command line that cannot be carried out: exit 2 with this message."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="importguard", description="Import-time checks and measurements.")
    parser.add_argument("--version", action="version", version=f"importguard {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = sub.add_parser("check", help="import every module of the packages; report failures and export violations",
                           description="Import every module of PKG (walking submodules) in a fresh interpreter with "
                                       "the hook on, and report every failed import and export violation. Exit 0 "
                                       "when clean, 1 when something was found, 2 on a usage error.")
    check.add_argument("packages", nargs="+", metavar="PKG")
    check.add_argument("--format", choices=("text", "json", "github", "junit"), default="text")
    check.add_argument("--python", default=sys.executable, help="interpreter to check with (default: this one)")
    check.set_defaults(func=cmd_check)

    snap = sub.add_parser("snapshot", help="record the public names of every module of the packages",
                          description="Record the public names of every module of PKG in a stable text format. With "
                                      "the file present (importguard.lock next to pyproject.toml, or the `snapshot` "
                                      "setting), a name that disappears is an export violation; a new one is not.")
    snap.add_argument("packages", nargs="+", metavar="PKG")
    snap.add_argument("-o", "--output", default="importguard.lock", help="file to write, - for stdout")
    snap.add_argument("--python", default=sys.executable)
    snap.set_defaults(func=cmd_snapshot)

    run = sub.add_parser("run", help="run a program with the hook on",
                         description="Run a program with the hook on (IMPORTGUARD=1) and print the summary at exit. "
                                     "The exit status is the program's. Forms: importguard run -- python app.py ARGS; "
                                     "importguard run script.py ARGS; importguard run -m package.module ARGS.")
    run.add_argument("--report", action="append", default=[], metavar="PATH", help="write a report to PATH; its suffix picks the format (.json, .txt, "
                          ".speedscope.json, .trace.json, .html); repeat for several")
    run.add_argument("--otlp", metavar="URL", help="send the import spans to this OTLP/HTTP endpoint at exit "
                                                   "(e.g. http://127.0.0.1:4318), unless the program sets up its own")
    run.add_argument("--no-summary", dest="summary", action="store_false", help="do not print the summary")
    run.add_argument("-m", dest="module", metavar="MODULE", help="run a module, as python -m does")
    run.add_argument("program", nargs=argparse.REMAINDER, help="the command, or script.py and its arguments")
    run.set_defaults(func=cmd_run)

    bench = sub.add_parser("bench", help="measure import cost over repeated fresh processes",
                           description="Import each TARGET (a module name, or a shell command given with --command) "
                                       "in N fresh processes with the hook on, alternating targets, and report per "
                                       "module the median and spread of self and cumulative time.")
    from importguard import _bench

    _bench.add_arguments(bench)
    bench.set_defaults(func=_bench.main)

    compare = sub.add_parser("compare", help="compare two bench results; exit 1 on a regression",
                             description="Compare two `importguard bench --json` results. A module counts as "
                                         "slower only when the change exceeds the absolute and the relative "
                                         "allowance and the spread of the runs. Exit 1 on a regression.")
    from importguard import _compare

    _compare.add_arguments(compare)
    compare.set_defaults(func=_compare.main)

    report = sub.add_parser("report", help="merge or convert reports",
                            description="Merge per-process JSON reports of one program, or convert a report to "
                                        "another format (chosen by the output's suffix: .json, .txt, "
                                        ".speedscope.json, .trace.json, .html).")
    rsub = report.add_subparsers(dest="report_command", required=True, metavar="ACTION")
    merge = rsub.add_parser("merge", help="merge per-process reports into one",
                            description="Merge the per-process JSON reports of one program (a pre-fork server, "
                                        "multiprocessing) into one file; every format shows the processes side by side.")
    merge.add_argument("inputs", nargs="+", metavar="REPORT.json")
    merge.add_argument("-o", "--output", required=True, metavar="OUT", help="file to write; its suffix picks the format")
    merge.set_defaults(func=cmd_report)
    convert = rsub.add_parser("convert", help="convert a report to another format",
                              description="Convert a JSON report to the format named by OUT's suffix.")
    convert.add_argument("inputs", nargs=1, metavar="REPORT.json")
    convert.add_argument("-o", "--output", required=True, metavar="OUT", help="file to write; its suffix picks the format")
    convert.set_defaults(func=cmd_report)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except RuntimeError as exc:
        sys.stderr.write(f"importguard {args.command}: {exc}\n")
        return EXIT_USAGE
