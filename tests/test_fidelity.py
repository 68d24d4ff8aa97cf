"""Fidelity: importguard's tree and times against ``-X importtime`` measured in the same process.

``python -X importtime`` with ``IMPORTGUARD=1`` measures the same imports
twice: CPython's C timer around each ``import`` statement's ``_find_and_load``
and importguard's hook inside it. For the demo app and a Django-sized tree
built here (packages four deep, circular package imports, optional probes,
a dotted probe whose top package is missing, ``from pkg import name``
submodule probes, relative imports, modules that ``gc.collect()``, and an app
registry loading modules through ``importlib.import_module`` as Django's
does), with and without a ``[tool.importguard]`` table:

* the import tree of the program is the one a plain ``-X importtime`` run (no
  importguard at all) prints: configuring importguard pre-imports nothing;
* the report's tree is ``-X importtime``'s, with one stated difference:
  ``-X importtime`` times only imports made by the ``import`` statement and
  ``__import__``; a module loaded through ``importlib.import_module`` (and
  the parent packages that call loads) has no line there, its own code's time
  counts in its importer's self time, and its nested imports appear as its
  importer's children. importguard records it.
  So the report's tree, with those records folded into their parents, must
  equal ``-X importtime``'s, name for name and parent for parent;
* exactly, in every run: -X importtime's window for a module encloses
  importguard's (its cumulative time is never shorter), each self time is
  the cumulative time less the children's in both measurements (so the two
  self times differ by exactly the module's gap less its children's gaps,
  within -X importtime's rounding), and every garbage collection importguard
  recorded lies in the own time of the record it is charged to.

No speed is asserted (the project's rule: no timing assertion in a unit
test): only what must hold exactly in every run, whatever the load. How far
the two clocks are apart around each module (the gap: the import machinery and
importguard's own work, inside -X importtime's window and outside
importguard's) is a measurement, not a test: benchmarks/bench_vs_importtime.py
compares the two over many alternating runs. (A test that judged each gap
against the run's typical one failed in CI on 3.10 for the demo's `shop`,
~10 times the typical gap in all six runs, where its export violation is
judged; not reproduced outside the full suite.)
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import ROOT, clean_env, hooked_env, write_tree

LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S.*)$")
#: Hooked runs of each program: what is checked must hold in every one of them.
RUNS = 3
#: Float error on microseconds computed from nanoseconds.
ROUNDING_US = 0.01

TABLE = """
[tool.importguard]
summary = "0"
exports_mode = "record"
include = ["*"]
max_records = 100000

[tool.importguard.exports]
"djsite.core" = ["Registry"]

[tool.importguard.accept]
"djsite.legacy" = {names = ["Old"], reason = "fidelity test"}

[tool.importguard.modes]
"djsite.*" = "record"

