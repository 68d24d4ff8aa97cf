"""Bad input: garbage, empty, huge and hostile values in every setting, broken config files.

The rule: the program runs, its output and exit status are what they are
without importguard, and importguard says what is wrong in one clear message
per setting: one line (whatever the value holds), of a readable length.

Linux refuses an environment string over 128 KiB (MAX_ARG_STRLEN): that is the
largest an environment value can be. Larger values (1 MB strings, lists of
100,000 entries) arrive through ``pyproject.toml``, and in-process through
``_config.load`` (hypothesis).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import clean_env, hooked_env, run_python, write_tree
from importguard import _config
from rel_helpers import importguard_lines, plain_and_hooked, run

ENV_LIMIT = 131072 - 64  # MAX_ARG_STRLEN, less the name and '='
HOSTILE = "é\u2028😀\udcff<script>\"'\n"  # a line separator, an undecodable byte, markup, a newline
VARIABLES = sorted(env for env, _kind, _default in _config.SETTINGS.values() if env and env != "IMPORTGUARD")
APP = "import json, csv, email.message\nprint('app out')\nraise SystemExit(3)\n"


def _fit(items: list[str]) -> str:
    out, size = [], 0
    for item in items:
        if size + len(item) + 1 > ENV_LIMIT:
            break
        out.append(item)
        size += len(item) + 1
    return ",".join(out)


VALUES = {
    "empty": "",
    "garbage": "%$#garbage value!",
    "huge": "x" * ENV_LIMIT,
    "huge-hostile": HOSTILE * (ENV_LIMIT // 40),
    "names-list": _fit([f"mod{i}" for i in range(100_000)]),  # ~16,000 entries
    "globs-list": _fit([f"m*{i}" for i in range(100_000)]),
}


def _check_messages(plain, hooked, *, most: int = 1) -> list[str]:  # type: ignore[no-untyped-def]
    """Same output and status; importguard's lines are few, one line each, readable."""
    assert (hooked.returncode, hooked.stdout) == (plain.returncode, plain.stdout) == (3, "app out\n"), hooked.stderr[
        -3000:
    ]
    lines = importguard_lines(hooked.stderr)
    # Every line of stderr is the program's own or one of importguard's messages: a
    # value's newline or U+2028 never splits a message (splitlines breaks at both).
    others = [line for line in hooked.stderr.splitlines() if not line.startswith("importguard:")]
    assert others == plain.stderr.splitlines(), hooked.stderr[-3000:]
    assert len(lines) <= most, lines[:3]
    assert all(len(line) <= 2000 for line in lines), [len(line) for line in lines]
    return lines


@pytest.fixture(scope="module")
def plain_app(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    where = tmp_path_factory.mktemp("plain")
    return run(APP, where, hooked=False)


_LIST_VARIABLES = {env for env, kind, _default in _config.SETTINGS.values() if kind in ("globs", "hooks", "names")}


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        (variable, value)
        for variable in VARIABLES
        for value in VALUES
        if not value.endswith("-list") or variable in _LIST_VARIABLES  # lists for the list settings
    ],
)
def test_every_variable_with_hostile_and_huge_values(tmp_path: Path, variable: str, value: str, plain_app) -> None:  # type: ignore[no-untyped-def]
    report = tmp_path / "out" / "report.json"
    report.parent.mkdir()
    extra = {variable: VALUES[value]}
    if variable == "IMPORTGUARD_REPORT":
        report = tmp_path / "unused.json"
    hooked = run(APP, tmp_path, hooked=True, report=report, **extra)  # type: ignore[arg-type]  # variables only
    # IMPORTGUARD_HOOKS naming thousands of missing modules: one line each, up to a cap, then one more.
    most = 21 if (variable, value) == ("IMPORTGUARD_HOOKS", "names-list") else 1
    lines = _check_messages(plain_app, hooked, most=most)
    # Empty is "off" for a yes/no setting, "none" for a path or a list, and one message
    # (the default is used) for a mode, a number or a URL. Each message names the setting
    # (the snapshot's names the file it could not use, see the report of this change).
    named = "snapshot" if variable == "IMPORTGUARD_SNAPSHOT" else variable
    assert all(variable in line or named in line or "more errors" in line for line in lines), lines
    if variable == "IMPORTGUARD_INCLUDE" and value in ("huge", "names-list", "globs-list"):
        # A value that names no imported module selects nothing, and says so at exit.
        assert hooked.report is not None and hooked.report["imports"] == []
        assert "matched no imported module" in lines[0]
    elif variable not in ("IMPORTGUARD_REPORT", "IMPORTGUARD_INHERIT") and value != "empty":
        # Whatever was wrong with this setting, the rest of the session worked.
        assert hooked.report is not None and "json" in [r["name"] for r in hooked.report["imports"]]


