"""The two engines (docs/engines.md): how one is chosen, that they record the
same, and where the finder engine differs, each difference checked both ways.

These tests pick the engine themselves (IMPORTGUARD_ENGINE in the child's
environment), so they run the same in the function and the finder pass.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import by_name, clean_env, hooked_env, run_python, write_tree

ENGINES = ("function", "finder")


def hooked(tmp_path: Path, code: str, engine: str, **env: str) -> tuple[Any, dict[str, Any]]:
    report = tmp_path / f"report-{engine}.json"
    if report.exists():
        report.unlink()
    proc = run_python(code, cwd=tmp_path, env=hooked_env(report, **{"IMPORTGUARD_ENGINE": engine, **env}))
    assert report.exists(), proc.stderr
    return proc, json.loads(report.read_text())


def shape(report: dict[str, Any]) -> list[tuple[Any, ...]]:
    """What a record says, minus times, ids and thread idents."""
    return [
        (
            r["name"],
            r["parent"],
            r["status"],
            r["swallowed"],
            r["verdict"],
            r["file"],
            r["loader"],
            r["fromlist"],
            r["duplicate_of"] is not None,
            (r["error"] or {}).get("type"),
            (r["error"] or {}).get("message"),
            r["importer"],
            (r.get("repeats") or {}).get("count"),
        )
        for r in report["imports"]
    ]


# -- choosing the engine ---------------------------------------------------------


def test_auto_is_the_function_engine_on_this_python(tmp_path: Path) -> None:
    proc, report = hooked(tmp_path, "import json", "auto", IMPORTGUARD_SUMMARY="1")
    assert report["engine"] == "function"
    assert proc.stderr.splitlines()[0].endswith("function engine); report: " + str(tmp_path / "report-auto.json"))
    _, report = hooked(tmp_path, "import json", "finder")
    assert report["engine"] == "finder"


def test_the_engine_setting_in_pyproject_and_a_bad_value(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.importguard]\nengine = "finder"\n')
    code = "import sys; print(type(sys.meta_path[0]).__module__)"
    env = hooked_env()
    env.pop("IMPORTGUARD_ENGINE", None)
    proc = run_python(code, cwd=tmp_path, env=env, check=True)
    assert proc.stdout == "importguard._finder\n" and proc.stderr == ""
    env["IMPORTGUARD_ENGINE"] = "fastest"
    proc = run_python(code, cwd=tmp_path, env=env, check=True)
    assert proc.stdout != "importguard._finder\n"  # the variable wins; its bad value falls back to the default
    assert proc.stderr.splitlines() == [
        "importguard: IMPORTGUARD_ENGINE='fastest' is not valid (not an engine); expected auto, function or finder. "
        "Using the default ('auto')."
    ]


# What `auto` checks before it wraps importlib's private function: each case
# changes importlib the way a future Python might, then installs through the API.
CHANGED = {
    "another signature": """
        real = b._find_and_load_unlocked
        def _find_and_load_unlocked(name, import_, lazy=False):
            return real(name, import_)
        b._find_and_load_unlocked = _find_and_load_unlocked
    """,
    "a new path to the finders": """
        exec("def _find_and_load_lazy_submodule(name, import_):\\n    return _find_spec(name, None)", vars(b))
        _hook._SCANNED = ((0, 0), (0, 0))  # scan importlib here too, as on an unknown version
    """,
    "_find_and_load no longer calling it by name": """
        real_unlocked, real_outer = b._find_and_load_unlocked, b._find_and_load
        b._find_and_load = lambda name, import_: real_outer(name, import_)
    """,
    "a probe import that never reaches it": """
        real_unlocked, real_outer = b._find_and_load_unlocked, b._find_and_load
        ns = {"real_unlocked": real_unlocked, "real_outer": real_outer, "b": b}
        # Still names _find_and_load_unlocked (the static check passes), but calls the captured one.
        exec("def _find_and_load(name, import_):\\n"
             "    _find_and_load_unlocked = real_unlocked\\n"
             "    b._find_and_load_unlocked = b._find_and_load_unlocked\\n"
             "    return real_outer.__wrapped__(name, import_)\\n", ns)
        outer = real_outer
        def relay(name, import_):
            saved = b._find_and_load_unlocked
            b._find_and_load_unlocked = real_unlocked
            try:
                return outer(name, import_)
            finally:
                b._find_and_load_unlocked = saved
        relay.__code__ = relay.__code__.replace(co_names=relay.__code__.co_names + ("_find_and_load_unlocked",))
        b._find_and_load = relay
    """,
}


@pytest.mark.parametrize("change", list(CHANGED))
def test_auto_takes_the_finder_where_importlib_changed(tmp_path: Path, change: str) -> None:
    write_tree(tmp_path, {"probe_target.py": "X = 1\n"})
    code = (
        """
        import sys
        b = sys.modules["_frozen_importlib"]
        from importguard import _hook
    """
        + CHANGED[change]
        + """
        import importguard
        from importguard import _records
        importguard.install()
        import probe_target
        print(_records.engine, [r.name for r in importguard.records()].count("probe_target"))
    """
    )
    env = clean_env()
    env.pop("IMPORTGUARD_ENGINE", None)
    proc = run_python(code, cwd=tmp_path, env=env)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "finder 1\n", "")


def test_the_function_engine_by_name_where_importlib_changed_says_so_once(tmp_path: Path) -> None:
    write_tree(tmp_path, {"probe_target.py": "X = 1\n"})
    code = (
        """
        import sys
        b = sys.modules["_frozen_importlib"]
    """
        + CHANGED["another signature"]
        + """
        import importguard
        importguard.install(engine="function")
        import probe_target
        print(importguard.is_installed(), probe_target.X)
    """
    )
    proc = run_python(code, cwd=tmp_path, env=clean_env())
    assert proc.stdout == "False 1\n"
    assert proc.stderr.splitlines() == [
        "importguard: IMPORTGUARD_ENGINE=function, but importlib's _find_and_load_unlocked takes "
        "(name, import_, lazy), not (name, import_); importguard is off. Use engine auto or finder to record "
        "with importguard's sys.meta_path finder instead."
    ]


def test_importlib_here_finds_modules_in_one_place_only() -> None:
    # Why unusable() may skip scanning importlib on 3.10-3.13 (_hook._SCANNED):
    # it was scanned, here, on each of them.
    from importguard import _hook

    assert _hook._callers_of("_find_spec", "_find_and_load_unlocked") == []
    assert _hook._SCANNED[0] <= sys.version_info[:2] <= _hook._SCANNED[1]


# -- the same records ------------------------------------------------------------

TREE = {
    "app/__init__.py": "from . import models\nfrom .deep.leaf import LEAF\n",
    "app/models.py": """
        import json
        try:
            import fast_orm_nowhere
        except ImportError:
            pass
        try:
            from . import broken
        except ZeroDivisionError:
            pass
        from app import nothing_here
    """,
    "app/broken.py": "x = 1 / 0\n",
    "app/deep/__init__.py": "",
    "app/deep/leaf.py": "LEAF = 1\n",
    "circ/__init__.py": "from circ import sub\n",
    "circ/sub.py": "V = 2\n",
    "exp.py": "__all__ = ['here', 'gone']\nhere = 1\n",
    "swap.py": "import sys\nsys.modules[__name__] = 42\n",
    "bad_top.py": "import definitely_missing_dependency\n",
}
MAIN = """
    import importlib, sys
    try:
        import app
    except ImportError as e:
        print("app failed", e)
    import circ.sub, exp, swap
    for name in ("missing_by_import_module", "bad_top"):
        try:
            importlib.import_module(name)
        except ImportError as e:
            print("caught", e)
    import a_pkg_that_is_not.there
