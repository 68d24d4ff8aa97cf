"""`importguard advise`: programs built in temp dirs, run for real, advised, verified."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import clean_env, hooked_env, run_python, write_tree
from importguard._cli import advise as _advise
from test_html import browser  # noqa: F401  (the headless Chromium fixture)

# A program with one slow module used only on a rarely taken path, modules used
# at startup (directly and through `from m import name`), a module whose import
# has a side effect the program depends on, and an import cycle.
APP = {
    "slowlib.py": """\
        import time
        time.sleep(0.3)

        def render():
            return "the rare report"
        """,
    "helper.py": """\
        import time
        time.sleep(0.02)

        def greet():
            return "hi"
        """,
    "consts.py": """\
        import time
        time.sleep(0.02)
        GREETING = "hello"
        """,
    "plugin_reg.py": "REGISTRY = []\n",
    "plugin_side.py": """\
        import time
        import plugin_reg
        time.sleep(0.02)
        plugin_reg.REGISTRY.append("side")
        """,
    "cyc_a.py": "import cyc_b\nVALUE = 1\n",
    "cyc_b.py": "import cyc_a\n\ndef f():\n    return cyc_a.VALUE\n",
    "app.py": """\
        import sys
        import slowlib
        import helper
        from consts import GREETING
        import plugin_reg
        import plugin_side
        import cyc_a
        # Both halves of the cycle used at startup: never candidates. Unused, their
        # import (~0.1 ms) was named once its wall time passed --min-ms 10 on a busy machine.
        assert cyc_a.cyc_b.f() == 1
        print(helper.greet(), GREETING, plugin_reg.REGISTRY)
        print("to stderr", file=sys.stderr)
        if "--report" in sys.argv:
            print(slowlib.render())
        sys.exit(3 if "--fail" in sys.argv else 0)
        """,
}


def advise(cwd: Path, *args: str, check_json: bool = True) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    """Run `importguard advise --format json -o advice.json ARGS`; return the process and the advice."""
    out = cwd / "advice.json"
    if out.exists():
        out.unlink()
    proc = subprocess.run(
        [sys.executable, "-m", "importguard", "advise", "--format", "json", "-o", str(out), *args],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    data = json.loads(out.read_text()) if out.exists() else {}
    if check_json:
        assert data, proc.stderr
    return proc, data


def named(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["module"]: c for c in data["candidates"]}


def test_slow_module_used_on_a_rare_path_is_named_with_its_statement_and_a_measured_saving(tmp_path: Path) -> None:
    write_tree(tmp_path, APP)
    proc, data = advise(tmp_path, "--verify", "--runs", "2", "--warmup", "0", "--min-ms", "10", "app.py")
    assert proc.returncode == 0, proc.stderr
    cands = named(data)
    slow = cands["slowlib"]
    assert slow["importer"] == {"file": str(tmp_path / "app.py"), "line": 2}
    assert slow["first_use"] is None and slow["used_by"] == []
    assert isinstance(slow["saving_ms"], float)  # measured, whatever the machine made of it
    assert "remove `import slowlib` at " + str(tmp_path / "app.py") + ":2" in slow["how"]
    assert "__lazy_modules__" in slow["how"]
    assert data["verify"]["runs"] == 2 and set(data["verify"]["savings_ms"]) >= {"slowlib"}
    assert data["verify"]["compared"] == ["exit status", "stdout", "stderr"]
    # used at startup: never named, whether used directly or through `from m import name`
    assert not {"helper", "consts", "plugin_reg", "sys", "time"} & set(cands)
    # the module whose import side effect the program prints is caught by --verify
    assert "plugin_side" not in cands
    (dropped,) = [d for d in data["dropped"] if d["module"] == "plugin_side"]
    assert "deferring it changed stdout line 1" in dropped["reason"] and "'side'" in dropped["reason"]
    # the cycle
    assert data["cycles"] == [
        {"modules": ["cyc_a", "cyc_b"], "importer": {"file": str(tmp_path / "cyc_b.py"), "line": 1}}
    ]
    # exactly the fields the issue lists
    assert set(slow) == {
        "module",
        "importer",
        "cumulative_ms",
        "memory_bytes",
        "first_use",
        "used_by",
        "saving_ms",
        "how",
    }
    assert slow["memory_bytes"] is None and slow["cumulative_ms"] > 0


def test_without_verify_the_side_effect_module_is_a_candidate_and_nothing_is_measured(tmp_path: Path) -> None:
    write_tree(tmp_path, APP)
    proc, data = advise(tmp_path, "--min-ms", "10", "app.py")
    assert proc.returncode == 0
    cands = named(data)
    assert set(cands) == {"slowlib", "plugin_side"}  # one run cannot see a side effect
    assert all(c["saving_ms"] is None for c in data["candidates"])
    assert data["verify"] is None and data["dropped"] == []
    assert [c["module"] for c in data["candidates"]][0] == "slowlib"  # ranked by cost


def test_the_advised_program_behaves_as_without_advise(tmp_path: Path) -> None:
    write_tree(tmp_path, APP)
    plain = subprocess.run(
        [sys.executable, "app.py", "--fail"], cwd=tmp_path, env=clean_env(), capture_output=True, text=True, timeout=60
    )
    proc = subprocess.run(
        [sys.executable, "-m", "importguard", "advise", "-o", "advice.txt", "--min-ms", "10", "app.py", "--fail"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (proc.returncode, proc.stdout) == (plain.returncode, plain.stdout) == (3, "hi hello ['side']\n")
    assert proc.stderr == plain.stderr + "importguard advise: wrote advice.txt\n"
    text = (tmp_path / "advice.txt").read_text()
    assert text.startswith("importguard advise: 2 imports to defer")
    assert "slowlib  (" + str(tmp_path / "app.py") + ":2)" in text


WATCHED_BEHAVIOUR = """\
    import sys, traceback, types
    import quiet_mod, lazy_attr, plain_mod
    # Before any attribute read: what the program sees of the module objects.
    print(type(quiet_mod).__name__, type(quiet_mod).__module__, repr(type(quiet_mod)))
    print(isinstance(quiet_mod, types.ModuleType))
    print(repr(quiet_mod).startswith("<module 'quiet_mod' from "))
    # The first read is of a missing name: the same AttributeError and traceback.
    try:
        quiet_mod.missing_name
    except AttributeError as exc:
        traceback.print_exc()
        print(exc.name, exc.obj is quiet_mod if hasattr(exc, "obj") else True)
    # PEP 562 module __getattr__, reached on the first read
    print(lazy_attr.computed)
    try:
        from lazy_attr import nope
    except ImportError:
        traceback.print_exc()
    print(hasattr(plain_mod, "nothing"), "value" in dir(plain_mod), plain_mod.value)
    print(type(plain_mod) is types.ModuleType)
    import plain_mod as again
    print(again is plain_mod)
    # the same modules loaded (importguard's own aside)
    print(sorted(m for m in sys.modules if m != "importguard" and not m.startswith("importguard.")))
