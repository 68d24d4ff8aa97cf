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


#: Extra seconds past --timeout before a walker that stopped answering is killed
#: (its own alarm interrupts any module that runs Python code or sleeps).
_GRACE_S = 30.0


def _run_walker(packages: list[str], mode: str, python: str, exclude: Sequence[str] = (),
                timeout: float = 0.0, snapshot: str | None = None) -> dict[str, Any]:
    """Run ``_walk`` in a child interpreter; return what it wrote.

    The child gets a pipe on which it names each module before importing it:
    a progress line on a terminal, and the module to blame if it hangs past
    its own alarm. However ``check`` ends (Ctrl-C, SIGTERM, SIGHUP, a bug), the
    child's process group is killed and the temporary file removed.
    """
    import signal
    import time

    fd, out = tempfile.mkstemp(prefix="importguard-", suffix=".json")
    os.close(fd)
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMPORTGUARD") or k in _PASSED_ON}
    env.update(
        IMPORTGUARD="1",
        IMPORTGUARD_SUMMARY="0",
        IMPORTGUARD_EXPORTS="record",  # report everything, raise nothing
        IMPORTGUARD_STUBS="1",
        IMPORTGUARD_PACKAGES=",".join(packages),
        # A check must not change the tree it checks (a pre-commit hook that
        # leaves __pycache__ behind "modified files"); cached bytecode is still read.
        PYTHONDONTWRITEBYTECODE="1",
    )
    if snapshot:
        env["IMPORTGUARD_SNAPSHOT"] = os.path.abspath(snapshot)
    # The checked packages must be importable from here, as `python -c "import pkg"` would.
    env["PYTHONPATH"] = os.pathsep.join(p for p in (os.getcwd(), env.get("PYTHONPATH", "")) if p)
    read_end, write_end = os.pipe()
    argv = [python, "-m", "importguard._walk", out, mode, "--progress-fd", str(write_end)]
    for glob in exclude:
        argv += ["--exclude", glob]
    if timeout:
        argv += ["--timeout", str(timeout)]
    argv += ["--", *packages]
    show = _progress_on_terminal()
    previous: dict[int, Any] = {}

    def stop(signum: int, frame: Any) -> None:
        raise SystemExit(128 + signum)

    proc = None
    logs = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")
    try:
        for signum in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
            if signum is not None:
                previous[signum] = signal.signal(signum, stop)
        try:
            proc = subprocess.Popen(argv, env=env, stdout=logs, stderr=logs, pass_fds=(write_end,),
                                    start_new_session=True)
        except OSError as exc:
            raise RuntimeError(f"cannot run {python}: {exc.strerror or exc}") from None
        finally:
            os.close(write_end)
        current, started, count, buffered = "", time.monotonic(), 0, b""
        limit = timeout + _GRACE_S if timeout else None
        with os.fdopen(read_end, "rb") as progress:
            read_end = -1
            import selectors

            selector = selectors.DefaultSelector()
            selector.register(progress, selectors.EVENT_READ)
            while True:
                if not selector.select(timeout=1.0):
                    if limit is not None and current and time.monotonic() - started > limit:
                        raise RuntimeError(f"importing {current} did not finish within {timeout:g} s and did not "
                                           f"answer the time limit; the walker was killed. Exclude it with "
                                           f"--exclude {current}")
                    continue
                chunk = os.read(progress.fileno(), 65536)
                if not chunk:
                    break
                buffered += chunk
                *lines, buffered = buffered.split(b"\n")
                if lines:
                    count += len(lines)
                    current = lines[-1].decode("utf-8", "replace")
                    started = time.monotonic()
                    if show:
                        sys.stderr.write(f"\r\x1b[Kimportguard {mode}: {count} modules, importing {current}"[:200])
                        sys.stderr.flush()
        code = proc.wait()
        if show:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
        logs.seek(0)
        if code != 0 or os.path.getsize(out) == 0:
            raise RuntimeError(f"the child interpreter failed (exit {code}):\n{logs.read().strip()}")
        with open(out, encoding="utf-8") as fh:
            data: dict[str, Any] = json.load(fh)
        return data
    finally:
        if read_end >= 0:
            os.close(read_end)
        if proc is not None and proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except OSError:
                pass
            proc.wait()
        logs.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        try:
            os.unlink(out)
        except OSError:
            pass


