"""Subinterpreters (3.12+): importing in one neither crashes nor spoils the main interpreter's report."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from conftest import by_name, write_tree
from rel_helpers import plain_and_hooked

pytestmark = pytest.mark.skipif(sys.version_info < (3, 12), reason="subinterpreter module is 3.12+")

CODE = """
    import os
    try:
        import _interpreters as interpreters
    except ImportError:
        import _xxsubinterpreters as interpreters
    import sub_main_mod
    run = getattr(interpreters, "run_string", None) or interpreters.exec
    # The subinterpreter runs site, so importguard's .pth, again: importguard must stay
    # off there (no hook, no session whose report would land on the main one's path).
    SUB = (
        "import sub_only_mod, json, _frozen_importlib as b\\n"
        "print('in sub', sub_only_mod.V, json.dumps([1]), b._find_and_load_unlocked.__module__, flush=True)"
    )
    for _ in range(2):
        interp = interpreters.create()
        run(interp, SUB)
        interpreters.destroy(interp)
        print('report after destroy:', os.path.exists(os.environ.get('IMPORTGUARD_REPORT', '/nonexistent')),
              flush=True)
    import after_sub_mod
    print('main ok')
"""


def test_subinterpreter_imports(tmp_path: Path) -> None:
    write_tree(tmp_path, {"sub_only_mod.py": "V = 5\n", "sub_main_mod.py": "", "after_sub_mod.py": ""})
    plain, hooked = plain_and_hooked(CODE, tmp_path, PYTHONPATH=str(tmp_path))
    assert plain.returncode == 0 and plain.stdout == (
        "in sub 5 [1] _frozen_importlib\nreport after destroy: False\n" * 2 + "main ok\n"
    ), plain.stderr
    assert (hooked.returncode, hooked.stdout, hooked.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    report = hooked.report
    assert report is not None and report["internal_errors"] == []
    assert by_name(report, "sub_main_mod")["status"] == "ok"
    assert by_name(report, "after_sub_mod")["status"] == "ok"
    # The main interpreter's report holds the main interpreter's imports only.
    assert "sub_only_mod" not in [r["name"] for r in report["imports"]]


def test_configuration_problems_are_said_once_not_per_subinterpreter(tmp_path: Path) -> None:
    write_tree(tmp_path, {"sub_only_mod.py": "V = 5\n", "sub_main_mod.py": "", "after_sub_mod.py": ""})
    _plain, hooked = plain_and_hooked(CODE, tmp_path, PYTHONPATH=str(tmp_path), IMPORTGUARD_MIN_MS="soon")
    assert hooked.returncode == 0 and hooked.stdout.endswith("main ok\n")
    lines = hooked.stderr.splitlines()
    assert len(lines) == 1 and "IMPORTGUARD_MIN_MS" in lines[0], hooked.stderr