def test_the_switch_itself_with_hostile_and_huge_values(tmp_path: Path) -> None:
    for value in ("%$#garbage", "x" * ENV_LIMIT, HOSTILE * (ENV_LIMIT // 40)):
        proc = run_python(APP, cwd=tmp_path, env=clean_env(IMPORTGUARD=value))
        assert (proc.returncode, proc.stdout) == (3, "app out\n")
        lines = importguard_lines(proc.stderr)
        assert len(lines) == 1 and "importguard stays off" in lines[0] and len(lines[0]) < 2000
        assert [line for line in proc.stderr.splitlines() if not line.startswith("importguard:")] == run_python(
            APP, cwd=tmp_path, env=clean_env()
        ).stderr.splitlines()


def _toml_cases() -> dict[str, str]:
    big, hostile = "x" * 1_000_000, (HOSTILE.replace("\udcff", "") * 100_000)
    cases = {}
    for key, (_env, kind, _default) in _config.SETTINGS.items():
        if key in _config.ENV_ONLY or kind in ("contracts", "accept", "modes"):
            continue
        cases[f"{key}=1MB"] = f"{key} = {json.dumps(big)}"
        cases[f"{key}=1MB-hostile"] = f"{key} = {json.dumps(hostile, ensure_ascii=False)}"
        if kind in ("globs", "hooks", "names"):
            cases[f"{key}=100k-names"] = f"{key} = {json.dumps([f'mod{i}' for i in range(100_000)])}"
            cases[f"{key}=100k-globs"] = f"{key} = {json.dumps([f'm*{i}' for i in range(100_000)])}"
            cases[f"{key}=wrong-type"] = f"{key} = {{a = 1}}"
        else:
            cases[f"{key}=wrong-type"] = f"{key} = [1, 2, 3]"
    for table in ("exports", "accept", "modes"):
        cases[f"{table}=100k-entries"] = f"[tool.importguard.{table}]\n" + "\n".join(
            f'"m{i}" = {json.dumps(["X"] if table == "exports" else "r" if table == "accept" else "zzz")}'
            for i in range(100_000)
        )
        cases[f"{table}=wrong-type"] = f"{table} = 42"
    return cases


TOML_CASES = _toml_cases()


@pytest.mark.parametrize("case", list(TOML_CASES))
def test_pyproject_with_huge_hostile_and_wrong_values(tmp_path: Path, case: str, plain_app) -> None:  # type: ignore[no-untyped-def]
    body = TOML_CASES[case]
    table = body if body.startswith("[") else f"[tool.importguard]\n{body}\n"
    (tmp_path / "pyproject.toml").write_text(table, encoding="utf-8")
    hooked = run(APP, tmp_path, hooked=True)
    most = 21 if case == "hooks=100k-names" else 1
    _check_messages(plain_app, hooked, most=most)


@pytest.mark.parametrize("kind", ["not TOML", "not UTF-8", "a directory", "not a table", "unknown key", "unreadable"])
def test_broken_pyproject_one_message_and_the_program_runs(tmp_path: Path, kind: str, plain_app) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "pyproject.toml"
    if kind == "not TOML":
        path.write_text("[tool.importguard\nreport = 'x.json'\n")
    elif kind == "not UTF-8":
        path.write_bytes(b"[tool.importguard]\nreport = '\xff\xfe.json'\n")
    elif kind == "a directory":
        path.mkdir()
    elif kind == "not a table":
        path.write_text("tool = {importguard = 3}\n")
    elif kind == "unknown key":
        path.write_text("[tool.importguard]\ncolour = 'always'\n")
    else:
        if os.geteuid() == 0:
            pytest.skip("root reads any file")
        path.write_text("[tool.importguard]\nsummary = true\n")
        path.chmod(0)
    hooked = run(APP, tmp_path, hooked=True)
    lines = _check_messages(plain_app, hooked)
    expected = {"a directory": 0}.get(kind, 1)  # a directory named pyproject.toml is not a config file
    assert len(lines) == expected, hooked.stderr
    assert hooked.report is not None


@pytest.mark.parametrize(
    "spec",
    [
        "no_such_hooks_module",
        "no_such_hooks_module:setup",
        "json:no_such_callable",
        "hooks_that_raise",
        "hooks_that_raise:setup",
    ],
)
def test_hook_spec_that_cannot_be_loaded_is_reported_not_raised(tmp_path: Path, spec: str, plain_app) -> None:  # type: ignore[no-untyped-def]
    write_tree(tmp_path, {"hooks_that_raise.py": "raise RuntimeError('hook module broken')\n"})
    hooked = run(APP, tmp_path, hooked=True, IMPORTGUARD_HOOKS=spec, PYTHONPATH=str(tmp_path))
    (line,) = _check_messages(plain_app, hooked)
    assert f"IMPORTGUARD_HOOKS entry {spec!r}" in line
    assert hooked.report is not None and hooked.report["internal_errors"]


def test_hooks_import_only_what_they_name(tmp_path: Path) -> None:
    # IMPORTGUARD_HOOKS=pkg.sub imports pkg and pkg.sub (as `import pkg.sub` does), nothing
    # else of the package, and not the attribute path's modules either.
    write_tree(
        tmp_path,
        {
            "hookpkg/__init__.py": "",
            "hookpkg/sub.py": "def setup():\n    print('setup ran')\n",
            "hookpkg/other.py": "raise AssertionError('must not be imported')\n",
        },
    )
    code = "import sys\nprint(sorted(m for m in sys.modules if m.startswith('hookpkg')))\n"
    proc = run(code, tmp_path, hooked=True, IMPORTGUARD_HOOKS="hookpkg.sub:setup", PYTHONPATH=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "setup ran\n['hookpkg', 'hookpkg.sub']\n"
    assert importguard_lines(proc.stderr) == []


# --- include/exclude patterns that match nothing ----------------------------------------------

GLOB_APP = "import json, csv\nprint('app out')\n"


def test_include_pattern_matching_nothing_one_line_at_exit(tmp_path: Path) -> None:
    plain, hooked = plain_and_hooked(GLOB_APP, tmp_path, IMPORTGUARD_INCLUDE="json,myap*,jso?.*")
    assert (hooked.returncode, hooked.stdout) == (plain.returncode, plain.stdout)
    (line,) = importguard_lines(hooked.stderr)
    assert line.startswith("importguard: IMPORTGUARD_INCLUDE: the pattern 'myap*' matched no imported module")
    assert "'json'" not in line and "'jso?.*'" not in line  # those matched (json, json.decoder...)
    assert "check the spelling" in line and "'myapp.*'" in line


def test_exclude_patterns_matching_nothing_in_pyproject(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.importguard]\nexclude = ['jsno', 'csv.*', 'json.*']\n")
    plain, hooked = plain_and_hooked(GLOB_APP, tmp_path)
    assert (hooked.returncode, hooked.stdout) == (plain.returncode, plain.stdout)
    (line,) = importguard_lines(hooked.stderr)
    assert line.startswith(
        f"importguard: [tool.importguard] exclude in {tmp_path / 'pyproject.toml'}: "
        "the patterns 'jsno', 'csv.*' matched no imported module"
    )


def test_thousands_of_unmatched_patterns_one_line(tmp_path: Path) -> None:
    patterns = ",".join(f"nomod{i}" for i in range(10_000)) + ",json"
    plain, hooked = plain_and_hooked(GLOB_APP, tmp_path, IMPORTGUARD_INCLUDE=patterns)
    (line,) = importguard_lines(hooked.stderr)
    assert "'nomod0', 'nomod1', 'nomod2', 'nomod3', 'nomod4' and 9,995 more matched no imported module" in line
    assert len(line) < 1000


def test_no_message_where_the_globs_were_not_used_or_all_matched(tmp_path: Path) -> None:
    # No report, no summary, no spans: the setting selected nothing, so nothing to say.
    proc = run_python(GLOB_APP, cwd=tmp_path, env=hooked_env(IMPORTGUARD_INCLUDE="myap*"))
    assert proc.returncode == 0 and proc.stderr == ""
    # Everything matched.
    _, hooked = plain_and_hooked(GLOB_APP, tmp_path, IMPORTGUARD_INCLUDE="json,json.*,cs?", IMPORTGUARD_EXCLUDE="csv")
    assert importguard_lines(hooked.stderr) == []


def test_child_processes_do_not_repeat_the_message(tmp_path: Path) -> None:
    # A child inherits the settings and writes its own report; only the process that
    # started the session speaks (tools compare a child's stderr byte for byte).
    code = """
        import subprocess, sys
        child = subprocess.run([sys.executable, "-c", "import csv"], capture_output=True, text=True)
        print(repr(child.stderr))
        import json
    """
    plain, hooked = plain_and_hooked(code, tmp_path, IMPORTGUARD_INCLUDE="myap*")
    assert plain.stdout == hooked.stdout == "''\n"
    assert len(importguard_lines(hooked.stderr)) == 1


# --- the parser itself, in-process: any environment, any table, huge values --------------------

huge_text = st.tuples(st.text(max_size=12), st.integers(1, 200_000)).map(lambda t: t[0] * t[1])
env_names = st.sampled_from([env for env, _k, _d in _config.SETTINGS.values() if env])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        env_names, st.one_of(st.text(), huge_text, st.lists(st.text(max_size=8), max_size=3000).map(",".join))
    )
)
def test_any_environment_gives_settings_and_one_line_messages(env: dict[str, str]) -> None:
    settings_, problems = _config.load(environ=env, cwd="/")
    for problem in problems:
        text = str(problem)
        assert text.startswith("importguard: ") and len(text.splitlines()) == 1 and len(text) < 2000
    # One message per setting at most, however many bad entries a list has.
    assert len({p.setting for p in problems}) == len(problems)
    for key, (env_name, kind, default) in _config.SETTINGS.items():
        if env_name in env and kind not in ("globs", "hooks", "names") and any(p.setting == key for p in problems):
            assert settings_[key] == default


toml_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text() | huge_text,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=20,
).filter(lambda v: v is not None)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.sampled_from([k for k in _config.SETTINGS if k not in _config.ENV_ONLY] + ["colour", "x" * 500]),
        toml_values,
        max_size=6,
    )
)
def test_any_table_gives_settings_and_one_line_messages(table: dict[str, object]) -> None:
    problems: list[_config.ConfigProblem] = []
    out = _config.from_table(table, "/p/pyproject.toml", problems)
    assert set(out) <= set(_config.SETTINGS)
    for problem in problems:
        text = str(problem)
        assert len(text.splitlines()) == 1 and len(text) < 2000, text[:300]