"""


def test_watching_first_use_is_invisible_to_the_program(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "quiet_mod.py": "X = 1\n",
            "lazy_attr.py": "def __getattr__(name):\n    if name == 'computed':\n        return 42\n"
            "    raise AttributeError(f'no {name} here')\n",
            "plain_mod.py": "value = 7\n",
            "prog.py": WATCHED_BEHAVIOUR,
        },
    )
    import textwrap

    (tmp_path / "prog.py").write_text(textwrap.dedent(WATCHED_BEHAVIOUR))
    plain = subprocess.run(
        [sys.executable, "prog.py"], cwd=tmp_path, env=clean_env(), capture_output=True, text=True, timeout=60
    )
    assert plain.returncode == 0, plain.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "importguard", "advise", "-o", "a.txt", "prog.py"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.stdout == plain.stdout
    assert proc.stderr == plain.stderr + "importguard advise: wrote a.txt\n"
    # type(m) is the watching class until the first read (the documented limit), then ModuleType again
    assert plain.stdout.splitlines()[:3] == ["module builtins <class 'module'>", "True", "True"]


def test_startup_done_marks_the_end_of_startup(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "slowlib.py": APP["slowlib.py"],
            "server.py": """\
            import slowlib
            import importguard
            print("ready")
            importguard.startup_done()
            print(slowlib.render())
            """,
        },
    )
    proc, data = advise(tmp_path, "--verify", "--runs", "1", "--warmup", "0", "server.py")
    assert proc.returncode == 0, proc.stderr
    assert data["startup_end"]["by"] == "marker"
    slow = named(data)["slowlib"]
    assert slow["first_use"] is not None and slow["first_use"] >= data["startup_end"]["seconds"]
    assert slow["used_by"] == [{"file": str(tmp_path / "server.py"), "line": 5, "function": "<module>"}]
    assert "into the code that first uses it (" + str(tmp_path / "server.py") + ":5, in <module>)" in slow["how"]
    assert data["verify"]["timed_to"] == "startup_done()"
    assert isinstance(slow["saving_ms"], float)
    # Without the marker the same use is during the run: nothing to defer.
    (tmp_path / "server.py").write_text("import slowlib\nprint(slowlib.render())\n")
    proc, data = advise(tmp_path, "server.py")
    assert data["startup_end"]["by"] == "exit" and data["candidates"] == []


def test_until_seconds(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "slowlib.py": APP["slowlib.py"],
            "late.py": "import time\nimport slowlib\ntime.sleep(0.8)\nprint(slowlib.render())\n",
        },
    )
    _proc, data = advise(tmp_path, "late.py")
    assert data["candidates"] == []
    _proc, data = advise(tmp_path, "--until", "0.5", "late.py")
    assert data["startup_end"] == {"seconds": 0.5, "by": "until"}
    slow = named(data)["slowlib"]
    assert slow["first_use"] > 0.5
    assert slow["used_by"][0]["line"] == 4


def test_a_scan_of_sys_modules_is_not_a_use(tmp_path: Path) -> None:
    # inspect.getmodule of an object without __module__ reads __file__ of every module in
    # sys.modules (getabsfile reads it again): slowlib and the ten others are still unused.
    files = {"slowlib.py": APP["slowlib.py"], **{f"m{i}.py": f"V = {i}\n" for i in range(10)}}
    files["app.py"] = (
        "import inspect, slowlib\n"
        + "".join(f"import m{i}\n" for i in range(10))
        + "def f():\n    pass\nprint(inspect.getmodule(f.__code__).__name__)\n"
    )
    write_tree(tmp_path, files)
    proc, data = advise(tmp_path, "--min-ms", "0", "--top", "1000", "app.py")
    assert proc.stdout == "__main__\n"
    cands = named(data)
    assert "slowlib" in cands
    assert {f"m{i}" for i in range(10)} <= set(cands)  # never used either


def test_memory(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "big.py": "import time\ntime.sleep(0.01)\nDATA = [object() for _ in range(200_000)]\n",
            "small.py": "import time\ntime.sleep(0.01)\nDATA = [1]\n",
            "app.py": "import big, small\nprint('ok')\n",
        },
    )
    _proc, data = advise(tmp_path, "--memory", "--rank", "memory", "app.py")
    cands = named(data)
    assert cands["big"]["memory_bytes"] > 3_000_000  # 200,000 objects and the list that keeps them
    assert 0 <= cands["small"]["memory_bytes"] < 100_000
    assert [c["module"] for c in data["candidates"]] == ["big", "small"]
    assert data["total"]["memory_bytes"] == cands["big"]["memory_bytes"] + cands["small"]["memory_bytes"]


def test_module_form_and_html(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "tool/__init__.py": "",
            "tool/slow_<b>.py": "",
            "tool/heavy.py": "import time\ntime.sleep(0.05)\n",
            "tool/__main__.py": "import sys\nfrom tool import heavy\nprint('args', sys.argv[1:])\n",
        },
    )
    proc = subprocess.run(
        [sys.executable, "-m", "importguard", "advise", "--format", "html", "-o", "a.html", "-m", "tool", "x"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0 and proc.stdout == "args ['x']\n"
    page = (tmp_path / "a.html").read_text()
    assert '<section id="advice">' in page and "tool.heavy" in page
    assert "from tool import heavy" in page  # the statement, as written
    assert page.index('<section id="advice">') < page.index('<div id="app">')


def test_usage_errors(tmp_path: Path) -> None:
    write_tree(tmp_path, {"app.py": "print('x')\n"})
    for args, said in (
        (["--format", "json", "app.py"], "--format json needs -o FILE"),
        (["--rank", "memory", "app.py"], "--rank memory needs --memory"),
        (["--until", "0", "app.py"], "--until must be"),
        ([], "nothing to run"),
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "importguard", "advise", *args],
            cwd=tmp_path,
            env=clean_env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 2 and said in proc.stderr, (args, proc.stderr)
        assert proc.stdout == ""


def test_startup_done_costs_nothing_outside_advise(tmp_path: Path) -> None:
    import importguard

    assert "startup_done" in importguard.__all__ and importguard.startup_done.__doc__
    code = """\
        import sys
        before = set(sys.modules)
        import importguard
        importguard.startup_done()
        importguard.startup_done()
        print(sorted(set(sys.modules) - before))
        """
    for env in (clean_env(), hooked_env()):
        proc = run_python(code, cwd=tmp_path, env=env, check=True)
        added = [n for n in eval(proc.stdout) if n != "importguard"]
        assert added == ["importguard._startup"], added
    # and plain IMPORTGUARD=1 never loads the advise machinery
    proc = run_python(
        "import sys; import json; print(sorted(m for m in sys.modules if 'advise' in m))",
        cwd=tmp_path,
        env=hooked_env(),
        check=True,
    )
    assert proc.stdout.strip() == "[]"


def _candidate(**over: Any) -> dict[str, Any]:
    base = {
        "module": "slowlib",
        "importer": {"file": "/nowhere/app.py", "line": 2},
        "used_by": [],
        "_fromlist": False,
        "_chain": [("slowlib", "/nowhere/app.py", 2)],
        "_others": [],
        "_cycle": None,
    }
    base.update(over)
    return base


def test_how_follows_the_importers_python() -> None:
    older = _advise.how(_candidate(), "3.11.7", None)
    assert older.startswith("nothing used it in this run: remove `import slowlib` at /nowhere/app.py:2")
    assert "on Python 3.15+, add 'slowlib' to a module-level `__lazy_modules__" in older
    used = _advise.how(
        _candidate(used_by=[{"file": "/nowhere/cli.py", "line": 9, "function": "report"}]), "3.12.1", None
    )
    assert used.startswith(
        "move `import slowlib` from /nowhere/app.py:2 into the code that first uses it (/nowhere/cli.py:9, in report)"
    )
    new = _advise.how(_candidate(), "3.15.0", False)
    assert new == "write `lazy import slowlib` at /nowhere/app.py:2 (PEP 810)"
    both = _advise.how(_candidate(), "3.15.0", True)
    assert both.startswith(
        "write `lazy import slowlib` at /nowhere/app.py:2 (PEP 810); if that file must also run "
        "on Pythons before 3.15, add 'slowlib' to a module-level `__lazy_modules__"
    )


@pytest.mark.parametrize(
    ("spec", "older"), [(">=3.10", True), (">=3.15", False), (">3.9,<4", True), ("~=3.16.0", False), ("<4", True)]
)
def test_requires_python_decides_between_lazy_import_and_lazy_modules(tmp_path: Path, spec: str, older: bool) -> None:
    write_tree(tmp_path, {"pyproject.toml": f'[project]\nname = "x"\nrequires-python = "{spec}"\n', "src/app.py": ""})
    assert _advise.requires_older(str(tmp_path / "src" / "app.py")) is older


def test_ctrl_c_stops_the_program_and_advise_still_reports(tmp_path: Path) -> None:
    import os
    import signal
    import time

    write_tree(
        tmp_path,
        {
            "slowlib.py": APP["slowlib.py"],
            "server.py": """\
            import time
            import slowlib
            print("serving", flush=True)
            try:
                while True:
                    time.sleep(0.05)
            except KeyboardInterrupt:
                print("stopped", flush=True)
            """,
        },
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "importguard", "advise", "-o", "a.txt", "server.py"],
        cwd=tmp_path,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert proc.stdout is not None
    try:
        assert proc.stdout.readline() == "serving\n"
        time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole foreground group
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:  # the program ignored Ctrl-C: leave no server behind
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert out == "stopped\n" and proc.returncode == 0, err
    assert "slowlib" in (tmp_path / "a.txt").read_text()


def test_a_package_whose_submodule_startup_needs_is_not_named(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "pkg/__init__.py": "import time\ntime.sleep(0.05)\n",
            "pkg/palette.py": "COLOUR = 'red'\n",
            "app.py": "from pkg.palette import COLOUR\nprint(COLOUR)\n",
        },
    )
    _proc, data = advise(tmp_path, "app.py")
    assert "pkg" not in named(data)  # `from pkg.palette import ...` runs pkg/__init__.py first


def test_the_html_section_in_the_browser(tmp_path: Path, browser: Any) -> None:
    write_tree(
        tmp_path,
        {
            "slowlib.py": APP["slowlib.py"],
            "app.py": "import slowlib\nprint('ok')\n",
        },
    )
    proc = subprocess.run(
        [sys.executable, "-m", "importguard", "advise", "--format", "html", "-o", "a.html", "app.py"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto((tmp_path / "a.html").as_uri())
    rows = page.evaluate(
        "() => Array.from(document.querySelectorAll('#advice tbody tr'), "
        "tr => Array.from(tr.cells, c => c.textContent))"
    )
    assert len(rows) == 1 and "slowlib" in rows[0] and str(tmp_path / "app.py") + ":1" in rows[0]
    assert page.evaluate("() => document.querySelectorAll('canvas').length") == 1  # the report is still drawn
    page.close()
    assert errors == []
