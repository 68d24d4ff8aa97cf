"""Export contracts, checked the moment each module finishes executing.

The first tests replay the incident this project was born from: a restructure
of a monitoring package dropped names from its __init__.py, and nothing
noticed until imports failed downstream.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from conftest import ROOT, clean_env, hooked_env, run_python, write_tree

SCHEMA = json.loads((ROOT / "importguard" / "report.schema.json").read_text())

MONITORING = {
    "pyproject.toml": """
        [project]
        name = "netra"
        [tool.importguard.exports]
        "app.monitoring" = ["MetricsCollector", "PerformanceMetric", "alert_manager", "CompactAlertManager"]
    """,
    "app/__init__.py": "",
    "app/api.py": "from app import monitoring\n",
    # After the restructure: PerformanceMetric moved out and was never
    # re-exported; the alerts module now fails to import, and the package
    # swallows that.
    "app/monitoring/__init__.py": """
        from .metrics import MetricsCollector
        try:
            from .alerts import CompactAlertManager, alert_manager
        except ImportError:
            pass
        __all__ = ["MetricsCollector", "PerformanceMetric"]
    """,
    "app/monitoring/metrics.py": "class MetricsCollector: ...\n",
    "app/monitoring/performance.py": "class PerformanceMetric: ...\n",
    "app/monitoring/alerts.py": """
        from .core import AlertManagerBase   # core.py was consolidated away
        class CompactAlertManager(AlertManagerBase): ...
        alert_manager = CompactAlertManager()
    """,
}


def run(tmp_path: Path, code: str, **env: str) -> tuple[Any, dict[str, Any]]:
    report = tmp_path / "report.json"
    report.unlink(missing_ok=True)  # else a second run in this process group writes report.<pid>.json
    proc = run_python(code, cwd=tmp_path, env=hooked_env(report, **env))
    return proc, json.loads(report.read_text())


def test_seed_incident_warns_by_default(tmp_path: Path) -> None:
    write_tree(tmp_path, MONITORING)
    proc, report = run(tmp_path, "import app.api\nprint('app started')\n")
    assert proc.returncode == 0 and proc.stdout == "app started\n"
    # One warning, at the import statement that imported the package, through
    # the warnings machinery (so -W error and pytest filterwarnings apply).
    assert f"{tmp_path / 'app' / 'api.py'}:1: ExportWarning: app.monitoring does not provide" in proc.stderr
    assert "PerformanceMetric  (declared by __all__ in" in proc.stderr
    assert "CompactAlertManager, alert_manager, PerformanceMetric" not in proc.stderr  # per source
    assert "importing app.monitoring.alerts failed inside app.monitoring and was swallowed" in proc.stderr
    assert "import chain: app.api -> app.monitoring" in proc.stderr
    by_source = {v["source"]: v for v in report["violations"]}
    assert set(by_source) == {"__all__", "pyproject"}
    assert by_source["__all__"]["missing"] == ["PerformanceMetric"]
    assert sorted(by_source["pyproject"]["missing"]) == ["CompactAlertManager", "PerformanceMetric", "alert_manager"]
    assert by_source["pyproject"]["declared_in"] == str(tmp_path / "pyproject.toml")
    v = by_source["pyproject"]
    assert v["module"] == "app.monitoring" and v["mode"] == "warn"
    assert v["importer"] == {"file": str(tmp_path / "app" / "api.py"), "line": 1}
    assert v["chain"] == ["app.api", "app.monitoring"]
    assert v["related_failures"][0]["name"] == "app.monitoring.alerts"
    assert "No module named 'app.monitoring.core'" in v["related_failures"][0]["error"]
    jsonschema.validate(report, SCHEMA)
    imports = {r["name"]: r for r in report["imports"]}
    assert report["violations"][0]["import_id"] == imports["app.monitoring"]["id"]


def test_seed_incident_fails_loudly_in_error_mode(tmp_path: Path) -> None:
    write_tree(tmp_path, MONITORING)
    code = """
        import sys, importguard
        try:
            import app.api
        except importguard.ExportError as exc:
            assert isinstance(exc, ImportError) and exc.name == 'app.monitoring'
            print('raised:', str(exc).splitlines()[0])
            print('still loaded:', 'app.monitoring' in sys.modules, hasattr(sys.modules['app'], 'monitoring'))
        try:
            import app.monitoring
        except ImportError:
            print('raised again')
    """
    proc, report = run(tmp_path, code, IMPORTGUARD_EXPORTS="error")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "raised: app.monitoring does not provide names it declares it exports:",
        "still loaded: False False",
        "raised again",
    ]
    mon = [r for r in report["imports"] if r["name"] == "app.monitoring"]
    assert len(mon) == 2 and all(r["status"] == "error" for r in mon)
    assert mon[0]["error"]["type"] == "importguard.ExportError"


def test_uncaught_export_error_traceback_points_at_the_import(tmp_path: Path) -> None:
    # Judged when the outermost import returns (a package may still bind the
    # names), so it is that statement which raises; the message names the
    # import of the module at fault, with its file and line, and the chain.
    write_tree(tmp_path, MONITORING)
    proc, _ = run(tmp_path, "import app.api\n", IMPORTGUARD_EXPORTS="error")
    assert proc.returncode == 1
    # (3.13 also shows the source line of <string>)
    assert proc.stderr.startswith('Traceback (most recent call last):\n  File "<string>", line 1, in <module>\n')
    assert proc.stderr.count('  File "') == 1
    assert "\nimportguard.ExportError: app.monitoring does not provide" in proc.stderr
    assert f"import chain: app.api -> app.monitoring, imported at {tmp_path / 'app' / 'api.py'}:1" in proc.stderr
    assert "_hook.py" not in proc.stderr and "_exports.py" not in proc.stderr


@pytest.mark.parametrize("mode", ["record", "off"])
def test_record_and_off(tmp_path: Path, mode: str) -> None:
    write_tree(tmp_path, MONITORING)
    proc, report = run(tmp_path, "import app.api\n", IMPORTGUARD_EXPORTS=mode)
    assert proc.returncode == 0 and proc.stderr == ""
    assert len(report["violations"]) == (2 if mode == "record" else 0)


def test_accepted_violations_are_recorded_not_raised(tmp_path: Path) -> None:
    files = dict(MONITORING)
    files["pyproject.toml"] += """
        [tool.importguard.accept]
        "app.monitoring" = {names = ["PerformanceMetric", "CompactAlertManager", "alert_manager"], reason = "JIRA-42: alerts being rewritten"}
    """
    write_tree(tmp_path, files)
    proc, report = run(tmp_path, "import app.api\n", IMPORTGUARD_EXPORTS="error")
    assert proc.returncode == 0 and proc.stderr == ""
    assert {v["accepted"] for v in report["violations"]} == {"JIRA-42: alerts being rewritten"}
    assert {v["mode"] for v in report["violations"]} == {"record"}


def test_third_party_modules_are_recorded_only(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "project/pyproject.toml": "[project]\nname = 'p'\n",
            "vendor/thirdparty.py": "__all__ = ['gone']\n",
        },
    )
    proc, report = run(
        tmp_path / "project", "import thirdparty\n", IMPORTGUARD_EXPORTS="error", PYTHONPATH=str(tmp_path / "vendor")
    )
    assert proc.returncode == 0 and proc.stderr == ""
    assert [(v["module"], v["missing"], v["mode"]) for v in report["violations"]] == [
        ("thirdparty", ["gone"], "record")
    ]
    # unless named as the project's own
    proc, _ = run(
        tmp_path / "project",
        "import thirdparty\n",
        IMPORTGUARD_EXPORTS="error",
        IMPORTGUARD_PACKAGES="thirdparty",
        PYTHONPATH=str(tmp_path / "vendor"),
    )
    assert proc.returncode == 1 and "ExportError: thirdparty does not provide" in proc.stderr


def test_pep562_names_are_lazy_and_never_resolved(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "pyproject.toml": "[project]\nname = 'lazy'\n",
            "lazypkg/__init__.py": """
            __all__ = ["eager", "heavy", "broken"]
            eager = 1
            calls = []
            def __getattr__(name):
                calls.append(name)
                if name == "heavy":
                    return 42
                raise RuntimeError("resolving broken has side effects")
        """,
        },
    )
    proc, report = run(tmp_path, "import lazypkg\nprint(lazypkg.calls)\n", IMPORTGUARD_EXPORTS="error")
    assert proc.returncode == 0 and proc.stdout == "[]\n" and proc.stderr == ""
    assert report["violations"] == []
    assert [(v["missing"], v["lazy"]) for v in report["unverified_exports"]] == [([], ["heavy", "broken"])]


def test_submodules_in_all_and_star_imports(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "pyproject.toml": "[project]\nname = 'star'\n",
            "starpkg/__init__.py": "__all__ = ['sub', 'native', 'nested', 'VALUE']\nVALUE = 1\n",
            "starpkg/sub.py": "S = 1\n",
            "starpkg/nested/__init__.py": "",
            "starpkg/native.cpython-311-x86_64-linux-gnu.so": "",
            "user.py": "from starpkg import *\nprint(sorted(k for k in dir() if not k.startswith('_')))\n",
        },
    )
    proc, report = run(tmp_path, "import starpkg\n", IMPORTGUARD_EXPORTS="error")
    assert proc.returncode == 0, proc.stderr
    assert report["violations"] == []


def test_circular_imports_are_checked_once_complete(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "pyproject.toml": "[project]\nname = 'circ'\n",
            "circ/__init__.py": "__all__ = ['A', 'B']\nfrom .a import A\nfrom .b import B\n",
            "circ/a.py": "__all__ = ['A', 'use_b']\nimport circ.b\nclass A: ...\ndef use_b(): return circ.b.B\n",
            "circ/b.py": "__all__ = ['B']\nimport circ.a\nclass B: ...\n",
        },
    )
    proc, report = run(tmp_path, "import circ\nimport circ.b\n", IMPORTGUARD_EXPORTS="error")
    assert proc.returncode == 0, proc.stderr
    assert report["violations"] == []


def test_module_replacing_itself(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "pyproject.toml": "[project]\nname = 'swap'\n",
            "goodswap.py": "import sys\nclass M:\n    __all__ = ['x']\n    x = 1\nsys.modules[__name__] = M()\n",
            "badswap.py": "import sys\nclass M:\n    __all__ = ['x', 'y']\n    x = 1\nsys.modules[__name__] = M()\n",
        },
    )
    proc, report = run(tmp_path, "import goodswap\nimport badswap\n", IMPORTGUARD_EXPORTS="record")
    assert proc.returncode == 0, proc.stderr
    assert [(v["module"], v["missing"]) for v in report["violations"]] == [("badswap", ["y"])]


def test_from_import_of_a_missing_name_is_recorded(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "fpkg/__init__.py": "X = 1\n",
            "consumer.py": "try:\n    from fpkg import Gone\nexcept ImportError:\n    pass\n",
        },
    )
    proc, report = run(tmp_path, "import consumer\n")
    assert proc.returncode == 0 and proc.stderr == ""
    (v,) = report["violations"]
    assert (v["module"], v["missing"], v["source"], v["mode"]) == ("fpkg", ["Gone"], "fromlist", "record")
    assert v["importer"] == {"file": str(tmp_path / "consumer.py"), "line": 2}
    assert v["chain"] == ["consumer"]


def test_warning_becomes_an_error_under_W_error(tmp_path: Path) -> None:
    # (-W error::importguard.ExportWarning cannot work: Python parses -W before
    # site-packages is on sys.path. -W error, or a filter set in code, does.)
    write_tree(tmp_path, MONITORING)
    report = tmp_path / "r.json"
    env = hooked_env(IMPORTGUARD_REPORT=str(report))
    proc = run_python("import app.api\n", cwd=tmp_path, env=env, args=["-W", "error"])
    assert proc.returncode == 1
    assert "importguard.ExportWarning: app.monitoring does not provide" in proc.stderr


def test_stdlib_packages_have_no_false_positives(tmp_path: Path) -> None:
    # Every stdlib module is "third party" here, so violations are recorded,
    # not raised; the point is what is recorded: only real __all__ problems.
    mods = [
        "email",
        "email.mime.multipart",
        "xml.etree.ElementTree",
        "json",
        "http.client",
        "logging.handlers",
        "asyncio",
        "concurrent.futures",
        "decimal",
        "argparse",
        "collections",
        "importlib.metadata",
        "urllib.request",
        "unittest",
        "multiprocessing",
        "sqlite3",
        "ctypes",
        "csv",
        "dataclasses",
        "typing",
        "pathlib",
        "subprocess",
        "tomllib" if __import__("sys").version_info >= (3, 11) else "uu",
    ]
    code = "import importlib\nfor m in %r:\n    importlib.import_module(m)\n" % mods
    proc, report = run(tmp_path, code)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    real = [(v["module"], v["missing"]) for v in report["violations"] if v["missing"]]
    assert real == [], real


def test_per_module_modes(tmp_path: Path) -> None:
    files = dict(MONITORING)
    files["pyproject.toml"] += """
        [tool.importguard.modes]
        "app.*" = "record"
        "app.monitoring" = "error"
    """
    files["vendor/thirdparty.py"] = "__all__ = ['gone']\n"
    write_tree(tmp_path, files)
    code = "import app.api\n"
    proc, report = run(tmp_path, code, IMPORTGUARD_EXPORTS="off")
    assert proc.returncode == 1 and "importguard.ExportError: app.monitoring" in proc.stderr
    files["pyproject.toml"] = files["pyproject.toml"].replace('"app.monitoring" = "error"', '"thirdparty" = "error"')
    write_tree(tmp_path, files)
    proc, report = run(tmp_path, "import app.api\nimport thirdparty\n", PYTHONPATH=str(tmp_path / "vendor"))
    assert proc.returncode == 1 and "importguard.ExportError: thirdparty does not provide" in proc.stderr
    assert {v["mode"] for v in report["violations"] if v["module"] == "app.monitoring"} == {"record"}


def test_submodules_named_by_all_are_found_with_one_listing_per_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A package whose __all__ names its submodules (for `from pkg import *`) is
    # clean while they are on disk; each directory is listed once, not once per name.
    import os

    from importguard import _exports

    names = [f"sub{i}" for i in range(30)]
    write_tree(
        tmp_path,
        {
            "many/__init__.py": "",
            **{f"many/{n}.py": "" for n in names[:-1]},
            f"many/{names[-1]}/__init__.py": "",
            "many/data.txt": "",
        },
    )
    listed: list[str] = []
    real_listdir = os.listdir

    def counting_listdir(path: str) -> list[str]:
        listed.append(path)
        return real_listdir(path)

    monkeypatch.setattr(os, "listdir", counting_listdir)  # the os _exports lists with
    namespace = {"__path__": [str(tmp_path / "many")], "bound": 1}
    missing, lazy = _exports._unresolved(None, namespace, "many_not_imported", [*names, "bound", "data", "gone"])
    assert (missing, lazy) == (["data", "gone"], [])  # data.txt is not a module
    assert listed == [str(tmp_path / "many")]


def test_names_bound_after_the_module_finished_are_judged_when_the_outermost_import_returns(tmp_path: Path) -> None:
    # sqlalchemy's base.dialect, matplotlib's rcsetup.defaultParams, numpy.dtypes:
    # a package __init__ binds a submodule's declared name after the submodule ran.
    write_tree(
        tmp_path,
        {
            "pyproject.toml": "[project]\nname = 'late'\n",
            "late/__init__.py": "from . import core\nfrom .engine import Engine\ncore.Engine = Engine\n",
            "late/core.py": "__all__ = ['Engine', 'connect']\ndef connect(): ...\n",
            "late/engine.py": "class Engine: ...\n",
            "never/__init__.py": "from . import core\n",
            "never/core.py": "__all__ = ['Engine']\n",
            "user.py": "import never\n",
        },
    )
    proc, report = run(
        tmp_path, "import late, late.core\nprint(late.core.Engine.__name__)\n", IMPORTGUARD_EXPORTS="error"
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "Engine\n", "")
    assert report["violations"] == []
    # A name that is still missing then is a violation, raised by the outermost
    # statement; the message names the import of the module at fault.
    code = """
        import sys
        try:
            import user
        except ImportError as exc:
            print(type(exc).__name__, [m for m in ('user', 'never', 'never.core') if m in sys.modules])
            print(str(exc))
    """
    proc, report = run(tmp_path, code, IMPORTGUARD_EXPORTS="error")
    assert proc.returncode == 0, proc.stderr
    first, message = proc.stdout.split("\n", 1)
    assert first == "ExportError []"
    assert message.startswith(
        "never.core does not provide names it declares it exports:\n  Engine  (declared by __all__"
    )
    assert f"import chain: user -> never -> never.core, imported at {tmp_path / 'never' / '__init__.py'}:1" in message
    (v,) = report["violations"]
    assert (v["module"], v["missing"], v["mode"]) == ("never.core", ["Engine"], "error")
    assert v["importer"] == {"file": str(tmp_path / "never" / "__init__.py"), "line": 1}


def test_a_submodule_in_all_that_failed_to_import_is_missing(tmp_path: Path) -> None:
    # `from pkg import *` imports it again and fails; the swallowed failure is the cause.
    write_tree(
        tmp_path,
        {
            "pyproject.toml": "[project]\nname = 'half'\n",
            "half/__init__.py": """
            __all__ = ["broken", "fine", "notyet"]
            try:
                from . import broken
            except ImportError:
                pass
            from . import fine
        """,
            "half/broken.py": "import no_such_dependency_xyz\n",
            "half/fine.py": "",
            "half/notyet.py": "",
        },
    )
    proc, report = run(tmp_path, "import half\n", IMPORTGUARD_EXPORTS="record")
    assert proc.returncode == 0, proc.stderr
    (v,) = report["violations"]
    assert (v["module"], v["missing"], v["source"]) == ("half", ["broken"], "__all__")
    assert v["related_failures"] == [
        {"name": "half.broken", "error": "ModuleNotFoundError: No module named 'no_such_dependency_xyz'"}
    ]
    proc, _ = run(tmp_path, "import half\n", IMPORTGUARD_EXPORTS="error")
    assert proc.returncode == 1 and "importguard.ExportError: half does not provide" in proc.stderr
    assert "note: importing half.broken failed inside half and was swallowed" in proc.stderr
    plain = run_python("from half import *\n", cwd=tmp_path, env=clean_env())
    assert plain.returncode == 1 and "No module named 'no_such_dependency_xyz'" in plain.stderr


def test_typing_only_stub_names_are_not_runtime_exports(tmp_path: Path) -> None:
    # attr.In/attr.Out (TypeVars), matplotlib's DeprecationKwargs (a TypedDict),
    # numpy's float96/complex192 (aliases re-exported from a sibling, on x86-64 absent).
    write_tree(
        tmp_path,
        {
            "pyproject.toml": "[project]\nname = 'typed'\n",
            "typedpkg/__init__.py": "from ._impl import run\nfloat128 = float\n",
            "typedpkg/__init__.pyi": """
            import sys
            from typing import Protocol, TypedDict, TypeVar, ParamSpec
            from typing_extensions import TypeAlias
            from ._precision import float96, float128
            from ._impl import run as run
            __all__ = ["run", "In", "P", "Kwargs", "MoreKwargs", "Drawable", "Alias", "Union2",
                       "float96", "float128", "Missing"]
            In = TypeVar("In")
            P = ParamSpec("P")
            class Kwargs(TypedDict, total=False):
                message: str
            class MoreKwargs(Kwargs, total=False):
                name: str
            class Drawable(Protocol):
                def draw(self) -> None: ...
            Alias: TypeAlias = "int | str"
            Union2 = int | str
            class Missing: ...
        """,
            "typedpkg/_precision.py": "float96 = list[int]\nfloat128 = list[str]\n",
            "typedpkg/_impl.py": "def run(): ...\n",
        },
    )
    env = dict(IMPORTGUARD_STUBS="1", IMPORTGUARD_EXPORTS="record")
    proc, report = run(tmp_path, "import typedpkg\n", **env)
    assert proc.returncode == 0, proc.stderr
    assert [(v["module"], v["missing"], v["source"]) for v in report["violations"]] == [
        ("typedpkg", ["Missing"], "stub")
    ]


def test_odd_all_shapes_are_checked_like_any_other(tmp_path: Path) -> None:
    # The hook settles the common __all__ (a list or tuple of bound names)
    # inline; every other shape must still reach the full check and come out
    # as the same violation, never as an importguard error.
    write_tree(
        tmp_path,
        {
            "odd/__init__.py": "",
            "odd/unhashable.py": "x = 1\n__all__ = ['x', ['y']]\n",
            "odd/text.py": "x = 1\n__all__ = 'x'\n",
            "odd/subclass.py": "class Names(list): pass\nx = 1\n__all__ = Names(['x', 'gone'])\n",
            "odd/tuple.py": "x = 1\n__all__ = ('x', 'gone')\n",
            "odd/number.py": "x = 1\n__all__ = ['x', 3]\n",
            "odd/clean.py": "x = 1\n__all__ = ('x',)\n",
            "odd/none.py": "x = 1\n__all__ = None\n",
        },
    )
    proc, report = run(
        tmp_path,
        "import odd.unhashable, odd.text, odd.subclass, odd.tuple, odd.number, odd.clean, odd.none\nprint('ok')\n",
        IMPORTGUARD_EXPORTS="record",
    )
    assert proc.returncode == 0 and proc.stdout == "ok\n", proc.stderr
    assert "raised" not in proc.stderr and report["internal_errors"] == []
    missing = {v["module"]: v["missing"] for v in report["violations"]}
    assert missing == {
        "odd.unhashable": ["['y']"],
        "odd.text": ["__all__ is a str, not a sequence of names"],
        "odd.subclass": ["gone"],
        "odd.tuple": ["gone"],
        "odd.number": ["3"],
    }
