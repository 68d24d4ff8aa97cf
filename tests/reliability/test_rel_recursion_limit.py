"""The recursion limit: plain and hooked meet it at the same frame.

Every import in progress adds the hook's frame to the Python stack. Before, the
limit was raised for those frames only from 16 nested imports on, so after
``sys.setrecursionlimit(N)`` an ``import json, decimal`` failed hooked but not
plain (or the reverse) for N around 30-64. Now, while the limit is below 1,000
(or 16 imports are in progress), the limit is raised by exactly the frames
importguard holds, and importguard's own bookkeeping after a failure gets room
of its own: the same outcome, output and traceback for every N.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from conftest import write_tree
from rel_helpers import plain_and_hooked


def _frames(stderr: str) -> str:
    # 3.10 only: where CPython does not trim importlib's frames (a RecursionError is
    # not an ImportError), the hook's own frame shows as one more importlib line
    # (a known difference, see docs/reliability.md); the rest must be the same.
    if sys.version_info >= (3, 11):
        return stderr
    return "".join(line for line in stderr.splitlines(True) if "<frozen importlib._bootstrap>" not in line)


def _same(tmp_path: Path, code: str) -> tuple[int, str]:
    plain, hooked = plain_and_hooked(code, tmp_path)
    assert (hooked.returncode, hooked.stdout, _frames(hooked.stderr)) == (
        plain.returncode,
        plain.stdout,
        _frames(plain.stderr),
    ), code
    return plain.returncode, plain.stderr


@pytest.mark.parametrize("start", range(15, 135, 24))
def test_every_low_limit_then_import_json_and_decimal(tmp_path: Path, start: int) -> None:
    outcomes = set()
    for n in range(start, start + 24):
        rc, stderr = _same(
            tmp_path, f"import sys\nsys.setrecursionlimit({n})\nimport json, decimal\nprint(sys.getrecursionlimit())\n"
        )
        outcomes.add(rc)
    if start == 15:
        assert 1 in outcomes  # the sweep starts where the imports fail with RecursionError


@pytest.mark.parametrize("start", [15, 43])
def test_a_collection_at_the_edge_of_a_low_limit_prints_nothing(tmp_path: Path, start: int) -> None:
    # The collector's callback (GC time per import) is one more Python frame
    # wherever a collection starts: at the very edge of a low limit it could not
    # be entered, and "Exception ignored in: <function _on_collect>" was printed
    # (seen on 3.12 in CI with a limit of 23). A collection at every allocation
    # puts one at the edge every time: 22 of 56 limits differed on 3.12 before.
    for n in range(start, start + 28):
        _same(
            tmp_path,
            f"import gc, sys\ngc.set_threshold(1)\nsys.setrecursionlimit({n})\n"
            "import json, decimal\nprint(sys.getrecursionlimit())\n",
        )


def test_recursing_into_recursion_error_outside_imports_prints_nothing(tmp_path: Path) -> None:
    # The collector's callback was in gc.callbacks for the whole run: a program
    # recursing to the limit while a collection started at that very frame got
    # "Exception ignored in: <function _on_collect>" on stderr (3.12: 16 lines,
    # 3.13: 12 with a collection at every allocation). It is there only while an
    # import runs now, with either engine.
    code = """
import gc, sys
import json
gc.set_threshold(1)
def f(n):
    x = [n]
    return f(n + 1)
for i in range(20):
    try:
        f(0)
    except RecursionError:
        pass
print(json.dumps("done"))
"""
    _same(tmp_path, code)


@pytest.mark.parametrize("limit", [120, 400])
def test_deep_recursion_then_an_import(tmp_path: Path, limit: int) -> None:
    # The program's own frames near the limit, then imports from there.
    code = f"""
import sys
sys.setrecursionlimit({limit})
def down(n):
    if n:
        return down(n - 1)
    import json, decimal
    return 'ok'
for depth in range({limit} - 60, {limit}):
    sys.modules.pop('json', None); sys.modules.pop('decimal', None)
    try:
        print(depth, down(depth))
    except RecursionError as exc:
        print(depth, 'RecursionError')
print(sys.getrecursionlimit())
"""
    rc, _ = _same(tmp_path, code)
    assert rc == 0


@pytest.mark.parametrize("limit", [200, 1000])
def test_a_module_setting_the_limit_inside_an_import_keeps_its_value(tmp_path: Path, limit: int) -> None:
    write_tree(
        tmp_path,
        {
            "setter/__init__.py": "from . import inner\n",
            "setter/inner.py": "import sys\nSEEN = sys.getrecursionlimit()\nsys.setrecursionlimit(5000)\n",
        },
    )
    code = f"import sys\nsys.setrecursionlimit({limit})\nimport setter\nprint(sys.getrecursionlimit())\n"
    rc, _ = _same(tmp_path, code)
    assert rc == 0


def test_the_default_limit_pays_nothing_and_shows_the_programs_limit(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "reader/__init__.py": "from . import inner\n",
            "reader/inner.py": "import sys\nprint(sys.getrecursionlimit())\n",
        },
    )
    rc, _ = _same(tmp_path, "import sys, reader\nprint(sys.getrecursionlimit())\n")
    assert rc == 0
