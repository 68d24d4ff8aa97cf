"""gevent and eventlet: greenlets switch in the middle of imports.

All greenlets of a thread shared that thread's import stack, so a greenlet's
import got whatever another greenlet was importing as its parent, self times
came out negative, and every record said MainThread (27 of 40 records with the
wrong parent, 9-10 negative). Now each greenlet has its own stack and is named
in the report (gevent's Greenlet name, else ``greenlet-0x...``).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from conftest import write_tree
from rel_helpers import plain_and_hooked, run

N = 40


def _tree(tmp_path: Path, sleep: str) -> None:
    files = {"glpkg/__init__.py": ""}
    for i in range(N):
        files[f"glpkg/mod{i}.py"] = f"{sleep}({i % 5} / 1000)\nfrom glpkg import sub{i}\n"
        files[f"glpkg/sub{i}.py"] = f"{sleep}(0.002)\nX = {i}\n"
    write_tree(tmp_path, files)


PROGRAMS = {
    "gevent": """
        import gevent, importlib
        from gevent import sleep
        jobs = [gevent.spawn(importlib.import_module, f"glpkg.mod{i}") for i in range(40)]
        gevent.joinall(jobs)
        print(sorted(j.value.__name__ for j in jobs)[:3])
    """,
    "eventlet": """
        import warnings
        warnings.simplefilter("ignore")
        import eventlet, importlib
        pool = eventlet.GreenPool()
        names = list(pool.imap(lambda i: importlib.import_module(f"glpkg.mod{i}").__name__, range(40)))
        print(sorted(names)[:3])
    """,
}
SLEEP = {"gevent": "import gevent\ngevent.sleep", "eventlet": "import eventlet\neventlet.sleep"}


def _check_tree(report: dict[str, Any] | None, library: str) -> None:
    assert report is not None
    recs = [r for r in report["imports"] if r["name"].startswith("glpkg.")]
    by_id = {r["id"]: r for r in report["imports"]}
    assert len(recs) == 2 * N
    for r in recs:
        if r["name"].startswith("glpkg.sub"):
            assert r["parent"] == r["name"].replace("sub", "mod"), r
            assert r["thread"] == by_id[r["parent_id"]]["thread"]
        else:
            assert r["parent"] in (None, "glpkg"), r  # the first also imports the package
        assert r["self_ns"] >= 0 and r["duration_ns"] >= r["self_ns"], r
    threads = {r["thread"] for r in recs if r["name"].startswith("glpkg.mod")}
    assert len(threads) == N  # one per greenlet
    names = {r["thread_name"] for r in recs}
    assert "MainThread" not in names and None not in names
    if library == "gevent":
        assert all(n.startswith("Greenlet-") for n in names), names
    else:
        assert all(n.startswith("greenlet-0x") for n in names), names


@pytest.mark.parametrize("library", ["gevent", "eventlet"])
def test_each_greenlet_has_its_own_import_tree(tmp_path: Path, library: str) -> None:
    if importlib.util.find_spec(library) is None:  # not importorskip: eventlet would patch this process
        pytest.skip(f"{library} is not installed")
    _tree(tmp_path, SLEEP[library])
    plain, hooked = plain_and_hooked(PROGRAMS[library], tmp_path)
    assert plain.returncode == 0 and plain.stdout == "['glpkg.mod0', 'glpkg.mod1', 'glpkg.mod10']\n", plain.stderr
    assert (hooked.returncode, hooked.stdout, hooked.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    _check_tree(hooked.report, library)
    # The main greenlet keeps the thread's own stack: gevent itself was imported there.
    main = [r for r in (hooked.report or {})["imports"] if r["name"] == library]
    assert main and main[0]["thread_name"] == "MainThread"


def test_no_greenlet_no_change(tmp_path: Path) -> None:
    code = """
        import importguard._records as r, _thread
        print(type(r.threads) is _thread._local)
    """
    hooked = run(code, tmp_path, hooked=True)
    assert hooked.stdout == "True\n"
    hooked = run("import greenlet\n" + code.strip().replace("\n        ", "\n"), tmp_path, hooked=True)
    assert hooked.stdout == "False\n"
