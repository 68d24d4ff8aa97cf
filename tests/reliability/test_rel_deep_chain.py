"""Deep import chains: each module imports the next.

Before the hook raised the recursion limit for its own frames in deep chains,
the deepest chain was plain 140 / hooked 120 on 3.10 and 3.11, and plain 165 /
hooked 140 on 3.12 and 3.13 (steps of 5).
"""

from __future__ import annotations

from pathlib import Path

from conftest import write_tree
from rel_helpers import plain_and_hooked


def _chain(tmp_path: Path, n: int) -> None:
    write_tree(tmp_path, {f"c{i}.py": (f"import c{i + 1}\n" if i + 1 < n else "DONE = True\n") for i in range(n)})


def _code(n: int) -> str:
    return f"import c0, sys\nprint(sys.modules['c{n - 1}'].DONE)\n"


def test_chain_of_100_modules(tmp_path: Path) -> None:
    _chain(tmp_path, 100)
    plain, hooked = plain_and_hooked(_code(100), tmp_path)
    assert plain.returncode == 0 and plain.stdout == "True\n"
    assert (hooked.returncode, hooked.stdout, hooked.stderr) == (plain.returncode, plain.stdout, plain.stderr)
    report = hooked.report
    assert report is not None and report["internal_errors"] == []
    chain = [r for r in report["imports"] if r["name"].startswith("c") and r["name"][1:].isdigit()]
    assert [r["name"] for r in chain] == [f"c{i}" for i in range(100)]
    assert [r["parent"] for r in chain] == [None] + [f"c{i}" for i in range(99)]
    assert all(r["status"] == "ok" for r in chain)


def _works(tmp_path: Path, n: int) -> tuple[bool, bool, str, str]:
    plain, hooked = plain_and_hooked(_code(n), tmp_path)
    return plain.returncode == 0, hooked.returncode == 0, plain.stderr, hooked.stderr


def test_the_hook_does_not_shorten_the_deepest_chain(tmp_path: Path) -> None:
    # The wrapper is one more Python frame per nested import; past 16 levels it
    # raises the recursion limit by exactly the frames it added. Find the
    # deepest chain plain Python imports here, to the module, and require the
    # hooked run to manage exactly that too.
    _chain(tmp_path, 400)
    low, high = 100, 400  # plain works at low; find the largest n that works
    while high - low > 1:
        mid = (low + high) // 2
        code = f"import sys\nsys.modules.pop('c{400 - mid}', None)\nimport c{400 - mid}\n"
        from conftest import clean_env, run_python

        ok = run_python(code, cwd=tmp_path, env=clean_env(PYTHONPATH=str(tmp_path))).returncode == 0
        low, high = (mid, high) if ok else (low, mid)
    deepest = low
    for n, expect_ok in ((deepest, True), (deepest + 1, False)):
        code = f"import c{400 - n}\nprint('ok')\n"
        plain, hooked = plain_and_hooked(code, tmp_path)
        assert (plain.returncode == 0) is expect_ok, (n, plain.stderr[-300:])
        assert (hooked.returncode, hooked.stdout) == (plain.returncode, plain.stdout), (
            n,
            deepest,
            hooked.stderr[-300:],
        )


def test_chain_too_deep_for_both_fails_the_same_and_keeps_the_records(tmp_path: Path) -> None:
    # Past both limits: the same RecursionError either way, and the report is still written.
    _chain(tmp_path, 300)
    plain, hooked = plain_and_hooked(_code(300), tmp_path)
    assert plain.returncode == hooked.returncode == 1
    assert plain.stdout == hooked.stdout == ""
    assert plain.stderr.splitlines()[-1].startswith("RecursionError")
    assert hooked.stderr.splitlines()[-1].startswith("RecursionError")
    assert hooked.report is not None, "the records were lost"
    chain = [r for r in hooked.report["imports"] if r["name"].startswith("c") and r["name"][1:].isdigit()]
    assert len(chain) >= 50 and chain[0]["name"] == "c0"
    assert chain[0]["status"] == "error" and chain[0]["error"]["type"] == "RecursionError"