[tool.importguard.budgets]
"djsite" = "10s"
"""


# -- a Django-sized tree ---------------------------------------------------------------------


def django_sized_tree(apps: int = 12, modules_per_app: int = 14) -> tuple[dict[str, str], set[str]]:
    """Files of a ~250-module project shaped like a Django site, and the modules it loads
    through ``importlib.import_module`` (the app registry)."""
    files: dict[str, str] = {}
    by_import_module: set[str] = set()
    files["djsite/__init__.py"] = "VERSION = (1, 0)\n"
    files["djsite/legacy.py"] = "__all__ = ['Old']\n"
    # The framework core: stdlib-heavy, like django.utils (json, re, decimal, dataclasses, typing, enum...).
    files["djsite/core/__init__.py"] = (
        "import json, re, decimal, dataclasses, typing, enum, functools, datetime, string\n"
        "from djsite.core import signals, registry\n"
        "from djsite.core.registry import Registry\n"
        # from-import of a name that is not a submodule: importlib probes for djsite.core.Missing
        "try:\n    from djsite.core import MissingThing\nexcept ImportError:\n    MissingThing = None\n"
    )
    files["djsite/core/signals.py"] = "import weakref, threading\nRECEIVERS = []\n"
    files["djsite/core/registry.py"] = (
        "import importlib\n"
        "class Registry:\n"
        "    def __init__(self):\n        self.apps = {}\n"
        "    def populate(self, names):\n"
        "        for name in names:\n"
        "            self.apps[name] = importlib.import_module(name + '.apps')\n"
        "            importlib.import_module(name + '.models')\n"
    )
    # Optional accelerators: plain and dotted probes (the top package is missing).
    files["djsite/core/speedups.py"] = (
        "try:\n    import ujson_not_installed_xyz as fastjson\nexcept ImportError:\n    fastjson = None\n"
        "try:\n    from org_missing_xyz.python.core import Accel\nexcept ImportError:\n    Accel = None\n"
    )
    # A circular package import: djsite.db/__init__ imports djsite.db.backend, and the
    # program does `import djsite.db.backend` first.
    files["djsite/db/__init__.py"] = "from djsite.db import backend\nfrom djsite.db.backend import connect\n"
    files["djsite/db/backend.py"] = "import decimal\ndef connect():\n    return None\n"
    files["djsite/db/models/__init__.py"] = "from .fields import *\nfrom .base import Model\n"
    files["djsite/db/models/fields.py"] = "import datetime, uuid\n__all__ = ['Field']\nclass Field: pass\n"
    files["djsite/db/models/base.py"] = "from djsite.db.models.fields import Field\nclass Model: pass\n"
    work = "_x = 0\nfor _i in range({n}):\n    _x += _i * _i\n"
    app_names = []
    for a in range(apps):
        app = f"djsite.contrib.app{a:02d}"
        app_names.append(app)
        base = app.replace(".", "/")
        files.setdefault("djsite/contrib/__init__.py", "")
        files[f"{base}/__init__.py"] = ""
        files[f"{base}/apps.py"] = f"from djsite.core.registry import Registry\nNAME = {app!r}\n"
        # The registry's import_module loads the app package first, as a parent: untimed too.
        by_import_module.update({app, f"{app}.apps", f"{app}.models", "djsite.contrib"})
        models = ["from djsite.db.models import Model", "from . import utils"]
        for m in range(modules_per_app):
            mod = f"{base}/m{m:02d}.py"
            deps = [f"from . import m{d:02d}" for d in (m - 1, m // 2) if 0 <= d < m]
            if m % 5 == 0:
                deps.append("from djsite.core import speedups")
            if m % 7 == 3 and a:
                deps.append(f"import djsite.contrib.app{a - 1:02d}.m{m:02d}")
            files[mod] = "\n".join(deps) + "\n" + work.format(n=500 * (1 + (m * 7 + a) % 11))
            models.append(f"from . import m{m:02d}")
        if a % 4 == 1:
            models.append("import gc\ngc.collect()")  # a module whose own code runs a full collection
        files[f"{base}/models.py"] = "\n".join(models) + "\n"
        files[f"{base}/utils/__init__.py"] = "from .text import slug\n"
        files[f"{base}/utils/text.py"] = "import re\nSLUG = re.compile('[a-z]+')\ndef slug(s):\n    return s\n"
    files["djsite/settings.py"] = f"INSTALLED_APPS = {app_names!r}\n"
    files["djsite/setup.py"] = (
        "import djsite.db.backend\n"
        "from djsite import settings\n"
        "from djsite.core import Registry\n"
        "import djsite.legacy\n"
        "registry = Registry()\n"
        "registry.populate(settings.INSTALLED_APPS)\n"
    )
    return files, by_import_module


# -- running and reading both measurements -----------------------------------------------------


class Node:
    __slots__ = ("name", "self_us", "cum_us", "children", "parent", "failed", "start_ns", "end_ns", "importer_gc")

    def __init__(
        self,
        name: str,
        self_us: float,
        cum_us: float,
        failed: bool = False,
        start_ns: int = 0,
        end_ns: int = 0,
        importer_gc: list[list[int]] | None = None,
    ) -> None:
        self.name, self.self_us, self.cum_us, self.failed = name, self_us, cum_us, failed
        self.children: list[Node] = []
        self.parent: Node | None = None
        self.start_ns, self.end_ns = start_ns, end_ns
        # The collections importguard recorded in the own code of the record that made
        # this import (before any fold): [start_ns, duration_ns, generation].
        self.importer_gc = importer_gc or []

    def shape(self) -> tuple[Any, ...]:
        return (self.name, tuple(c.shape() for c in self.children))

    def walk(self) -> list[Node]:
        out = [self]
        for c in self.children:
            out.extend(c.walk())
        return out


def importtime_tree(stderr: str, first: str) -> list[Node]:
    """The import tree -X importtime printed, from the top-level import of *first* on."""
    entries = []
    for line in stderr.splitlines():
        m = LINE.match(line)
        if m:
            entries.append((m.group(4), len(m.group(3)) // 2, int(m.group(1)), int(m.group(2))))
    # Post-order: a line's children are the deeper lines printed just before it.
    roots: list[Node] = []
    pending: dict[int, list[Node]] = {}
    for name, depth, self_us, cum_us in entries:
        node = Node(name, self_us, cum_us)
        node.children = pending.pop(depth + 1, [])
        for c in node.children:
            c.parent = node
        if depth == 0:
            roots.append(node)
        else:
            pending.setdefault(depth, []).append(node)
    start = next(i for i, r in enumerate(roots) if r.name == first)
    return roots[start : start + 2]  # the marker and the program's import


def report_tree(report: dict[str, Any], first: str, untimed: set[Any]) -> list[Node]:
    """The report's tree from *first* on, as -X importtime would show it: records of
    imports made through importlib.import_module (*untimed*: names, or (name, importer)
    pairs) folded into their importer."""
    nodes: dict[int, Node] = {}
    gc_of: dict[int, list[list[int]]] = {}
    roots: list[Node] = []
    for r in report["imports"]:
        gc_of[r["id"]] = r["gc"]
        node = Node(
            r["name"],
            (r["self_ns"] or 0) / 1000,
            (r["duration_ns"] or 0) / 1000,
            r["status"] != "ok",
            r["start_ns"],
            r["start_ns"] + (r["duration_ns"] or 0),
            gc_of.get(r["parent_id"]) if r["parent_id"] is not None else None,
        )
        nodes[r["id"]] = node
        parent = nodes.get(r["parent_id"]) if r["parent_id"] is not None else None
        node.parent = parent
        (parent.children if parent is not None else roots).append(node)

    def fold(node: Node) -> list[Node]:
        kids: list[Node] = []
        for c in node.children:
            kids.extend(fold(c))
        node.children = kids
        for c in kids:
            c.parent = node
        if node.name in untimed or (node.name, getattr(node.parent, "name", None)) in untimed:
            # No line of its own there: its own code's time is its importer's, its
            # nested imports are its importer's children.
            if node.parent is not None:
                node.parent.self_us += node.self_us
            return kids
        return [node]

    out: list[Node] = []
    for root in roots:
        out.extend(fold(root))
    start = next(i for i, r in enumerate(out) if r.name == first)
    return out[start : start + 2]


def run(cwd: Path, code: str, hooked: bool) -> tuple[str, dict[str, Any] | None]:
    env = clean_env(XDG_CACHE_HOME=str(cwd / ".cache"))
    report = cwd / "fidelity.json"
    if hooked:
        # A report left by the previous run is another process's: this one would keep it
        # and write fidelity.<pid>.json beside it (see the README), and be compared with it.
        report.unlink(missing_ok=True)
        env = hooked_env(report, XDG_CACHE_HOME=str(cwd / ".cache"), IMPORTGUARD_EXPORTS="record")
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(report.read_text()) if hooked else None
    return proc.stderr, data


def misplaced_collections(report: dict[str, Any]) -> list[str]:
    """Collections recorded outside the own time of the record they are charged to:
    before its clock started, after it stopped, or while one of its imports ran."""
    done = [r for r in report["imports"] if r["duration_ns"] is not None]
    children: dict[int, list[dict[str, Any]]] = {}
    for r in done:
        children.setdefault(r["parent_id"], []).append(r)
    out = []
    for r in done:
        start, end = r["start_ns"], r["start_ns"] + r["duration_ns"]
        for begin, duration, _gen in r["gc"]:
            finish = begin + duration
            during = [
                c["name"]
                for c in children.get(r["id"], ())
                if begin < c["start_ns"] + c["duration_ns"] and c["start_ns"] < finish
            ]
            if not start <= begin <= finish <= end or during:
                out.append(
                    f"{r['name']}: {duration / 1000:.0f} us collection at +{(begin - start) / 1000:.0f} us "
                    f"of its {(end - start) / 1000:.0f} us" + (f", during {during}" if during else "")
                )
    return out


def compare(mine: list[Node], theirs: list[Node]) -> dict[str, str]:
    """One run's two measurements of the same tree, module by module (walk order).

    Returns what disagrees exactly: a module whose cumulative time here exceeds
    -X importtime's, or whose self time is not -X importtime's once the gaps are
    accounted for.
    """
    pairs = [(a, b) for ra, rb in zip(mine, theirs) for a, b in zip(ra.walk(), rb.walk())]
    gap = {id(a): b.cum_us - a.cum_us for a, b in pairs}
    wrong: dict[str, str] = {}
    for a, b in pairs:
        assert a.name == b.name
        g = gap[id(a)]
        # -X importtime rounds up to the microsecond; nothing else may make it shorter.
        if g < -ROUNDING_US:
            wrong[a.name] = f"cumulative {a.cum_us:.1f} us, longer than -X importtime's {b.cum_us} us"
        # Both self times are the module's span minus its children's spans: they differ
        # by its own gap less its children's, and by -X importtime's rounding (each
        # printed figure rounded up: (-1, children + 1) us).
        residual = (b.self_us - a.self_us) - (g - sum(gap[id(c)] for c in a.children))
        if not -1 - ROUNDING_US < residual < len(a.children) + 1 + ROUNDING_US:
            wrong[a.name] = (
                f"self {a.self_us:.1f} us vs -X importtime {b.self_us} us: {residual:+.1f} us "
                f"beyond the gaps (module {g:.1f} us, children "
                f"{sum(gap[id(c)] for c in a.children):.1f} us)"
            )
    return wrong


def check_fidelity(cwd: Path, code: str, first: str, untimed: set[Any]) -> dict[str, Any]:
    plain_stderr, _ = run(cwd, code, hooked=False)
    plain_shape = [n.shape() for n in importtime_tree(plain_stderr, first)]
    data: dict[str, Any] | None = None
    for _attempt in range(RUNS):
        stderr, data = run(cwd, code, hooked=True)
        assert data is not None
        theirs = importtime_tree(stderr, first)
        mine = report_tree(data, first, untimed)
        # The program imports exactly what it imports without importguard, where it imports it.
        assert [n.shape() for n in theirs] == plain_shape
        # And the report has that same tree.
        assert [n.shape() for n in mine] == plain_shape
        # Each collection is charged to the import whose own code it ran in.
        assert misplaced_collections(data) == []
        # Exact in every run: no preemption changes these.
        assert compare(mine, theirs) == {}
    assert data is not None
    return data


@pytest.mark.parametrize("table", [False, True], ids=["no table", "table"])
def test_demo_app_agrees_with_importtime(tmp_path: Path, table: bool) -> None:
    # The demo app, copied so the table is the test's own.
    import shutil

    shutil.copytree(ROOT / "examples" / "shop", tmp_path / "shop")
    (tmp_path / "fidelity_marker.py").write_text("")
    if table:
        (tmp_path / "pyproject.toml").write_text(TABLE)
    plugins = {"shop.plugins.discounts", "shop.plugins.loyalty"}  # loaded by importlib.import_module
    code = "import fidelity_marker\nimport shop\nfrom shop.plugins import load_all\nload_all()\n"
    data = check_fidelity(tmp_path, code, "fidelity_marker", plugins)
    names = {r["name"] for r in data["imports"]}
    assert {"shop", "shop.catalog", "json", "re", "enum"} <= names  # re and enum under json, as plain
    assert plugins <= names


@pytest.mark.parametrize("table", [False, True], ids=["no table", "table"])
def test_django_sized_tree_agrees_with_importtime(tmp_path: Path, table: bool) -> None:
    files, untimed = django_sized_tree()
    write_tree(tmp_path, files)
    (tmp_path / "fidelity_marker.py").write_text("")
    if table:
        (tmp_path / "pyproject.toml").write_text(TABLE)
    data = check_fidelity(tmp_path, "import fidelity_marker\nimport djsite.setup\n", "fidelity_marker", untimed)
    recs = data["imports"]
    assert len(recs) > 250
    by = {r["name"]: r for r in recs}
    # What the tree was built to contain is there: probes, the circular import, collections.
    assert by["org_missing_xyz.python.core"]["verdict"] == by["org_missing_xyz"]["verdict"] == "probe"
    assert [r["duplicate_of"] is not None for r in recs if r["name"] == "djsite.db.backend"] == [True, False]
    assert any(r["gc"] and r["name"].endswith(".models") for r in recs)


def test_requests_compat_self_time_is_importtimes_once_its_import_module_probes_are_folded(tmp_path: Path) -> None:
    # requests.compat looks for chardet and charset_normalizer with importlib.import_module:
    # -X importtime has no line for either, and counts the failed chardet probe and
    # charset_normalizer's own code in requests.compat's self time (0.48 ms against
    # importguard's 0.23 ms in the issue). importguard records both; folded back, the
    # self times agree, with the tree, for every module of requests.
    pytest.importorskip("requests")
    (tmp_path / "fidelity_marker.py").write_text("")
    untimed = {("chardet", "requests.compat"), ("charset_normalizer", "requests.compat")}
    data = check_fidelity(tmp_path, "import fidelity_marker\nimport requests\n", "fidelity_marker", untimed)
    by = {(r["name"], r["parent"]): r for r in data["imports"]}
    assert by[("chardet", "requests.compat")]["verdict"] == "probe"
    assert by[("charset_normalizer", "requests.compat")]["status"] == "ok"
