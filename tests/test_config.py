"""Configuration: environment and [tool.importguard], one clear message per problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import importguard
from importguard import _config
from conftest import clean_env, run_python, write_tree


def load(tmp_path: Path, env: dict[str, str] | None = None) -> tuple[dict, list[str]]:
    settings, problems = _config.load(environ=env or {}, cwd=str(tmp_path))
    return settings, [p.message for p in problems]


def test_defaults(tmp_path: Path) -> None:
    settings, problems = load(tmp_path)
    assert problems == []
    assert settings == {**_config.defaults(), "project_root": None}
    assert importguard.Config.from_settings(settings) == importguard.Config()


def test_pyproject_table_is_validated_and_env_wins(tmp_path: Path) -> None:
    write_tree(tmp_path, {"pyproject.toml": """
        [project]
        name = "demo"
        [tool.importguard]
        report = "out/imports.json"
        include = ["demo", "demo.*"]
        summary = true
        colour = "always"
    """})
    (tmp_path / "sub").mkdir()
    settings, problems = load(tmp_path / "sub", {"IMPORTGUARD_SUMMARY": "0"})
    assert settings["report"] == str(tmp_path / "out" / "imports.json")  # relative to the file
    assert settings["include"] == ("demo", "demo.*")
    assert settings["summary"] is False
    assert settings["config"] == str(tmp_path / "pyproject.toml")
    assert len(problems) == 1
    assert "unknown key 'colour'" in problems[0] and "Known keys: report, include" in problems[0]


def test_wrong_types_in_the_table(tmp_path: Path) -> None:
    write_tree(tmp_path, {"pyproject.toml": "[tool.importguard]\ninclude = 3\ninherit = 'sometimes'\n"})
    settings, problems = load(tmp_path)
    assert settings["include"] == () and settings["inherit"] is True
    assert len(problems) == 2
    assert problems[0].startswith("[tool.importguard] include=3 is not valid (a int)")
    assert "[tool.importguard] inherit='sometimes'" in problems[1]


def test_broken_pyproject_is_one_message(tmp_path: Path) -> None:
    write_tree(tmp_path, {"pyproject.toml": "[tool.importguard\nreport = 'x'\n"})
    settings, problems = load(tmp_path)
    assert settings["report"] is None
    assert len(problems) == 1 and "is not valid TOML" in problems[0] and "Fix the file" in problems[0]


def test_pyproject_without_importguard_is_not_parsed(tmp_path: Path) -> None:
    write_tree(tmp_path, {"pyproject.toml": "this is not toml at all ["})
    settings, problems = load(tmp_path)
    assert problems == [] and settings["config"] is None


def test_explicit_config_path(tmp_path: Path) -> None:
    write_tree(tmp_path, {"cfg/custom.toml": "[tool.importguard]\nexclude = ['tests.*']\n"})
    settings, problems = load(tmp_path, {"IMPORTGUARD_CONFIG": "cfg/custom.toml"})
    assert problems == [] and settings["exclude"] == ("tests.*",)
    settings, problems = load(tmp_path, {"IMPORTGUARD_CONFIG": "cfg/missing.toml"})
    assert len(problems) == 1 and "cannot read" in problems[0] and "IMPORTGUARD_CONFIG" in problems[0]


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"IMPORTGUARD": "perhaps"}, "IMPORTGUARD='perhaps' is not valid"),
        ({"IMPORTGUARD_INHERIT": "2"}, "IMPORTGUARD_INHERIT='2' is not valid"),
        ({"IMPORTGUARD_EXCLUDE": "a/b"}, "'a/b' has '/'"),
        ({"IMPORTGUARD_HOOKS": "mod:"}, "'mod:' is not module or module:callable"),
        ({"IMPORTGUARD_REPORT": "a\x00b"}, "NUL"),
    ],
)
def test_bad_environment_values(tmp_path: Path, env: dict[str, str], fragment: str) -> None:
    _, problems = load(tmp_path, env)
    assert len(problems) == 1 and fragment in problems[0]


@given(st.dictionaries(st.sampled_from([e for e, _, _ in _config.SETTINGS.values() if e]), st.text(max_size=300)))
def test_any_environment_gives_valid_settings(env: dict[str, str]) -> None:
    settings, problems = _config.load(environ=env, cwd="/")
    config = importguard.Config.from_settings(settings)
    assert isinstance(config.enabled, bool) and isinstance(config.inherit, bool)
    assert config.summary in (True, False, "auto")
    assert all(isinstance(p.message, str) and p.message for p in problems)
    # List settings keep their valid entries and report the others; every
    # other kind falls back to its default as a whole.
    for key, (name, kind, default) in _config.SETTINGS.items():
        if any(p.setting == key for p in problems) and name in env and kind not in ("globs", "hooks", "names"):
            assert settings[key] == default


def test_table_drives_a_real_process(tmp_path: Path) -> None:
    write_tree(tmp_path, {
        "pyproject.toml": "[tool.importguard]\nreport = 'ig.json'\nexclude = ['json.*']\n",
        "sub/.keep": "",
    })
    proc = run_python("import os; os.chdir('sub'); import json", cwd=tmp_path,
                      env=clean_env(IMPORTGUARD="1", IMPORTGUARD_SUMMARY="0"), check=True)
    assert proc.stderr == ""
    names = [r["name"] for r in json.loads((tmp_path / "ig.json").read_text())["imports"]]
    assert "json" in names and not any(n.startswith("json.") for n in names)
