"""User callbacks that raise, or import (even the module being imported): the app never notices."""

from __future__ import annotations

from pathlib import Path

from conftest import by_name, write_tree
from rel_helpers import importguard_lines, names, plain_and_hooked

APP = {
    "app_a.py": "print('app_a runs')\nimport app_b\nX = 1\n",
    "app_b.py": "print('app_b runs')\nimport app_a\nprint('app_b sees', hasattr(app_a, 'X'))\n",
    "app_bad.py": "raise ImportError('app_bad fails')\n",
    # Silent helpers the callbacks import; helper_two imports the app module in progress.
    "helper_one.py": "import helper_two\n",
    "helper_two.py": "import app_a, json\n",
    "helper_three.py": "H = 3\n",
}

MAIN = """
    import app_a
    try:
        import app_bad
    except ImportError as e:
        print('caught', e)
    import sys
    print(sorted(m for m in sys.modules if m.startswith('app_')))
    sys.exit(4)
"""


def test_raising_callbacks_one_stderr_line_each(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            **APP,
            "raising_hooks.py": """
        import importguard

        @importguard.on_import("app_*", when="before")
        def boom_before(event):
            raise RuntimeError("before " + event.name)

        @importguard.on_import("app_*")
        def boom_after(event):
            raise KeyError("after " + event.name)

        @importguard.on_import("app_*", when="error")
        def boom_error(event):
            raise ValueError("error " + event.name)

        def not_raising(event):
            pass

        importguard.on_import("app_*", when="before")(not_raising)
    """,
        },
    )
    plain, hooked = plain_and_hooked(MAIN, tmp_path, IMPORTGUARD_HOOKS="raising_hooks", PYTHONPATH=str(tmp_path))
    assert plain.returncode == 4
    assert (hooked.returncode, hooked.stdout) == (plain.returncode, plain.stdout)
    lines = importguard_lines(hooked.stderr)
    # Three raising callbacks, each raising for several imports: one line per callback.
    assert len(lines) == 3, hooked.stderr
    for fn in ("boom_before", "boom_after", "boom_error"):
        assert sum(f"raising_hooks.{fn}" in line for line in lines) == 1, lines
    assert [
        line for line in hooked.stderr.splitlines() if not line.startswith("importguard:")
    ] == plain.stderr.splitlines()
    report = hooked.report
    assert report is not None
    # Every raise is still recorded: 3 imports x before, 3 x after (app_a, app_b ok) ... minus app_bad.
    where = [e["where"] for e in report["internal_errors"]]
    assert sum("boom_before" in w for w in where) == 3
    assert sum("boom_after" in w for w in where) == 2
    assert sum("boom_error" in w for w in where) == 1
    assert by_name(report, "app_bad")["status"] == "error" and by_name(report, "app_bad")["swallowed"] is True


def test_callbacks_that_import_other_modules_and_the_module_itself(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            **APP,
            "recursing_hooks.py": """
        import importlib
        import importguard

        @importguard.on_import("app_*", when="before")
        def before(event):
            import helper_three

        @importguard.on_import("app_*")
        def after(event):
            import helper_one  # helper_one -> helper_two -> app_a (in progress) and json
            importlib.import_module(event.name)  # the module currently being imported
            __import__(event.name)
            raise LookupError("after, having imported " + event.name)
    """,
        },
    )
    plain, hooked = plain_and_hooked(MAIN, tmp_path, IMPORTGUARD_HOOKS="recursing_hooks", PYTHONPATH=str(tmp_path))
    assert (hooked.returncode, hooked.stdout) == (plain.returncode, plain.stdout)
    lines = importguard_lines(hooked.stderr)
    assert len(lines) == 1 and "recursing_hooks.after" in lines[0], hooked.stderr
    assert [
        line for line in hooked.stderr.splitlines() if not line.startswith("importguard:")
    ] == plain.stderr.splitlines()
    report = hooked.report
    assert report is not None
    recorded = names(report)
    for name in ("app_a", "app_b", "app_bad", "helper_one", "helper_two", "helper_three"):
        assert recorded.count(name) == 1, (name, recorded)
    # Callbacks are not re-entered for the callback's own imports, and the helpers are
    # parented where they were really imported (inside the first app module's callback).
    assert by_name(report, "helper_three")["parent"] == "app_a"
    assert by_name(report, "helper_two")["parent"] == "helper_one"
    assert by_name(report, "app_b")["parent"] == "app_a"
    assert report["internal_errors"] and all("recursing_hooks.after" in e["where"] for e in report["internal_errors"])


def test_before_callback_importing_the_module_itself_runs_it_once(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            **APP,
            "before_self_hooks.py": """
        import importlib
        import importguard

        @importguard.on_import("app_a", when="before")
        def before(event):
            importlib.import_module(event.name)
    """,
        },
    )
    plain, hooked = plain_and_hooked(MAIN, tmp_path, IMPORTGUARD_HOOKS="before_self_hooks", PYTHONPATH=str(tmp_path))
    assert (hooked.returncode, hooked.stdout, hooked.stderr) == (plain.returncode, plain.stdout, plain.stderr)