"""


def test_both_engines_record_the_same(tmp_path: Path) -> None:
    TREE["app/models.py"] = TREE["app/models.py"].replace("from app import nothing_here", "")
    write_tree(tmp_path, TREE)
    runs = {engine: hooked(tmp_path, MAIN, engine, IMPORTGUARD_EXPORTS="record") for engine in ENGINES}
    (fproc, freport), (eproc, ereport) = runs["function"], runs["finder"]
    assert (fproc.returncode, fproc.stdout, fproc.stderr) == (eproc.returncode, eproc.stdout, eproc.stderr)
    assert fproc.returncode == 1 and "No module named 'a_pkg_that_is_not'" in fproc.stderr
    assert shape(freport) == shape(ereport)
    names = [r[0] for r in shape(ereport)]
    assert {"app.deep.leaf", "circ.sub", "bad_top", "definitely_missing_dependency", "swap"} <= set(names)
    # -X importtime nesting: `from .deep.leaf import` imports app.deep first, inside app.deep.leaf's import.
    assert by_name(ereport, "app.deep")["parent"] == "app.deep.leaf"
    assert [v["module"] for v in freport["violations"]] == [v["module"] for v in ereport["violations"]] == ["exp"]
    assert ereport["internal_errors"] == freport["internal_errors"] == []


NEWER = {
    # A collection inside a module's own code is charged to that module.
    "collects.py": "import gc\ngc.collect()\n",
    # A name a submodule lacks when it finishes, bound by its package after:
    # judged when the outermost import returns, so no violation.
    "late/__init__.py": "from . import part\npart.LATE = 1\n",
    "late/part.py": "__all__ = ['LATE']\n",
    # Greenlets switching in the middle of their imports.
    "ga.py": "import greenlet\ngreenlet.getcurrent().parent.switch()\nimport ga_sub\n",
    "gb.py": "import greenlet\ngreenlet.getcurrent().parent.switch()\nimport gb_sub\n",
    "ga_sub.py": "",
    "gb_sub.py": "",
}
NEWER_MAIN = """
    import importlib, sys
    import collects, late
    def handler():
        try:
            import ujson_nowhere_at_all
        except ImportError:
            pass
    for _ in range(5):
        handler()
    import greenlet
    a = greenlet.greenlet(lambda: importlib.import_module("ga"))
    b = greenlet.greenlet(lambda: importlib.import_module("gb"))
    a.switch(); b.switch(); a.switch(); b.switch()
    print(sorted(m for m in sys.modules if m[:2] in ("ga", "gb")))