#: Settings a user's environment may give the walker: where the snapshot and the configuration are.
_PASSED_ON = ("IMPORTGUARD_SNAPSHOT", "IMPORTGUARD_CONFIG")


def _progress_on_terminal() -> bool:
    try:
        return bool(sys.stderr.isatty()) and os.environ.get("TERM") != "dumb"
    except Exception:
        return False


def _check_settings() -> tuple[list[str], dict[str, tuple[tuple[str, ...] | None, str]]]:
    """([tool.importguard.check] exclude, [tool.importguard.accept]) of the project here."""
    from importguard import _config

    settings, problems = _config.load(cwd=os.getcwd())
    for problem in problems:
        if problem.setting in ("check", "accept"):
            raise UsageError(str(problem)[len("importguard: "):])
    table = settings.get("check") or {}
    return list(table.get("exclude", ())), dict(settings.get("accept") or {})


class Findings:
    """What a walk found, sorted into what counts (exit 1) and what is information."""

    def __init__(self, data: dict[str, Any], packages: list[str], exclude: Sequence[str],
                 accept: dict[str, tuple[tuple[str, ...] | None, str]], dependencies: bool) -> None:
        from importguard._globs import compile_globs
        from importguard._summary import failed_statements

        walk = data.get("walk") or {}
        self.data = data
        self.packages = packages
        self.checked = len(walk.get("checked") or ())
        self.excluded = list(walk.get("excluded") or ())
        self.skipped = list(walk.get("skipped") or ())
        by_id = {r["id"]: r for r in data["imports"]}
        scope = set(walk.get("in_scope") or ())
        excluded = compile_globs(list(exclude)) if exclude else None
        accepted = [(compile_globs([glob]), names, reason) for glob, (names, reason) in accept.items()]
        causes = {c["id"]: c for c in walk.get("causes") or ()}
        real, _probes = failed_statements(data["imports"])
        # One entry per module and root cause: a module imported again after it
        # failed (another module's retry) is the same failure. The one that
        # names an importer outside the walker is kept.
        unique: dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any]]] = {}
        for pair in real:
            key = (pair[0]["name"], pair[1]["name"])
            if key not in unique or (unique[key][0]["importer"] is None and pair[0]["importer"] is not None):
                unique[key] = pair
        real = [pair for pair in real if unique[(pair[0]["name"], pair[1]["name"])] is pair]
        self.failures: list[dict[str, Any]] = []  # count
        self.others: list[dict[str, Any]] = []  # optional dependency, other platform, dependency's, accepted
        for head, root in real:
            cause = causes.get(head["id"]) or {"category": "failure", "reason": None, "missing": None}
            item = {**head, "root_cause": root["name"] if root is not head else None, "root": root,
                    "category": cause["category"], "reason": cause["reason"], "missing_module": cause["missing"],
                    "accepted": None, "in_scope": head["name"] in scope}
            if excluded is not None and excluded(head["name"]):
                continue
            reason = next((why for match, names, why in accepted if names is None and match(head["name"])), None)
            if reason is not None:
                item["accepted"] = reason
            counts = item["category"] == "failure" and reason is None and (item["in_scope"] or dependencies)
            (self.failures if counts else self.others).append(item)
        self.violations: list[dict[str, Any]] = []
        self.other_violations: list[dict[str, Any]] = []
        for v in data["violations"]:
            if not v["missing"] or v["source"] == "fromlist":
                continue
            if excluded is not None and excluded(v["module"]):
                continue
            record = by_id.get(v.get("import_id"))
            v = {**v, "file": record["file"] if record else None, "in_scope": v["module"] in scope}
            counts = not v["accepted"] and (v["in_scope"] or dependencies)
            (self.violations if counts else self.other_violations).append(v)

    def groups(self, items: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
        """Failures grouped by root cause, largest group first."""
        table: dict[str, list[dict[str, Any]]] = {}
        for item in items:
            table.setdefault(_cause_text(item), []).append(item)
        return sorted(table.items(), key=lambda kv: (-len(kv[1]), kv[0]))


def _cause_text(item: dict[str, Any]) -> str:
    if item["reason"]:
        return str(item["reason"])
    root = item["root"]
    err = root.get("error") or {}
    return f"{root['name']} failed: {err.get('type')}: {err.get('message')}"


def _names(items: list[dict[str, Any]], limit: int = 8) -> str:
    names = sorted({i["name"] for i in items})
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


_LABELS = {"optional": "missing optional dependency", "platform": "other platform", "failure": "failure"}


def _violation_text(v: dict[str, Any]) -> str:
    what = "modules " if v.get("kind") == "modules" else ""
    if v["source"] == "snapshot":
        return (f"{v['module']} lost {what}{', '.join(v['missing'])} (an API regression against the snapshot "
                f"{v['declared_in']})")
    return f"{v['module']} lacks {what}{', '.join(v['missing'])} (declared by {v['source']} in {v['declared_in']})"


def _text(f: Findings, budgets: list[dict[str, Any]] | None = None) -> str:
    from importguard._summary import describe_failure

    lines = []
    for cause, items in f.groups(f.failures):
        if len(items) > 1:
            lines.append(f"{len(items)} modules failed because {cause}:")
        for r in items:
            lines.append(f"import failed: {describe_failure(r, r['root'] if r['root_cause'] else r)}")
    for v in f.violations:
        lines.append(f"export violation: {_violation_text(v)}")
        for rel in v.get("related_failures", []):
            lines.append(f"    related: {rel['name']}: {rel['error']}")
    for b in budgets or []:
        if b["exceeded"]:
            lines.append(f"budget exceeded: {b['module']} took {b['cumulative_ms']:.1f} ms cumulative, budget "
                         f"{b['budget_ms']:g} ms")
        elif b["cumulative_ms"] is None:
            lines.append(f"budget not checked: {b['module']} was not imported")
    info = []
    kinds = (("missing optional dependencies", "optional"), ("other platforms", "platform"),
             ("failures outside the packages checked (--fail-on-dependencies counts them)", "failure"),
             ("accepted in [tool.importguard.accept]", "accepted"))
    for label, kind in kinds:
        items = [i for i in f.others if (kind == "accepted") == bool(i["accepted"])
                 and (kind == "accepted" or i["category"] == kind)]
        if not items:
            continue
        info.append(f"not counted, {label}: {len(items)}")
        for cause, group in f.groups(items):
            if items[0]["accepted"]:
                cause = f"accepted: {group[0]['accepted']}"
            n = len(group)
            info.append(f"  {n} module{'s' if n > 1 else ''} failed because {cause}: {_names(group)}")
    if f.other_violations:
        info.append(f"not counted, export violations outside the packages checked or accepted: "
                    f"{len(f.other_violations)} (--fail-on-dependencies counts the unaccepted ones)")
        for v in f.other_violations:
            note = f" [accepted: {v['accepted']}]" if v["accepted"] else ""
            info.append(f"  {_violation_text(v)}{note}")
    if f.excluded:
        info.append(f"excluded: {len(f.excluded)} modules (--exclude, [tool.importguard.check] exclude): "
                    f"{', '.join(f.excluded[:8])}{' ...' if len(f.excluded) > 8 else ''}")
    if f.skipped:
        info.append(f"skipped: {len(f.skipped)} files whose names are not module names: "
                    f"{', '.join(f.skipped[:8])}{' ...' if len(f.skipped) > 8 else ''}")
    lines.extend(info)
    summary = (f"importguard check {' '.join(f.packages)}: {f.checked} modules checked, {len(f.failures)} failed "
               f"imports, {len(f.violations)} export violations")
    if f.others or f.other_violations:
        summary += f"; {len(f.others) + len(f.other_violations)} not counted"
    if budgets:
        # One import of each module, in the walk's order: a module another one
        # imported first costs nothing here. bench gives medians of fresh processes.
        summary += (f", {sum(b['exceeded'] for b in budgets)} of {len(budgets)} budgets exceeded (one run; "
                    f"importguard bench measures medians)")
    lines.append(summary)
    return "\n".join(lines) + "\n"


def _github(f: Findings, budgets: list[dict[str, Any]] | None = None) -> str:
    """GitHub Actions workflow commands: an annotation per finding, on the file at fault."""
    def esc(s: str) -> str:
        return s.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")

    def prop(s: str) -> str:
        return esc(s).replace(":", "%3A").replace(",", "%2C")

    def place(loc: dict[str, Any] | None) -> str:
        if not loc or not loc.get("file"):
            return ""
        line = f",line={loc['line']}" if loc.get("line") else ""
        return f"file={prop(_relative(loc['file']))}{line},"

    out = []
    for r in f.failures:
        err = r["root"].get("error") or {}
        because = f"because {r['root_cause']} failed: " if r["root_cause"] else ""
        out.append(f"::error {place(r['importer'])}title={prop('import failed: ' + r['name'])}::"
                   f"{esc(because + str(err.get('type')) + ': ' + str(err.get('message')))}")
    for v in f.violations:
        where = {"file": v["file"], "line": 1} if v["source"] == "snapshot" and v.get("file") else v["importer"]
        title = "API regression" if v["source"] == "snapshot" else "export violation"
        out.append(f"::error {place(where)}title={prop(title + ': ' + v['module'])}::{esc(_violation_text(v))}")
    for r in f.others:
        label = f"accepted: {r['accepted']}" if r["accepted"] else _LABELS[r["category"]]
        out.append(f"::notice title={prop('import failed (' + label + '): ' + r['name'])}::{esc(_cause_text(r))}")
    for v in f.other_violations:
        out.append(f"::notice title={prop('export violation (not counted): ' + v['module'])}::{esc(_violation_text(v))}")
    for b in budgets or []:
        if b["exceeded"]:
            out.append(f"::error title={prop('import budget exceeded: ' + b['module'])}::{b['module']} took "
                       f"{b['cumulative_ms']:.1f} ms cumulative (one run), budget {b['budget_ms']:g} ms")
    out.append(f"::notice title=importguard check::{esc(_text(f, budgets).splitlines()[-1])}")
    return "\n".join(out) + "\n"


def _relative(path: str) -> str:
    """A path as GitHub annotations want it: relative to the checkout when inside it."""
    base = os.environ.get("GITHUB_WORKSPACE") or os.getcwd()
    try:
        rel = os.path.relpath(path, base)
    except ValueError:
        return path
    return path if rel.startswith("..") else rel


def _junit(f: Findings, budgets: list[dict[str, Any]] | None = None) -> str:
    data = f.data
    modules = sorted({r["name"] for r in data["imports"]} | {v["module"] for v in f.violations})
    bad: dict[str, list[str]] = {}
    for r in f.failures:
        err = r["error"] or {}
        bad.setdefault(r["name"], []).append(f"{err.get('type')}: {err.get('message')}\n{err.get('traceback', '')}")
    for v in f.violations:
        bad.setdefault(v["module"], []).append(_violation_text(v))
    for b in budgets or []:
        if b["exceeded"]:
            bad.setdefault(b["module"], []).append(f"over its import budget: {b['cumulative_ms']:.1f} ms "
                                                   f"cumulative (one run), budget {b['budget_ms']:g} ms")
    skipped = {r["name"]: _cause_text(r) for r in f.others}
    cases = []
    for name in modules:
        if name in bad:
            body = "\n".join(bad[name])
            cases.append(f'  <testcase classname="importguard" name={quoteattr(name)}>'
                         f'<failure message={quoteattr(body.splitlines()[0])}>{escape(body)}</failure></testcase>')
        elif name in skipped:
            cases.append(f'  <testcase classname="importguard" name={quoteattr(name)}>'
                         f'<skipped message={quoteattr(skipped[name])}/></testcase>')
        else:
            cases.append(f'  <testcase classname="importguard" name={quoteattr(name)}/>')
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<testsuite name="importguard check" '
            f'tests="{len(modules)}" failures="{len(bad)}" skipped="{sum(n in skipped and n not in bad for n in modules)}">\n'
            + "\n".join(cases) + "\n</testsuite>\n")