@pytest.mark.parametrize("variable", ["IMPORTGUARD_CONFIG", "IMPORTGUARD_SNAPSHOT"])
@pytest.mark.parametrize("target", ["a FIFO", "/dev/zero", "/dev/stdin", "a directory"])
def test_config_or_snapshot_that_is_not_a_regular_file(tmp_path: Path, variable: str, target: str) -> None:
    # Both are read at startup. A FIFO blocked the program's start for ever,
    # /dev/zero was read for ever, and /dev/stdin ate the program's own input.
    import subprocess

    from conftest import hooked_env, with_override

    if target == "a FIFO":
        path = str(tmp_path / "fifo")
        os.mkfifo(path)
    elif target == "a directory":
        path = str(tmp_path / "adir")
        os.mkdir(path)
    else:
        path = target
    code = "import sys, json\nprint('read:', sys.stdin.read().strip())\nraise SystemExit(3)\n"
    procs = []
    for env in (with_override(clean_env()), hooked_env(tmp_path / "r.json", **{variable: path})):
        procs.append(
            subprocess.run(
                [sys.executable, "-c", code],
                cwd=tmp_path,
                env=env,
                input="the program's input\n",
                capture_output=True,
                text=True,
                timeout=60,
            )
        )
    plain, hooked = procs
    assert (plain.returncode, plain.stdout) == (3, "read: the program's input\n")
    assert (hooked.returncode, hooked.stdout) == (plain.returncode, plain.stdout)
    (line,) = importguard_lines(hooked.stderr)
    assert "not a regular file" in line or "Is a directory" in line, line
    assert json.loads((tmp_path / "r.json").read_text())["schema"] == "importguard.report/1"
