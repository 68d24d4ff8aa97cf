"""``importguard check``: import every module of some packages; report failed imports and export violations.

The packages are imported in a fresh interpreter with the hook on (see
``walker`` and ``importguard._walk``); what it recorded is sorted here into
what counts (exit 1) and what is information, and written as text, JSON,
GitHub Actions annotations or JUnit XML. ``[tool.importguard.budgets]`` are
checked against the one run's cumulative times.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from importguard._cli.budgets import budgets_in_one_run, load_budgets
from importguard._cli.status import EXIT_FOUND, EXIT_OK
from importguard._cli.walker import DEFAULT_TIMEOUT_S, check_settings, run_walker, seconds

HELP = "import every module of the packages; report failures and export violations"
DESCRIPTION = (
    "Import every module of PKG (walking submodules) in a fresh interpreter with the hook on, and report "
    "every failed import and export violation. Exit 0 when clean, 1 when something was found, 2 on a "
    "usage error."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare ``check``'s options on *parser*."""
    parser.add_argument("packages", nargs="+", metavar="PKG")
    parser.add_argument("--format", choices=("text", "json", "github", "junit"), default="text")
    parser.add_argument("--python", default=sys.executable, help="interpreter to check with (default: this one)")
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="do not import modules matching GLOB (repeatable; also [tool.importguard.check] exclude)",
    )
    parser.add_argument(
        "--timeout",
        type=seconds,
        default=DEFAULT_TIMEOUT_S,
        metavar="SECONDS",
        help=f"a module still importing after this long fails (default {DEFAULT_TIMEOUT_S:g}; 0: no limit)",
    )
    parser.add_argument(
        "--snapshot",
        metavar="FILE",
        help="the snapshot to check against (default: importguard.lock "
        "next to pyproject.toml, or the snapshot setting)",
    )
    parser.add_argument(
        "--fail-on-dependencies",
        action="store_true",
        help="count findings in modules outside the packages named and the project (default: listed as information)",
    )