def _public(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k != "root"}


def cmd_check(args: argparse.Namespace) -> int:
    from importguard import _bench

    # Read before the walk: a bad budget or setting is a usage error, reported before any work.
    budget_table, _file = _bench.load_budgets(os.getcwd())
    table_exclude, accept = _check_settings()
    exclude = [*table_exclude, *args.exclude]
    data = _run_walker(args.packages, "check", args.python, exclude, args.timeout, args.snapshot)
    problem = (data.get("walk") or {}).get("snapshot_problem")
    if problem:
        raise RuntimeError(f"{problem}; without it removed names would pass unnoticed. Regenerate it with: "
                           f"importguard snapshot {' '.join(args.packages)} -o FILE")
    f = Findings(data, args.packages, exclude, accept, args.fail_on_dependencies)
    budgets = _bench.budgets_in_one_run(budget_table, data["imports"])
    if args.format == "json":
        checked = [{**b, "runs": 1} for b in budgets]
        sys.stdout.write(json.dumps({
            "modules_checked": f.checked, "failures": [_public(r) for r in f.failures], "violations": f.violations,
            "not_counted": {"failures": [_public(r) for r in f.others], "violations": f.other_violations},
            "excluded": f.excluded, "skipped": f.skipped, "budgets": checked}, indent=1) + "\n")
    elif args.format == "github":
        sys.stdout.write(_github(f, budgets))
    elif args.format == "junit":
        sys.stdout.write(_junit(f, budgets))
    else:
        sys.stdout.write(_text(f, budgets))
    return EXIT_FOUND if f.failures or f.violations or any(b["exceeded"] for b in budgets) else EXIT_OK


