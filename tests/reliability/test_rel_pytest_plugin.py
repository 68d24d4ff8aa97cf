"""``pytest -p importguard`` with ``IMPORTGUARD=1``: nothing added to a clean run.

Before: ``PytestAssertRewriteWarning: Module already imported so cannot be
rewritten; importguard`` (the package is imported at startup, before pytest),
which ``filterwarnings = error`` turns into a failed run, and an
``import failed: sitecustomize ... [unsettled]`` line for the interpreter's own
optional probe.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import clean_env, hooked_env, with_override, write_tree


def _pytest(cwd: Path, hooked: bool) -> subprocess.CompletedProcess[str]:
    env = hooked_env() if hooked else with_override(clean_env())
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "importguard", "-p", "no:cacheprovider", "-q"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _same(plain: subprocess.CompletedProcess[str], hooked: subprocess.CompletedProcess[str]) -> None:
    def strip(out: str) -> list[str]:
        return [line for line in out.splitlines() if " in " not in line]  # all but the timing line

    assert hooked.returncode == plain.returncode, hooked.stdout + hooked.stderr
    assert strip(hooked.stdout) == strip(plain.stdout)
    assert hooked.stderr == plain.stderr


def test_clean_suite_with_warnings_as_errors(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "pytest.ini": "[pytest]\nfilterwarnings = error\n",
            "tests/test_a.py": "import json\n\ndef test_a():\n    assert json.dumps(1) == '1'\n",
        },
    )
    plain, hooked = _pytest(tmp_path, False), _pytest(tmp_path, True)
    assert plain.returncode == 0, plain.stdout
    _same(plain, hooked)
    assert "PytestAssertRewriteWarning" not in hooked.stdout + hooked.stderr
    assert "sitecustomize" not in hooked.stdout


def test_a_broken_test_module_is_still_listed(tmp_path: Path) -> None:
    # What pytest caught at top level was swallowed by pytest; a real error is still a finding.
    write_tree(
        tmp_path,
        {
            "pyproject.toml": "[project]\nname = 'proj'\n",  # helper_mod is the project's
            "helper_mod.py": "raise KeyError('broken helper')\n",
            "tests/test_a.py": "def test_a():\n    try:\n        import helper_mod\n    except KeyError:\n        pass\n",
        },
    )
    hooked = _pytest(tmp_path, True)
    assert hooked.returncode == 0, hooked.stdout
    assert "import failed: helper_mod: KeyError: 'broken helper' [swallowed]" in hooked.stdout
    assert "sitecustomize" not in hooked.stdout