class Findings:
    """What a walk found, sorted into what counts (exit 1) and what is information."""

    def __init__(
        self,
        data: dict[str, Any],
        packages: list[str],
        exclude: Sequence[str],
        accept: dict[str, tuple[tuple[str, ...] | None, str]],
        dependencies: bool,
    ) -> None:
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
            item = {
                **head,
                "root_cause": root["name"] if root is not head else None,
                "root": root,
                "category": cause["category"],
                "reason": cause["reason"],
                "missing_module": cause["missing"],
                "accepted": None,
                "in_scope": head["name"] in scope,
            }
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
        return (
            f"{v['module']} lost {what}{', '.join(v['missing'])} (an API regression against the snapshot "
            f"{v['declared_in']})"
        )
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
            lines.append(
                f"budget exceeded: {b['module']} took {b['cumulative_ms']:.1f} ms cumulative, budget "
                f"{b['budget_ms']:g} ms"
            )
        elif b["cumulative_ms"] is None:
            lines.append(f"budget not checked: {b['module']} was not imported")
    info = []
    kinds = (
        ("missing optional dependencies", "optional"),
        ("other platforms", "platform"),
        ("failures outside the packages checked (--fail-on-dependencies counts them)", "failure"),
        ("accepted in [tool.importguard.accept]", "accepted"),
    )
    for label, kind in kinds:
        items = [
            i
            for i in f.others
            if (kind == "accepted") == bool(i["accepted"]) and (kind == "accepted" or i["category"] == kind)
        ]
        if not items:
            continue
        info.append(f"not counted, {label}: {len(items)}")
        for cause, group in f.groups(items):
            if items[0]["accepted"]:
                cause = f"accepted: {group[0]['accepted']}"
            n = len(group)
            info.append(f"  {n} module{'s' if n > 1 else ''} failed because {cause}: {_names(group)}")
    if f.other_violations:
        info.append(
            f"not counted, export violations outside the packages checked or accepted: "
            f"{len(f.other_violations)} (--fail-on-dependencies counts the unaccepted ones)"
        )
        for v in f.other_violations:
            note = f" [accepted: {v['accepted']}]" if v["accepted"] else ""
            info.append(f"  {_violation_text(v)}{note}")
    if f.excluded:
        info.append(
            f"excluded: {len(f.excluded)} modules (--exclude, [tool.importguard.check] exclude): "
            f"{', '.join(f.excluded[:8])}{' ...' if len(f.excluded) > 8 else ''}"
        )
    if f.skipped:
        info.append(
            f"skipped: {len(f.skipped)} files whose names are not module names: "
            f"{', '.join(f.skipped[:8])}{' ...' if len(f.skipped) > 8 else ''}"
        )
    lines.extend(info)
    summary = (
        f"importguard check {' '.join(f.packages)}: {f.checked} modules checked, {len(f.failures)} failed "
        f"imports, {len(f.violations)} export violations"
    )
    if f.others or f.other_violations:
        summary += f"; {len(f.others) + len(f.other_violations)} not counted"
    if budgets:
        # One import of each module, in the walk's order: a module another one
        # imported first costs nothing here. bench gives medians of fresh processes.
        summary += (
            f", {sum(b['exceeded'] for b in budgets)} of {len(budgets)} budgets exceeded (one run; "
            f"importguard bench measures medians)"
        )
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
        out.append(
            f"::error {place(r['importer'])}title={prop('import failed: ' + r['name'])}::"
            f"{esc(because + str(err.get('type')) + ': ' + str(err.get('message')))}"
        )
    for v in f.violations:
        where = {"file": v["file"], "line": 1} if v["source"] == "snapshot" and v.get("file") else v["importer"]
        title = "API regression" if v["source"] == "snapshot" else "export violation"
        out.append(f"::error {place(where)}title={prop(title + ': ' + v['module'])}::{esc(_violation_text(v))}")
    for r in f.others:
        label = f"accepted: {r['accepted']}" if r["accepted"] else _LABELS[r["category"]]
        out.append(f"::notice title={prop('import failed (' + label + '): ' + r['name'])}::{esc(_cause_text(r))}")
    for v in f.other_violations:
        out.append(
            f"::notice title={prop('export violation (not counted): ' + v['module'])}::{esc(_violation_text(v))}"
        )
    for b in budgets or []:
        if b["exceeded"]:
            out.append(
                f"::error title={prop('import budget exceeded: ' + b['module'])}::{b['module']} took "
                f"{b['cumulative_ms']:.1f} ms cumulative (one run), budget {b['budget_ms']:g} ms"
            )
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
            bad.setdefault(b["module"], []).append(
                f"over its import budget: {b['cumulative_ms']:.1f} ms "
                f"cumulative (one run), budget {b['budget_ms']:g} ms"
            )
    skipped = {r["name"]: _cause_text(r) for r in f.others}
    cases = []
    for name in modules:
        if name in bad:
            body = "\n".join(bad[name])
            cases.append(
                f'  <testcase classname="importguard" name={quoteattr(name)}>'
                f"<failure message={quoteattr(body.splitlines()[0])}>{escape(body)}</failure></testcase>"
            )
        elif name in skipped:
            cases.append(
                f'  <testcase classname="importguard" name={quoteattr(name)}>'
                f"<skipped message={quoteattr(skipped[name])}/></testcase>"
            )
        else:
            cases.append(f'  <testcase classname="importguard" name={quoteattr(name)}/>')
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<testsuite name="importguard check" '
        f'tests="{len(modules)}" failures="{len(bad)}" skipped="{sum(n in skipped and n not in bad for n in modules)}">\n'
        + "\n".join(cases)
        + "\n</testsuite>\n"
    )


def _public(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k != "root"}


def main(args: argparse.Namespace) -> int:
    """Run ``importguard check``; return the exit status."""
    # Read before the walk: a bad budget or setting is a usage error, reported before any work.
    budget_table, _file = load_budgets(os.getcwd())
    table_exclude, accept = check_settings()
    exclude = [*table_exclude, *args.exclude]
    data = run_walker(args.packages, "check", args.python, exclude, args.timeout, args.snapshot)
    problem = (data.get("walk") or {}).get("snapshot_problem")
    if problem:
        raise RuntimeError(
            f"{problem}; without it removed names would pass unnoticed. Regenerate it with: "
            f"importguard snapshot {' '.join(args.packages)} -o FILE"
        )
    f = Findings(data, args.packages, exclude, accept, args.fail_on_dependencies)
    budgets = budgets_in_one_run(budget_table, data["imports"])
    if args.format == "json":
        checked = [{**b, "runs": 1} for b in budgets]
        sys.stdout.write(
            json.dumps(
                {
                    "modules_checked": f.checked,
                    "failures": [_public(r) for r in f.failures],
                    "violations": f.violations,
                    "not_counted": {"failures": [_public(r) for r in f.others], "violations": f.other_violations},
                    "excluded": f.excluded,
                    "skipped": f.skipped,
                    "budgets": checked,
                },
                indent=1,
            )
            + "\n"
        )
    elif args.format == "github":
        sys.stdout.write(_github(f, budgets))
    elif args.format == "junit":
        sys.stdout.write(_junit(f, budgets))
    else:
        sys.stdout.write(_text(f, budgets))
    return EXIT_FOUND if f.failures or f.violations or any(b["exceeded"] for b in budgets) else EXIT_OK