def cmd_snapshot(args: argparse.Namespace) -> int:
    table_exclude, _accept = _check_settings()
    # The snapshot being written is not read while writing it.
    data = _run_walker(args.packages, "snapshot", args.python, [*table_exclude, *args.exclude], args.timeout,
                       snapshot=os.devnull)
    text = _snapshot.dumps(data["api"])
    if args.output == "-":
        sys.stdout.write(text)
    else:
        from importguard._report import write_text

        write_text(args.output, text)
        sys.stderr.write(f"importguard: wrote the public names of {len(data['api'])} modules to {args.output}\n")
    from importguard._summary import failed_statements

    real, _ = failed_statements(data["imports"])
    for r, _root in real:
        if any(r["name"] == p or r["name"].startswith(p + ".") for p in args.packages):
            sys.stderr.write(f"importguard: warning: {r['name']} failed to import; its names are not in the snapshot\n")
    return EXIT_OK


def program_argv(module: str | None, program: list[str]) -> list[str]:
    """The command line of ``run``'s and ``advise``'s program forms: ``-- COMMAND``,
    ``script.py ARGS`` or ``-m module ARGS`` (the last two with this Python)."""
    argv = list(program)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if module:
        argv = [sys.executable, "-m", module, *argv]
    elif argv and argv[0].endswith(".py"):
        argv = [sys.executable, *argv]
    if not argv:
        raise UsageError("nothing to run: give a command after --, a script.py, or -m module")
    return argv


