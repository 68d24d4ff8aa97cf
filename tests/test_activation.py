"""Switching the hook on and off from the environment, and what that costs in modules."""

from __future__ import annotations

import json
import sysconfig
from pathlib import Path

import pytest

from conftest import FINDER, clean_env, hooked_env, run_python

SNAPSHOT = "import sys, json; print(json.dumps(sorted(sys.modules)))"
HEAVY = (
    "opentelemetry",
    "attr",
    "attrs",
    "wrapt",
    "asyncio",
    "logging",
    "inspect",
    "traceback",
    "fnmatch",
    "typing",
    "re",
    "tomllib",
    "tomli",
    "json",
    "warnings",
    "atexit",
    "threading",
    "tempfile",
)


def _modules_at_startup(tmp_path: Path, **env: str) -> set[str]:
    # `-c` code runs after site: what is loaded then was loaded by startup.
    proc = run_python(
        "import sys; print('\\n'.join(sorted(sys.modules)))", cwd=tmp_path, env=clean_env(**env), check=True
    )
    return set(proc.stdout.split())


#: What IMPORTGUARD=1 adds to ``python -c pass`` with default settings (#14;
#: docs/performance.md): every module here costs ~0.5 M instructions at every
#: start. _callbacks and _globs load when first needed; _exports only with
#: export checks on (loaded later, it would show inside the program's imports).
STARTUP_MODULES = {
    "importguard",  # the .pth calls importguard._boot()
    "importguard._config",
    "importguard._session",
    "importguard._hook",
    "importguard._records",
    "importguard._exports",
    "importguard._gc",
}


def test_footprint_is_importguards_own_modules_only(tmp_path: Path) -> None:
    plain = _modules_at_startup(tmp_path)
    hooked = _modules_at_startup(tmp_path, IMPORTGUARD="1", IMPORTGUARD_SUMMARY="0")
    added = hooked - plain
    assert added, "IMPORTGUARD=1 loaded nothing: is importguard.pth installed?"
    assert all(name == "importguard" or name.startswith("importguard.") for name in added), sorted(added)
    expected = STARTUP_MODULES | ({"importguard._finder"} if FINDER else set())  # the engine itself
    assert added == expected, sorted(added ^ expected)
    off = _modules_at_startup(tmp_path, IMPORTGUARD="1", IMPORTGUARD_SUMMARY="0", IMPORTGUARD_EXPORTS="off")
    assert off - plain == expected - {"importguard._exports"}, sorted((off - plain) ^ expected)
    assert not (hooked - plain) & set(HEAVY)
    assert plain - hooked == set()


#: A project that configures everything there is to configure in pyproject.toml.
EVERY_TABLE = """
[project]
name = "app"

[tool.importguard]
summary = "0"
include = ["app", "app.*", "json"]
exports_mode = "warn"
max_records = 5000

[tool.importguard.exports]
"app.models" = ["Model"]

[tool.importguard.accept]
"app.legacy" = {names = ["Old"], reason = "JIRA-1"}

[tool.importguard.modes]
"app.*" = "error"

[tool.importguard.budgets]
"app" = "150ms"
"""


@pytest.mark.parametrize("table", ["[tool.importguard]\nsummary = '0'\n", EVERY_TABLE], ids=["one key", "every table"])
def test_configuration_preimports_nothing(tmp_path: Path, table: str) -> None:
    # tomllib would load re, enum, typing, datetime... (33 -> 77 modules): they would
    # vanish from the program's import tree. With a table the modules at startup are
    # exactly those without one, whether the parsed table came from the cache or not.
    plain_dir, project = tmp_path / "plain", tmp_path / "project"
    plain_dir.mkdir()
    project.mkdir()
    (project / "pyproject.toml").write_text(table)
    cache = tmp_path / "cache"
    env = {"IMPORTGUARD": "1", "IMPORTGUARD_SUMMARY": "0", "XDG_CACHE_HOME": str(cache)}
    without = _modules_at_startup(plain_dir, **env)
    first = _modules_at_startup(project, **env)  # cache miss: parsed in a forked child
    assert list(cache.glob("importguard/config-*")), "the parsed table was not cached"
    second = _modules_at_startup(project, **env)  # cache hit
    # Globs in the settings load importguard's own module for them (not at
    # every startup, #14); nothing else may differ.
    own = {"importguard._globs"} if table == EVERY_TABLE else set()
    assert first == without | own, sorted(first ^ without)
    assert second == without | own, sorted(second ^ without)
    (tmp_path / "file").write_text("a file where the cache directory would be")
    unwritable = _modules_at_startup(project, **{**env, "XDG_CACHE_HOME": str(tmp_path / "file" / "x")})
    assert unwritable == without | own


