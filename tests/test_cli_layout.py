"""The command line's place in the package (issue #16): its own sub-package, on top of everything else.

Dependencies point one way, startup -> hook -> records -> sinks -> CLI. The
import graph is read from the source by test_layering's scanner, counting
every kind of reach: import statements at any depth (inside functions too),
and modules named by string (``sys.modules["..."]``, ``sys.modules.get("...")``,
``importlib.import_module("...")``).
The child-side modules that run inside the checked or advised program stay
flat: they must not import the CLI's package (one more module in that program).
"""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from conftest import ROOT, clean_env, write_tree
from test_layering import cycles, dependencies

PACKAGE = ROOT / "importguard"
CLI = "importguard._cli"


def import_graph(root: Path = ROOT, package: str = "importguard") -> dict[str, set[str]]:
    """Every module of *package* -> the modules of it that it reaches (the scanner of test_layering)."""
    graph = {name: set(reached) for name, reached in dependencies(root / package).items()}
    graph.setdefault(package, set())  # its __init__: see test_layering.test_package_init_reaches_nothing
    return graph


def is_cli(name: str) -> bool:
    return name == CLI or name.startswith(CLI + ".")


def test_the_graph_sees_every_kind_of_reach(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "toy/__init__.py": "",
            "toy/a.py": "def later():\n    import toy.b.inner\n",
            "toy/b/__init__.py": "import sys\nsys.modules['toy.c'].x = 1\n",
            "toy/b/inner.py": "from .. import c\n",
            "toy/c.py": "import importlib\nimportlib.import_module('toy.a')\n",
            "toy/d.py": "import sys\nfrom toy import e\nfrom toy.e import name\nsys.modules.get('toy.b')\n",
            "toy/e.py": "name = 1\n",
        },
    )
    graph = import_graph(tmp_path, "toy")
    assert graph == {
        "toy": set(),
        "toy.a": {"toy.b.inner"},
        "toy.b": {"toy.c"},
        "toy.b.inner": {"toy.c"},
        "toy.c": {"toy.a"},
        "toy.d": {"toy.e", "toy.b"},
        "toy.e": set(),
    }
    assert sorted(map(sorted, cycles(graph))) == [["toy.a", "toy.b.inner", "toy.c"]]
    # and it reads importguard: a reach inside a function, one through `from package import module`
    graph = import_graph()
    assert "importguard._html" in graph["importguard._formats"]
    assert "importguard._cli.bench" in graph["importguard._cli.cmdline"]


def test_no_module_of_the_command_line_is_in_an_import_cycle() -> None:
    tangled = [sorted(c) for c in cycles(import_graph()) if any(is_cli(m) for m in c)]
    assert tangled == []


def test_nothing_below_the_command_line_imports_it() -> None:
    # The command line is the top layer: only `python -m importguard` enters it.
    graph = import_graph()
    assert any(is_cli(m) for m in graph), "no importguard._cli package"
    reaching = sorted(
        m
        for m, reached in graph.items()
        if not is_cli(m) and m != "importguard.__main__" and any(is_cli(r) for r in reached)
    )
    assert reaching == []
    # and its package __init__, imported before any of its modules, imports nothing
    assert graph[CLI] == set()
    tree = ast.parse((PACKAGE / "_cli" / "__init__.py").read_text(encoding="utf-8"))
    assert not [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]


def test_every_command_is_registered_in_the_one_table() -> None:
    from importguard._cli import cmdline

    names = [name for name, _module in cmdline.COMMANDS]
    assert names == ["check", "snapshot", "run", "bench", "compare", "advise", "report"]
    parser = cmdline.build_parser()
    (sub,) = [a for a in parser._actions if a.dest == "command"]
    assert isinstance(sub, argparse._SubParsersAction)
    assert list(sub.choices) == names
    for name, module in cmdline.COMMANDS:
        assert sub.choices[name].description == module.DESCRIPTION


def test_the_console_script_and_python_m_run_the_same_main(tmp_path: Path) -> None:
    from importguard._cli import cmdline

    (script,) = [ep for ep in metadata.entry_points(group="console_scripts") if ep.name == "importguard"]
    assert script.load() is cmdline.main
    by_module = subprocess.run(
        [sys.executable, "-m", "importguard", "--help"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    by_script = subprocess.run(
        [str(Path(sys.executable).parent / "importguard"), "--help"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert by_module.returncode == by_script.returncode == 0, by_module.stderr + by_script.stderr
    assert by_module.stdout == by_script.stdout
    assert by_module.stdout.startswith("usage: importguard [-h] [--version] COMMAND ...")


def test_check_and_advise_children_import_nothing_of_the_command_line(tmp_path: Path) -> None:
    # The walker and advise's child run inside the checked or advised program: a
    # package __init__ of the command line there would be one more module in it
    # (and one more line of `check --format junit`, which lists every import).
    seen = "import sys\nopen({out!r}, 'w').write(repr(sorted(m for m in sys.modules if m.startswith('importguard'))))\n"
    write_tree(
        tmp_path,
        {
            "walked/__init__.py": seen.format(out=str(tmp_path / "walked.txt")),
            "advised.py": seen.format(out=str(tmp_path / "advised.txt")),
        },
    )
    check = subprocess.run(
        [sys.executable, "-m", "importguard", "check", "walked", "--format", "junit"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    advise = subprocess.run(
        [sys.executable, "-m", "importguard", "advise", "advised.py"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert advise.returncode == 0, advise.stdout + advise.stderr
    walker = eval((tmp_path / "walked.txt").read_text())
    advised = eval((tmp_path / "advised.txt").read_text())
    assert "importguard._report" in walker  # (imported by the walker, which runs as __main__)
    assert "importguard._advise_child" in advised
    assert [m for m in walker + advised if is_cli(m)] == []
    assert "importguard._cli" not in check.stdout