"""


def test_both_engines_record_what_main_added_the_same(tmp_path: Path) -> None:
    # Garbage collection per import, verdicts, run-time repeats, deferred export
    # judgments and one import stack per greenlet: the same with either engine.
    pytest.importorskip("greenlet")
    write_tree(tmp_path, NEWER)
    runs = {engine: hooked(tmp_path, NEWER_MAIN, engine, IMPORTGUARD_EXPORTS="record") for engine in ENGINES}
    (fproc, freport), (eproc, ereport) = runs["function"], runs["finder"]
    assert (fproc.returncode, fproc.stdout, fproc.stderr) == (eproc.returncode, eproc.stdout, eproc.stderr)
    assert fproc.stdout == "['ga', 'ga_sub', 'gb', 'gb_sub']\n", fproc.stderr
    for report in (freport, ereport):
        mine = [r for r in report["imports"] if r["name"] in NEWER_NAMES]
        assert [
            (r["name"], r["parent"], r["status"], r["verdict"], r.get("repeats", {}).get("count")) for r in mine
        ] == [
            ("collects", None, "ok", None, None),
            ("late", None, "ok", None, None),
            ("late.part", "late", "ok", None, None),
            ("ujson_nowhere_at_all", None, "not_found", "probe", 5),
            ("ga", None, "ok", None, None),
            ("gb", None, "ok", None, None),
            ("ga_sub", "ga", "ok", None, None),
            ("gb_sub", "gb", "ok", None, None),
        ]
        collected = by_name(report, "collects")
        assert collected["gc_ns"] > 0 and 2 in [e[2] for e in collected["gc"]]
        threads = {r["name"]: r["thread"] for r in mine}
        assert threads["ga"] == threads["ga_sub"] != threads["gb"] == threads["gb_sub"] != threads["collects"]
        assert report["violations"] == [] and report["internal_errors"] == []
    assert shape(freport) == shape(ereport)


NEWER_NAMES = ("collects", "late", "late.part", "ujson_nowhere_at_all", "ga", "gb", "ga_sub", "gb_sub")


# -- what only the finder engine does, or does differently ---------------------------

COUNTING = """
    import importlib, importlib.util, sys
    class Counting:
        calls = []
        def find_spec(self, name, path=None, target=None):
            if name.startswith("counted"):
                self.calls.append(name)
            return None
    sys.meta_path.append(Counting())
    import lookmeup
    try:
        import counted_statement
    except ImportError:
        pass
    try:
        importlib.import_module("counted_import_module")
    except ImportError:
        pass
    print(sorted(Counting.calls))
    print(importlib.util.find_spec("looked_up") is not None, "looked_up" in sys.modules)
    importlib.reload(lookmeup)
"""


@pytest.mark.parametrize("engine", ENGINES)
def test_misses_lookups_and_reloads(tmp_path: Path, engine: str) -> None:
    write_tree(tmp_path, {"lookmeup.py": "", "looked_up.py": ""})
    proc, report = hooked(tmp_path, COUNTING, engine)
    assert proc.returncode == 0, proc.stderr
    # A miss through the import statement searches the finders once, as without
    # importguard; through importlib.import_module the finder engine cannot stop
    # importlib from asking them again (docs/engines.md).
    twice = ["counted_import_module"] if engine == "finder" else []
    assert proc.stdout.splitlines()[0] == repr(sorted(["counted_statement", "counted_import_module"] + twice))
    names = [r["name"] for r in report["imports"]]
    assert names.count("lookmeup") == 1 and "looked_up" not in names  # a reload and a look-up: no record
    for name in ("counted_statement", "counted_import_module"):
        assert by_name(report, name)["status"] == "not_found" and by_name(report, name)["swallowed"] is True


AHEAD = """
    import sys, importlib.abc, importlib.machinery
    class Virtual(importlib.abc.MetaPathFinder, importlib.abc.Loader):
        def find_spec(self, name, path, target=None):
            if name == "virtual_mod":
                return importlib.machinery.ModuleSpec(name, self)
        def create_module(self, spec):
            return None
        def exec_module(self, module):
            import json
            module.V = "virtual"
    sys.meta_path.insert(0, Virtual())
    import virtual_mod
    print(virtual_mod.V)
