"""Configuration: environment and [tool.importguard], one clear message per problem."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import importguard
from conftest import clean_env, hooked_env, run_python, write_tree
from importguard import _config


def load(tmp_path: Path, env: dict[str, str] | None = None) -> tuple[dict[str, Any], list[str]]:
    settings, problems = _config.load(environ=env or {}, cwd=str(tmp_path))
    return settings, [p.message for p in problems]


def test_defaults(tmp_path: Path) -> None:
    settings, problems = load(tmp_path)
    assert problems == []
    assert settings == {**_config.defaults(), "project_root": None}
    assert importguard.Config.from_settings(settings) == importguard.Config()


def test_pyproject_table_is_validated_and_env_wins(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "pyproject.toml": """
        [project]
        name = "demo"
        [tool.importguard]
        report = "out/imports.json"
        include = ["demo", "demo.*"]
        summary = true
        colour = "always"
    """
        },
    )
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
    write_tree(
        tmp_path,
        {
            "pyproject.toml": "[tool.importguard]\nreport = 'ig.json'\nexclude = ['json.*']\n",
            "sub/.keep": "",
        },
    )
    proc = run_python("import os; os.chdir('sub'); import json", cwd=tmp_path, env=hooked_env(), check=True)
    assert proc.stderr == ""
    names = [r["name"] for r in json.loads((tmp_path / "ig.json").read_text())["imports"]]
    assert "json" in names and not any(n.startswith("json.") for n in names)


# -- the startup path: no TOML parser in the process, a cache keyed by content ------------

BAD_TABLE = """
[tool.importguard]
colour = "always"
include = 3
report = "out.json"
when = 1979-05-27T07:32:00Z
[tool.importguard.modes]
"app.*" = "loud"
[tool.importguard.budgets]
"app" = "150"
"""


def _startup(tmp_path: Path, cache: Path, **extra: str) -> tuple[dict[str, Any], list[str]]:
    env = {"IMPORTGUARD": "1", "XDG_CACHE_HOME": str(cache), **extra}
    settings, problems = _config.load(environ=env, cwd=str(tmp_path))
    return settings, [str(p) for p in problems]


def _in_process(tmp_path: Path) -> tuple[dict[str, Any], list[str]]:
    """What parsing in this process gives: the reference every other road must match."""
    path = str(tmp_path / "pyproject.toml")
    problems: list[_config.ConfigProblem] = []
    table = _config.read_table(path, False, problems)
    settings = _config.from_table(table, path, problems) if table is not None else None
    return settings or {}, [str(p) for p in problems]


def _cached_files(cache: Path) -> list[Path]:
    return sorted((cache / "importguard").glob("config-*"))


def test_every_road_gives_the_same_settings_and_messages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "pyproject.toml").write_text(BAD_TABLE)
    want_settings, want = _in_process(tmp_path)
    assert len(want) == 5, want  # colour, include, when, modes, budgets
    cache = tmp_path / "cache"

    miss = _startup(tmp_path, cache)  # parsed in a forked child
    assert len(_cached_files(cache)) == 1
    hit = _startup(tmp_path, cache)
    for settings, problems in (miss, hit):
        assert problems == want
        assert {k: settings[k] for k in want_settings if k != "report"} == {
            k: v for k, v in want_settings.items() if k != "report"
        }
        assert settings["report"] == str(tmp_path / "out.json")  # relative to the file, as before

    # A corrupt or truncated cache file is a miss, then rewritten.
    for garbage in (b"", b"\x00garbage", _cached_files(cache)[0].read_bytes()[:-7]):
        _cached_files(cache)[0].write_bytes(garbage)
        assert _startup(tmp_path, cache)[1] == want
    assert _startup(tmp_path, cache)[1] == want

    # No fork (Windows), or a fork that fails: parsed here, same messages.
    # _config's os is this os: the module it calls os.fork() on.
    monkeypatch.delattr(os, "fork")
    assert _startup(tmp_path, tmp_path / "other-cache")[1] == want
    monkeypatch.setattr(os, "fork", lambda: (_ for _ in ()).throw(OSError(11, "EAGAIN")), raising=False)
    assert _startup(tmp_path, tmp_path / "third-cache")[1] == want


def test_cache_follows_the_content_not_the_timestamps(tmp_path: Path) -> None:
    # Same size, same mtime, different content: a cache keyed on (size, mtime) would
    # serve the old table. The key is the content itself.
    path = tmp_path / "pyproject.toml"
    path.write_text("[tool.importguard]\nreport = 'aaa.json'\n")
    cache = tmp_path / "cache"
    assert _startup(tmp_path, cache)[0]["report"] == str(tmp_path / "aaa.json")
    st = path.stat()
    path.write_text("[tool.importguard]\nreport = 'bbb.json'\n")
    import os

    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns
    assert _startup(tmp_path, cache)[0]["report"] == str(tmp_path / "bbb.json")
    assert len(_cached_files(cache)) == 1  # one file per pyproject.toml, rewritten


def test_cache_written_by_someone_else_is_not_trusted(tmp_path: Path) -> None:
    # The cached table decides what the program's start imports (hooks): a file that
    # others may write, or that is not a regular file, is ignored.
    (tmp_path / "pyproject.toml").write_text("[tool.importguard]\nhooks = 'good_hooks'\n")
    cache = tmp_path / "cache"
    assert _startup(tmp_path, cache)[0]["hooks"] == ("good_hooks",)
    cached = _cached_files(cache)[0]
    head, _, tail = cached.read_bytes().rpartition(b"good_hooks")  # the outcome, after the key
    cached.write_bytes(head + b"evil_hooks" + tail)
    assert _startup(tmp_path, cache)[0]["hooks"] == ("evil_hooks",)  # (what a forgery could do)
    cached.chmod(0o666)
    assert _startup(tmp_path, cache)[0]["hooks"] == ("good_hooks",)
    cached.unlink()
    cached.mkdir()
    assert _startup(tmp_path, cache)[0]["hooks"] == ("good_hooks",)


def test_unusable_cache_directory_still_configures(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(BAD_TABLE)
    _want_settings, want = _in_process(tmp_path)
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    for cache in (blocker / "sub", blocker):
        assert _startup(tmp_path, cache)[1] == want
    proc = run_python("print('ran')", cwd=tmp_path, env=hooked_env(XDG_CACHE_HOME=str(blocker)))
    assert proc.returncode == 0 and proc.stdout == "ran\n"
    assert proc.stderr.splitlines() == want


def test_a_program_that_ignores_sigchld_still_gets_its_table(tmp_path: Path) -> None:
    # With SIGCHLD ignored (inherited from a daemon), the forked child reaps itself
    # and waitpid fails: the table still arrives, through the pipe.
    (tmp_path / "pyproject.toml").write_text("[tool.importguard]\nreport = 'from-table.json'\ncolour = 1\n")
    code = """
        import signal, subprocess, sys
        signal.signal(signal.SIGCHLD, signal.SIG_IGN)
        env = dict(__import__('os').environ, IMPORTGUARD='1', IMPORTGUARD_SUMMARY='0')
        proc = subprocess.run([sys.executable, '-c', 'print(1)'], env=env, capture_output=True, text=True)
        print(proc.stdout.strip(), proc.stderr.strip().count('unknown key'))
    """
    proc = run_python(code, cwd=tmp_path, env=clean_env(XDG_CACHE_HOME=str(tmp_path / "cache")), check=True)
    assert proc.stdout.split() == ["1", "1"]
    assert (tmp_path / "from-table.json").is_file()
