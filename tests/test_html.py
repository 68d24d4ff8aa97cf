"""The HTML report: safe embedding of hostile report text, and what a real browser shows.

The browser tests drive Debian's Chromium (``/usr/bin/chromium``, or the path
in ``IMPORTGUARD_TEST_CHROMIUM``) with Playwright; they skip when either is
missing, unless ``IMPORTGUARD_REQUIRE_BROWSER=1`` (CI), where they fail.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from conftest import ROOT, hooked_env, run_python, write_tree
from importguard import _formats, _html

SCHEMA = json.loads((ROOT / "importguard" / "report.schema.json").read_text())
CHROMIUM = os.environ.get("IMPORTGUARD_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",  # CI containers run as root
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
BLOB = re.compile(r'<script type="application/json" id="importguard-data">(.*?)</script>', re.S)

# Strings a report can legitimately hold: module names come from file names,
# messages from exceptions, thread names from user code.
EVIL = [
    "<script>window.__pwned=1</script>",
    "</script><script>window.__pwned=2</script>",
    "<img src=x onerror=window.__pwned=3>",
    "\"'&amp;&lt;<!--<![CDATA[",
    "line\nbreak\r\ttab\x00nul",
    "\u2028\u2029 separators",
    "lone \udcff surrogate",
    "\ud800",
    "emoji \U0001f600 and \u00fcn\u00efc\u00f6d\u00e9",
]
#: The hostile strings that survive a trip through the browser unchanged.
EVIL_ASCII = EVIL[:4]


# ---------------------------------------------------------------- report builders


def rec(
    id: int,
    name: str,
    parent: int | None,
    ms: float,
    self_ms: float | None = None,
    *,
    thread: int = 1,
    thread_name: str = "MainThread",
    status: str = "ok",
    swallowed: bool | None = None,
    error: dict[str, Any] | None = None,
    file: str | None = None,
) -> dict[str, Any]:
    """One import record in the report schema, with round numbers."""
    return {
        "id": id,
        "name": name,
        "parent": None,
        "parent_id": parent,
        "thread": thread,
        "thread_name": thread_name,
        "start_ns": 1_700_000_000_000_000_000 + id * 1000,
        "duration_ns": int(ms * 1e6),
        "self_ns": int((ms if self_ms is None else self_ms) * 1e6),
        "status": status,
        "error": error,
        "swallowed": swallowed,
        "file": file if file is not None else None if status == "not_found" else f"/src/{name.replace('.', '/')}.py",
        "loader": "source",
        "importer": {"file": "/src/importer.py", "line": 3} if status != "ok" else None,
    }


def proc(pid: int, imports: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    report = {
        "schema": "importguard.report/1",
        "pid": pid,
        "python": "3.12.1",
        "imports": imports,
        "violations": [],
        "internal_errors": [],
    }
    report.update(extra)
    jsonschema.validate(report, SCHEMA)
    return report


def err(typ: str, message: str, caused_by: int | None = None) -> dict[str, Any]:
    return {"type": typ, "message": message, "traceback": f"Traceback:\n  {typ}: {message}\n", "caused_by": caused_by}


def synthetic() -> list[dict[str, Any]]:
    """Two processes; every module at least a few pixels wide, so all are drawn."""
    main = proc(
        101,
        [
            rec(0, "app", None, 100, 10),
            rec(1, "app.db", 0, 60, 25),
            rec(2, "app.db.driver", 1, 30, 30),
            rec(3, "app.web", 0, 20, 15),
            rec(4, "app.web.broken", 3, 5, 5, status="error", swallowed=False, error=err("ValueError", "boom")),
            rec(5, "app.plugin", 0, 8, 6, status="error", swallowed=True, error=err("ImportError", "no", 6)),
            rec(6, "app.plugin.dep", 5, 2, 2, status="error", swallowed=False, error=err("ImportError", "no")),
            rec(
                7,
                "fastjson",
                0,
                2,
                2,
                status="not_found",
                swallowed=True,
                error=err("ModuleNotFoundError", "No module named 'fastjson'"),
            ),
            rec(8, "tools", None, 50, 50),
            rec(9, "worker.job", None, 40, 35, thread=2, thread_name="pool-1"),
            rec(10, "worker.job.util", 9, 5, 5, thread=2, thread_name="pool-1"),
        ],
        violations=[
            {
                "module": "app",
                "missing": ["Gone"],
                "source": "__all__",
                "declared_in": "/src/app.py",
                "importer": None,
                "chain": ["app"],
                "mode": "warn",
                "import_id": 0,
            }
        ],
        folded_records=3,
        folded=[
            {"name": "tools", "count": 3, "total_ns": 9_000_000, "self_ns": 9_000_000},
            {"name": "gone.early", "count": 2, "total_ns": 4_000_000, "self_ns": 1_000_000},
        ],
    )
    child = proc(202, [rec(0, "app", None, 70, 40), rec(1, "app.db", 0, 30, 30)])
    return [main, child]


def hostile() -> list[dict[str, Any]]:
    """Every string field filled with text that is dangerous in HTML, JSON or UTF-8."""
    imports = []
    for i, s in enumerate(EVIL):
        r = rec(
            i,
            s,
            0 if i else None,
            50 - i,
            2,
            thread_name=EVIL[(i + 2) % len(EVIL)],
            file=s,
            status="error" if i % 2 else "ok",
            swallowed=bool(i % 4 == 1) if i % 2 else None,
            error=err(s, s) if i % 2 else None,
        )
        r["loader"] = s
        r["parent"] = EVIL[0] if i else None
        if r["importer"]:
            r["importer"]["file"] = s
        imports.append(r)
    report = proc(
        303,
        imports,
        python=EVIL[2],
        violations=[
            {
                "module": s,
                "missing": [s, "x"],
                "source": "__all__",
                "declared_in": s,
                "importer": None,
                "chain": [s],
                "mode": "warn",
                "accepted": None,
                "import_id": i,
            }
            for i, s in enumerate(EVIL[:3])
        ],
        internal_errors=[{"where": s, "type": s, "message": s} for s in EVIL[:2]],
        folded_records=len(EVIL),
        folded=[{"name": s, "count": 1, "total_ns": 1000, "self_ns": 1000} for s in EVIL],
    )
    return [report, proc(304, [rec(0, EVIL[1], None, 10)])]


def big(n: int = 10_000) -> list[dict[str, Any]]:
    """About *n* imports in a random but fixed tree, in three threads."""
    rng = random.Random(1234)
    imports: list[dict[str, Any]] = []
    open_: list[int] = []
    for i in range(n):
        parent = rng.choice(open_[-8:]) if open_ and rng.random() < 0.9 else None
        thread = imports[parent]["thread"] if parent is not None else rng.choice([1, 1, 1, 2, 3])
        failed = rng.random() < 0.01
        imports.append(
            rec(
                i,
                f"pkg{i % 97}.mod{i}",
                parent,
                rng.uniform(0.01, 3),
                thread=thread,
                thread_name=f"t{thread}",
                status="error" if failed else "ok",
                swallowed=True if failed else None,
                error=err("ImportError", "x") if failed else None,
            )
        )
        open_.append(i)
    # A parent's time must cover its children, as in a real report.
    for r in reversed(imports):
        if r["parent_id"] is not None:
            imports[r["parent_id"]]["duration_ns"] += r["duration_ns"]
    return [proc(404, imports)]


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """Reports of a real run: a main process (two threads, swallowed and escaped
    failures, an optional probe, an export violation) and a child process whose
    records were folded to bound memory."""
    base = tmp_path_factory.mktemp("html-real")
    write_tree(
        base,
        {
            "app/__init__.py": """\
                __all__ = ["core", "Gone"]
                from app import core
                from app import plugins
            """,
            "app/core.py": "import time\ntime.sleep(0.03)\nimport json\n",
            "app/plugins.py": """\
                try:
                    import app.broken
                except ImportError:
                    pass
                try:
                    import optional_dep_xyz
                except ImportError:
                    pass
            """,
            "app/broken.py": "import app.broken_dep\n",
            "app/broken_dep.py": "raise ImportError('broken_dep is broken')\n",
            "worker.py": "import time\ntime.sleep(0.01)\nimport decimal\n",
            **{f"lazy/m{i}.py": "" for i in range(120)},
        },
    )
    code = """
        import os, subprocess, sys, threading
        import app
        t = threading.Thread(target=__import__, args=("worker",), name="loader-thread")
        t.start(); t.join()
        env = dict(os.environ, IMPORTGUARD_MAX_RECORDS="100")
        child = "import app.core; [__import__(f'lazy.m{i}') for i in range(120)]"
        subprocess.run([sys.executable, "-c", child], env=env, check=True)
    """
    env = hooked_env(base / "report.json")
    run_python(code, cwd=base, env=env, check=True)
    files = sorted(base.glob("report*.json"), key=lambda p: len(p.name))
    assert len(files) == 2, files
    procs = [json.loads(p.read_text()) for p in files]
    assert procs[1]["folded"], "the child was meant to fold records"
    return procs


# ---------------------------------------------------------------- the HTML text


def blob_of(html: str) -> str:
    found = BLOB.findall(html)
    assert len(found) == 1, "exactly one data blob"
    return str(found[0])


class Scripts(HTMLParser):
    """What an HTML parser (like a browser's) takes to be script elements."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.scripts: list[tuple[dict[str, str | None], str]] = []
        self.tags: list[str] = []
        self._in: dict[str, str | None] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "script":
            self._in = dict(attrs)
            self.scripts.append((self._in, ""))

    def handle_data(self, data: str) -> None:
        if self._in is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in = None


def test_real_run_round_trips(real_run: list[dict[str, Any]]) -> None:
    html = _html.render(real_run)
    assert html.isascii()
    assert json.loads(blob_of(html)) == real_run
    assert html.startswith("<!DOCTYPE html>")


@pytest.mark.parametrize("procs", [hostile(), synthetic(), []], ids=["hostile", "synthetic", "empty"])
def test_report_text_stays_inside_the_data_blob(procs: list[dict[str, Any]]) -> None:
    html = _html.render(procs)
    assert html.isascii()
    blob = blob_of(html)
    # Everything outside the blob is the same whatever the report says.
    assert html.replace(blob, "", 1) == _html.render([]).replace(blob_of(_html.render([])), "", 1)
    for raw in "<>&\u2028\u2029":
        assert raw not in blob
    assert json.loads(blob) == procs  # lone surrogates included
    parser = Scripts()
    parser.feed(html)
    parser.close()
    assert [a.get("type") for a, _ in parser.scripts] == ["application/json", None]
    assert parser.scripts[0][1] == blob
    assert "img" not in parser.tags


def test_page_is_self_contained_and_pins_its_script() -> None:
    html = _html.render(synthetic())
    outside = html.replace(blob_of(html), "")
    for needle in ("http:", "https:", "//cdn", "src=", "@import", "url("):
        assert needle not in outside
    parser = Scripts()
    parser.feed(html)
    script = parser.scripts[1][1]
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert f"script-src 'sha256-{digest}'" in html
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script and "document.write" not in script


def test_formats_writes_html_for_a_merged_report(real_run: list[dict[str, Any]], tmp_path: Path) -> None:
    merged = {"schema": _formats.MERGED_SCHEMA, "processes": real_run}
    path = _formats.write(str(tmp_path / "imports.html"), merged)
    text = Path(path).read_text(encoding="ascii")
    assert json.loads(blob_of(text)) == real_run


# ---------------------------------------------------------------- in the browser


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A headless Chromium (a Playwright browser context), or a skip saying why not."""
    required = os.environ.get("IMPORTGUARD_REQUIRE_BROWSER") == "1"

    def unavailable(reason: str) -> None:
        if required:
            pytest.fail(f"{reason}, and IMPORTGUARD_REQUIRE_BROWSER=1 requires the browser tests", pytrace=False)
        pytest.skip(f"{reason} (set IMPORTGUARD_TEST_CHROMIUM to a Chromium binary)")

    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        unavailable(f"no Chromium at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),  # a new empty profile
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1400, "height": 900},
            offline=True,
        )
        yield context
        context.close()


class Page:
    """A report opened in the browser, with every console error and uncaught exception kept."""

    def __init__(self, browser: Any, path: Path, procs: list[dict[str, Any]]) -> None:
        path.write_text(_html.render(procs), encoding="ascii")
        self.errors: list[str] = []
        self.page = browser.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))
        self.page.goto(path.as_uri())

    def _console(self, message: Any) -> None:
        if message.type == "error":  # also where Content-Security-Policy violations go
            self.errors.append(f"console.error: {message.text}")

    def js(self, expr: str, arg: Any = None) -> Any:
        return self.page.evaluate(expr, arg)

    def rects(self, lane: int) -> list[dict[str, Any]]:
        """Where the chart of *lane* drew each module: {id, name, x, y, w, h} in CSS pixels."""
        rects: list[dict[str, Any]] = self.page.locator("canvas").nth(lane).evaluate("c => c.importguardRects()")
        return rects

    def click_node(self, lane: int, name: str) -> None:
        r = next(r for r in self.rects(lane) if r["name"] == name)
        self.page.locator("canvas").nth(lane).click(position={"x": r["x"] + r["w"] / 2, "y": r["y"] + r["h"] / 2})

    def column(self, index: int) -> list[str]:
        """The texts of column *index* of the module table, top to bottom."""
        rows = "document.querySelectorAll('#modules tbody tr')"
        texts: list[str] = self.js(f"(i) => Array.from({rows}, tr => tr.cells[i].textContent)", index)
        return texts

    def close(self) -> None:
        self.page.close()
        assert self.errors == []


@pytest.fixture
def open_report(browser: Any, tmp_path: Path) -> Iterator[Any]:
    pages: list[Page] = []

    def open_(procs: list[dict[str, Any]], name: str = "report.html") -> Page:
        pages.append(Page(browser, tmp_path / name, procs))
        return pages[-1]

    yield open_
    for page in pages:
        page.close()


def lane_names(page: Page) -> list[str]:
    names: list[str] = page.js("() => Array.from(document.querySelectorAll('.lane-head'), e => e.textContent)")
    return names


def test_real_run_shows_processes_threads_modules_and_failures(
    open_report: Any, real_run: list[dict[str, Any]]
) -> None:
    page = open_report(real_run)
    pids = page.js("() => Array.from(document.querySelectorAll('section.proc'), s => s.dataset.pid)")
    assert pids == [str(p["pid"]) for p in real_run]
    heads = lane_names(page)
    assert any(h.startswith("MainThread") for h in heads) and any(h.startswith("loader-thread") for h in heads)
    names = {r["name"] for p in real_run for r in p["imports"]} | {f["name"] for f in real_run[1]["folded"]}
    assert set(page.column(0)) == names
    drawn = {r["name"] for lane in range(len(heads)) for r in page.rects(lane)}
    # The slow ones are wide; failures are drawn however narrow.
    assert {"app", "app.core", "worker", "app.broken", "app.broken_dep", "optional_dep_xyz"} <= drawn
    issues = page.js("() => document.getElementById('issues').textContent")
    assert "broken_dep is broken" in issues and "optional_dep_xyz" in issues and "Gone" in issues
    folded_col = dict(zip(page.column(0), page.column(4)))
    for f in real_run[1]["folded"]:
        assert int(folded_col[f["name"]]) >= f["count"]


def test_every_module_is_drawn_and_failures_are_coloured(open_report: Any) -> None:
    procs = synthetic()
    page = open_report(procs)
    counts = page.js("() => Array.from(document.querySelectorAll('canvas'), c => +c.dataset.nodes)")
    assert counts == [9, 2, 2]  # pid 101 main thread, pid 101 pool-1, pid 202
    assert sorted(r["name"] for r in page.rects(0)) == sorted(r["name"] for r in procs[0]["imports"][:9])
    assert [r["name"] for r in page.rects(1)] == ["worker.job", "worker.job.util"]
    # A pixel near the top of the module's bar, above its label.
    pixel = """([lane, name]) => {
        const c = document.querySelectorAll('canvas')[lane], r = c.importguardRects().find(r => r.name === name);
        const k = c.width / c.clientWidth, x = Math.round((r.x + r.w / 2) * k), y = Math.round((r.y + 3) * k);
        return Array.from(c.getContext('2d').getImageData(x, y, 1, 1).data);
    }"""
    red = page.js(pixel, [0, "app.web.broken"])
    assert red[:3] == [0xD9, 0x30, 0x25]
    ok = page.js(pixel, [0, "app.db.driver"])
    assert ok[0] < 0xD0 or ok[1] > 0x80  # not the failure red
    issues = page.js("() => Array.from(document.querySelectorAll('#issues li'), e => [e.className, e.textContent])")
    by_class: dict[str, str] = {}
    for cls, text in issues:
        by_class[cls] = by_class.get(cls, "") + text + "\n"
    assert "app.web.broken" in by_class["k-error"] and "app.plugin" not in by_class["k-error"]
    # One line per failed statement, as in the summary: app.plugin.dep escaped into app.plugin,
    # which was swallowed; the statement was swallowed, and app.plugin.dep is named as its cause.
    assert by_class["k-swallowed"].count("\n") == 1
    assert "app.plugin: ImportError: no [error, swallowed] because app.plugin.dep failed" in by_class["k-swallowed"]
    assert "Gone" in by_class["k-viol"]
    assert any("fastjson" in text for _cls, text in issues)


def test_click_zooms_and_breadcrumb_zooms_out(open_report: Any) -> None:
    page = open_report(synthetic())
    canvas = page.page.locator("canvas").first
    before = {r["name"]: r for r in page.rects(0)}
    assert canvas.get_attribute("data-zoom") == ""
    page.click_node(0, "app.db")
    assert canvas.get_attribute("data-zoom") == "1"
    crumbs = page.js("() => Array.from(document.querySelector('.crumbs').children, e => e.textContent)")
    assert [c for c in crumbs if c != "\u203a"] == ["all imports", "app", "app.db"]
    after = {r["name"]: r for r in page.rects(0)}
    width = page.js("() => document.querySelector('canvas').clientWidth")
    assert after["app.db"]["w"] == width and after["app.db.driver"]["w"] == pytest.approx(width / 2)
    assert "app.web" not in after and after["app.db.driver"]["w"] > before["app.db.driver"]["w"]
    details = page.js("() => document.querySelector('section.proc .details').textContent")
    assert "/src/app/db.py" in details and "60.00 ms" in details and "25.00 ms" in details
    # The ancestor row zooms out to it; the breadcrumb root to everything.
    page.click_node(0, "app")
    assert canvas.get_attribute("data-zoom") == "0"
    page.page.locator(".crumbs button", has_text="all imports").first.click()
    assert canvas.get_attribute("data-zoom") == ""
    assert {r["name"] for r in page.rects(0)} == set(before)
    # Links in the lists zoom the chart to their module.
    page.page.locator("#paths a", has_text="app.db.driver").first.click()
    assert canvas.get_attribute("data-zoom") == "2"


def test_table_sorts_by_clicked_header(open_report: Any) -> None:
    page = open_report(synthetic())
    table = page.page.locator("#modules")

    def floats(i: int) -> list[float]:
        return [float(x) for x in page.column(i)]

    # Default: cumulative, descending; "app" twice (two processes) adds up.
    assert page.column(0)[0] == "app" and page.column(2)[0] == "170.00"
    assert dict(zip(page.column(0), page.column(3)))["app"] == "2"
    table.locator("th button", has_text="self ms").click()
    assert table.locator("th[data-key=self]").get_attribute("aria-sort") == "descending"
    selfs = floats(1)
    assert selfs == sorted(selfs, reverse=True) and page.column(0)[0] == "tools"  # 50 + 9 folded
    table.locator("th button", has_text="self ms").click()
    assert floats(1) == sorted(floats(1))
    table.locator("th button", has_text="module").click()
    assert page.column(0) == sorted(page.column(0))
    table.locator("th button", has_text="count").click()
    assert page.column(0)[:2] == ["tools", "app"]  # 1 + 3 folded, then 2
    assert dict(zip(page.column(0), page.column(4)))["gone.early"] == "2"


def test_processes_are_side_by_side_with_headers(open_report: Any) -> None:
    page = open_report(synthetic())
    boxes = page.js("() => Array.from(document.querySelectorAll('section.proc'), s => s.getBoundingClientRect())")
    assert len(boxes) == 2 and boxes[0]["top"] == boxes[1]["top"] and boxes[0]["right"] <= boxes[1]["left"]
    heads = page.js("() => Array.from(document.querySelectorAll('section.proc > header'), h => h.textContent)")
    assert "pid 101" in heads[0] and "3.12.1" in heads[0] and "190.0 ms" in heads[0] and "11 imports" in heads[0]
    assert "pid 202" in heads[1] and "70.0 ms" in heads[1] and "2 imports" in heads[1]
    assert any(h.startswith("pool-1") for h in lane_names(page))


def test_hostile_report_is_shown_as_text(open_report: Any) -> None:
    procs = hostile()
    page = open_report(procs)
    # Every path that writes report text to the page: tooltip, details, zoom.
    canvas = page.page.locator("canvas").first
    for name in EVIL_ASCII:
        page.page.locator(".crumbs button").first.click()  # zoom out
        r = next(r for r in page.rects(0) if r["name"] == name)
        canvas.hover(position={"x": r["x"] + r["w"] / 2, "y": r["y"] + r["h"] / 2})
        assert page.js("() => document.querySelector('#tip b').textContent") == name
        page.click_node(0, name)
        assert page.js("() => document.querySelector('.details h3').textContent") == name
    assert page.js("() => window.__pwned") is None
    assert page.js("() => document.querySelectorAll('img, iframe, object, embed, svg').length") == 0
    assert page.js("() => document.scripts.length") == 2
    page_text = page.js("() => document.body.textContent")
    for s in EVIL_ASCII:
        assert s in page_text and s in page.column(0)
    assert len(page.column(0)) == len(set(EVIL))
    assert page.js("() => document.querySelectorAll('section.proc').length") == 2


def test_ten_thousand_imports_stay_bounded(open_report: Any) -> None:
    procs = big()
    page = open_report(procs)
    drawn = page.js("() => Array.from(document.querySelectorAll('canvas'), c => +c.dataset.nodes)")
    assert len(drawn) == 3 and 0 < sum(drawn) < len(procs[0]["imports"]) / 2
    failures = sum(1 for r in procs[0]["imports"] if r["status"] == "error")
    marked = sum(
        1
        for lane in range(3)
        for r in page.rects(lane)
        if r["name"] in {x["name"] for x in procs[0]["imports"] if x["status"] == "error"}
    )
    assert marked == failures
    assert len(page.column(0)) == 500
    page.page.locator(".tools button", has_text="show all").click()
    assert len(page.column(0)) == len(procs[0]["imports"])


def test_deep_chain_stays_within_a_canvas(open_report: Any) -> None:
    depth = 3000  # taller than a canvas may be, at one row per level
    imports = [rec(i, f"m{i}", i - 1 if i else None, depth - i + 100, 1) for i in range(depth)]
    imports[-1]["self_ns"] = 10**9  # the slowest path, to zoom there from the list
    page = open_report([proc(505, imports)])
    canvas = page.page.locator("canvas").first
    assert canvas.get_attribute("data-nodes") == "80"
    assert page.page.locator(".lane .sub", has_text="Deeper imports are not shown").is_visible()
    page.page.locator("#paths a", has_text=f"m{depth - 1}").first.click()
    assert canvas.get_attribute("data-zoom") == str(depth - 1)
    names = [r["name"] for r in page.rects(0)]
    assert names == [f"m{i}" for i in range(depth - 7, depth)]
    crumbs = page.js("() => Array.from(document.querySelectorAll('.crumbs button'), b => b.textContent)")
    assert crumbs[:2] == ["all imports", "m0"] and crumbs[-1] == f"m{depth - 1}" and len(crumbs) == 9
    page.click_node(0, f"m{depth - 3}")
    assert canvas.get_attribute("data-zoom") == str(depth - 3)


def test_legend_labels_and_every_failure_findable(open_report: Any, tmp_path: Path) -> None:
    # A failure swallowed three levels down, 0.02% of the chart's width, next to a wide
    # module: it must be visible (a marker), led to (a trail under its ancestors), and
    # one click away; bars with room show time and share, as tuna does.
    imports = [
        rec(0, "app", None, 300, 1),
        rec(1, "app.a", 0, 100, 1),
        rec(2, "app.a.b", 1, 99, 98.9),
        rec(3, "app.a.b.broken", 2, 0.05, 0.03, status="error", swallowed=True, error=err("ImportError", "x", 4)),
        rec(
            4,
            "gone_helper",
            3,
            0.02,
            0.02,
            status="not_found",
            swallowed=False,
            error=err("ModuleNotFoundError", "No module named 'gone_helper'"),
        ),
        rec(5, "app.big", 0, 198, 198),
        rec(6, "zzz", None, 0.01, 0.01, status="error", swallowed=False, error=err("ValueError", "late")),
    ]
    page = open_report([proc(7, imports)])
    rects = {r["name"]: r for r in page.rects(0)}
    width = page.js("() => document.querySelector('canvas').clientWidth")
    # Visible however small, and inside the canvas (zzz is the last module of its row).
    for name in ("app.a.b.broken", "zzz"):
        assert rects[name]["w"] >= 8 and rects[name]["x"] >= 0 and rects[name]["x"] + rects[name]["w"] <= width
    # The trail: every ancestor of the swallowed failure is underlined, nothing else.
    assert {n for n, r in rects.items() if r["trail"]} == {"app", "app.a", "app.a.b"}
    # Time and share on the bars with room.
    assert re.fullmatch(r"app  300\.00 ms · 100%", rects["app"]["label"])
    assert re.fullmatch(r"app\.big  198\.00 ms · 66%", rects["app.big"]["label"])
    # The legend's ok swatch spans the hues ok bars are drawn in (one per top-level package).
    swatch = page.js("() => document.querySelector('.legend span').style.getPropertyValue('--sw')")
    hues = [int(h) for h in re.findall(r"hsl\((\d+)", swatch)]
    assert min(hues) == 80 and max(hues) >= 255 and len(hues) >= 4
    pixel = """(name) => {
        const c = document.querySelector('canvas'), r = c.importguardRects().find(r => r.name === name);
        const k = c.width / c.clientWidth;
        return Array.from(c.getContext('2d').getImageData(Math.round((r.x + r.w - 3) * k), Math.round((r.y + 3) * k), 1, 1).data);
    }"""
    rgb = page.js(pixel, "app.big")[:3]
    import colorsys

    hue = colorsys.rgb_to_hls(*(v / 255 for v in rgb))[0] * 360
    assert 75 <= hue <= 265, rgb
    # One button per lane goes to each failed statement in turn (2: the cascade counts once).
    button = page.page.locator("button.next-failure")
    assert button.text_content() == "2 failures: show 1 of 2 \u203a"
    button.click()
    zoomed = page.js("() => document.querySelector('canvas').dataset.zoom")
    assert zoomed == "6"  # the escaped one first
    button.click()
    assert page.js("() => document.querySelector('canvas').dataset.zoom") == "3"