"""


def test_a_finder_ahead_of_the_finder_engine_is_not_seen(tmp_path: Path) -> None:
    plain = run_python(AHEAD, cwd=tmp_path, env=clean_env())
    runs = {engine: hooked(tmp_path, AHEAD, engine) for engine in ENGINES}
    for proc, _ in runs.values():
        assert (proc.returncode, proc.stdout, proc.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    function, finder = runs["function"][1], runs["finder"][1]
    assert by_name(function, "json")["parent"] == "virtual_mod"
    # The import never reaches the finder: the module it serves is not recorded,
    # and what that module imports has no parent.
    assert "virtual_mod" not in [r["name"] for r in finder["imports"]]
    assert by_name(finder, "json")["parent"] is None


def test_pytest_assertion_rewriter(tmp_path: Path) -> None:
    # pytest puts its rewriter first in sys.meta_path, after importguard's
    # finder: the test modules it rewrites are its to load.
    write_tree(
        tmp_path,
        {
            "test_sample.py": "import plain_helper\n\ndef test_it():\n    assert plain_helper.H == 1\n",
            "plain_helper.py": "H = 1\n",
        },
    )
    reports = {}
    for engine in ENGINES:
        report = tmp_path / f"pytest-{engine}.json"
        env = hooked_env(report, IMPORTGUARD_ENGINE=engine)
        proc = run_python(
            "import pytest, sys; sys.exit(pytest.main(['-q', '-p', 'no:cacheprovider', 'test_sample.py']))",
            cwd=tmp_path,
            env=env,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        reports[engine] = json.loads(report.read_text())
    assert by_name(reports["function"], "plain_helper")["parent"] == "test_sample"
    assert "test_sample" not in [r["name"] for r in reports["finder"]["imports"]]
    assert by_name(reports["finder"], "plain_helper")["parent"] is None


SIX = """
    import six
    from six.moves import urllib_parse
    from six.moves.urllib.parse import urlparse
    print(urllib_parse.__name__, urlparse("http://x/y").path)
"""


@pytest.mark.parametrize("engine", ENGINES)
def test_six_moves_through_its_own_importer(tmp_path: Path, engine: str) -> None:
    pytest.importorskip("six")
    plain = run_python(SIX, cwd=tmp_path, env=clean_env())
    proc, report = hooked(tmp_path, SIX, engine)
    assert (proc.returncode, proc.stdout, proc.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    assert plain.stdout == "urllib.parse /y\n"
    # six appends its importer to sys.meta_path: the finder engine asks it like any other.
    rec = by_name(report, "six.moves.urllib.parse")
    assert rec["status"] == "ok" and rec["loader"] == "six._SixMetaPathImporter"
    assert report["internal_errors"] == []


LEGACY_FAILING_IN_IMPORTLIB = """
    import sys, types, warnings
    class Old:
        def find_spec(self, name, path, target=None):
            if name == "old_style":
                import importlib.util
                return importlib.util.spec_from_loader(name, self)
        def load_module(self, name):
            raise AssertionError("not reached: importlib's ImportWarning is an error here")
    sys.meta_path.append(Old())
    warnings.simplefilter("error", ImportWarning)
    try:
        import old_style
    except ImportWarning as e:
        print("caught", type(e).__name__)
    import json
"""


def test_an_import_failing_between_finder_and_loader(tmp_path: Path) -> None:
    # importlib warns about a load_module-only loader before calling it; made an
    # error, the import fails where the finder engine is not on the stack.
    outcomes = {engine: hooked(tmp_path, LEGACY_FAILING_IN_IMPORTLIB, engine) for engine in ENGINES}
    for proc, _ in outcomes.values():
        assert (proc.returncode, proc.stdout) == (0, "caught ImportWarning\n"), proc.stderr
    assert by_name(outcomes["function"][1], "old_style")["error"]["type"] == "ImportWarning"
    lost = by_name(outcomes["finder"][1], "old_style")
    assert (lost["status"], lost["error"]["type"], lost["swallowed"]) == ("error", "importguard.LostImport", None)
    assert outcomes["finder"][1]["internal_errors"] == []
