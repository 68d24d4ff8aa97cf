"""The Python API: install(), uninstall(), records(), capture(), write_report()."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

import importguard
from conftest import clean_env, run_python, write_tree


def test_capture_yields_the_blocks_imports(tmp_path: Path, fresh_modules: None) -> None:
    write_tree(
        tmp_path,
        {
            "cap/__init__.py": "from . import inner\n",
            "cap/inner.py": "",
            "cap_bad.py": "raise OSError('disk on fire')\n",
        },
    )
    sys.path.insert(0, str(tmp_path))
    was_installed = importguard.is_installed()
    with importguard.capture() as imported:
        import cap  # noqa: F401

        try:
            import cap_bad  # noqa: F401
        except OSError:
            pass
        try:
            import cap_missing_dep  # noqa: F401
        except ImportError:
            pass
    assert importguard.is_installed() == was_installed
    by = {r.name: r for r in imported}
    assert list(by) == ["cap", "cap.inner", "cap_bad", "cap_missing_dep"]
    assert by["cap.inner"].parent == "cap" and by["cap.inner"].parent_id == by["cap"].id
    assert by["cap_bad"].failed and by["cap_bad"].swallowed is True and not by["cap_bad"].routine_probe
    assert by["cap_bad"].error is not None and by["cap_bad"].error.type == "OSError"
    assert by["cap_missing_dep"].routine_probe
    assert by["cap_bad"].importer == (__file__, by["cap_bad"].importer[1])  # type: ignore[index]


def test_capture_settles_an_escaping_failure(tmp_path: Path, fresh_modules: None) -> None:
    write_tree(tmp_path, {"cap_boom.py": "raise RuntimeError('boom')\n"})
    sys.path.insert(0, str(tmp_path))
    with pytest.raises(RuntimeError), importguard.capture() as imported:
        import cap_boom  # noqa: F401
    assert [(r.name, r.swallowed) for r in imported] == [("cap_boom", False)]


def test_install_in_code_writes_the_report(tmp_path: Path) -> None:
    code = """
        import importguard
        cfg = importguard.install(report="api.json", summary=False)
        import json, csv
        assert importguard.is_installed() and cfg.report.endswith("api.json")
        names = [r.name for r in importguard.records()]
        assert "csv" in names, names
        importguard.uninstall()
        import decimal
        importguard.write_report("now.json")
    """
    run_python(code, cwd=tmp_path, env=clean_env(), check=True)
    at_exit = json.loads((tmp_path / "api.json").read_text())
    now = json.loads((tmp_path / "now.json").read_text())
    for report in (at_exit, now):
        names = [r["name"] for r in report["imports"]]
        assert "csv" in names and "decimal" not in names


def test_install_rejects_unknown_settings() -> None:
    with pytest.raises(TypeError, match="colour"):
        importguard.install(colour=True)
    with pytest.raises(ValueError, match="install\\(summary=...\\)"):
        importguard.install(summary="loud")


def test_public_api_is_documented_and_lazy(tmp_path: Path) -> None:
    for name in importguard.__all__:
        obj = getattr(importguard, name)
        assert obj.__doc__, name
    proc = run_python(
        "import importguard, sys; print(sorted(m for m in sys.modules if m.startswith('importguard')))",
        cwd=tmp_path,
        env=clean_env(),
        check=True,
    )
    assert proc.stdout.strip() == "['importguard']"
