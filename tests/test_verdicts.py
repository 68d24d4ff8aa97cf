"""One verdict per failed import statement, and every report format showing that same verdict.

``import a.b.c`` with no ``a`` fails through three records (importlib imports
the parent packages on the statement's behalf); each record's ``swallowed``
says what its own importer did, so ``a`` and ``a.b`` "escaped" into ``a.b.c``.
What the statement did is decided by its head, and shared by the cascade
(``_convert.judge``): ``python -c "import copy"``'s ``from org.python.core
import PyStringMap`` probe is an optional import that is not installed, in
the summary, the JSON, the text, speedscope, the trace and the HTML alike.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from conftest import clean_env, run_hooked, write_tree
from importguard import _formats, _summary
from test_html import browser, open_report  # noqa: F401  (fixtures)

FORMATS = ("json", "txt", "speedscope", "trace", "html")


def convert(tmp_path: Path, report: Path) -> dict[str, str]:
    out = {}
    for fmt, suffix in (
        ("txt", ".txt"),
        ("speedscope", ".speedscope.json"),
        ("trace", ".trace.json"),
        ("html", ".html"),
    ):
        target = tmp_path / f"r{suffix}"
        proc = subprocess.run(
            [sys.executable, "-m", "importguard", "report", "convert", str(report), "-o", str(target)],
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        out[fmt] = target.read_text()
    return out


def verdicts_in_every_format(tmp_path: Path, report: Path) -> dict[str, dict[str, str]]:
    """{format: {failed module: the verdict word that format shows}} (HTML: in the embedded data's JS, below)."""
    data = json.loads(report.read_text())
    texts = convert(tmp_path, report)
    words = _formats.VERDICT_WORDS
    seen: dict[str, dict[str, str]] = {fmt: {} for fmt in FORMATS}
    for r in data["imports"]:
        if r["verdict"] is not None:
            seen["json"][r["name"]] = words[r["verdict"]]
    for line in texts["txt"].splitlines():
        m = re.match(r"importguard: failed: (\S+): .* \[([^\]]+)\]$", line)
        if m:
            seen["txt"][m.group(1)] = m.group(2)
    for frame in json.loads(texts["speedscope"])["shared"]["frames"]:
        m = re.match(r"(\S+) \[failed: ([^\]]+)\]$", frame["name"])
        if m:
            seen["speedscope"][m.group(1)] = m.group(2)
    colours = {"grey": "optional, not found", "yellow": "swallowed", "terrible": "escaped"}
    for event in json.loads(texts["trace"])["traceEvents"]:
        if event.get("ph") == "X" and "error" in event.get("args", {}):
            assert colours[event["cname"]] == words[event["args"]["verdict"]]
            seen["trace"][event["name"]] = words[event["args"]["verdict"]]
    seen["html"] = {}  # filled by the browser test
    return seen


#: copy's and pickle's Jython probe (gone from copy in 3.12): the same statement in a module of ours.
JYTHON_PROBE = {
    "jython_probe.py": "try:\n    from org.python.core import PyStringMap\nexcept ImportError:\n"
    "    PyStringMap = None\n"
}


def test_copy_module_probe_is_optional_everywhere(tmp_path: Path) -> None:
    write_tree(tmp_path, JYTHON_PROBE)
    # copy has the probe up to 3.11 (pickle too, up to 3.12): ours makes it the same on every Python.
    code = "import copy\nimport jython_probe\n"
    proc, data = run_hooked(code, cwd=tmp_path, IMPORTGUARD_SUMMARY="1")
    assert data is not None
    failed = {r["name"]: r for r in data["imports"] if r["status"] != "ok"}
    assert {"org", "org.python", "org.python.core"} <= set(failed)
    # The records keep what each importer did...
    assert failed["org"]["swallowed"] is False and failed["org.python.core"]["swallowed"] is True
    # ...and the statement's verdict is the same for the three.
    assert {failed[n]["verdict"] for n in ("org", "org.python", "org.python.core")} == {"probe"}
    seen = verdicts_in_every_format(tmp_path, tmp_path / "report.json")
    for fmt in ("json", "txt", "speedscope", "trace"):
        for name in ("org", "org.python", "org.python.core"):
            assert seen[fmt][name] == "optional, not found", (fmt, name)
    assert "failed imports:" not in proc.stderr
    assert re.search(r"optional imports not found \(caught by the importer\): .*org\.python\.core", proc.stderr)
    # Nothing else in the process is called a failure by any format.
    for fmt in ("json", "txt", "speedscope", "trace"):
        assert set(seen[fmt].values()) == {"optional, not found"}, (fmt, seen[fmt])


CASCADES = {
    # A dotted import whose top package is missing, not caught: escaped, all three.
    "escapes.py": "import nowhere_pkg.sub.mod\n",
    # A module that was found, ran, and failed on a missing import; swallowed by its importer.
    "plugin_host.py": "try:\n    import restructured\nexcept ImportError:\n    pass\n",
    "restructured.py": "from gone_helper_xyz import thing\n",
}


def test_cascades_share_their_head_verdict(tmp_path: Path) -> None:
    write_tree(tmp_path, CASCADES)
    code = "import plugin_host\ntry:\n    import escapes\nexcept ImportError:\n    pass\n"
    _proc, data = run_hooked(code, cwd=tmp_path)
    assert data is not None
    by = {r["name"]: r for r in data["imports"]}
    # escapes is swallowed by -c; inside it, the dotted import escaped into escapes, so the
    # statement `import escapes` was swallowed and its cascade shares that.
    assert {by[n]["verdict"] for n in ("escapes", "nowhere_pkg.sub.mod", "nowhere_pkg.sub", "nowhere_pkg")} == {
        "swallowed"
    }
    assert by["restructured"]["verdict"] == by["gone_helper_xyz"]["verdict"] == "swallowed"
    real, probes = _summary.failed_statements(data["imports"])
    assert sorted(head["name"] for head, _root in real) == ["escapes", "restructured"]
    assert probes == [(by["sitecustomize"], by["sitecustomize"])] if "sitecustomize" in by else probes == []
    seen = verdicts_in_every_format(tmp_path, tmp_path / "report.json")
    for fmt in ("json", "txt", "speedscope", "trace"):
        assert seen[fmt] == seen["json"], fmt

    # Uncaught at top level: the whole cascade escaped.
    proc, data = run_hooked("import escapes", cwd=tmp_path, check=False)
    assert proc.returncode == 1 and data is not None
    assert {r["verdict"] for r in data["imports"] if r["name"].startswith(("nowhere", "escapes"))} == {"escaped"}


def test_failed_source_module_is_loaded_from_source(tmp_path: Path) -> None:
    write_tree(tmp_path, {"shop/__init__.py": "", "shop/loyalty.py": "import os\nos.environ['NOPE_XYZ']\n"})
    _proc, data = run_hooked("try:\n    import shop.loyalty\nexcept KeyError:\n    pass\n", cwd=tmp_path)
    assert data is not None
    rec = next(r for r in data["imports"] if r["name"] == "shop.loyalty")
    assert rec["status"] == "error" and rec["file"] == str(tmp_path / "shop" / "loyalty.py")
    assert rec["loader"] == "source"


def test_html_agrees(tmp_path: Path, open_report: Any) -> None:
    write_tree(tmp_path, CASCADES)
    write_tree(tmp_path, JYTHON_PROBE)
    code = "import copy, jython_probe, plugin_host\ntry:\n    import escapes\nexcept ImportError:\n    pass\n"
    _proc, data = run_hooked(code, cwd=tmp_path)
    assert data is not None
    page = open_report([data])
    rows = page.js(
        "() => Array.from(document.querySelectorAll('#modules tbody tr'), "
        "tr => [tr.cells[0].textContent, tr.cells[tr.cells.length - 1].textContent])"
    )
    statuses = dict(rows)
    for r in data["imports"]:
        if r["verdict"] is not None:
            # (the table adds up a module's records: "... ×2" for copy's probe and ours)
            status = re.sub(r" ×\d+$", "", statuses[r["name"]])
            assert status == f"{r['status']}, {_formats.VERDICT_WORDS[r['verdict']]}", r["name"]
    issues = page.js("() => document.getElementById('issues').textContent")
    assert "org.python" not in issues.split("optional imports not found")[0]
    assert "org.python.core" in issues.split("optional imports not found")[1]
    # One line per statement, as the summary has them.
    lines = page.js(
        "() => Array.from(document.querySelectorAll('#issues li.k-swallowed, #issues li.k-error'), e => e.textContent)"
    )
    assert sorted(line.split(":")[0] for line in lines) == ["escapes", "restructured"]
