"""Import hooks that type-check every module they load, installed by the program.

``beartype.claw.beartype_all()`` (a path hook) and typeguard's
``install_import_hook()`` with no arguments (a finder ahead of the others)
rewrite every module imported after them. importguard imports its report,
summary and format modules at exit, after those hooks: instrumented, they failed
(their annotations name types bound only for type checkers), and there was no
report and no summary. importguard's own modules now load from its own
directory with its own loader, whatever hooks the program installed.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from conftest import FINDER, write_tree
from rel_helpers import importguard_lines, names, plain_and_hooked, run

HOOKS = {
    "beartype_all": "import beartype.claw\nbeartype.claw.beartype_all()\n",
    "typeguard": "from typeguard import install_import_hook\ninstall_import_hook()\n",
}
APP = "import typed_mod, json\nprint(typed_mod.double(21))\n"


@pytest.mark.parametrize("hook", sorted(HOOKS))
@pytest.mark.parametrize("suffix", [".json", ".html", ".txt"])
def test_report_and_summary_after_a_type_checking_import_hook(tmp_path: Path, hook: str, suffix: str) -> None:
    if importlib.util.find_spec(hook.split("_")[0]) is None:
        pytest.skip("not installed")
    write_tree(tmp_path, {"typed_mod.py": "def double(x: int) -> int:\n    return 2 * x\n"})
    code = HOOKS[hook] + APP
    plain, hooked = plain_and_hooked(code, tmp_path, IMPORTGUARD_REPORT=str(tmp_path / f"report{suffix}"))
    assert plain.returncode == 0 and plain.stdout == "42\n"
    assert (hooked.returncode, hooked.stdout, hooked.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    assert (tmp_path / f"report{suffix}").is_file()
    summary = run(code, tmp_path, hooked=True, IMPORTGUARD_SUMMARY="1")
    assert summary.returncode == 0 and summary.stdout == "42\n"
    lines = importguard_lines(summary.stderr)
    assert lines and lines[0].startswith("importguard: ") and " imports, " in lines[0], summary.stderr
    assert not [line for line in lines if " raised " in line], summary.stderr
    assert summary.report is not None and summary.report["internal_errors"] == []
    if FINDER and hook == "typeguard":
        # typeguard's finder is ahead of the finder engine's and serves the module
        # itself: not seen (docs/engines.md, finders ahead of it); the report still is.
        assert "typed_mod" not in names(summary.report)
    else:
        assert "typed_mod" in names(summary.report)


def test_the_programs_modules_are_still_checked(tmp_path: Path) -> None:
    # The type checker still instruments the program's own modules with the hook on.
    if importlib.util.find_spec("beartype") is None:
        pytest.skip("beartype is not installed")
    write_tree(tmp_path, {"typed_mod.py": "def double(x: int) -> int:\n    return 2 * x\n"})
    code = (
        HOOKS["beartype_all"]
        + "import typed_mod\ntry:\n    typed_mod.double('x')\nexcept Exception as e:\n    print(type(e).__name__)\n"
    )
    plain, hooked = plain_and_hooked(code, tmp_path)
    assert plain.stdout.startswith("Beartype")
    assert (hooked.returncode, hooked.stdout, hooked.stderr) == (plain.returncode, plain.stdout, plain.stderr)