def cmd_run(args: argparse.Namespace) -> int:
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


def cmd_advise(args: argparse.Namespace) -> int:
    from importguard import _advise

    return _advise.main(args, program_argv(args.module, args.program))


def cmd_report(args: argparse.Namespace) -> int:
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
                sys.stderr.write(f"importguard report: {path} {again} (pid {proc.get('pid')}); "
                                 "that process is merged once. Name each per-process report once.\n")
                continue
            seen[key] = path
            procs.append(proc)
        if procs:
            reports.append({"schema": _formats.MERGED_SCHEMA, "processes": procs} if len(procs) > 1 else procs[0])
    data = _formats.merge(reports) if len(reports) > 1 else reports[0]
    _formats.write(args.output, data, fmt)
    procs = _formats.processes(data)
    imports = sum(len(p["imports"]) for p in procs)
    sys.stderr.write(f"importguard report: wrote {args.output} ({fmt}): {len(procs)} process"
                     f"{'es' if len(procs) != 1 else ''}, {imports:,} imports, from {len(args.inputs)} file"
                     f"{'s' if len(args.inputs) != 1 else ''}\n")
    return EXIT_OK


class UsageError(RuntimeError):
    """A command line that cannot be carried out: exit 2 with this message."""


#: Per-module import time limit of check and snapshot: generous, a hang is what it is for.
DEFAULT_TIMEOUT_S = 120.0


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds (0 or more; 0: no limit)")
    return value


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
    check.add_argument("--exclude", action="append", default=[], metavar="GLOB",
                       help="do not import modules matching GLOB (repeatable; also [tool.importguard.check] exclude)")
    check.add_argument("--timeout", type=_seconds, default=DEFAULT_TIMEOUT_S, metavar="SECONDS",
                       help=f"a module still importing after this long fails (default {DEFAULT_TIMEOUT_S:g}; 0: no limit)")
    check.add_argument("--snapshot", metavar="FILE", help="the snapshot to check against (default: importguard.lock "
                                                          "next to pyproject.toml, or the snapshot setting)")
    check.add_argument("--fail-on-dependencies", action="store_true",
                       help="count findings in modules outside the packages named and the project (default: listed "
                            "as information)")
    check.set_defaults(func=cmd_check)

    snap = sub.add_parser("snapshot", help="record the public names of every module of the packages",
                          description="Record the public names of every module of PKG in a stable text format. With "
                                      "the file present (importguard.lock next to pyproject.toml, or the `snapshot` "
                                      "setting), a name that disappears is an export violation; a new one is not.")
    snap.add_argument("packages", nargs="+", metavar="PKG")
    snap.add_argument("-o", "--output", default="importguard.lock", help="file to write, - for stdout")
    snap.add_argument("--python", default=sys.executable)
    snap.add_argument("--exclude", action="append", default=[], metavar="GLOB", help="leave out modules matching GLOB")
    snap.add_argument("--timeout", type=_seconds, default=DEFAULT_TIMEOUT_S, metavar="SECONDS",
                      help=f"a module still importing after this long fails (default {DEFAULT_TIMEOUT_S:g})")
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

    advise = sub.add_parser("advise", help="which imports to defer, and what deferring them saves",
                            description="Run a program once with the hook on, watching when each module is first "
                                        "used, and list the imports made before startup ended whose modules were "
                                        "not used by then, ranked by cost, with how to defer each. --verify "
                                        "measures the saving. Forms as for run. The exit status is the program's.")
    from importguard import _advise

    _advise.add_arguments(advise)
    advise.set_defaults(func=cmd_advise)

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
