"""Deep import chains: each module imports the next.

Measured on this machine (largest N, steps of 5, `import c0` of a chain c0 -> ... -> c{N-1}):
plain 140 / hooked 120 on 3.10 and 3.11; plain 165 / hooked 140 on 3.12 and 3.13. The wrapper
adds one Python frame per nesting level, so the hook fails with RecursionError earlier.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

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


# A depth plain Python handles on this interpreter but the hooked one does not (measured above).
GAP_DEPTH = 130 if sys.version_info < (3, 12) else 155


@pytest.mark.xfail(strict=True, reason=(
    "known gap: the hook's wrapper is one extra Python frame per nested import, so RecursionError "
    "comes earlier; measured max chain plain/hooked: 140/120 on 3.10-3.11, 165/140 on 3.12-3.13"
))
def test_chain_plain_python_handles_also_works_hooked(tmp_path: Path) -> None:
    _chain(tmp_path, GAP_DEPTH)
    plain, hooked = plain_and_hooked(_code(GAP_DEPTH), tmp_path)
    if plain.returncode != 0:
        pytest.skip(f"plain Python fails at depth {GAP_DEPTH} here: the measured numbers do not apply")
    assert (hooked.returncode, hooked.stdout, hooked.stderr) == (plain.returncode, plain.stdout, plain.stderr)


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