def test_disabled_loads_nothing(tmp_path: Path) -> None:
    unset = _modules_at_startup(tmp_path)
    for value in ("0", "false", "", "off"):
        assert _modules_at_startup(tmp_path, IMPORTGUARD=value) == unset


def test_garbage_value_is_off_with_one_warning(tmp_path: Path) -> None:
    proc = run_python(
        "import sys; print('importguard._hook' in sys.modules)",
        cwd=tmp_path,
        env=clean_env(IMPORTGUARD="maybe"),
        check=True,
    )
    assert proc.stdout.strip() == "False"
    lines = proc.stderr.splitlines()
    assert len(lines) == 1
    assert "IMPORTGUARD='maybe'" in lines[0] and "importguard stays off" in lines[0] and "1, true" in lines[0]


def test_bad_settings_warn_and_the_program_runs(tmp_path: Path) -> None:
    env = hooked_env(tmp_path / "r.json", IMPORTGUARD_SUMMARY="sometimes", IMPORTGUARD_INCLUDE="ok.*,bad[glob")
    proc = run_python("print('ran')", cwd=tmp_path, env=env, check=True)
    assert proc.stdout == "ran\n"
    lines = proc.stderr.splitlines()
    # Two at startup; at exit, the one good pattern, 'ok.*', matched no module.
    assert len(lines) == 3, lines
    assert lines[0].startswith("importguard: IMPORTGUARD_INCLUDE: 'bad[glob'") or lines[1].startswith(
        "importguard: IMPORTGUARD_INCLUDE: 'bad[glob'"
    )
    assert lines[2].startswith("importguard: IMPORTGUARD_INCLUDE: the pattern 'ok.*' matched no imported module")
    assert any("IMPORTGUARD_SUMMARY='sometimes'" in line and "auto" in line for line in lines)
    assert json.loads((tmp_path / "r.json").read_text())["schema"] == "importguard.report/1"


def test_pth_runs_twice_boots_once(tmp_path: Path) -> None:
    purelib = sysconfig.get_paths()["purelib"]
    code = f"""
        import site, sys
        site.addsitedir({purelib!r})  # processes importguard.pth again
        import importguard._hook as h, importguard._records as r
        import json
        if r.engine == "finder":  # one finder, first in sys.meta_path
            mine = [f for f in sys.meta_path if type(f).__module__ == "importguard._finder"]
            print(len(mine) == 1, sys.meta_path[0] is mine[0])
        else:  # wrapped once, not twice
            print(h._bootstrap._find_and_load_unlocked is h._find_and_load_unlocked, h._real is not h._find_and_load_unlocked)
        print([rec[0] for rec in r.buffer].count('json'))
    """
    proc = run_python(code, cwd=tmp_path, env=hooked_env(), check=True)
    assert proc.stdout.split() == ["True", "True", "1"]
    assert proc.stderr == ""


def test_summary_on_stderr_when_forced(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("raise KeyError('nope')\n")
    code = "try:\n    import broken\nexcept KeyError:\n    pass\nimport json\n"
    proc = run_python(code, cwd=tmp_path, env=hooked_env(IMPORTGUARD_SUMMARY="1"), check=True)
    assert "importguard:" in proc.stderr and "json" in proc.stderr
    assert "broken: KeyError" in proc.stderr and "[swallowed]" in proc.stderr
    quiet = run_python(code, cwd=tmp_path, env=clean_env(IMPORTGUARD="1"), check=True)  # IMPORTGUARD_SUMMARY unset
    assert quiet.stderr == ""  # auto: stderr is a pipe here


@pytest.mark.parametrize("flag", ["-S", "-I", "-E"])
def test_interpreter_flags(tmp_path: Path, flag: str) -> None:
    # -S: no site, so no .pth: off. -I and -E ignore PYTHON* variables only;
    # IMPORTGUARD is read from os.environ by the .pth, so the hook is on.
    proc = run_python(
        "import sys; print('importguard._hook' in sys.modules)", cwd=tmp_path, args=[flag], env=hooked_env(), check=True
    )
    assert proc.stdout.strip() == ("False" if flag == "-S" else "True")


def test_parsing_the_table_prints_nothing_under_importtime(tmp_path: Path) -> None:
    # On a cache miss the table is parsed in a forked child: its imports (tomllib,
    # re, ...) must not appear in the program's -X importtime stream.
    (tmp_path / "pyproject.toml").write_text("[tool.importguard]\nsummary = '0'\n")
    env = clean_env(IMPORTGUARD="1", XDG_CACHE_HOME=str(tmp_path / "cache"))
    proc = run_python("pass", cwd=tmp_path, env=env, args=["-X", "importtime"], check=True)
    names = [line.split("|")[-1].strip() for line in proc.stderr.splitlines()[1:]]
    assert "tomllib" not in names and "re" not in names, names
    assert len(names) == len(set(names)), names
