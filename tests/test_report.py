"""What the report says about real imports in a real process with IMPORTGUARD=1."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from conftest import ROOT, by_name, run_hooked

SCHEMA = json.loads((ROOT / "importguard" / "report.schema.json").read_text())


def test_report_has_the_documented_shape(tree: Any, tmp_path: Path) -> None:
    tree({"app/__init__.py": "from . import a\n", "app/a.py": "import json\n"})
    proc, report = run_hooked("import app", cwd=tmp_path)
    assert report is not None
    jsonschema.validate(report, SCHEMA)
    assert report["schema"] == "importguard.report/1"
    assert report["pid"] > 0
    assert report["violations"] == []
    app = by_name(report, "app")
    assert app["status"] == "ok" and app["error"] is None and app["swallowed"] is None
    assert app["parent"] is None and app["parent_id"] is None
    assert app["file"] == str(tmp_path / "app" / "__init__.py")
    assert app["loader"] == "source"
    assert app["thread_name"] == "MainThread"
    a = by_name(report, "app.a")
    assert a["parent"] == "app" and a["parent_id"] == app["id"]
    json_rec = by_name(report, "json")
    assert json_rec["parent"] == "app.a"
    # ids are start order, parents first
    assert app["id"] < a["id"] < json_rec["id"]


def test_self_time_excludes_nested_imports(tree: Any, tmp_path: Path) -> None:
    tree(
        {
            "slow/__init__.py": "import time\ntime.sleep(0.05)\nfrom . import child\n",
            "slow/child.py": "import time\ntime.sleep(0.25)\n",  # far above the parent's 0.05 s, even on a loaded machine
        }
    )
    _, report = run_hooked("import slow", cwd=tmp_path)
    assert report is not None
    top, child = by_name(report, "slow"), by_name(report, "slow.child")
    children = [r for r in report["imports"] if r["parent_id"] == top["id"]]
    assert top["self_ns"] == top["duration_ns"] - sum(c["duration_ns"] for c in children)
    assert child["self_ns"] == child["duration_ns"]  # time was imported before
    # ordering facts, not timings: the child's cumulative time is inside the parent's
    assert top["start_ns"] <= child["start_ns"]
    assert child["start_ns"] + child["duration_ns"] <= top["start_ns"] + top["duration_ns"]
    assert top["duration_ns"] > child["duration_ns"] > top["self_ns"]


def test_not_found_error_and_swallowed(tree: Any, tmp_path: Path) -> None:
    # A catches B's error; B fails because C fails inside it.
    tree(
        {
            "a.py": "try:\n    import b\nexcept ImportError:\n    pass\ntry:\n    import optional_dep_xyz\nexcept ImportError:\n    pass\n",
            "b.py": "import c\n",
            "c.py": "raise ImportError('c is broken')\n",
        }
    )
    _, report = run_hooked("import a", cwd=tmp_path)
    assert report is not None
    a, b, c = by_name(report, "a"), by_name(report, "b"), by_name(report, "c")
    opt = by_name(report, "optional_dep_xyz")
    assert a["status"] == "ok"
    assert c["status"] == "error" and c["swallowed"] is False
    assert c["error"]["type"] == "ImportError" and c["error"]["message"] == "c is broken"
    assert 'c.py", line 1, in <module>' in c["error"]["traceback"]
    assert "importlib" not in c["error"]["traceback"] and "importguard" not in c["error"]["traceback"]
    assert b["status"] == "error" and b["swallowed"] is True
    assert b["error"]["caused_by"] == c["id"]
    assert b["importer"] == {"file": str(tmp_path / "a.py"), "line": 2}
    assert opt["status"] == "not_found" and opt["swallowed"] is True
    assert opt["error"]["type"] == "ModuleNotFoundError"
    assert opt["importer"]["line"] == 6
    # every failed import is exactly one record (counting from `import a`: site
    # and the platform's sitecustomize probe for modules of their own first)
    failures = [r["name"] for r in report["imports"] if r["status"] != "ok" and r["id"] > a["id"]]
    assert sorted(failures) == ["b", "c", "optional_dep_xyz"]


def test_failure_that_kills_the_process_is_not_swallowed(tree: Any, tmp_path: Path) -> None:
    tree({"broken.py": "1 / 0\n"})
    proc, report = run_hooked(
        "try:\n    import missing_one\nexcept ImportError:\n    pass\nimport broken\n", cwd=tmp_path, check=False
    )
    assert proc.returncode == 1 and "ZeroDivisionError" in proc.stderr
    assert report is not None
    broken = by_name(report, "broken")
    assert broken["status"] == "error" and broken["swallowed"] is False
    assert broken["error"]["type"] == "ZeroDivisionError"
    assert broken["file"] == str(tmp_path / "broken.py")
    assert by_name(report, "missing_one")["swallowed"] is True


def test_not_found_inside_a_package_and_from_import(tree: Any, tmp_path: Path) -> None:
    tree(
        {"pkg/__init__.py": "X = 1\n", "user.py": "try:\n    from pkg import Missing\nexcept ImportError:\n    pass\n"}
    )
    _, report = run_hooked("import user", cwd=tmp_path)
    assert report is not None
    rec = by_name(report, "pkg.Missing")
    assert rec["status"] == "not_found" and rec["swallowed"] is True
    assert rec["fromlist"] is True
    assert rec["importer"] == {"file": str(tmp_path / "user.py"), "line": 2}
    assert rec["parent"] == "user"


def test_find_spec_reload_and_loaded_modules_are_not_imports(tree: Any, tmp_path: Path) -> None:
    tree({"mod.py": "VALUE = 1\n"})
    code = """
        import importlib, importlib.util, sys
        importlib.util.find_spec("mod")
        importlib.util.find_spec("nonexistent_abc")
        import mod
        importlib.reload(mod)
        importlib.import_module("mod")
        importlib.import_module("json")
        importlib.import_module("json")
    """
    _, report = run_hooked(code, cwd=tmp_path)
    assert report is not None
    names = [r["name"] for r in report["imports"]]
    assert names.count("mod") == 1
    assert names.count("json") == 1
    assert "nonexistent_abc" not in names


def test_worker_thread_imports_belong_to_the_worker(tree: Any, tmp_path: Path) -> None:
    # The main thread is inside `import outer` while a worker imports `inner`;
    # -X importtime would nest `inner` under `outer`.
    tree(
        {
            "outer.py": """
                import threading
                started = threading.Event()
                def work():
                    import inner
                t = threading.Thread(target=work, name="worker-1")
                t.start()
                t.join()
            """,
            "inner.py": "import time\ntime.sleep(0.01)\n",
        }
    )
    _, report = run_hooked("import outer", cwd=tmp_path)
    assert report is not None
    outer, inner = by_name(report, "outer"), by_name(report, "inner")
    assert inner["parent"] is None and inner["parent_id"] is None
    assert inner["thread"] != outer["thread"]
    assert inner["thread_name"] == "worker-1"
    assert outer["thread_name"] == "MainThread"


def test_relative_report_path_is_resolved_at_startup(tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    proc, _ = run_hooked("import os; os.chdir('elsewhere'); import json", cwd=tmp_path, report=Path("rel.json"))
    assert (tmp_path / "rel.json").exists()
    assert not (tmp_path / "elsewhere" / "rel.json").exists()


def test_child_process_writes_its_own_report(tmp_path: Path) -> None:
    code = """
        import subprocess, sys
        subprocess.run([sys.executable, "-c", "import json"], check=True)
        import csv
    """
    proc, report = run_hooked(code, cwd=tmp_path)
    assert report is not None
    children = [p for p in tmp_path.glob("report.*.json")]
    assert len(children) == 1, list(tmp_path.iterdir())
    child = json.loads(children[0].read_text())
    assert child["pid"] != report["pid"]
    assert "json" in [r["name"] for r in child["imports"]]
    assert "csv" in [r["name"] for r in report["imports"]]


def test_inherit_off_keeps_children_unhooked(tmp_path: Path) -> None:
    code = """
        import subprocess, sys
        out = subprocess.run([sys.executable, "-c", "import sys; print('importguard._hook' in sys.modules)"],
                             check=True, capture_output=True, text=True).stdout
        print(out.strip())
    """
    proc, _ = run_hooked(code, cwd=tmp_path, IMPORTGUARD_INHERIT="0")
    assert proc.stdout.strip() == "False"
    proc, _ = run_hooked(code, cwd=tmp_path)
    assert proc.stdout.strip() == "True"


def test_module_replacing_itself_in_sys_modules(tree: Any, tmp_path: Path) -> None:
    tree(
        {
            "swap.py": """
                import sys
                class Replacement:
                    __all__ = ["x"]
                    x = 1
                sys.modules[__name__] = Replacement()
            """
        }
    )
    proc, report = run_hooked("import swap; print(type(swap).__name__, swap.x)", cwd=tmp_path)
    assert proc.stdout.split() == ["Replacement", "1"]
    assert report is not None
    rec = by_name(report, "swap")
    assert rec["status"] == "ok" and rec["file"] is None


def test_circular_package_import_is_one_load(tree: Any, tmp_path: Path) -> None:
    # `import a.b` first imports `a`, whose __init__ imports `a.b`: the module
    # runs once (inner record); the outer statement found it loaded.
    tree({"a/__init__.py": "from . import b\n", "a/b.py": "B = 1\n"})
    _, report = run_hooked("import a.b", cwd=tmp_path)
    assert report is not None
    recs = [r for r in report["imports"] if r["name"] == "a.b"]
    assert len(recs) == 2
    outer, inner = recs
    assert outer["duplicate_of"] == inner["id"] and inner["duplicate_of"] is None
    assert inner["parent"] == "a" and by_name(report, "a")["parent_id"] == outer["id"]


@pytest.mark.parametrize("value", ["1", "true", "YES", "on", " On "])
def test_true_values_switch_it_on(tmp_path: Path, value: str) -> None:
    proc, report = run_hooked("import json", cwd=tmp_path, IMPORTGUARD=value)
    assert report is not None and proc.stderr == ""


def test_line_numbers_far_into_long_modules(tree: Any, tmp_path: Path) -> None:
    # Lines are worked out from bytecode offsets when the report is written;
    # check them against what Python itself says, deep into a long module.
    filler = "".join(f"x{i} = {i}\n" for i in range(300))
    tree(
        {
            "long_importer.py": filler
            + "try:\n    import missing_far_down\nexcept ImportError:\n    pass\n"
            + "def f():\n    return 1 / 0\n"
            + filler
            + "f()\n",
        }
    )
    proc, report = run_hooked("import long_importer", cwd=tmp_path, check=False)
    assert report is not None
    assert by_name(report, "missing_far_down")["importer"]["line"] == 302
    tb = by_name(report, "long_importer")["error"]["traceback"]
    assert 'long_importer.py", line 607, in <module>\n    f()' in tb
    assert 'long_importer.py", line 306, in f\n    return 1 / 0' in tb
    assert proc.stderr.count("line 607") == 1 and proc.stderr.count("line 306") == 1
