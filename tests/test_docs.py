"""The documentation (README.md and docs/) says what the code does.

test_readme.py runs the README's demo; these keep the rest true: every
``importguard`` command line shown anywhere is accepted by the real parser,
the configuration table lists exactly the settings the code knows, the error
lines shown are the ones importguard prints, and the README's quick test
selection names tests that exist. The site itself is built strictly
(``mkdocs build --strict``) by .ci/run.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT, clean_env, hooked_env
from importguard import _config
from importguard._cli.cmdline import build_parser

PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]


def code_blocks(page: Path) -> list[str]:
    """The fenced code blocks of a Markdown page, each as its text."""
    return re.findall(r"^```[^\n]*\n(.*?)^```", page.read_text(), flags=re.M | re.S)


def importguard_command_lines() -> list[tuple[str, str]]:
    """(page name, command line) for every ``importguard ...`` command shown in a code block.

    A line is a command when, after its environment assignments (and in a
    transcript, its ``$ `` prompt), its first word is ``importguard``; ``\\`` continuations are joined,
    comments dropped, and each part of ``&&``, ``;`` or ``|`` is its own command.
    """
    found = []
    for page in PAGES:
        for block in code_blocks(page):
            lines = block.replace("\\\n", " ").splitlines()
            # In a transcript only the prompted lines are commands; the rest is their output.
            if any(x.startswith("$ ") for x in lines):
                lines = [x[2:] for x in lines if x.startswith("$ ")]
            for line in lines:
                for part in re.split(r"&&|;|\|", line):
                    try:
                        words = shlex.split(part, comments=True)
                    except ValueError:
                        continue  # output, not a command
                    while words and re.fullmatch(r"[A-Z_]+=.*", words[0]):
                        words.pop(0)
                    # Output shown without a prompt ("importguard bench: 10 runs per target...").
                    if words[:1] == ["importguard"] and len(words) > 1 and not words[1].endswith(":"):
                        found.append((page.name, shlex.join(words)))
    return found


COMMANDS = importguard_command_lines()


def test_the_pages_show_commands_of_every_subcommand() -> None:
    # The extraction itself: a change of format that hid the commands would pass every case below.
    shown = {shlex.split(line)[1] for _, line in COMMANDS}
    assert shown >= {"check", "snapshot", "run", "bench", "compare", "advise", "report"}, shown


@pytest.mark.parametrize(("page", "line"), COMMANDS, ids=[f"{p}:{c[:60]}" for p, c in COMMANDS])
def test_every_command_line_shown_is_accepted_by_the_parser(page: str, line: str) -> None:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            build_parser().parse_args(shlex.split(line)[1:])
        except SystemExit as exc:
            pytest.fail(f"{page}: {line!r} is rejected (exit {exc.code}): {err.getvalue()}")


def table_rows(page: Path, first_header: str) -> list[list[str]]:
    """The rows of the Markdown table whose header starts with *first_header*, as cells."""
    lines = page.read_text().splitlines()
    start = next(i for i, x in enumerate(lines) if x.startswith(f"| {first_header} |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
    return rows


def test_the_configuration_table_lists_every_setting_and_only_those() -> None:
    rows = table_rows(ROOT / "docs" / "configuration.md", "variable")
    variables = {row[0].strip("`") for row in rows if row[0] != "—"}
    keys = {row[1].strip("`") for row in rows if row[1] != "—"}
    known = {**_config.SETTINGS, **_config.COMMAND_SETTINGS}
    assert variables == {env for env, _, _ in known.values() if env}
    # A setting without a variable is a table of its own, written as its header.
    assert keys == {
        key if env else f"[tool.importguard.{key}]" for key, (env, _, _) in known.items() if key not in _config.ENV_ONLY
    }


def test_the_error_lines_shown_for_bad_settings_are_the_ones_printed(tmp_path: Path) -> None:
    page = (ROOT / "docs" / "configuration.md").read_text()
    (block,) = [b for b in code_blocks(ROOT / "docs" / "configuration.md") if "is not valid" in b]
    shown = block.strip().splitlines()
    assert len(shown) == 2 and "/srv/app/pyproject.toml" in shown[1], page
    (tmp_path / "pyproject.toml").write_text('[tool.importguard]\ncolour = "red"\n')
    proc = subprocess.run(
        [sys.executable, "-c", "pass"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=hooked_env(IMPORTGUARD_SUMMARY="sometimes"),
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.replace(str(tmp_path), "/srv/app").splitlines() == shown


def quick_selection() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    (line,) = [x for x in readme.splitlines() if x.startswith(".venv/bin/python -m pytest tests/")]
    return shlex.split(line)[3:]


def test_the_readme_quick_selection_names_test_files_that_collect() -> None:
    paths = quick_selection()
    assert paths and all((ROOT / p).is_file() for p in paths), paths
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", *paths],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    counts = dict(re.findall(r"^(\S+): (\d+)$", proc.stdout, flags=re.M))
    assert sorted(counts) == sorted(paths) and all(int(n) > 0 for n in counts.values()), proc.stdout
